"""Tests for analysis.stats.mrmc against the published Van Dyke and Franken anchors.

Sources (see tests/stats/data/*_reference.md, copied from /work/shared/data):
[IOWA] OR-DBM MRMC 2.51 output, [MRMCaov-JSS] printed MRMCaov output, [RJafroc-test]
RJafroc regression values, [INDEP] an independent re-implementation (used only where it
gives more digits than the printed software output). Tolerances are half a unit in the
last printed digit.
"""

from __future__ import annotations

import hashlib
import json
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.anova import AnovaRM

from analysis.stats.mrmc import MRMCResult, fom_covariance, mrmc, or_analysis
from analysis.stats.roc import placements

from .conftest import DATA_DIR, SHA256


def tol(printed: str) -> float:
    """Half a unit in the last printed decimal of ``printed``."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals


def close(actual: float, printed: str) -> None:
    assert actual == pytest.approx(float(printed), abs=tol(printed)), (actual, printed)


def comp(res: MRMCResult, name: str, column: str = "estimate") -> float:
    vc = res.variance_components.set_index("component")
    return float(vc.loc[name, column])


def run(df: pd.DataFrame, **kw: object) -> MRMCResult:
    return mrmc(df, reader="reader", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(SHA256))
def test_reference_csvs_have_the_published_sha256(name: str) -> None:
    assert hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest() == SHA256[name]


# ---------------------------------------------------------------------------
# Van Dyke
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vd(vandyke: pd.DataFrame) -> dict[tuple[str, str], MRMCResult]:
    return {
        (cov, an): run(vandyke, covariance=cov, analysis=an)
        for cov, an in product(("jackknife", "delong", "unbiased"), ("RRRC", "FRRC", "RRFC"))
    }


def test_vandyke_reader_aucs_match_iowa(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("jackknife", "RRRC")].reader_aucs.set_index(["modality", "reader"])["statistic"]
    m1 = ["0.91964573", "0.85877617", "0.90386473", "0.97310789", "0.82979066"]
    m2 = ["0.94782609", "0.90531401", "0.92173913", "0.99935588", "0.92995169"]
    for reader in range(1, 6):
        close(res.loc[(1, reader)], m1[reader - 1])
        close(res.loc[(2, reader)], m2[reader - 1])
    mods = vd[("jackknife", "RRRC")].modalities
    close(mods["statistic"].iloc[0], "0.89703704")
    close(mods["statistic"].iloc[1], "0.94083736")
    close(vd[("jackknife", "RRRC")].comparisons["statistic"].iloc[0], "-0.04380032")


def test_vandyke_anova_mean_squares_match_iowa(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("jackknife", "RRRC")]
    ms = res.anova.set_index("source")
    close(ms.loc["T", "ms"], "0.00479617")
    close(ms.loc["R", "ms"], "0.00383620")
    close(ms.loc["T*R", "ms"], "0.00055103")
    assert ms["df"].tolist() == [1, 4, 4]
    close(res.modalities["ms_r"].iloc[0], "0.00308263")
    close(res.modalities["ms_r"].iloc[1], "0.00130460")


def test_vandyke_jackknife_variance_components_match_iowa(
    vd: dict[tuple[str, str], MRMCResult],
) -> None:
    res = vd[("jackknife", "RRRC")]
    for name, value in [
        ("var_r", "0.00153500"),
        ("var_tr", "0.00020040"),
        ("cov1", "0.00034661"),
        ("cov2", "0.00034407"),
        ("cov3", "0.00023903"),
        ("var_error", "0.00080229"),
    ]:
        close(comp(res, name), value)
    close(comp(res, "cov1", "correlation"), "0.43203138")
    close(comp(res, "cov2", "correlation"), "0.42886683")
    close(comp(res, "cov3", "correlation"), "0.29793328")
    # full precision inputs of the RJafroc power tests (section 10)
    c = res.components
    assert c.var_tr == pytest.approx(0.00020040252358, abs=5e-15)
    assert c.var_error == pytest.approx(0.00080228826557, abs=5e-15)
    assert c.cov1 == pytest.approx(0.00034661370944, abs=5e-15)
    assert c.cov2 == pytest.approx(0.00034407482886, abs=5e-15)
    assert c.cov3 == pytest.approx(0.00023902837089, abs=5e-15)
    mods = res.modalities
    close(mods["var_error"].iloc[0], "0.00101410")
    close(mods["var_error"].iloc[1], "0.00059047")
    close(mods["cov2"].iloc[0], "0.00048396")
    close(mods["cov2"].iloc[1], "0.00020419")
    readers = res.readers
    for got, want in zip(
        readers["var_error"],
        ["0.00069890", "0.00110605", "0.00084234", "0.00015058", "0.00121357"],
        strict=True,
    ):
        close(got, want)
    for got, want in zip(
        readers["cov1"],
        ["0.00037347", "0.00076016", "0.00035532", "0.00000108", "0.00024304"],
        strict=True,
    ):
        close(got, want)


def test_vandyke_rrrc_jackknife_matches_iowa(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("jackknife", "RRRC")]
    t = res.test.iloc[0]
    close(t["f"], "4.46")
    close(t["df2"], "15.26")
    close(t["p_value"], "0.0517")
    close(t["error_term"], "0.00107626")
    # [INDEP] full precision
    close(t["f"], "4.456319")
    close(t["df2"], "15.2597")
    close(t["p_value"], "0.051666")
    close(t["error_term"], "0.00107626291")
    assert t["df1"] == 1
    c = res.comparisons.iloc[0]
    close(c["se"], "0.02074862")
    close(c["t"], "-2.11100")
    close(c["ci_low"], "-0.087959")
    close(c["ci_high"], "0.000359")
    close(c["ci_low"], "-0.08796")
    close(c["ci_high"], "0.00036")
    m = res.modalities
    close(m["se"].iloc[0], "0.03317360")
    close(m["df"].iloc[0], "12.745")
    close(m["ci_low"].iloc[0], "0.82522360")
    close(m["ci_high"].iloc[0], "0.96885048")
    close(m["se"].iloc[1], "0.02156637")
    close(m["df"].iloc[1], "12.710")
    close(m["ci_low"].iloc[1], "0.89413783")
    close(m["ci_high"].iloc[1], "0.98753689")


def test_vandyke_rrrc_delong_matches_mrmcaov(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("delong", "RRRC")]
    for name, value in [
        ("var_r", "0.0015364254"),
        ("var_tr", "0.0002045840"),
        ("var_error", "0.0007921325"),
        ("cov1", "0.0003420090"),
        ("cov2", "0.0003395265"),
        ("cov3", "0.0002358497"),
    ]:
        close(comp(res, name), value)
    close(comp(res, "cov1", "correlation"), "0.4317573")
    close(comp(res, "cov2", "correlation"), "0.4286234")
    close(comp(res, "cov3", "correlation"), "0.2977402")
    # RJafroc goodValues361/UtilVarComponents/DeLongDataset02.rds
    c = res.components
    assert c.var_r == pytest.approx(0.0015364253792, abs=5e-14)
    assert c.var_tr == pytest.approx(0.0002045840042, abs=5e-14)
    assert c.cov1 == pytest.approx(0.0003420089577, abs=5e-14)
    assert c.cov2 == pytest.approx(0.000339526531, abs=5e-13)
    assert c.cov3 == pytest.approx(0.0002358496532, abs=5e-14)
    assert c.var_error == pytest.approx(0.0007921324531, abs=5e-14)
    t = res.test.iloc[0]
    close(t["f"], "4.484854")
    close(t["df2"], "15.06611")
    close(t["p_value"], "0.05123303")
    close(t["error_term"], "0.001069415")
    cmp_ = res.comparisons.iloc[0]
    close(cmp_["se"], "0.0206825")
    close(cmp_["t"], "-2.117747")
    close(cmp_["ci_low"], "-0.0878671960")
    close(cmp_["ci_high"], "0.0002665519")
    m = res.modalities
    close(m["se"].iloc[0], "0.03307642")
    close(m["df"].iloc[0], "12.59597")
    close(m["ci_low"].iloc[0], "0.8253461")
    close(m["ci_high"].iloc[0], "0.9687280")
    close(m["cov2"].iloc[0], "0.0004775239")
    close(m["se"].iloc[1], "0.02150464")
    close(m["df"].iloc[1], "12.56530")
    close(m["ci_low"].iloc[1], "0.8942155")
    close(m["ci_high"].iloc[1], "0.9874592")
    close(m["cov2"].iloc[1], "0.0002015292")


def test_vandyke_delong_error_variance_is_mean_of_proc_variances(
    vd: dict[tuple[str, str], MRMCResult],
) -> None:
    # vandyke_reference.md section 8: the mean of the ten pROC DeLong variances
    se = vd[("delong", "RRRC")].reader_aucs["se"]
    close(float(np.mean(se**2)), "0.00079213")


def test_vandyke_rrrc_unbiased_matches_mrmcaov(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("unbiased", "RRRC")]
    for name, value in [
        ("var_error", "0.0007883925"),
        ("cov1", "0.0003416706"),
        ("cov2", "0.0003390650"),
        ("cov3", "0.0002356148"),
        ("var_r", "0.0015365290"),
        ("var_tr", "0.0002077588"),
    ]:
        close(comp(res, name), value)
    t = res.test.iloc[0]
    close(t["f"], "4.489614")
    close(t["df2"], "15.03418")
    close(t["p_value"], "0.0511618")
    c = res.comparisons.iloc[0]
    close(c["se"], "0.02067154")
    close(c["ci_low"], "-0.0878519409")
    close(c["ci_high"], "0.0002512968")
    m = res.modalities
    for i, (se, df, lo, hi) in enumerate(
        [
            ("0.0330712", "12.58802", "0.8253526", "0.9687214"),
            ("0.0214912", "12.53391", "0.8942323", "0.9874424"),
        ]
    ):
        close(m["se"].iloc[i], se)
        close(m["df"].iloc[i], df)
        close(m["ci_low"].iloc[i], lo)
        close(m["ci_high"].iloc[i], hi)


def test_vandyke_unbiased_difference_variance_matches_imrmc(
    vd: dict[tuple[str, str], MRMCResult],
) -> None:
    # vandyke_reference.md section 11: iMRMC U-stat variance of the difference and of each
    # modality equal (2/r)[MS(T*R) + r(Cov2 - Cov3)] and the squared single-modality SEs
    res = vd[("unbiased", "RRRC")]
    ms_tr = res.anova.set_index("source").loc["T*R", "ms"]
    c = res.components
    var_diff = 2 / 5 * (ms_tr + 5 * (c.cov2 - c.cov3))
    assert var_diff == pytest.approx(0.0004273125167, abs=5e-14)
    assert res.modalities["se"].iloc[0] ** 2 == pytest.approx(0.0010937044899, abs=5e-14)
    assert res.modalities["se"].iloc[1] ** 2 == pytest.approx(0.0004618715914, abs=5e-14)


def test_vandyke_frrc_matches_iowa_and_mrmcaov(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("jackknife", "FRRC")]
    t = res.test.iloc[0]
    close(t["f"] * t["df1"], "5.475953")
    close(t["p_value"], "0.01927984")
    close(t["error_term"], "0.0008758604")
    assert math.isinf(t["df2"])
    c = res.comparisons.iloc[0]
    close(c["se"], "0.01871748")
    close(c["t"], "-2.340075")
    close(c["ci_low"], "-0.08048591")
    close(c["ci_high"], "-0.00711473")
    m = res.modalities
    close(m["se"].iloc[0], "0.02428971")
    close(m["ci_low"].iloc[0], "0.84943008")
    close(m["ci_high"].iloc[0], "0.94464399")
    close(m["se"].iloc[1], "0.01677632")
    close(m["ci_low"].iloc[1], "0.90795637")
    close(m["ci_high"].iloc[1], "0.97371835")
    table = [
        ("-0.02818035", "0.02551213", "-1.1045864", "0.26933885", "-0.078183215", "0.021822507"),
        ("-0.04653784", "0.02630183", "-1.7693768", "0.07683102", "-0.098088476", "0.005012792"),
        ("-0.01787440", "0.03120965", "-0.5727202", "0.56683414", "-0.079044180", "0.043295388"),
        ("-0.02624799", "0.01729129", "-1.5179891", "0.12901715", "-0.060138290", "0.007642316"),
        ("-0.10016103", "0.04405746", "-2.2734182", "0.02300099", "-0.186512066", "-0.013809995"),
    ]
    rc = res.reader_comparisons
    assert rc["reader"].tolist() == [1, 2, 3, 4, 5]
    for (_, row), (diff, se, z, p, lo, hi) in zip(rc.iterrows(), table, strict=True):
        close(row["statistic"], diff)
        close(row["se"], se)
        close(row["z"], z)
        close(row["p_value"], p)
        close(row["ci_low"], lo)
        close(row["ci_high"], hi)
    # MRMCaov single-reader jackknife SEs
    ses = res.reader_aucs.set_index(["modality", "reader"])["se"]
    m1 = ["0.0301255164", "0.0363753335", "0.0282594118", "0.0173388332", "0.0417201720"]
    m2 = ["0.0221416887", "0.0298151099", "0.0297673065", "0.0007213348", "0.0262023046"]
    for j in range(5):
        close(ses.loc[(1, j + 1)], m1[j])
        close(ses.loc[(2, j + 1)], m2[j])


def test_vandyke_rrfc_matches_iowa_and_mrmcaov(vd: dict[tuple[str, str], MRMCResult]) -> None:
    res = vd[("jackknife", "RRFC")]
    t = res.test.iloc[0]
    close(t["f"], "8.704")
    assert (t["df1"], t["df2"]) == (1, 4)
    close(t["p_value"], "0.04195875")
    c = res.comparisons.iloc[0]
    close(c["se"], "0.01484629")
    close(c["ci_low"], "-0.08502022")
    close(c["ci_high"], "-0.00258042")
    m = res.modalities
    close(m["se"].iloc[0], "0.02482994")
    close(m["ci_low"].iloc[0], "0.82809808")
    close(m["ci_high"].iloc[0], "0.96597599")
    close(m["se"].iloc[1], "0.01615303")
    close(m["ci_low"].iloc[1], "0.89598936")
    close(m["ci_high"].iloc[1], "0.98568536")
    assert m["df"].tolist() == [4, 4]
    # RRFC does not depend on the covariance estimator
    for cov in ("delong", "unbiased"):
        assert vd[(cov, "RRFC")].test["f"].iloc[0] == pytest.approx(t["f"], abs=1e-12)


def test_vandyke_binary_sensitivity_matches_mrmcaov(vandyke: pd.DataFrame) -> None:
    res = run(vandyke, fom="sensitivity", threshold=3)
    sens = res.reader_aucs.set_index(["modality", "reader"])["statistic"]
    m1 = ["0.889", "0.778", "0.822", "0.933", "0.689"]
    m2 = ["0.978", "0.822", "0.911", "1.000", "0.889"]
    for j in range(5):
        close(sens.loc[(1, j + 1)], m1[j])
        close(sens.loc[(2, j + 1)], m2[j])
    close(res.modalities["statistic"].iloc[0], "0.8222222")
    close(res.modalities["statistic"].iloc[1], "0.9200000")
    close(comp(res, "var_error"), "0.0023681257")
    close(comp(res, "cov1"), "0.0009943883")
    close(comp(res, "cov2"), "0.0010145903")
    close(comp(res, "cov3"), "0.0006604938")
    t = res.test.iloc[0]
    close(t["f"], "6.689493")
    close(t["df2"], "15.71732")
    close(t["p_value"], "0.02008822")
    c = res.comparisons.iloc[0]
    close(c["statistic"], "-0.09777778")
    close(c["se"], "0.03780451")
    close(c["ci_low"], "-0.1780371")
    close(c["ci_high"], "-0.0175185")
    # 0/1 decisions give the same result as a threshold
    decided = vandyke.assign(rating=(vandyke["rating"] >= 3).astype(int))
    pd.testing.assert_frame_equal(run(decided, fom="sensitivity").test, res.test)
    # for a proportion the three covariance estimators coincide
    for cov in ("delong", "unbiased"):
        other = run(vandyke, fom="sensitivity", threshold=3, covariance=cov)
        np.testing.assert_allclose(other.covariance_matrix, res.covariance_matrix, atol=1e-15)


def test_vandyke_binary_specificity_values(vandyke: pd.DataFrame) -> None:
    res = run(vandyke, fom="specificity", threshold=3)
    spec = res.reader_aucs.set_index(["modality", "reader"])["statistic"]
    m1 = ["0.811594", "0.869565", "0.811594", "0.942029", "0.840580"]
    m2 = ["0.681159", "0.898551", "0.811594", "0.942029", "0.869565"]
    for j in range(5):
        close(spec.loc[(1, j + 1)], m1[j])
        close(spec.loc[(2, j + 1)], m2[j])
    # jackknife over the 69 negatives only: s^2 / n = p (1 - p) / (n - 1)
    p = spec.loc[(1, 1)]
    assert res.reader_aucs["se"].iloc[0] ** 2 == pytest.approx(p * (1 - p) / 68, rel=1e-12)


# ---------------------------------------------------------------------------
# Franken (edge cases: Var(T*R) < 0, Cov2 < Cov3)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fr(franken: pd.DataFrame) -> dict[tuple[str, str], MRMCResult]:
    return {
        (cov, an): run(franken, covariance=cov, analysis=an)
        for cov, an in product(("jackknife", "delong"), ("RRRC", "FRRC", "RRFC"))
    }


def test_franken_aucs_and_anova_match_iowa(fr: dict[tuple[str, str], MRMCResult]) -> None:
    res = fr[("jackknife", "RRRC")]
    aucs = res.reader_aucs.set_index(["modality", "reader"])["statistic"]
    m1 = ["0.85345997", "0.86499322", "0.85730439", "0.81524197"]
    m2 = ["0.84961556", "0.84350972", "0.84011759", "0.81433740"]
    for j in range(4):
        close(aucs.loc[(1, j + 1)], m1[j])
        close(aucs.loc[(2, j + 1)], m2[j])
    close(res.modalities["statistic"].iloc[0], "0.84774989")
    close(res.modalities["statistic"].iloc[1], "0.83689507")
    close(res.comparisons["statistic"].iloc[0], "0.01085482")
    ms = res.anova.set_index("source")["ms"]
    close(ms.loc["T"], "0.00023565")
    close(ms.loc["R"], "0.00068406")
    close(ms.loc["T*R"], "0.00005020")
    close(res.modalities["ms_r"].iloc[0], "0.00049266")
    close(res.modalities["ms_r"].iloc[1], "0.00024160")


def test_franken_variance_components_use_iowa_unclamped_definition(
    fr: dict[tuple[str, str], MRMCResult],
) -> None:
    res = fr[("jackknife", "RRRC")]
    for name, value in [
        ("var_r", "0.00003776"),
        ("var_tr", "-0.00071276"),
        ("cov1", "0.00079168"),
        ("cov2", "0.00048364"),
        ("cov3", "0.00051251"),
        ("var_error", "0.00152578"),
    ]:
        close(comp(res, name), value)
    close(comp(res, "cov1", "correlation"), "0.51887172")
    close(comp(res, "cov2", "correlation"), "0.31697811")
    close(comp(res, "cov3", "correlation"), "0.33590059")
    c = res.components
    assert c.var_error == pytest.approx(0.00152577624933, abs=5e-15)
    assert c.cov1 == pytest.approx(0.00079168214695, abs=5e-15)
    assert c.cov2 == pytest.approx(0.00048363767268, abs=5e-15)
    assert c.cov3 == pytest.approx(0.00051250914743, abs=5e-15)
    assert c.var_tr == pytest.approx(-0.00071276293574, abs=5e-15)
    # RJafroc's clamped definition would give -0.00068389146; we report Iowa's
    assert c.var_tr != pytest.approx(-0.00068389146, abs=1e-8)
    m = res.modalities
    close(m["var_error"].iloc[0], "0.00152278")
    close(m["var_error"].iloc[1], "0.00152877")
    close(m["cov2"].iloc[0], "0.00047230")
    close(m["cov2"].iloc[1], "0.00049498")
    for got, want in zip(
        res.readers["var_error"],
        ["0.00147717", "0.00151861", "0.00137738", "0.00172995"],
        strict=True,
    ):
        close(got, want)
    for got, want in zip(
        res.readers["cov1"], ["0.00056158", "0.00071581", "0.00076509", "0.00112425"], strict=True
    ):
        close(got, want)


def test_franken_rrrc_truncates_cov2_minus_cov3_and_has_three_df(
    fr: dict[tuple[str, str], MRMCResult],
) -> None:
    res = fr[("jackknife", "RRRC")]
    t = res.test.iloc[0]
    close(t["f"], "4.69")
    close(t["f"], "4.694058")
    assert t["df2"] == pytest.approx(3.0, abs=1e-12)
    close(t["p_value"], "0.1188")
    close(t["p_value"], "0.118838")
    close(t["error_term"], "0.00005020")
    c = res.comparisons.iloc[0]
    close(c["statistic"], "0.01085")
    close(c["se"], "0.00501")
    close(c["t"], "2.17")
    close(c["ci_low"], "-0.00509")
    close(c["ci_high"], "0.02680")
    m = res.modalities
    for i, (se, df, lo, hi) in enumerate(
        [
            ("0.02440215", "70.12", "0.79908282", "0.89641696"),
            ("0.02356642", "253.64", "0.79048429", "0.88330585"),
        ]
    ):
        close(m["se"].iloc[i], se)
        close(m["df"].iloc[i], df)
        close(m["ci_low"].iloc[i], lo)
        close(m["ci_high"].iloc[i], hi)
    # truncation makes RRRC identical to RRFC here
    rrfc = fr[("jackknife", "RRFC")].test.iloc[0]
    assert rrfc["f"] == pytest.approx(t["f"], rel=1e-12)
    assert rrfc["p_value"] == pytest.approx(t["p_value"], rel=1e-12)


def test_franken_frrc_and_rrfc_match_iowa(fr: dict[tuple[str, str], MRMCResult]) -> None:
    res = fr[("jackknife", "FRRC")]
    t = res.test.iloc[0]
    close(t["f"] * t["df1"], "0.32101")
    close(t["p_value"], "0.5710")
    c = res.comparisons.iloc[0]
    close(c["se"], "0.01916")
    close(c["t"], "0.57")
    close(c["ci_low"], "-0.02670")
    close(c["ci_high"], "0.04840")
    m = res.modalities
    close(m["se"].iloc[0], "0.02710939")
    close(m["ci_low"].iloc[0], "0.79461647")
    close(m["ci_high"].iloc[0], "0.90088331")
    close(m["se"].iloc[1], "0.02744860")
    close(m["ci_low"].iloc[1], "0.78309680")
    close(m["ci_high"].iloc[1], "0.89069334")
    table = [
        ("0.00384", "0.04279", "0.09", "0.9284"),
        ("0.02148", "0.04007", "0.54", "0.5919"),
        ("0.01719", "0.03499", "0.49", "0.6233"),
        ("0.00090", "0.03481", "0.03", "0.9793"),
    ]
    for (_, row), (diff, se, z, p) in zip(res.reader_comparisons.iterrows(), table, strict=True):
        close(row["statistic"], diff)
        close(row["se"], se)
        close(row["z"], z)
        close(row["p_value"], p)
    rrfc = fr[("jackknife", "RRFC")]
    t = rrfc.test.iloc[0]
    close(t["f"], "4.69")
    assert (t["df1"], t["df2"]) == (1, 3)
    close(t["p_value"], "0.1188")
    c = rrfc.comparisons.iloc[0]
    close(c["se"], "0.00501")
    close(c["ci_low"], "-0.00509")
    close(c["ci_high"], "0.02680")
    m = rrfc.modalities
    close(m["se"].iloc[0], "0.01109801")
    close(m["ci_low"].iloc[0], "0.81243106")
    close(m["ci_high"].iloc[0], "0.88306871")
    close(m["se"].iloc[1], "0.00777173")
    close(m["ci_low"].iloc[1], "0.81216196")
    close(m["ci_high"].iloc[1], "0.86162818")


def test_franken_delong_matches_independent_values(fr: dict[tuple[str, str], MRMCResult]) -> None:
    res = fr[("delong", "RRRC")]
    close(comp(res, "var_error"), "0.00150685")
    close(comp(res, "cov1"), "0.00078207")
    close(comp(res, "cov2"), "0.00047925")
    close(comp(res, "cov3"), "0.00050744")
    t = res.test.iloc[0]
    close(t["f"], "4.694058")
    assert t["df2"] == pytest.approx(3.0, abs=1e-12)
    close(t["p_value"], "0.118838")
    f = fr[("delong", "FRRC")].test.iloc[0]
    close(f["f"], "0.325138")
    close(f["p_value"], "0.568536")


def test_franken_single_reader_delong_variances_match_proc(
    fr: dict[tuple[str, str], MRMCResult],
) -> None:
    # franken_reference.md section 6: the DeLong covariance matrix holds pROC's var() and cov()
    res = fr[("delong", "RRRC")]
    cov = res.covariance_matrix
    var_m1 = ["0.00145487", "0.00147166", "0.00129945", "0.00178644"]
    var_m2 = ["0.00146481", "0.00152228", "0.00142422", "0.00163111"]
    covs = ["0.00055556", "0.00070504", "0.00075688", "0.00111080"]
    for j in range(4):
        close(cov[j, j], var_m1[j])
        close(cov[4 + j, 4 + j], var_m2[j])
        close(cov[j, 4 + j], covs[j])


# ---------------------------------------------------------------------------
# to_dict contract
# ---------------------------------------------------------------------------


def test_to_dict_has_exactly_the_results_json_contract(
    vd: dict[tuple[str, str], MRMCResult],
) -> None:
    out = vd[("jackknife", "RRRC")].to_dict()
    assert list(out) == [
        "analysis",
        "covariance",
        "modalities",
        "aucs",
        "f",
        "df1",
        "df2",
        "p",
        "comparisons",
    ]
    assert out["analysis"] == "RRRC"
    assert out["covariance"] == "jackknife"
    assert out["modalities"] == [1, 2]
    assert out["aucs"] == pytest.approx([0.89703704, 0.94083736], abs=5e-9)
    assert out["p"] == pytest.approx(0.051666, abs=5e-7)
    (cmp_,) = out["comparisons"]
    assert list(cmp_) == ["modality_a", "modality_b", "diff", "se", "ci", "p"]
    assert cmp_["ci"] == pytest.approx([-0.087959, 0.000359], abs=5e-7)
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    frrc = vd[("jackknife", "FRRC")].to_dict()
    assert frrc["df2"] is None
    json.dumps(frrc, allow_nan=False)


# ---------------------------------------------------------------------------
# algorithm checks
# ---------------------------------------------------------------------------


def brute_auc(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])))


def brute_jackknife(ratings: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Leave each case out and recompute every AUC from scratch (test oracle)."""
    n_cases = truth.size
    loo = np.empty((ratings.shape[0], n_cases))
    for k in range(n_cases):
        keep = np.arange(n_cases) != k
        for p in range(ratings.shape[0]):
            r = ratings[p, keep]
            t = truth[keep]
            loo[p, k] = brute_auc(r[t], r[~t])
    d = loo - loo.mean(axis=1, keepdims=True)
    return (d @ d.T) * (n_cases - 1) / n_cases


