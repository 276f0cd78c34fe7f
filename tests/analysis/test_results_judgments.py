"""results.json's judgment keys (issue 14) on the second demo study: the same numbers as
direct calls of analysis.stats.judgments on the same frames, the demo's calibration, the
tables and figures, pseudonyms for a statistician, and empty keys without judgments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analysis.charts import build_figures
from analysis.manifest import input_digests
from analysis.results import AnalysisOptions, results_json, run_analysis
from analysis.results_judgments import acceptability_input, error_input, preference_input
from analysis.selectors import study_data
from analysis.services import dashboard_payload
from analysis.stats.judgments import (
    acceptability_paired,
    acceptability_summary,
    bradley_terry,
    error_summary,
    judgment_agreement,
    preference_summary,
)
from analysis.tables import build_tables, display_rows
from evaluation.selectors import acceptability_frame, preference_frame
from fixtures.demo_cxr import CXR_SLUG, TARGET_ACCEPTABLE, TARGET_AT_LEAST_AS_GOOD, write_cxr_bundle
from readerstudy.bundles.services import study_delete, study_import
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import pseudonym_map
from tests.analysis.conftest import SmallStudy
from tests.conftest import SqliteSnapshots

pytestmark = pytest.mark.django_db

PREFERENCE_KEYS = {
    "reader", "comparator", "n", "wins", "ties", "losses", "win_rate", "at_least_as_good",
    "at_least_as_good_ci", "sign_test_p", "left_chosen", "left_bias_p", "clustered_ci",
}  # fmt: skip
ACCEPTABILITY_KEYS = {"reader", "n", "acceptable", "rate", "ci", "clustered_ci"}
ERROR_KEYS = {
    "reader", "n_reports", "reports_with_error", "rate", "ci", "errors_per_report",
    "significant_per_report", "by_category",
}  # fmt: skip
SCALE = ["4", "3", "2", "1"]


@pytest.fixture(scope="module")
def cxr_study(
    sqlite_snapshots: SqliteSnapshots, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Study]:
    root = write_cxr_bundle(tmp_path_factory.mktemp("cxr") / "bundle")

    def destroy() -> None:
        existing = Study.objects.filter(slug=CXR_SLUG).first()
        if existing is not None:
            study_delete(study=existing, delete_files=False)

    with sqlite_snapshots.shared(
        "cxr",
        build=lambda: study_import(path=root, replace=True).study,
        find=lambda: Study.objects.get(slug=CXR_SLUG),
        destroy=destroy,
    ) as study:
        yield study


@pytest.fixture(scope="module")
def cxr(cxr_study: Study, django_db_blocker: pytest.FixtureRequest) -> tuple:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        data = study_data(cxr_study)
        analysis = run_analysis(data)
        doc = json.loads(json.dumps(results_json(analysis), allow_nan=False))
    return doc, data, analysis


def test_preference_rows_equal_preference_summary_on_the_same_frame(cxr: tuple) -> None:
    doc, data, _ = cxr
    ref = preference_summary(preference_input(data.preferences), n_boot=1000, seed=1)
    ref = ref.set_index(["reader", "comparator"])
    rows = doc["preference"]
    assert {(r["reader"], r["comparator"]) for r in rows} == set(ref.index)
    for row in rows:
        assert set(row) >= PREFERENCE_KEYS
        r = ref.loc[(row["reader"], row["comparator"])]
        assert (row["n"], row["wins"], row["ties"], row["losses"]) == (
            r["n"], r["wins"], r["ties"], r["losses"],
        )  # fmt: skip
        assert row["at_least_as_good"] == pytest.approx(r["at_least_as_good"], abs=1e-12)
        assert row["at_least_as_good_ci"] == pytest.approx([r["ci_low"], r["ci_high"]], abs=1e-12)
        assert row["sign_test_p"] == pytest.approx(r["sign_test_p"], rel=1e-12)
        assert row["left_chosen"] == pytest.approx(r["left_chosen"], abs=1e-12)
        assert row["left_bias_p"] == pytest.approx(r["left_bias_p"], rel=1e-12)
        assert row["clustered_ci"] == pytest.approx(
            [r["clustered_ci_low"], r["clustered_ci_high"]], abs=1e-12
        )
        low, high = row["clustered_ci"]
        assert low < row["at_least_as_good"] < high


def test_three_sources_get_a_bradley_terry_ranking_as_the_stats_function(cxr: tuple) -> None:
    doc, data, _ = cxr
    ref = bradley_terry(preference_input(data.preferences), reference="reference")
    assert [r["source"] for r in doc["bradley_terry"]] == ref["source"].tolist()
    for row, r in zip(doc["bradley_terry"], ref.to_dict("records"), strict=True):
        assert row["log_strength"] == pytest.approx(r["statistic"], abs=1e-10)
    assert [r["source"] for r in doc["bradley_terry"]] == ["CXR-A", "reference", "CXR-B"]


def test_acceptability_and_the_paired_comparison_equal_the_stats_functions(cxr: tuple) -> None:
    doc, data, _ = cxr
    frame = acceptability_input(data.acceptability)
    ref = acceptability_summary(frame, scale=SCALE, cutoff="3", n_boot=1000, seed=1)
    ref = ref.set_index("reader")
    assert [r["reader"] for r in doc["acceptability"]] == ["CXR-A", "CXR-B", "reference"]
    for row in doc["acceptability"]:
        assert set(row) >= ACCEPTABILITY_KEYS
        r = ref.loc[row["reader"]]
        assert (row["n"], row["acceptable"]) == (r["n"], r["acceptable"])
        assert row["ci"] == pytest.approx([r["ci_low"], r["ci_high"]], abs=1e-12)
        assert row["clustered_ci"] == pytest.approx(
            [r["clustered_ci_low"], r["clustered_ci_high"]], abs=1e-12
        )
    for row in doc["acceptability_paired"]:
        r = acceptability_paired(frame, reader=row["reader"], scale=SCALE, cutoff="3").iloc[0]
        assert row["diff"] == pytest.approx(r["statistic"], abs=1e-12)
        assert row["ci"] == pytest.approx([r["ci_low"], r["ci_high"]], abs=1e-12)
        assert row["mcnemar_p"] == pytest.approx(r["p_value"], rel=1e-12)
        assert row["ci"][1] < 0  # the reference impressions are more often acceptable


def test_errors_and_agreement_equal_the_stats_functions(cxr: tuple) -> None:
    doc, data, _ = cxr
    frame = error_input(data.errors)
    ref = error_summary(frame, run="run").set_index("reader")
    for row in doc["errors"]:
        assert set(row) >= ERROR_KEYS
        r = ref.loc[row["reader"]]
        assert (row["n_reports"], row["reports_with_error"]) == (
            r["n_reports"], r["reports_with_error"],
        )  # fmt: skip
        assert row["by_category"] == r["by_category"]
        assert row["errors_per_report"] == pytest.approx(r["errors_per_report"], abs=1e-12)
    alpha = {r["instrument"]: r for r in doc["judgment_agreement"]}
    assert set(alpha) == {"preference", "acceptability", "errors"}
    ref_err = judgment_agreement(frame, instrument="errors", n_boot=1000, seed=1).iloc[0]
    assert alpha["errors"]["alpha"] == pytest.approx(ref_err["statistic"], abs=1e-12)
    pref = preference_input(data.preferences).rename(columns={"reader": "reader_id"})
    ref_pref = judgment_agreement(pref, instrument="preference", n_boot=1000, seed=1).iloc[0]
    assert alpha["preference"]["alpha"] == pytest.approx(ref_pref["statistic"], abs=1e-12)
    assert alpha["preference"]["ci"] == pytest.approx(
        [ref_pref["ci_low"], ref_pref["ci_high"]], abs=1e-12
    )


def test_the_demo_lands_near_mira_and_cxr_llava(cxr_study: Study, cxr: tuple) -> None:
    doc, _, _ = cxr
    main = next(
        r for r in doc["preference"] if (r["reader"], r["comparator"]) == ("CXR-A", "reference")
    )
    assert main["n"] == 2400
    assert abs(main["at_least_as_good"] - TARGET_AT_LEAST_AS_GOOD) <= 0.03
    rates = {r["reader"]: r["rate"] for r in doc["acceptability"]}
    assert abs(rates["CXR-A"] - TARGET_ACCEPTABLE["CXR-A"]) <= 0.03
    assert abs(rates["reference"] - TARGET_ACCEPTABLE["reference"]) <= 0.03
    # the database holds what the bundle said (not a recomputation of the targets)
    raw = preference_frame(cxr_study)
    main_raw = raw[(raw["reader_a"] == "CXR-A") & (raw["reader_b"] == "reference")]
    assert main_raw["choice"].isin(["a", "tie"]).sum() == main["wins"] + main["ties"]
    acc = acceptability_frame(cxr_study)
    assert acc[acc["reader"] == "reference"]["acceptable"].mean() == rates["reference"]
    assert raw["rater"].nunique() == 20


def test_the_judgment_tables_and_figures_render(cxr: tuple) -> None:
    _, _, analysis = cxr
    tables = build_tables(analysis)
    for name in (
        "preference", "preference_ranking", "acceptability", "acceptability_paired", "errors",
        "judgment_agreement",
    ):  # fmt: skip
        shown = display_rows(name, tables[name])
        assert shown["rows"] and all(all(cell != "nan" for cell in r) for r in shown["rows"])
    pref = tables["preference"].set_index(["reader", "comparator"])
    assert pref.loc[("CXR-A", "reference"), "At least as good, % (95% CI)"].startswith("69.0 (")
    assert tables["acceptability"].set_index("reader").loc["reference", "Acceptable"] == "756/900"
    figures = build_figures(analysis)
    assert {"preference_bars", "position_bias", "acceptability_bars", "error_categories"} <= set(
        figures
    )
    bars = figures["preference_bars"]
    assert [t.name for t in bars.data] == [
        "A better", "equivalent", "B better", "at least as good (95% CI)",
    ]  # fmt: skip
    assert sum(t.x[0] for t in bars.data[:3]) == pytest.approx(100)


def test_a_statistician_sees_pseudonyms_in_the_judgment_keys(cxr_study: Study) -> None:
    doc = results_json(run_analysis(study_data(cxr_study, pseudonymous=True)))
    shown = pseudonym_map(CXR_SLUG, "reader", ["CXR-A", "CXR-B"])
    text = json.dumps({k: doc[k] for k in ("preference", "acceptability", "errors")})
    assert "CXR-A" not in text and "CXR-B" not in text and "rad01" not in text
    assert {r["reader"] for r in doc["acceptability"]} == {*shown.values(), "reference"}


def test_a_study_without_judgments_has_empty_keys_and_no_note(small_study: SmallStudy) -> None:
    doc = results_json(run_analysis(study_data(small_study())))
    for key in (
        "preference", "bradley_terry", "acceptability", "acceptability_paired", "errors",
        "judgment_agreement",
    ):  # fmt: skip
        assert doc[key] == []
    assert not [n for n in doc["notes"] if n["code"] == "judgment-degenerate"]


def test_one_rater_gets_a_note_instead_of_an_agreement(tmp_path: Path) -> None:
    root = write_cxr_bundle(tmp_path / "one")
    prefs = pd.read_csv(root / "preferences.csv", dtype=str, keep_default_na=False)
    prefs[prefs["rater_id"] == "rad01"].to_csv(root / "preferences.csv", index=False)
    for name in ("acceptability", "errors"):
        (root / f"{name}.csv").unlink()
    study = study_import(path=root, replace=True).study
    doc = results_json(run_analysis(study_data(study)))
    assert doc["judgment_agreement"] == [] and doc["acceptability"] == []
    assert all(r["n_raters"] == 1 for r in doc["preference"])
    messages = [n["message"] for n in doc["notes"] if n["code"] == "judgment-degenerate"]
    assert any("one rater only" in m for m in messages)


def test_the_judgments_are_in_the_input_digest(cxr: tuple) -> None:
    _, data, _ = cxr
    digests = input_digests(data)
    assert digests["tables"]["preferences"]["rows"] == 3800
    assert digests["tables"]["acceptability"]["rows"] == 2700
    without = input_digests(replace(data, preferences=data.preferences.iloc[1:]))
    assert without["sha256"] != digests["sha256"]


def test_the_dashboard_shows_the_judgment_tables_and_figures(cxr_study: Study) -> None:
    payload = dashboard_payload(
        study=cxr_study, options=AnalysisOptions(), pseudonymous=True, likert_range=None
    )
    tables = {t["name"]: t for t in payload["tables"]}
    assert {"preference", "acceptability", "acceptability_paired", "errors"} <= set(tables)
    assert tables["preference"]["footnotes"]
    assert {f["name"] for f in payload["figures"]} >= {
        "preference_bars", "position_bias", "acceptability_bars", "error_categories",
    }  # fmt: skip
    text = json.dumps(payload)
    assert "CXR-A" not in text and "rad01" not in text  # pseudonyms before unblinding
