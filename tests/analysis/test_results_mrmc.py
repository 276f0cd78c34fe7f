"""The MRMC part of the analysis: the demo's unaided vs AI-assisted design, its agreement
with the OR/Hillis engine on the exported readings and with R MRMCaov, the choice of the
fully crossed design, and the notes when a design is not fully crossed."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest

from analysis.exports import csv_stream
from analysis.notes import MRMC_NOTE_CODES, NOTE_CODES
from analysis.results import AnalysisOptions, mrmc_design, results_json, run_analysis
from analysis.selectors import Pseudonyms, study_data
from analysis.stats.mrmc import mrmc
from fixtures.accounts import demo_accounts_create
from fixtures.demo_modalities import AI_ASSISTED, LIVE_DEMO, UNAIDED
from fixtures.demo_sessions import reading_session_demo_create
from readerstudy.reading.models import ReadingWork
from readerstudy.reading.services import ReadingAnswer, reading_submit
from readerstudy.studies.models import Reading, Study
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db

R_DIR = Path(__file__).resolve().parents[1] / "stats" / "r"
ANALYSES = ("RRRC", "FRRC", "RRFC")
INTERNAL = re.compile(r"DataFrame|column '|has a single value|Traceback|ValueError|df: ")


def mrmc_notes(doc: dict) -> list[dict]:
    """The MRMC notes of a results.json document."""
    return [n for n in doc["notes"] if n["code"] in MRMC_NOTE_CODES]


def same(value: object) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-14)


@pytest.fixture(scope="module")
def demo_results(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> dict:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        doc = results_json(run_analysis(study_data(demo_study)))
    return json.loads(json.dumps(doc, allow_nan=False))


@pytest.fixture(scope="module")
def exported(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> pd.DataFrame:
    """The study's readings.csv export (what a statistician downloads), test split."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        body = b"".join(csv_stream(demo_study, "readings", Pseudonyms(demo_study.slug, False)))
    frame = pd.read_csv(io.BytesIO(body), keep_default_na=False, na_values=[""])
    return frame[frame["split"] == "test"]


def crossed(exported: pd.DataFrame) -> pd.DataFrame:
    """R3-R5 in modalities 1 and 2 (one run each, so the category is the rating)."""
    part = exported[exported["modality"].isin([UNAIDED, AI_ASSISTED])]
    both = part.groupby("reader_id")["modality"].nunique()
    part = part[part["reader_id"].isin(both.index[both == 2])]
    return (
        part[["reader_id", "modality", "case_id", "truth", "category"]]
        .sort_values(["modality", "reader_id", "case_id"], kind="stable")
        .reset_index(drop=True)
    )


# --- the demo ---------------------------------------------------------------------------


def test_the_demo_compares_unaided_and_ai_assisted_reading_out_of_the_box(
    demo_results: dict,
) -> None:
    entries = demo_results["mrmc"]
    assert [e["analysis"] for e in entries] == list(ANALYSES)
    for entry in entries:
        assert entry["modalities"] == [1, 2]
        assert entry["labels"] == ["unaided", "AI-assisted"]
        assert entry["readers"] == ["R3", "R4", "R5"]
        assert (entry["n_cases"], entry["n_positive"]) == (114, 57)
        assert len(entry["reader_aucs"]) == 6 and len(entry["reader_comparisons"]) == 3
        for low_high, auc in zip(entry["aucs_ci"], entry["aucs"], strict=True):
            assert low_high[0] <= auc <= low_high[1]
        # AI assistance raises the average AUC, and helps the junior reader (R5) most
        assert entry["comparisons"][0]["diff"] < 0  # diff = unaided - assisted
        change = {r["reader"]: -r["diff"] for r in entry["reader_comparisons"]}
        assert 0 < change["R3"] < change["R4"] < change["R5"]
    rrrc = entries[0]
    assert rrrc["p"] < 0.05 and rrrc["df2"] == pytest.approx(2.366729211, abs=1e-9)
    assert rrrc["summary"] == [
        "Modality 2 (AI-assisted) raised the average AUC over modality 1 (unaided) by 0.078 "
        "(95% CI 0.014 to 0.142), p = 0.033, from 0.712 to 0.790: significant at the 5% level; "
        "readers and cases treated as random (the result generalises to other readers and "
        "cases)."
    ]
    assert "readers fixed, cases random" in entries[1]["summary"][0]
    assert "readers random, cases fixed" in entries[2]["summary"][0]
    notes = mrmc_notes(demo_results)
    assert [n["code"] for n in notes] == ["mrmc-readers-dropped"]
    assert notes[0]["message"] == (
        "MRMC: 6 readers without readings in modality 2 (AI-assisted) are left out: "
        "A1, A2, B, C, D, E."
    )