def brute_unbiased(ratings: np.ndarray, truth: np.ndarray) -> np.ndarray:
    x, y = ratings[:, truth], ratings[:, ~truth]
    psi = (x[:, :, None] > y[:, None, :]) + 0.5 * (x[:, :, None] == y[:, None, :])  # (P, m, n)
    m, n = psi.shape[1:]
    auc = psi.mean(axis=(1, 2))
    out = np.empty((psi.shape[0], psi.shape[0]))
    for a in range(psi.shape[0]):
        for b in range(psi.shape[0]):
            total = 0.0
            for k, kk, l_, ll in product(range(m), range(m), range(n), range(n)):
                if k != kk and l_ != ll:
                    total += psi[a, k, l_] * psi[b, kk, ll]
            out[a, b] = auc[a] * auc[b] - total / (m * (m - 1) * n * (n - 1))
    return out


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000).map(np.random.default_rng),
    st.integers(min_value=6, max_value=14),
)
def test_placement_jackknife_equals_recomputing_every_leave_one_out_auc(
    rng: np.random.Generator, n_cases: int
) -> None:
    truth = np.zeros(n_cases, bool)
    truth[rng.choice(n_cases, size=rng.integers(2, n_cases - 1), replace=False)] = True
    ratings = rng.integers(1, 5, size=(3, n_cases)).astype(float)
    _, cov = fom_covariance(ratings, truth, covariance="jackknife")
    np.testing.assert_allclose(cov, brute_jackknife(ratings, truth), atol=1e-14)


