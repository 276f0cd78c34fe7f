"""results.json's ``edits`` (issue 17): the edits of the AI drafts per reader and modality
from the ReadingWork rows of AI-draft sessions, and the AI-assistance figure on the demo."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.utils import timezone

from analysis.charts import ai_assistance, build_figures
from analysis.results import results_json, run_analysis
from analysis.selectors import study_data
from analysis.tables import build_tables
from readerstudy.reading.models import (
    ReadingAssignment,
    ReadingSession,
    ReadingSessionCase,
    ReadingWork,
)
from readerstudy.studies.models import Case, Reader, Reading, Study
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db


def _draft_session(study: Study, reader: Reader, *, draft: bool, seed: int) -> np.ndarray:
    """An AI-draft session of modality 2 in which ``reader`` submitted every test case;
    returns the (edit_chars, edit_words, active_seconds) written, one row per case."""
    session = ReadingSession.objects.create(
        study=study, name=f"draft-{reader.code}", seed=1, modality=2, ai_draft=True
    )
    cases = list(Case.objects.filter(study=study, split="test").order_by("code"))
    ReadingSessionCase.objects.bulk_create(
        ReadingSessionCase(session=session, case=c, position=i) for i, c in enumerate(cases, 1)
    )
    assignment = ReadingAssignment.objects.create(session=session, reader=reader)
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            rng.integers(0, 200, len(cases)),
            rng.integers(0, 40, len(cases)),
            rng.gamma(4, 20, len(cases)),
        ]
    )
    now = timezone.now()
    for i, (case, (chars, words, active)) in enumerate(zip(cases, values, strict=True), 1):
        ReadingWork.objects.create(
            assignment=assignment,
            case=case,
            position=i,
            opened_at=now,
            submitted_at=now,
            seconds=float(active) + 5,
            active_seconds=float(active),
            version=1,
            draft_shown="AI draft impression" if draft else "",
            edit_chars=int(chars),
            edit_words=int(words),
            reading=Reading.objects.get(reader=reader, case=case, run=1, modality=2),
        )
    return values


def test_edits_are_the_medians_and_quartiles_of_the_work_rows_of_draft_sessions(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "M1": 1}, modalities=2, likert=False)
    r1 = Reader.objects.get(study=study, code="R1")
    r2 = Reader.objects.get(study=study, code="R2")
    values = _draft_session(study, r1, draft=True, seed=3)
    _draft_session(study, r2, draft=False, seed=4)  # no draft shown: not an edit
    doc = json.loads(json.dumps(results_json(run_analysis(study_data(study))), allow_nan=False))
    (row,) = doc["edits"]
    assert (row["reader"], row["modality"], row["n"]) == ("R1", 2, len(values))
    chars, words, active = values[:, 0], values[:, 1], values[:, 2]
    assert row["edit_distance_median"] == pytest.approx(np.median(chars))
    assert row["edit_distance_iqr"] == pytest.approx(list(np.percentile(chars, [25, 75])))
    assert row["edit_words_median"] == pytest.approx(np.median(words))
    assert row["edit_words_iqr"] == pytest.approx(list(np.percentile(words, [25, 75])))
    assert row["drafting_seconds_median"] == pytest.approx(np.median(active))


def test_a_study_without_drafts_has_empty_edits_and_no_edits_table_or_note(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "M1": 1}, modalities=2, likert=False)
    analysis = run_analysis(study_data(study))
    assert results_json(analysis)["edits"] == []
    assert "edits" not in build_tables(analysis)
    assert not [n for n in analysis.notes if "edit" in n.code or "draft" in n.code]


def test_the_edits_table_shows_each_readers_median_edits(small_study: SmallStudy) -> None:
    study = small_study(readers={"R1": 1, "M1": 1}, modalities=2, likert=False)
    values = _draft_session(study, Reader.objects.get(study=study, code="R1"), draft=True, seed=5)
    table = build_tables(run_analysis(study_data(study)))["edits"]
    assert table["reader"].tolist() == ["R1"]
    assert table["edit_distance_median"].iloc[0] == pytest.approx(np.median(values[:, 0]))


def test_the_ai_assistance_figure_has_one_auc_line_per_human_reader_on_the_demo(
    demo_study: Study,
) -> None:
    analysis = run_analysis(study_data(demo_study))
    fig = ai_assistance(analysis)
    assert fig is not None
    main = next(r for r in analysis.mrmc if r.analysis == "RRRC")
    kinds = dict(
        zip(analysis.data.readers["reader_id"], analysis.data.readers["kind"], strict=True)
    )
    humans = sorted(r for r in set(main.reader_aucs["reader"]) if kinds[r] == "human")
    auc_lines = [t.meta["reader"] for t in fig.data if t.meta["panel"] == "auc"]
    assert sorted(r for r in auc_lines if r != "average") == humans == ["R3", "R4", "R5"]
    assert auc_lines.count("average") == 1
    # the second panel: median reading time unaided -> aided of the timed readers
    time_lines = [t for t in fig.data if t.meta["panel"] == "time"]
    assert time_lines
    summary = analysis.reading_time_summary.set_index(["reader", "modality"])
    for trace in time_lines:
        assert list(trace.y) == pytest.approx(
            [summary.loc[(trace.meta["reader"], m), "median"] for m in (1, 2)]
        )
    average = next(t for t in fig.data if t.meta["reader"] == "average")
    assert "CI" in average.name
    assert "ai_assistance" in build_figures(analysis)