def test_the_demos_mrmc_equals_the_engine_on_the_exported_readings(
    demo_results: dict, exported: pd.DataFrame
) -> None:
    data = crossed(exported).rename(columns={"category": "rating"})
    assert len(data) == 3 * 2 * 114
    for entry in demo_results["mrmc"]:
        direct = mrmc(data, analysis=entry["analysis"]).to_dict()
        direct = json.loads(json.dumps(direct))
        for key, value in direct.items():
            if key == "comparisons":
                for got, want in zip(entry[key], value, strict=True):
                    assert got == {k: same(v) for k, v in want.items()}
            else:
                assert entry[key] == (same(value) if isinstance(value, float | list) else value)


def test_the_r_reference_input_is_the_demos_export(exported: pd.DataFrame) -> None:
    reference = pd.read_csv(R_DIR / "mrmc_demo.csv")
    pd.testing.assert_frame_equal(crossed(exported), reference, check_dtype=False)


def test_the_demos_mrmc_matches_r_mrmcaov(demo_results: dict) -> None:
    reference = json.loads((R_DIR / "mrmc_demo_reference.json").read_text())
    assert reference["source"].startswith("MRMCaov 0.3.0")
    close = {"rel": 1e-9, "abs": 1e-12}
    for entry in demo_results["mrmc"]:
        ref = reference[entry["analysis"]]
        assert entry["f"] == pytest.approx(ref["f"], **close)
        assert entry["df1"] == ref["df1"]
        if ref["df2"] == "Inf":
            assert entry["df2"] is None
        else:
            assert entry["df2"] == pytest.approx(ref["df2"], **close)
        assert entry["p"] == pytest.approx(ref["p"], rel=1e-7)
        comparison = entry["comparisons"][0]
        assert comparison["diff"] == pytest.approx(ref["diff"], **close)
        assert comparison["se"] == pytest.approx(ref["diff_se"], **close)
        assert comparison["ci"] == pytest.approx(ref["diff_ci"], **close)
        assert comparison["p"] == pytest.approx(ref["diff_p"], rel=1e-7)
        assert entry["aucs"] == pytest.approx(ref["aucs"], **close)
        assert [c[0] for c in entry["aucs_ci"]] == pytest.approx(ref["aucs_ci_low"], **close)
        assert [c[1] for c in entry["aucs_ci"]] == pytest.approx(ref["aucs_ci_high"], **close)
    frrc = next(e for e in demo_results["mrmc"] if e["analysis"] == "FRRC")
    for row in frrc["reader_comparisons"]:
        ref = reference["FRRC"]
        assert row["diff"] == pytest.approx(ref["reader_diff"][row["reader"]], **close)
        assert row["se"] == pytest.approx(ref["reader_diff_se"][row["reader"]], **close)
        assert row["p"] == pytest.approx(ref["reader_diff_p"][row["reader"]], rel=1e-7)


def test_the_demos_aided_vs_unaided_noninferiority_matches_r_mrmcaov(demo_results: dict) -> None:
    reference = json.loads((R_DIR / "mrmc_noninferiority_reference.json").read_text())
    close = {"rel": 1e-9, "abs": 1e-12}
    margin = demo_results["methods"]["ai_margin"]
    assert margin == 0.05
    for entry in demo_results["mrmc"]:
        ref = reference[entry["analysis"]]
        [ni] = entry["noninferiority"]
        assert (ni["reference"], ni["treatment"], ni["margin"]) == (UNAIDED, AI_ASSISTED, margin)
        assert ni["difference"] == pytest.approx(ref["difference"], **close)
        assert ni["ci"] == pytest.approx(ref["ci"], **close)
        assert ni["df"] == (None if ref["df"] == "Inf" else pytest.approx(ref["df"], **close))
        [expected] = [t for t in ref["tests"] if t["margin"] == margin]
        assert ni["t"] == pytest.approx(expected["t"], **close)
        assert ni["p"] == pytest.approx(expected["p"], rel=1e-7)
        assert ni["noninferior"] is expected["noninferior"] is True
        assert ni["note"] == ""


def test_the_modality_option_selects_the_per_reader_results(
    demo_study: Study, demo_results: dict
) -> None:
    analysis = run_analysis(study_data(demo_study), AnalysisOptions(modality=AI_ASSISTED))
    doc = results_json(analysis)
    assert doc["modality"] == 2
    assert list(doc["readers"]) == ["R3", "R4", "R5"]
    assisted = {r["reader"]: r["auc"] for r in demo_results["mrmc"][0]["reader_aucs"]}
    for reader, entry in doc["readers"].items():
        assert entry["auc"] == same(assisted[reader]) and entry["n"] == 114
    # no Likert scores were given to the AI-assisted readings
    assert doc["likert"]["by_reader"] == []
    # the MRMC analysis compares every modality whatever the selection
    assert json.loads(json.dumps(doc["mrmc"])) == demo_results["mrmc"]
    with pytest.raises(ValueError, match="modality: the selection has no readings in modality 7"):
        run_analysis(study_data(demo_study), AnalysisOptions(modality=7))