def test_unbiased_covariance_equals_the_u_statistic_definition() -> None:
    rng = np.random.default_rng(8)
    truth = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0], bool)
    ratings = rng.integers(1, 4, size=(3, truth.size)).astype(float)
    ratings[2] = rng.normal(size=truth.size)
    _, cov = fom_covariance(ratings, truth, covariance="unbiased")
    np.testing.assert_allclose(cov, brute_unbiased(ratings, truth), atol=1e-14)


def test_delong_covariance_in_mrmc_is_the_roc_delong_matrix(vandyke: pd.DataFrame) -> None:
    wide = vandyke.pivot_table(index=["modality", "reader"], columns="case_id", values="rating")
    truth = vandyke.groupby("case_id")["truth"].first().to_numpy() == 1
    _, cov = fom_covariance(wide.to_numpy(), truth, covariance="delong")
    _, v10, v01 = placements(wide.to_numpy(), truth)
    d10 = np.cov(v10) / v10.shape[1]
    d01 = np.cov(v01) / v01.shape[1]
    np.testing.assert_allclose(cov, d10 + d01, atol=1e-16)


def test_rrfc_with_three_modalities_equals_repeated_measures_anova(vandyke: pd.DataFrame) -> None:
    # a third modality: reader-specific shifted copy of modality 2 ratings for some cases
    rng = np.random.default_rng(0)
    third = vandyke[vandyke["modality"] == 2].copy()
    third["modality"] = 3
    third["rating"] = third["rating"] + rng.integers(-1, 2, len(third))
    data = pd.concat([vandyke, third], ignore_index=True)
    res = run(data, analysis="RRFC")
    aov = AnovaRM(res.reader_aucs, depvar="statistic", subject="reader", within=["modality"]).fit()
    row = aov.anova_table.iloc[0]
    assert res.test["f"].iloc[0] == pytest.approx(row["F Value"], rel=1e-10)
    assert res.test["df1"].iloc[0] == row["Num DF"] == 2
    assert res.test["df2"].iloc[0] == row["Den DF"] == 8
    assert res.test["p_value"].iloc[0] == pytest.approx(row["Pr > F"], rel=1e-9)
    assert len(res.comparisons) == 3
    assert res.comparisons[["modality_a", "modality_b"]].values.tolist() == [[1, 2], [1, 3], [2, 3]]
    # three-modality RRRC and FRRC run and give sensible numbers
    for an in ("RRRC", "FRRC"):
        other = run(data, analysis=an)
        assert 0 <= other.test["p_value"].iloc[0] <= 1
        assert len(other.reader_comparisons) == 15


