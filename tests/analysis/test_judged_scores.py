"""The panel's analysis reads human raters only: an LLM judge's scores stay apart."""

from __future__ import annotations

from typing import Any

import pytest

from analysis.selectors import study_data
from evaluation.models import LikertScore, Rater
from evaluation.services import JudgeOptions, judge_config_create, judge_run
from tests.evaluation.conftest import (  # noqa: F401
    SessionMaker,
    World,
    all_fours,
    make_session,
    world,
)
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db


def test_judged_scores_and_judges_are_not_in_the_panels_likert_data(
    world: World,  # noqa: F811
    make_session: SessionMaker,  # noqa: F811
    settings: Any,
) -> None:
    session = make_session()
    human = world.rater_profiles()[0]
    LikertScore.objects.create(
        rater=human, reading=world.readings[0], domain=world.domains[0], score=2
    )

    with FakeOpenAIServer() as llm:
        settings.GENERATION_ALLOWED_BASE_URLS = [llm.origin]
        llm.script(all_fours)
        config = judge_config_create(
            study=world.study,
            options=JudgeOptions(code="judge1", base_url=llm.url, model_name="m"),
            actor=world.coordinator,
        )
        judge_run(config=config, session=session, actor=world.coordinator)
    assert LikertScore.objects.filter(rater=config.rater).count() == 60
    data = study_data(world.study, split="all")
    assert len(data.scores) == 1 and int(data.scores["score"].iloc[0]) == 2
    assert Rater.objects.filter(study=world.study, kind=Rater.Kind.MODEL).count() == 1
