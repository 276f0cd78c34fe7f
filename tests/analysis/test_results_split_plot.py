"""Split-plot readings in ``analyze`` (``mrmc[*].design = "split-plot"``, the note, the table
footnote, the methods text) and ``mrmc_binary`` (sensitivity and specificity as figures of
merit), against the R values of tests/stats/r/mrmc_split_plot_reference.R (MRMCaov)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.methods_text import methods_markdown
from analysis.results import AnalysisOptions, results_json, run_analysis
from analysis.selectors import study_data
from analysis.tables import build_tables, display_rows, table_footnotes
from readerstudy.studies.models import Study
from tests.analysis.conftest import CustomStudy
from tests.stats.conftest import DATA_DIR, R_DIR, r_number

pytestmark = pytest.mark.django_db

REF = r_number(json.loads((R_DIR / "mrmc_split_plot_reference.json").read_text()))


def vandyke_study(custom_study: CustomStudy, *, split: bool, few_positives: bool = False) -> Study:
    """Van Dyke as a study; with ``split``, readers 1-2 read the odd-numbered cases and
    readers 3-5 the even-numbered ones in both modalities (the R reference design)."""
    vd = pd.read_csv(DATA_DIR / "vandyke.csv")
    if split:
        odd = vd["case_id"] % 2 == 1
        first = vd["reader"].isin([1, 2])
        vd = vd[(first & odd) | (~first & ~odd)]
    if few_positives:  # group 1 keeps a single positive case
        pos = vd[(vd["truth"] == 1) & vd["reader"].isin([1, 2])]["case_id"].unique()
        vd = vd[~vd["case_id"].isin(pos[1:])]
    cases = vd.drop_duplicates("case_id")
    cases = pd.DataFrame(
        {"case_id": "C" + cases["case_id"].astype(str), "truth": cases["truth"], "split": "test"}
    )
    readings = pd.DataFrame(
        {
            "reader_id": "R" + vd["reader"].astype(str),
            "case_id": "C" + vd["case_id"].astype(str),
            "modality": vd["modality"],
            "category": vd["rating"],
            "score": "",
        }
    )
    readers = pd.DataFrame({"reader_id": [f"R{i}" for i in range(1, 6)], "kind": "human"})
    return custom_study(cases=cases, readers=readers, readings=readings, reference="R1")


def test_split_plot_readings_get_the_split_plot_analysis(custom_study: CustomStudy) -> None:
    study = vandyke_study(custom_study, split=True)
    analysis = run_analysis(study_data(study))
    doc = json.loads(json.dumps(results_json(analysis), allow_nan=False))
    entries = {m["analysis"]: m for m in doc["mrmc"]}
    assert set(entries) == {"RRRC", "FRRC", "RRFC"}
    for name, entry in entries.items():
        ref = REF["vandyke_groups"][name]
        assert entry["design"] == "split-plot"
        assert entry["layout"] == "split-plot"
        assert entry["reader_groups"] == [["R1", "R2"], ["R3", "R4", "R5"]]
        assert entry["readers"] == ["R1", "R2", "R3", "R4", "R5"]
        assert entry["n_cases"] == 114
        assert entry["f"] == pytest.approx(ref["f"], abs=1e-6)
        assert entry["p"] == pytest.approx(ref["p"], abs=1e-6)
        if name != "FRRC":
            assert entry["df2"] == pytest.approx(ref["df2"], abs=1e-6)
        assert entry["aucs"] == pytest.approx(ref["means"], abs=1e-9)
        assert entry["comparisons"][0]["diff"] == pytest.approx(ref["diff"], abs=1e-9)
    (sp,) = [n for n in doc["notes"] if n["code"] == "mrmc-split-plot"]
    assert sp["message"] == (
        "MRMC: split-plot design: 2 reader groups, each reading its own block of cases in "
        "every modality (R1, R2: 57 cases; R3, R4, R5: 57 cases). The OR/Hillis analysis "
        "uses the jackknife within each group and no covariance between groups."
    )
    assert not [
        n for n in doc["notes"] if n["code"] in {"mrmc-readers-dropped", "mrmc-cases-dropped"}
    ]
    footnote = table_footnotes(analysis)["mrmc"][0]
    assert footnote.startswith("Split-plot design: 2 reader groups")
    methods = methods_markdown(analysis)
    assert "split-plot design (2 reader groups" in methods
    assert "Hillis SL. A marginal-mean ANOVA approach" in methods


def test_crossed_readings_keep_the_crossed_analysis(custom_study: CustomStudy) -> None:
    study = vandyke_study(custom_study, split=False)
    analysis = run_analysis(study_data(study))
    doc = results_json(analysis)
    rrrc = doc["mrmc"][0]
    assert rrrc["design"] == "crossed"
    assert rrrc["reader_groups"] == [["R1", "R2", "R3", "R4", "R5"]]
    assert not [n for n in doc["notes"] if n["code"] == "mrmc-split-plot"]
    assert "fully crossed" in table_footnotes(analysis)["mrmc"][0]
    assert "split-plot" not in methods_markdown(analysis)


def test_a_group_with_one_positive_falls_back_to_the_crossed_part(
    custom_study: CustomStudy,
) -> None:
    study = vandyke_study(custom_study, split=True, few_positives=True)
    doc = results_json(run_analysis(study_data(study), AnalysisOptions()))
    (sp,) = [n for n in doc["notes"] if n["code"] == "mrmc-split-plot"]
    assert "needs at least 2 positive and 2 negative cases in every group's block" in sp["message"]
    # the crossed search does not find one group's block inside a split-plot layout
    codes = [n["code"] for n in doc["notes"] if n["code"].startswith("mrmc-")]
    assert codes == ["mrmc-split-plot", "mrmc-not-crossed"]
    assert doc["mrmc"] == []


# --- sensitivity and specificity as figures of merit (mrmc_binary) -----------------------


@pytest.mark.parametrize("split", [False, True], ids=["crossed", "split-plot"])
def test_mrmc_binary_matches_mrmcaov_binary_sens_and_spec(
    custom_study: CustomStudy, split: bool
) -> None:
    study = vandyke_study(custom_study, split=split)
    analysis = run_analysis(study_data(study))
    doc = json.loads(json.dumps(results_json(analysis), allow_nan=False))
    entries = doc["mrmc_binary"]
    assert [(e["fom"], e["analysis"]) for e in entries] == [
        (fom, a) for fom in ("sensitivity", "specificity") for a in ("RRRC", "FRRC", "RRFC")
    ]
    assert not [n for n in doc["notes"] if n["code"] == "mrmc-binary-not-computed"]
    prefix = "groups" if split else "crossed"
    for e in entries:
        ref = REF["vandyke_binary"][f"{prefix}_{e['fom']}"][e["analysis"]]
        assert e["design"] == ("split-plot" if split else "crossed")
        assert e["threshold"] == 4
        assert e["values"] == pytest.approx(ref["means"], abs=1e-9)
        (c,) = e["comparisons"]
        assert c["diff"] == pytest.approx(ref["diff"], abs=1e-9)
        if e["analysis"] == "FRRC" and ref["cov2"] < ref["cov3"]:
            # MRMCaov's FRRC error term takes Cov2 - Cov3 untruncated; ours (as the Iowa
            # program and RJafroc) max(Cov2 - Cov3, 0): the same MS(T) over another term
            ours = ref["var"] - ref["cov1"]
            theirs = ours + (5 - 1) * (ref["cov2"] - ref["cov3"])
            assert e["f"] * ours == pytest.approx(ref["f"] * theirs, abs=1e-12)
            assert c["se"] ** 2 * theirs == pytest.approx(ref["se"] ** 2 * ours, abs=1e-12)
        else:
            assert e["f"] == pytest.approx(ref["f"], abs=1e-6)
            assert e["p"] == pytest.approx(ref["p"], abs=1e-6)
            assert c["se"] == pytest.approx(ref["se"], abs=1e-9)
            assert c["ci"] == pytest.approx(ref["ci"], abs=1e-6)
        if e["analysis"] != "FRRC":
            assert e["df2"] == pytest.approx(ref["df2"], abs=1e-6)
        low = [max(v, 0.0) for v in ref["means_ci_low"]]
        high = [min(v, 1.0) for v in ref["means_ci_high"]]
        assert [ci[0] for ci in e["values_ci"]] == pytest.approx(low, abs=1e-6)
        assert [ci[1] for ci in e["values_ci"]] == pytest.approx(high, abs=1e-6)
        got = {(r["modality"], r["reader"]): r["value"] for r in e["reader_values"]}
        readers = ref["reader_aucs"]
        for mod, rdr, value in zip(
            readers["modality"], readers["reader"], readers["auc"], strict=True
        ):
            assert got[(int(mod), f"R{int(rdr)}")] == pytest.approx(value, abs=1e-12)
    table = build_tables(analysis)["mrmc_binary"]
    assert table["FOM"].tolist() == ["Sensitivity"] * 3 + ["Specificity"] * 3
    shown = display_rows("mrmc_binary", table)
    assert shown["columns"][0] == "FOM" and len(shown["rows"]) == 6
    assert "mrmc_binary" in table_footnotes(analysis)


def test_mrmc_binary_without_two_negatives_gets_a_note(custom_study: CustomStudy) -> None:
    vd = pd.read_csv(DATA_DIR / "vandyke.csv")
    negatives = vd[vd["truth"] == 0]["case_id"].unique()
    # every reader calls every negative case negative in both modalities: specificity 1
    # everywhere, a zero error term (the AUC still varies through the positives)
    vd.loc[vd["case_id"].isin(negatives), "rating"] = 1
    cases = vd.drop_duplicates("case_id")
    study = custom_study(
        cases=pd.DataFrame(
            {
                "case_id": "C" + cases["case_id"].astype(str),
                "truth": cases["truth"],
                "split": "test",
            }
        ),
        readers=pd.DataFrame({"reader_id": [f"R{i}" for i in range(1, 6)], "kind": "human"}),
        readings=pd.DataFrame(
            {
                "reader_id": "R" + vd["reader"].astype(str),
                "case_id": "C" + vd["case_id"].astype(str),
                "modality": vd["modality"],
                "category": vd["rating"],
                "score": "",
            }
        ),
        reference="R1",
    )
    doc = results_json(run_analysis(study_data(study)))
    (n,) = [n for n in doc["notes"] if n["code"] == "mrmc-binary-not-computed"]
    assert n["message"].startswith("MRMC of specificity: no test, because its error term is zero")
    spec = [e for e in doc["mrmc_binary"] if e["fom"] == "specificity"]
    assert [e["values"] for e in spec] == [[1.0, 1.0]] * 3
    assert all(e["p"] is None for e in spec)