def test_swapping_modality_labels_flips_the_difference(vandyke: pd.DataFrame) -> None:
    swapped = vandyke.assign(modality=3 - vandyke["modality"])
    a = run(vandyke)
    b = run(swapped)
    assert b.comparisons["statistic"].iloc[0] == pytest.approx(-a.comparisons["statistic"].iloc[0])
    assert b.test["f"].iloc[0] == pytest.approx(a.test["f"].iloc[0])
    assert b.test["p_value"].iloc[0] == pytest.approx(a.test["p_value"].iloc[0])


def test_or_analysis_validates_shapes() -> None:
    with pytest.raises(ValueError, match="modality"):
        or_analysis(np.ones((1, 3)), np.eye(3))
    with pytest.raises(ValueError, match="reader"):
        or_analysis(np.ones((2, 1)), np.eye(2))
    with pytest.raises(ValueError, match="analysis"):
        or_analysis(np.ones((2, 2)), np.eye(4), analysis="XX")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------


def test_it_rejects_a_design_that_is_not_fully_crossed(vandyke: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="df: the design is not fully crossed"):
        run(vandyke.iloc[1:])


def test_it_rejects_a_single_modality_or_reader(vandyke: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="modality"):
        run(vandyke[vandyke["modality"] == 1])
    with pytest.raises(ValueError, match="reader"):
        run(vandyke[vandyke["reader"] == 1])


