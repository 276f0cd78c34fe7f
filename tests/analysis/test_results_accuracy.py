"""results.json's issue-18 accuracy keys on the demo (clustered AUC, LR/DOR/J, paired
accuracy differences, partial AUC, Youden threshold, omnibus test, subgroups): the same
numbers as direct calls of analysis.stats on the same data, notes on degenerate data."""

from __future__ import annotations

import json
from itertools import combinations

import pandas as pd
import pytest

from analysis.charts import build_figures, figure_html, subgroup_forest
from analysis.figure_theme import figure_caption
from analysis.results import Analysis, AnalysisOptions, results_json, run_analysis
from analysis.results_accuracy import subgroups
from analysis.selectors import study_data
from analysis.stats.accuracy import accuracy_summary, paired_accuracy_difference
from analysis.stats.clustered_roc import clustered_aucs, compare_clustered, omnibus_auc_test
from analysis.stats.heterogeneity import cochran_q
from analysis.stats.roc import compare_readers, reader_aucs
from analysis.stats.roc_summaries import partial_auc, youden_threshold
from analysis.tables import build_tables, display_rows
from readerstudy.studies.models import Study
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> tuple[dict, Analysis]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        analysis = run_analysis(study_data(demo_study), AnalysisOptions(roc_boot=200))
        doc = results_json(analysis)
    return json.loads(json.dumps(doc, allow_nan=False)), analysis


def _rated(analysis: Analysis) -> pd.DataFrame:
    final = analysis.final[analysis.final["rating"].notna()]
    patient = analysis.data.cases.set_index("case_id")["patient_id"]
    return final.assign(patient_id=final["case_id"].map(patient))[
        ["reader_id", "case_id", "truth", "category", "rating", "patient_id"]
    ]