# --- live demo readings (modality 3) ----------------------------------------------------


def _read_live(study: Study, *, reader: str, n: int, category: int | None = None) -> None:
    """``reader`` submits ``n`` more cases of the demo reading session (modality 3)."""
    session = reading_session_demo_create(study=study)
    works = ReadingWork.objects.filter(
        assignment__session=session, assignment__reader__code=reader, version=0
    ).order_by("position")[:n]
    for i, work in enumerate(works):
        reading_submit(
            work=work,
            answer=ReadingAnswer(category=category if category is not None else 2 + (i % 4)),
            actor=work.assignment.reader.user,
            token=uuid.uuid4(),
            base_version=work.version,
        )


def test_a_few_live_demo_readings_leave_the_mrmc_analysis_as_it_was(
    demo_study: Study, demo_results: dict
) -> None:
    demo_accounts_create(study=demo_study)
    _read_live(demo_study, reader="R3", n=5)
    assert Reading.objects.filter(case__study=demo_study, modality=LIVE_DEMO).count() == 5
    doc = json.loads(json.dumps(results_json(run_analysis(study_data(demo_study)))))
    assert doc["mrmc"] == demo_results["mrmc"]
    codes = [n["code"] for n in mrmc_notes(doc)]
    assert codes == ["mrmc-modality-dropped", "mrmc-readers-dropped"]
    left_out = mrmc_notes(doc)[0]
    assert left_out["message"] == (
        "MRMC: modality 3 (live demo reading) is left out because it is not fully crossed "
        "with the others: 1 reader (R3) read 5 cases in it, and every reader must read every "
        "case. The analysis compares modality 1 (unaided) and modality 2 (AI-assisted)."
    )
    # and the per-reader tables of the live modality work on what was read
    live = results_json(run_analysis(study_data(demo_study), AnalysisOptions(modality=3)))
    assert list(live["readers"]) == ["R3"] and live["readers"]["R3"]["n"] == 5


def test_a_complete_live_demo_reading_joins_the_mrmc_analysis(demo_study: Study) -> None:
    # as if r3, r4 and r5 had finished the demo session (stored like its readings)
    unaided = Reading.objects.filter(
        case__study=demo_study, modality=UNAIDED, reader__code__in=["R3", "R4", "R5"]
    )
    Reading.objects.bulk_create(
        Reading(
            reader_id=r.reader_id,
            case_id=r.case_id,
            run=1,
            modality=LIVE_DEMO,
            category=min(5, r.category + (r.case_id % 2)),
            source=Reading.Source.ENTERED,
        )
        for r in unaided
    )
    doc = results_json(run_analysis(study_data(demo_study)))
    assert all(e["modalities"] == [1, 2, 3] for e in doc["mrmc"])
    assert len(doc["mrmc"][0]["comparisons"]) == 3
    assert len(doc["mrmc"][0]["summary"]) == 3
    assert [n["code"] for n in mrmc_notes(doc)] == ["mrmc-readers-dropped"]


# --- designs that are not fully crossed -------------------------------------------------


def _drop(study: Study, reader: str, modality: int, keep: int | None = None) -> None:
    readings = Reading.objects.filter(
        reader__study=study, reader__code=reader, modality=modality
    ).order_by("case__position")
    if keep is None:
        readings.delete()
    else:
        Reading.objects.filter(pk__in=list(readings.values_list("pk", flat=True)[keep:])).delete()


def test_a_design_that_is_not_fully_crossed_gets_a_note_not_an_error(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1}, modalities=2, likert=False)
    _drop(study, "R2", 2)
    _drop(study, "R3", 2)
    _drop(study, "R1", 2, keep=3)
    analysis = run_analysis(study_data(study))
    doc = results_json(analysis)
    assert doc["mrmc"] == []
    assert [n["code"] for n in mrmc_notes(doc)] == ["mrmc-not-crossed"]
    message = mrmc_notes(doc)[0]["message"]
    assert message.startswith("MRMC: not computed, because the design is not fully crossed.")
    assert "modality 1: 3 readers, 36 cases; modality 2: 1 reader, 3 cases." in message
    assert not INTERNAL.search(message)
    assert not any(INTERNAL.search(n.message) for n in analysis.notes)
    # the readers of the first modality are analysed as usual
    assert list(doc["readers"]) == ["R1", "R2", "R3"]


