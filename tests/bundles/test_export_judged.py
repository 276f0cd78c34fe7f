"""A bundle carries the panel's scores: an LLM judge's stay with its answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluation.models import LikertScore
from evaluation.services import JudgeOptions, judge_config_create, judge_run
from readerstudy.bundles.export import write_study_bundle
from readerstudy.studies.models import CaseImage
from tests.evaluation.conftest import (  # noqa: F401
    SessionMaker,
    World,
    all_fours,
    make_session,
    world,
)
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db


def test_a_bundle_export_leaves_the_judged_scores_out(
    world: World,  # noqa: F811
    make_session: SessionMaker,  # noqa: F811
    settings: Any,
    tmp_path: Path,
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
    CaseImage.objects.filter(content_type="application/dicom").delete()  # no file behind it
    write_study_bundle(world.study, tmp_path / "bundle")
    rows = (tmp_path / "bundle" / "ratings.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("rater1,")
