"""``text_metrics`` and ``text_metrics_tests`` of results.json (issue 16)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sacrebleu

from analysis.results import TEXT_METRICS_BOOT, Analysis, results_json, run_analysis
from analysis.selectors import study_data
from analysis.stats.text_metrics import METRICS, text_metrics_with_tests
from analysis.tables import build_tables, display_rows, fmt_ci
from readerstudy.studies.models import Reading, Study
from tests.analysis.conftest import SmallStudy


@pytest.fixture(scope="module")
def demo_analysis(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> Analysis:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return run_analysis(study_data(demo_study))


@pytest.fixture(scope="module")
def demo_results(demo_analysis: Analysis) -> dict:
    return json.loads(json.dumps(results_json(demo_analysis), allow_nan=False))


def _texts(study: Study) -> pd.DataFrame:
    """Impressions against reference impressions through the ORM (not analysis.selectors)."""
    rows = (
        Reading.objects.filter(case__study=study, case__split="test", modality=1)
        .exclude(impression="")
        .exclude(case__reference_impression="")
    )
    return pd.DataFrame(
        rows.values_list(
            "reader__code", "case__code", "run", "impression", "case__reference_impression"
        ),
        columns=["reader_id", "case_id", "run", "hypothesis", "reference"],
    )


@pytest.mark.django_db
def test_the_demos_text_metrics_equal_the_libraries_on_its_impressions(
    demo_study: Study, demo_results: dict
) -> None:
    texts = _texts(demo_study)
    assert len(texts) > 0
    rows = demo_results["text_metrics"]
    assert rows and {tuple(sorted(r)) for r in rows} == {
        ("ci", "metric", "n", "reader", "run", "value")
    }
    readers = sorted(texts["reader_id"].unique())
    assert {r["reader"] for r in rows} == set(readers)
    assert {r["metric"] for r in rows} == set(METRICS)
    pooled = {(r["reader"], r["metric"]): r for r in rows if r["run"] is None}
    for reader in readers:
        mine = texts[texts["reader_id"] == reader]
        bleu = sacrebleu.corpus_bleu(mine["hypothesis"].tolist(), [mine["reference"].tolist()])
        entry = pooled[(reader, "bleu4")]
        assert entry["value"] == pytest.approx(bleu.score, abs=1e-9)
        assert entry["n"] == len(mine)
        assert entry["ci"][0] <= entry["value"] <= entry["ci"][1]
    # the same numbers as analysis.stats on the same texts and seed
    scores, _tests = text_metrics_with_tests(texts, n_boot=TEXT_METRICS_BOOT, seed=1)
    expected = scores.set_index(["reader", "metric"]).loc[lambda d: d["run"].isna()]
    for (reader, metric), entry in pooled.items():
        assert entry["ci"][0] == pytest.approx(expected.loc[(reader, metric), "ci_low"])
    pairs = demo_results["text_metrics_tests"]
    assert len(pairs) == len(readers) * (len(readers) - 1) // 2 * len(METRICS)
    for p in pairs:
        assert set(p) == {"reader_a", "reader_b", "metric", "diff", "ci", "p", "n"}
        assert 0 < p["p"] <= 1


@pytest.mark.django_db
def test_a_study_without_reference_impressions_gets_a_note_and_no_text_metrics(
    small_study: SmallStudy,
) -> None:
    study = small_study()
    doc = results_json(run_analysis(study_data(study)))
    assert doc["text_metrics"] == [] and doc["text_metrics_tests"] == []
    assert "text-metrics-none" in [n["code"] for n in doc["notes"]]


def test_the_text_metric_tables_show_each_value_with_its_interval(
    demo_analysis: Analysis, demo_results: dict
) -> None:
    tables = build_tables(demo_analysis)
    table = tables["text_metrics"]
    assert len(table) == len(demo_results["text_metrics"])
    first = demo_results["text_metrics"][0]
    assert table["value"].iloc[0] == first["value"]
    digits = 1 if first["metric"] in ("bleu4", "chrf") else 3
    assert table["Value (95% CI)"].iloc[0] == fmt_ci(first["value"], *first["ci"], digits=digits)
    shown = display_rows("text_metrics_tests", tables["text_metrics_tests"])
    assert shown["columns"][:3] == ["Reader A", "Reader B", "Metric"]
    assert shown["keys"][:3] == ["reader_a", "reader_b", "metric"]
    assert len(shown["rows"]) == len(demo_results["text_metrics_tests"])