def test_it_rejects_a_single_truth_class(vandyke: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="truth"):
        run(vandyke.assign(truth=1))


def test_it_rejects_bad_options(vandyke: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="analysis"):
        run(vandyke, analysis="XYZ")
    with pytest.raises(ValueError, match="covariance"):
        run(vandyke, covariance="bootstrap")
    with pytest.raises(ValueError, match="fom"):
        run(vandyke, fom="ppv")
    with pytest.raises(ValueError, match="threshold"):
        run(vandyke, threshold=3)
    with pytest.raises(ValueError, match="rating"):
        run(vandyke, fom="sensitivity")  # ratings 1-5 are not 0/1 decisions
    with pytest.raises(ValueError, match="confidence"):
        run(vandyke, confidence=0)


def test_it_names_missing_columns(vandyke: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="modality='modality'"):
        run(vandyke.drop(columns="modality"))
    with pytest.raises(ValueError, match="case='case_id'"):
        run(vandyke.drop(columns="case_id"))


def test_nan_ratings_raise_or_are_omitted(vandyke: pd.DataFrame) -> None:
    bad = vandyke.astype({"rating": float})
    bad.loc[bad["case_id"] == 1, "rating"] = np.nan
    with pytest.raises(ValueError, match="rating"):
        run(bad)
    omitted = run(bad, nan_policy="omit")
    expected = run(vandyke[vandyke["case_id"] != 1])
    pd.testing.assert_frame_equal(omitted.test, expected.test)
    # a single NaN breaks the crossing after omitting
    one = vandyke.astype({"rating": float})
    one.loc[0, "rating"] = np.nan
    with pytest.raises(ValueError, match="fully crossed"):
        run(one, nan_policy="omit")