def test_the_demo_has_bilateral_patients_so_its_aucs_are_clustered(
    demo: tuple[dict, Analysis],
) -> None:
    doc, analysis = demo
    cases = analysis.data.cases
    assert len(cases) == 114 and cases["patient_id"].nunique() == 110
    assert doc["clustered"] is True
    notes = [n for n in doc["notes"] if n["code"] == "clustered-roc"]
    assert len(notes) == 1 and "110 patients (4 with more than one case)" in notes[0]["message"]
    rated = _rated(analysis)
    for reader, entry in doc["readers"].items():
        assert entry["method"] == "obuchowski" and entry["clustered"] is True
        sub = rated[rated["reader_id"] == reader]
        ref = clustered_aucs(sub).iloc[0]
        unclustered = reader_aucs(sub).iloc[0]
        assert entry["auc"] == pytest.approx(ref["statistic"]) == unclustered["statistic"]
        assert entry["auc_se"] == pytest.approx(ref["se"])
        assert entry["auc_ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]])
        assert entry["auc_se"] != pytest.approx(unclustered["se"], abs=1e-9)


def test_the_auc_tests_are_obuchowskis_clustered_comparisons(demo: tuple[dict, Analysis]) -> None:
    doc, analysis = demo
    rated = _rated(analysis)
    assert doc["auc_tests"]
    for t in doc["auc_tests"]:
        assert t["method"] == "obuchowski"
        pair = rated[rated["reader_id"].isin([t["reader_a"], t["reader_b"]])]
        ref = compare_clustered(pair).iloc[0]
        sign = 1 if ref["reader_a"] == t["reader_a"] else -1
        assert t["diff"] == pytest.approx(sign * ref["statistic"])
        assert t["se"] == pytest.approx(ref["se"])
        assert t["p"] == pytest.approx(ref["p_value"])


def test_clustering_can_be_forced_off_with_a_note(demo_study: Study) -> None:
    analysis = run_analysis(study_data(demo_study), AnalysisOptions(clustered="off", roc_boot=10))
    doc = results_json(analysis)
    assert doc["clustered"] is False
    assert "clustered-off" in {n["code"] for n in doc["notes"]}
    rated = _rated(analysis)
    first = rated[rated["reader_id"] == rated["reader_id"].iloc[0]]
    ref = reader_aucs(first).iloc[0]
    entry = doc["readers"][ref["reader"]]
    assert entry["method"] == "delong" and entry["auc_se"] == pytest.approx(ref["se"])
    t = doc["auc_tests"][0]
    pair = rated[rated["reader_id"].isin([t["reader_a"], t["reader_b"]])]
    assert t["method"] == "delong"
    assert abs(t["p"]) == pytest.approx(compare_readers(pair).iloc[0]["p_value"])


def test_lr_dor_and_youden_j_stand_beside_sensitivity(demo: tuple[dict, Analysis]) -> None:
    doc, analysis = demo
    ref = accuracy_summary(
        analysis.final, threshold=analysis.data.threshold, method="exact"
    ).set_index(["reader", "measure"])
    for reader, entry in doc["readers"].items():
        for measure in ("lr_positive", "lr_negative", "diagnostic_odds_ratio", "youden_j"):
            r = ref.loc[(reader, measure)]
            assert entry[measure] == pytest.approx(r["statistic"])
            assert entry[f"{measure}_ci"] == pytest.approx([r["ci_low"], r["ci_high"]])


def test_accuracy_tests_are_newcombe_paired_differences_of_every_pair(
    demo: tuple[dict, Analysis],
) -> None:
    doc, analysis = demo
    readers = list(doc["readers"])
    assert len(doc["accuracy_tests"]) == 2 * len(list(combinations(readers, 2)))
    t = doc["accuracy_tests"][0]
    final = analysis.final
    ref = paired_accuracy_difference(
        final[final["reader_id"].isin([t["reader_a"], t["reader_b"]])],
        reader_a=t["reader_a"],
        reader_b=t["reader_b"],
        threshold=analysis.data.threshold,
    ).set_index("metric")
    r = ref.loc[t["metric"]]
    assert t["diff"] == pytest.approx(r["statistic"])
    assert t["diff_ci"] == pytest.approx([r["ci_low"], r["ci_high"]])
    assert t["p"] == pytest.approx(r["p_value"])


def test_partial_auc_youden_threshold_and_omnibus_equal_direct_calls(
    demo: tuple[dict, Analysis],
) -> None:
    doc, analysis = demo
    rated = _rated(analysis)
    reader = doc["partial_auc"][0]["reader"]
    sub = rated[rated["reader_id"] == reader][["reader_id", "case_id", "truth", "rating"]]
    p = partial_auc(sub, low=0.8, n_boot=200, seed=1).iloc[0]
    assert doc["partial_auc"][0]["mcclish"] == pytest.approx(p["statistic"], nan_ok=True)
    assert doc["partial_auc"][0]["ci"] == pytest.approx([p["ci_low"], p["ci_high"]])
    y = youden_threshold(sub, n_boot=200, seed=1).iloc[0]
    assert doc["youden_threshold"][0]["threshold"] == pytest.approx(y["statistic"])
    assert doc["youden_threshold"][0]["ci"] == pytest.approx([y["ci_low"], y["ci_high"]])
    om = [o for o in doc["omnibus_auc"] if o["modality"] == analysis.modality]
    assert om and om[0]["covariance"] == "obuchowski"
    ref = omnibus_auc_test(rated, cluster="patient_id").iloc[0]
    assert om[0]["chi2"] == pytest.approx(ref["statistic"])
    assert om[0]["p"] == pytest.approx(ref["p_value"])


def test_subgroups_have_accuracy_and_a_cochran_q_of_their_aucs(
    demo: tuple[dict, Analysis],
) -> None:
    doc, analysis = demo
    by_name = {s["attribute"]: s for s in doc["subgroups"]}
    assert "age" in by_name and "tic_type" in by_name
    age = by_name["age"]
    assert len({r["subgroup"] for r in age["rows"]}) == 4
    reader = age["heterogeneity"][0]["reader"]
    rows = [r for r in age["rows"] if r["reader"] == reader]
    rated = _rated(analysis)
    cases = analysis.data.cases.set_index("case_id")
    bins = pd.qcut(cases["attr:age"].astype(float), 4).astype(str)
    for r in rows:
        sub = rated[(rated["reader_id"] == reader) & rated["case_id"].map(bins).eq(r["subgroup"])]
        ref = clustered_aucs(sub).iloc[0]
        assert r["n"] == len(sub) and r["auc"] == pytest.approx(ref["statistic"])
        assert r["auc_ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]])
    q = cochran_q([r["auc"] for r in rows], [r["auc_se"] for r in rows]).iloc[0]
    assert age["heterogeneity"][0]["q"] == pytest.approx(q["statistic"])
    assert age["heterogeneity"][0]["p"] == pytest.approx(q["p_value"])


def test_split_and_site_subgroups_put_the_sets_side_by_side(demo: tuple[dict, Analysis]) -> None:
    _, analysis = demo
    final = analysis.final
    ids = sorted(final["case_id"].unique())
    cases = analysis.data.cases.assign(
        split=["test" if i % 2 else "train" for i in range(len(analysis.data.cases))],
        **{"attr:site": ["external" if i % 3 == 0 else "internal" for i in range(len(ids))]},
    )
    notes: list = []
    rows, het = subgroups(
        final, cases, analysis.reader_order, requested=("split", "site"), bins=4, edges={},
        threshold=4, method="exact", clustered=False, notes=notes,
    )  # fmt: skip
    assert set(rows["attribute"]) == {"split", "site"}
    assert set(rows.loc[rows["attribute"] == "split", "subgroup"]) == {"test", "train"}
    assert set(rows.loc[rows["attribute"] == "site", "subgroup"]) == {"external", "internal"}
    reader = analysis.reader_order[0]
    site = cases.set_index("case_id")["attr:site"]
    part = final[(final["reader_id"] == reader) & final["case_id"].map(site).eq("external")]
    ref = reader_aucs(part[["reader_id", "case_id", "truth", "rating"]]).iloc[0]
    got = rows[(rows["attribute"] == "site") & (rows["subgroup"] == "external")]
    got = got[got["reader"] == reader].iloc[0]
    assert got["auc"] == pytest.approx(ref["statistic"]) and got["method"] == "delong"
    assert len(het[het["attribute"] == "site"]) >= 1


def test_an_unknown_subgroup_attribute_gets_a_note(small_study: SmallStudy) -> None:
    data = study_data(small_study())
    doc = results_json(run_analysis(data, AnalysisOptions(subgroups=("site",), roc_boot=10)))
    assert "subgroup-unknown" in {n["code"] for n in doc["notes"]}
    assert doc["subgroups"] == []
    assert doc["clustered"] is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("clustered", "maybe"), ("subgroup_bins", 1), ("roc_boot", 0), ("partial_auc_low", 1.0)],
)
def test_bad_options_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        AnalysisOptions(**{field: value})  # type: ignore[arg-type]