def test_readers_and_cases_outside_the_crossed_part_are_left_out_with_notes(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1, "R4": 1}, modalities=2, likert=False)
    _drop(study, "R4", 2, keep=5)  # R4 read only 5 cases with the second condition
    Reading.objects.filter(
        reader__study=study, reader__code="R2", modality=1, case__code="C000"
    ).delete()
    analysis = run_analysis(study_data(study))
    design = analysis.mrmc_design
    assert design is not None
    assert design.readers == ["R1", "R2", "R3"] and design.modalities == [1, 2]
    assert len(design.cases) == 35 and "C000" not in design.cases
    notes = {n.code: n for n in analysis.notes if n.code in MRMC_NOTE_CODES}
    assert set(notes) == {"mrmc-readers-dropped", "mrmc-cases-dropped"}
    assert notes["mrmc-readers-dropped"].reader == "R4"
    assert "did not read enough of the same cases" in notes["mrmc-readers-dropped"].message
    assert notes["mrmc-cases-dropped"].message.startswith("MRMC: 1 of 36 cases are left out")
    assert [r.readers.shape[0] for r in analysis.mrmc] == [3, 3, 3]


def test_the_design_keeps_the_most_crossed_cells() -> None:
    rows = []
    for modality, readers, cases in (
        (1, ["A", "B", "C"], range(20)),
        (2, ["A", "B", "C"], range(20)),
        (3, ["A"], range(20)),  # a single reader: a third modality cannot be crossed
        (3, ["B"], range(3)),
    ):
        for reader in readers:
            rows += [
                {"modality": modality, "reader_id": reader, "case_id": f"c{c}", "truth": c % 2}
                for c in cases
            ]
    design, notes = mrmc_design(pd.DataFrame(rows), order=["A", "B", "C"], labels={3: "live"})
    assert design is not None
    assert (design.modalities, design.readers, len(design.cases)) == ([1, 2], ["A", "B", "C"], 20)
    assert [n.code for n in notes] == ["mrmc-modality-dropped"]
    assert notes[0].message.startswith("MRMC: modality 3 (live) is left out")
    # once every reader has read every case of the third modality it joins the design
    rows += [
        {"modality": 3, "reader_id": "B", "case_id": f"c{c}", "truth": c % 2} for c in range(3, 20)
    ]
    rows += [
        {"modality": 3, "reader_id": "C", "case_id": f"c{c}", "truth": c % 2} for c in range(20)
    ]
    design, notes = mrmc_design(pd.DataFrame(rows), order=["A", "B", "C"], labels={})
    assert design is not None and design.modalities == [1, 2, 3] and notes == []


def test_the_mrmc_note_codes_are_the_mrmc_codes_of_the_one_list() -> None:
    expected = {
        "mrmc-not-crossed",
        "mrmc-modality-dropped",
        "mrmc-readers-dropped",
        "mrmc-cases-dropped",
        "mrmc-no-test",
        "mrmc-not-computed",
        "mrmc-split-plot",
        "mrmc-binary-not-computed",
    }
    assert set(MRMC_NOTE_CODES) == expected == {c for c in NOTE_CODES if c.startswith("mrmc-")}


def test_a_zero_error_term_gets_a_note_and_no_silent_number(small_study: SmallStudy) -> None:
    study = small_study(readers={"R1": 1, "R2": 1}, modalities=2, likert=False)
    # modality 2 = modality 1 for every reader: no difference and no error variance
    for reading in Reading.objects.filter(reader__study=study, modality=2):
        first = Reading.objects.get(
            reader=reading.reader, case=reading.case, run=reading.run, modality=1
        )
        reading.category = first.category
        reading.save(update_fields=["category"])
    analysis = run_analysis(study_data(study))
    doc = results_json(analysis)
    # sensitivity and specificity (mrmc_binary) have no error term either
    assert {n["code"] for n in mrmc_notes(doc)} == {"mrmc-no-test", "mrmc-binary-not-computed"}
    assert [n["reader"] for n in mrmc_notes(doc) if n["reader"]] == ["R1", "R2"]
    for entry in doc["mrmc"]:
        assert all(r["ci"] == [None, None] and r["p"] is None for r in entry["reader_comparisons"])
    assert [e["analysis"] for e in doc["mrmc"]] == list(ANALYSES)
    for entry in doc["mrmc"]:
        assert entry["f"] is None and entry["p"] is None  # NaN: no silent number
        assert "no test" in entry["summary"][0]


def test_a_reader_filter_with_one_reader_in_both_modalities_gets_a_note(
    demo_study: Study,
) -> None:
    data = study_data(demo_study, readers=["R3", "A1"])
    doc = results_json(run_analysis(data, AnalysisOptions(readers=("R3", "A1"))))
    assert doc["mrmc"] == []
    assert [n["code"] for n in mrmc_notes(doc)] == ["mrmc-not-crossed"]