def test_modality_cis_are_truncated_to_the_range_of_the_figure_of_merit() -> None:
    # four readers, modality 2 almost perfect for some: RRRC's t interval on 3 df of the
    # modality mean would reach 1.076; it is truncated at 1 (an AUC cannot exceed it)
    rng = np.random.default_rng(3)
    truth = np.array([1, 0] * 20)
    rows = []
    for r in range(4):
        first = truth * 1.0 + rng.normal(0, 1, truth.size)
        second = truth * 2.6 + rng.normal(0, 1, truth.size) * (0.4 + 0.5 * r)
        for modality, rating in ((1, first), (2, second)):
            rows += [
                {"reader_id": f"R{r}", "modality": modality, "case_id": i, "truth": t, "rating": x}
                for i, (t, x) in enumerate(zip(truth, rating, strict=True))
            ]
    df = pd.DataFrame(rows)
    res = mrmc(df, analysis="RRRC")
    second = res.modalities.set_index("modality").loc[2]
    raw_high = second["statistic"] + stats.t.ppf(0.975, second["df"]) * second["se"]
    assert raw_high > 1.05
    assert second["ci_high"] == 1.0 and second["ci_low"] < second["statistic"]
    for analysis in ("RRRC", "FRRC", "RRFC"):
        out = mrmc(df, analysis=analysis)  # type: ignore[arg-type]
        assert ((out.modalities["ci_low"] >= 0) & (out.modalities["ci_high"] <= 1)).all()
        for frame in (out.comparisons, out.reader_comparisons):
            assert ((frame["ci_low"] >= -1) & (frame["ci_high"] <= 1)).all()