def test_the_forest_plot_draws_every_subgroup_auc_in_the_journal_theme(
    demo: tuple[dict, Analysis],
) -> None:
    doc, analysis = demo
    fig = subgroup_forest(analysis)
    assert fig is not None
    n_aucs = sum(r["auc"] is not None for s in doc["subgroups"] for r in s["rows"])
    assert sum(len(t.x) for t in fig.data) == n_aucs
    age = next(s for s in doc["subgroups"] if s["attribute"] == "age")
    r = next(r for r in age["rows"] if r["auc"] is not None)
    trace = next(t for t in fig.data if t.name == r["reader"])
    assert f"AUC {r['auc']:.3f}" in " ".join(trace.hovertext)
    themed = build_figures(analysis)["subgroup_forest"]
    assert "Obuchowski" in figure_caption(themed)
    html = figure_html(themed, title="forest", plotlyjs="inline")
    assert "Plotly.newPlot" in html and "age: " in html


def test_the_tables_show_lr_dor_j_paired_differences_and_subgroups(
    demo: tuple[dict, Analysis],
) -> None:
    doc, analysis = demo
    tables = build_tables(analysis)
    s1 = tables["diagnostic_performance"].set_index("reader")
    reader = next(iter(doc["readers"]))
    entry = doc["readers"][reader]
    assert s1.loc[reader, "lr_positive"] == pytest.approx(entry["lr_positive"])
    assert s1.loc[reader, "auc_method"] == "obuchowski"
    assert (
        "LR+ (95% CI)"
        in display_rows("diagnostic_performance", tables["diagnostic_performance"])["columns"]
    )
    assert len(tables["accuracy_tests"]) == len(doc["accuracy_tests"])
    sub = tables["subgroups"]
    n_rows = sum(len(s["rows"]) for s in doc["subgroups"])
    assert len(sub) == n_rows and "Heterogeneity P (Cochran Q)" in sub.columns


def test_a_subgroup_with_one_class_has_no_auc_but_the_others_keep_their_q(
    demo: tuple[dict, Analysis],
) -> None:
    _, analysis = demo
    final = analysis.final
    truth = final.drop_duplicates("case_id").set_index("case_id")["truth"]
    positives = sorted(truth[truth == 1].index)
    cases = analysis.data.cases.assign(
        **{
            "attr:site": [
                "positive-only" if c in positives[:10] else ("a" if i % 2 else "b")
                for i, c in enumerate(analysis.data.cases["case_id"])
            ]
        }
    )
    notes: list = []
    rows, het = subgroups(
        final, cases, analysis.reader_order, requested=("site",), bins=4, edges={},
        threshold=4, method="exact", clustered=False, notes=notes,
    )  # fmt: skip
    only = rows[rows["subgroup"] == "positive-only"]
    assert len(only) and only["auc"].isna().all()
    assert any(n.code == "subgroup-one-class" for n in notes)
    assert set(het["n_groups"]) == {2}
