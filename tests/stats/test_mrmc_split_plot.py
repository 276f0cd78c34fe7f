"""Split-plot OR/Hillis (analysis.stats.mrmc_split_plot) against RJafroc and MRMCaov.

Reference values: tests/stats/r/mrmc_split_plot_reference.R (RJafroc 2.1.2 SPLIT-PLOT-C on
its datasetFROCSpC as ROC data; MRMCaov 0.3.0 on Van Dyke with cases nested within readers,
and on Van Dyke split into two reader groups with the group jackknife written in R).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats.mrmc import MRMCResult, mrmc
from analysis.stats.mrmc_split_plot import mrmc_split_plot, reader_groups

from .conftest import DATA_DIR, R_DIR, r_number

TOL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    with (R_DIR / "mrmc_split_plot_reference.json").open(encoding="utf-8") as fh:
        out: dict[str, Any] = r_number(json.load(fh))
    return out


@pytest.fixture(scope="module")
def spc() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "rjafroc_split_plot_c.csv")


def nested(vandyke: pd.DataFrame) -> pd.DataFrame:
    """MRMCaov's ``case2``: every reader reads their own copy of the 114 cases."""
    return vandyke.assign(
        case_id=vandyke["reader"].astype(str) + "." + vandyke["case_id"].astype(str)
    )


def grouped(vandyke: pd.DataFrame) -> pd.DataFrame:
    """Readers 1-2 read the odd-numbered cases, readers 3-5 the even-numbered ones."""
    odd = vandyke["case_id"] % 2 == 1
    first = vandyke["reader"].isin([1, 2])
    return vandyke[(first & odd) | (~first & ~odd)]


def run(df: pd.DataFrame, analysis: str) -> MRMCResult:
    return mrmc_split_plot(df, reader="reader", analysis=analysis)  # type: ignore[arg-type]


def check_test(res: MRMCResult, r: dict[str, Any]) -> None:
    t = res.test.iloc[0]
    assert t["f"] == pytest.approx(r["f"], abs=TOL)
    assert t["df1"] == pytest.approx(r["df1"], abs=TOL)
    assert t["df2"] == pytest.approx(r["df2"], abs=TOL)
    assert t["p_value"] == pytest.approx(r["p"], abs=TOL)
    c = res.comparisons.iloc[0]
    # RJafroc and MRMCaov report modality 1 minus 2, as we do
    assert c["statistic"] == pytest.approx(r["diff"], abs=TOL)
    assert c["se"] == pytest.approx(r["se"], abs=TOL)
    assert c["df"] == pytest.approx(r["df"], abs=TOL)
    assert c["p_value"] == pytest.approx(r["p_diff"], abs=TOL)
    assert [c["ci_low"], c["ci_high"]] == pytest.approx(r["ci"], abs=TOL)
    m = res.modalities
    assert m["statistic"].tolist() == pytest.approx(r["means"], abs=TOL)
    assert m["se"].tolist() == pytest.approx(r["means_se"], abs=TOL)
    assert m["df"].tolist() == pytest.approx(r["means_df"], abs=TOL)
    # our single-modality CIs are truncated to [0, 1]; R's are printed raw
    assert m["ci_low"].tolist() == pytest.approx(np.clip(r["means_ci_low"], 0, 1), abs=TOL)
    assert m["ci_high"].tolist() == pytest.approx(np.clip(r["means_ci_high"], 0, 1), abs=TOL)


def check_components(res: MRMCResult, r: dict[str, Any]) -> None:
    vc = res.variance_components.set_index("component")["estimate"]
    for name in ("var_r", "var_tr", "cov1", "cov2", "cov3"):
        assert vc[name] == pytest.approx(r[name], abs=1e-9), name
    assert vc["var_error"] == pytest.approx(r["var"], abs=1e-9)


def check_aucs(res: MRMCResult, r: dict[str, Any]) -> None:
    # the R ids are numbers ("1" read back as 1.0)
    ours = res.reader_aucs.assign(
        modality=res.reader_aucs["modality"].astype(float),
        reader=res.reader_aucs["reader"].astype(float),
    ).set_index(["modality", "reader"])["statistic"]
    for mod, rdr, auc in zip(r["modality"], r["reader"], r["auc"], strict=True):
        assert ours[(float(mod), float(rdr))] == pytest.approx(auc, abs=1e-12)


@pytest.mark.parametrize("analysis", ["RRRC", "RRFC"])
def test_rjafroc_split_plot_c_matches(
    spc: pd.DataFrame, ref: dict[str, Any], analysis: str
) -> None:
    r = ref["rjafroc_spc"]
    res = run(spc, analysis)
    check_test(res, r[analysis])
    check_aucs(res, r["foms"])
    vc = res.variance_components.set_index("component")["estimate"]
    assert vc["cov2"] == r["cov2"] == 0
    assert vc["cov3"] == r["cov3"] == 0


def test_rjafroc_split_plot_c_headline(spc: pd.DataFrame) -> None:
    res = run(spc, "RRRC")
    t = res.test.iloc[0]
    assert (round(t["f"], 3), t["df2"], round(t["p_value"], 3)) == (2.404, 3.0, 0.219)
    assert round(res.comparisons["se"].iloc[0], 4) == 0.0433
    # each of the 4 readers read its own block of cases
    groups = reader_groups(
        np.stack(
            [
                spc[spc["modality"] == 1]
                .pivot(index="reader", columns="case_id", values="rating")
                .notna()
                .to_numpy()
            ]
            * 2
        )
    )
    assert [(r.size, c.size) for r, c in groups] == [(1, 47), (1, 53), (1, 45), (1, 55)]