def test_fixed_readers_test_on_kundel_follows_iowa_and_rjafroc_not_mrmcaov() -> None:
    # tests/stats/r/mrmc_kundel_reference.R: Kundel's treatments 2 and 3 (the fully crossed
    # part), where Cov2 < Cov3. Iowa and RJafroc use max(Cov2 - Cov3, 0) in the FRRC
    # denominator, MRMCaov the raw (negative) difference: X2 2.585 vs 2.937.
    ref = json.loads((DATA_DIR.parent / "r" / "mrmc_kundel_reference.json").read_text())
    df = pd.read_csv(DATA_DIR.parent / "r" / "kundel_23.csv")
    kw = {"reader": "reader", "modality": "treatment", "case": "case"}
    for analysis in ("RRRC", "FRRC", "RRFC"):
        test = mrmc(df, analysis=analysis, **kw).test.iloc[0]  # type: ignore[arg-type]
        statistic = test["f"] * test["df1"] if analysis == "FRRC" else test["f"]
        assert statistic == pytest.approx(ref["rjafroc"][analysis]["statistic"], abs=1e-9)
        assert test["p_value"] == pytest.approx(ref["rjafroc"][analysis]["p"], abs=1e-9)
    frrc = mrmc(df, analysis="FRRC", **kw)
    c = frrc.components
    assert c.cov2 == pytest.approx(ref["mrmcaov"]["cov2"], abs=1e-12)
    assert c.cov3 == pytest.approx(ref["mrmcaov"]["cov3"], abs=1e-12)
    assert c.cov2 < c.cov3
    ms_t = frrc.anova.set_index("source").loc["T", "ms"]
    unclamped = ms_t / (c.var_error - c.cov1 + 3 * (c.cov2 - c.cov3))
    assert unclamped == pytest.approx(ref["mrmcaov"]["FRRC"]["statistic"], abs=1e-9)
    assert ref["mrmcaov"]["FRRC"]["statistic"] - ref["rjafroc"]["FRRC"]["statistic"] > 0.35