@pytest.mark.parametrize("analysis", ["RRRC", "FRRC", "RRFC"])
@pytest.mark.parametrize(
    "design", ["rjafroc_spc_mrmcaov", "vandyke_nested_group_jackknife", "vandyke_groups"]
)
def test_matches_mrmcaov(
    spc: pd.DataFrame, vandyke: pd.DataFrame, ref: dict[str, Any], design: str, analysis: str
) -> None:
    data = {
        "rjafroc_spc_mrmcaov": spc,
        "vandyke_nested_group_jackknife": nested(vandyke),
        "vandyke_groups": grouped(vandyke),
    }[design]
    r = ref[design][analysis]
    res = run(data, analysis)
    check_test(res, r)
    check_aucs(res, r["reader_aucs"])
    if analysis != "RRFC":  # MRMCaov gives no covariances when cases are fixed
        check_components(res, r)


def test_mrmcaov_design_2_differs_only_by_its_jackknife_factor(
    vandyke: pd.DataFrame, ref: dict[str, Any]
) -> None:
    # MRMCaov's native jackknife for cases nested within readers leaves out each of all
    # N = 570 cases: Var and Cov1 carry (N - 1)/N instead of (K - 1)/K (K = 114 per reader)
    data = nested(vandyke)
    factor = (569 / 570) / (113 / 114)
    for analysis in ("RRRC", "RRFC"):  # these do not use Var or Cov1
        check_test(run(data, analysis), ref["vandyke_nested"][analysis])
    res = run(data, "FRRC")
    r = ref["vandyke_nested"]["FRRC"]
    vc = res.variance_components.set_index("component")["estimate"]
    assert vc["var_error"] * factor == pytest.approx(r["var"], abs=1e-12)
    assert vc["cov1"] * factor == pytest.approx(r["cov1"], abs=1e-12)
    assert r["cov2"] == r["cov3"] == vc["cov2"] == vc["cov3"] == 0
    assert res.test["f"].iloc[0] / factor == pytest.approx(r["f"], abs=TOL)


def test_grouped_headline(vandyke: pd.DataFrame) -> None:
    t = run(grouped(vandyke), "RRRC").test.iloc[0]
    assert (round(t["f"], 3), round(t["df2"], 2), round(t["p_value"], 3)) == (3.721, 6.08, 0.101)


def test_covariance_is_block_diagonal(vandyke: pd.DataFrame) -> None:
    res = run(grouped(vandyke), "RRRC")
    cov = res.covariance_matrix.reshape(2, 5, 2, 5)
    first, second = [0, 1], [2, 3, 4]
    assert not cov[:, first][:, :, :, second].any()
    assert cov[:, first][:, :, :, first].all()


def test_one_group_equals_the_crossed_analysis(vandyke: pd.DataFrame) -> None:
    for analysis in ("RRRC", "FRRC", "RRFC"):
        sp = run(vandyke, analysis)
        crossed = mrmc(vandyke, reader="reader", analysis=analysis)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(sp.test, crossed.test)
        pd.testing.assert_frame_equal(sp.comparisons, crossed.comparisons)
        np.testing.assert_allclose(sp.covariance_matrix, crossed.covariance_matrix, atol=1e-15)


def test_binary_fom_within_groups(vandyke: pd.DataFrame) -> None:
    data = grouped(vandyke)
    res = mrmc_split_plot(data, reader="reader", fom="sensitivity", threshold=3)
    # a reader's sensitivity is the share of their block's positives called positive
    for reader, block in data.groupby("reader"):
        pos = block[(block["truth"] == 1) & (block["modality"] == 1)]
        expected = float((pos["rating"] >= 3).mean())
        got = res.reader_aucs.set_index(["modality", "reader"])["statistic"][(1, reader)]
        assert got == pytest.approx(expected, abs=1e-12)


def test_overlapping_blocks_are_refused(vandyke: pd.DataFrame) -> None:
    data = grouped(vandyke)
    extra = vandyke[(vandyke["reader"] == 3) & (vandyke["case_id"] == 1)]
    with pytest.raises(ValueError, match="overlap"):
        run(pd.concat([data, extra]), "RRRC")


def test_reader_with_other_cases_in_another_modality_is_refused(vandyke: pd.DataFrame) -> None:
    data = grouped(vandyke)
    drop = (data["reader"] == 1) & (data["modality"] == 2) & (data["case_id"] == 1)
    with pytest.raises(ValueError, match="different cases in different modalities"):
        run(data[~drop], "RRRC")


def test_group_without_two_classes_names_the_group(vandyke: pd.DataFrame) -> None:
    neg = vandyke[vandyke["truth"] == 0]["case_id"].unique()
    first = vandyke["reader"].isin([1, 2])
    data = vandyke[
        (first & vandyke["case_id"].isin(neg)) | (~first & ~vandyke["case_id"].isin(neg))
    ]
    with pytest.raises(ValueError, match=r"reader group 1: 1, 2"):
        run(data, "RRRC")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"analysis": "XX"}, "analysis"),
        ({"fom": "ppv"}, "fom"),
        ({"threshold": 3}, "threshold"),
        ({"confidence": 1.5}, "confidence"),
    ],
)
def test_bad_arguments(vandyke: pd.DataFrame, kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mrmc_split_plot(vandyke, reader="reader", **kw)
