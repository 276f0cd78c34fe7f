"""Tests of analysis.stats.agreement against R (tests/stats/r/agreement_reference.R,
kappa_ci_reference.R, reliability_reference.R), the krippendorff package and published
worked examples."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from analysis.stats.agreement import (
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    icc,
    interpret_kappa,
    krippendorff_alpha,
)
from tests.stats._agree_fixtures import R_DIR, assert_close, load_reference

REF = load_reference("agreement_reference")
KAPPA_CI = load_reference("kappa_ci_reference")
RELIABILITY = load_reference("reliability_reference")


def _pair_id(pair: dict) -> str:
    return f"{pair['reader_a']}-{pair['reader_b']}-{pair['scale']}"


COHEN_CASES = [(s, p) for s in REF["cohen"] for p in s["pairs"]]


def _cohen(dataset: dict, pair: dict, weights: str) -> pd.Series:
    df = pd.DataFrame(dataset["data"])
    kw = (
        {"threshold": dataset["threshold"]}
        if pair["scale"] == "binary"
        else {"categories": dataset["levels"]}
    )
    return cohen_kappa(
        df, reader_a=pair["reader_a"], reader_b=pair["reader_b"], weights=weights, **kw
    ).iloc[0]


# --------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "pair"), COHEN_CASES, ids=[f"{s['name']}:{_pair_id(p)}" for s, p in COHEN_CASES]
)
def test_unweighted_kappa_matches_psych_and_vcd(dataset: dict, pair: dict) -> None:
    got = _cohen(dataset, pair, "none")
    psych, vcd = pair["ref"]["psych"], pair["ref"]["vcd"]
    assert_close(got["statistic"], psych["kappa"])
    assert_close(got["statistic"], vcd["kappa"])
    assert_close(got["se"] ** 2, psych["var_kappa"])
    assert_close([got["ci_low"], got["ci_high"]], psych["ci"])
    if vcd["ase"] is not None:  # vcd's sqrt of a rounding-negative variance is NaN
        assert_close(got["se"], vcd["ase"])
        assert_close([got["ci_low"], got["ci_high"]], vcd["ci"])


@pytest.mark.parametrize(
    ("dataset", "pair"), COHEN_CASES, ids=[f"{s['name']}:{_pair_id(p)}" for s, p in COHEN_CASES]
)
@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_matches_vcd_and_psych_estimate(
    dataset: dict, pair: dict, weights: str
) -> None:
    got = _cohen(dataset, pair, weights)
    psych, vcd = pair["ref"]["psych"], pair["ref"]["vcd"]
    assert_close(got["statistic"], vcd[weights])
    assert_close(got["statistic"], psych[f"weighted_{weights}"])
    if vcd[f"{weights}_ase"] is not None:
        assert_close(got["se"], vcd[f"{weights}_ase"])
        assert_close([got["ci_low"], got["ci_high"]], vcd[f"{weights}_ci"])


def test_psych_weighted_variance_differs_from_the_fleiss_cohen_everitt_formula() -> None:
    # documents why vcd, not psych, is the reference for the weighted SE
    dataset = REF["cohen"][0]
    pair = dataset["pairs"][0]
    got = _cohen(dataset, pair, "quadratic")
    psych_var = pair["ref"]["psych"]["var_weighted_quadratic"]
    assert abs(got["se"] ** 2 - psych_var) > 0.1 * got["se"] ** 2
    assert_close(got["se"], pair["ref"]["vcd"]["quadratic_ase"])


def test_a_constant_reader_has_kappa_zero() -> None:
    dataset = REF["cohen"][0]
    pair = next(p for p in dataset["pairs"] if p["reader_a"] == "C" and p["scale"] == "category")
    got = _cohen(dataset, pair, "none")
    assert got["statistic"] == 0.0
    assert got["se"] < 1e-8


def test_kappa_is_nan_when_both_readers_are_constant_in_the_same_category() -> None:
    df = pd.DataFrame({"reader_id": ["a"] * 5 + ["b"] * 5, "case_id": list(range(5)) * 2})
    df["category"] = 4
    got = cohen_kappa(df, reader_a="a", reader_b="b", categories=range(7)).iloc[0]
    assert np.isnan(got["statistic"]) and np.isnan(got["ci_low"])
    assert got["interpretation"] is None


def test_an_unused_middle_category_changes_weighted_but_not_unweighted_kappa() -> None:
    a = [1, 2, 4, 5, 1, 4, 2, 5, 4, 2]
    b = [1, 4, 4, 5, 2, 5, 2, 1, 4, 1]
    df = pd.DataFrame(
        {"reader_id": ["a"] * 10 + ["b"] * 10, "case_id": list(range(10)) * 2, "category": a + b}
    )
    for weights in ("linear", "quadratic"):
        full = cohen_kappa(df, reader_a="a", reader_b="b", categories=range(1, 6), weights=weights)
        seen = cohen_kappa(df, reader_a="a", reader_b="b", weights=weights)
        assert abs(full["statistic"].iloc[0] - seen["statistic"].iloc[0]) > 1e-3
    full = cohen_kappa(df, reader_a="a", reader_b="b", categories=range(1, 6))
    seen = cohen_kappa(df, reader_a="a", reader_b="b")
    assert_close(
        full[["statistic", "se"]].to_numpy().ravel(), seen[["statistic", "se"]].to_numpy().ravel()
    )


def test_unused_end_categories_do_not_change_weighted_kappa() -> None:
    # weights 1 - d/D or 1 - d^2/D^2: widening D only rescales the disagreement weights,
    # which cancels in kappa = 1 - observed / expected disagreement
    dataset = REF["cohen"][0]  # categories 0 and 6 are never used
    df = pd.DataFrame(dataset["data"])
    for weights in ("linear", "quadratic"):
        full = cohen_kappa(df, reader_a="A", reader_b="R3", categories=range(7), weights=weights)
        seen = cohen_kappa(df, reader_a="A", reader_b="R3", weights=weights)
        assert_close(
            full[["statistic", "se"]].to_numpy().ravel(),
            seen[["statistic", "se"]].to_numpy().ravel(),
        )


def test_cohen_kappa_table_against_a_reference_reader() -> None:
    dataset = REF["cohen"][0]
    df = pd.DataFrame(dataset["data"])
    got = cohen_kappa_table(df, reference="R3", categories=dataset["levels"])
    assert got["reader_a"].tolist() == ["A", "B", "C"]
    assert (got["reader_b"] == "R3").all()
    assert (got["scale"] == "category").all()
    single = cohen_kappa(df, reader_a="B", reader_b="R3", categories=dataset["levels"])
    assert_close(got.loc[1, "statistic"], single["statistic"].iloc[0])
    assert list(got.columns) == [
        "reader_a",
        "reader_b",
        "scale",
        "weights",
        "n",
        "observed_agreement",
        "expected_agreement",
        "statistic",
        "se",
        "ci_low",
        "ci_high",
        "interpretation",
    ]


def test_all_pairs_without_reference() -> None:
    df = pd.DataFrame(REF["cohen"][1]["data"])
    got = cohen_kappa_table(df)
    assert list(zip(got["reader_a"], got["reader_b"], strict=True)) == [
        ("part", "ref"),
        ("part", "rev"),
        ("ref", "rev"),
    ]


ratings = st.lists(st.integers(min_value=0, max_value=6), min_size=2, max_size=40)


@settings(max_examples=20, deadline=None)
@given(ratings)
def test_kappa_is_one_for_identical_ratings(values: list[int]) -> None:
    if len(set(values)) < 2:
        values = [*values, (values[0] + 1) % 7]
    n = len(values)
    df = pd.DataFrame(
        {"reader_id": ["a"] * n + ["b"] * n, "case_id": list(range(n)) * 2, "category": values * 2}
    )
    for weights in ("none", "linear", "quadratic"):
        got = cohen_kappa(df, reader_a="a", reader_b="b", categories=range(7), weights=weights)
        assert_close(got["statistic"], 1.0)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_kappa_is_symmetric_and_its_ci_contains_it(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=2, max_value=40))
    a = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    b = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    df = pd.DataFrame(
        {"reader_id": ["a"] * n + ["b"] * n, "case_id": list(range(n)) * 2, "category": a + b}
    )
    for weights in ("none", "linear", "quadratic"):
        ab = cohen_kappa(df, reader_a="a", reader_b="b", categories=range(7), weights=weights)
        ba = cohen_kappa(df, reader_a="b", reader_b="a", categories=range(7), weights=weights)
        if np.isnan(ab["statistic"].iloc[0]):
            assert np.isnan(ba["statistic"].iloc[0])
            continue
        for col in ("statistic", "se", "ci_low", "ci_high"):
            assert_close(ab[col], ba[col].iloc[0], tol=1e-9)
        row = ab.iloc[0]
        assert row["ci_low"] - 1e-12 <= row["statistic"] <= row["ci_high"] + 1e-12


def test_a_zero_cohen_variance_is_zero_whatever_the_reader_order() -> None:
    # Quadratic weights, two cases: the variance is 0, but its two terms cancel only up to
    # rounding; the SE must be exactly 0 in both orders, not sqrt(rounding noise).
    df = pd.DataFrame(
        {"reader_id": ["a", "a", "b", "b"], "case_id": [0, 1, 0, 1], "category": [2, 1, 3, 2]}
    )
    for a, b in (("a", "b"), ("b", "a")):
        got = cohen_kappa(df, reader_a=a, reader_b=b, categories=range(7), weights="quadratic")
        assert got["se"].iloc[0] == 0.0
        assert_close(got["statistic"], 1 / 3, tol=1e-12)


def test_cohen_rejects_readers_with_different_cases() -> None:
    df = pd.DataFrame(
        {"reader_id": ["a", "a", "b", "b"], "case_id": [1, 2, 1, 3], "category": [1, 2, 1, 2]}
    )
    with pytest.raises(ValueError, match="reader_b"):
        cohen_kappa(df, reader_a="a", reader_b="b")


def test_cohen_omits_cases_with_nan_for_the_pair_on_request() -> None:
    df = pd.DataFrame(REF["cohen"][0]["data"])
    full = cohen_kappa(df, reader_a="A", reader_b="R3", categories=range(7))
    df = pd.concat([df, pd.DataFrame({"reader_id": ["A"], "case_id": [999], "category": [np.nan]})])
    df = pd.concat([df, pd.DataFrame({"reader_id": ["R3"], "case_id": [999], "category": [3]})])
    with pytest.raises(ValueError, match="category"):
        cohen_kappa(df, reader_a="A", reader_b="R3", categories=range(7))
    got = cohen_kappa(df, reader_a="A", reader_b="R3", categories=range(7), nan_policy="omit")
    assert got["n"].iloc[0] == 114
    assert_close(got["statistic"], full["statistic"].iloc[0])


def test_cohen_rejects_a_rating_outside_the_categories() -> None:
    df = pd.DataFrame(
        {"reader_id": ["a", "a", "b", "b"], "case_id": [1, 2, 1, 2], "category": [1, 9, 1, 2]}
    )
    with pytest.raises(ValueError, match="category"):
        cohen_kappa(df, reader_a="a", reader_b="b", categories=range(7))


def test_cohen_rejects_nan_with_nan_policy_raise() -> None:
    df = pd.DataFrame(
        {"reader_id": ["a", "a", "b", "b"], "case_id": [1, 2, 1, 2], "category": [1, np.nan, 1, 2]}
    )
    with pytest.raises(ValueError, match="category"):
        cohen_kappa(df, reader_a="a", reader_b="b")


def test_cohen_rejects_unknown_weights_and_reader() -> None:
    df = pd.DataFrame(REF["cohen"][1]["data"])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa(df, reader_a="ref", reader_b="rev", weights="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reader_b"):
        cohen_kappa(df, reader_a="ref", reader_b="nobody")
    with pytest.raises(ValueError, match="reference"):
        cohen_kappa_table(df, reference="nobody")


# --------------------------------------------------------------------------------------
# Fleiss' kappa
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", REF["fleiss"], ids=lambda d: d["name"])
def test_fleiss_kappa_matches_r(dataset: dict) -> None:
    df = pd.DataFrame(dataset["data"])
    scales = [("category", {"categories": dataset["levels"]})]
    if dataset.get("binary"):
        scales.append(("binary", {"threshold": dataset["threshold"]}))
    for scale, kw in scales:
        ref = dataset[scale]
        got = fleiss_kappa(df, reader=None, n_boot=0, se_method="fleiss-nee-landis", **kw).iloc[0]
        assert got["scale"] == scale
        assert (got["n_cases"], got["n_ratings"]) == (ref["n_cases"], ref["n_ratings"])
        assert_close(got["observed_agreement"], ref["observed"])
        assert_close(got["expected_agreement"], ref["expected"])
        assert_close(got["statistic"], ref["kappa"])
        assert_close(got["se"], ref["se"])
        assert_close([got["ci_low"], got["ci_high"]], ref["ci"])
        assert_close(got["z"], ref["z"])
        assert_close(got["p_value"], ref["p"])
        gwet = fleiss_kappa(df, reader=None, n_boot=0, **kw).iloc[0]  # the default
        assert gwet["se_method"] == "gwet"
        assert_close(gwet["se"], ref["gwet_se"])
        assert_close([gwet["ci_low"], gwet["ci_high"]], ref["gwet_ci"])
        assert_close(gwet["z"], ref["z"])  # the test of kappa = 0 keeps the null SE


def test_fleiss_kappa_of_the_fourteen_rater_example_is_0_210() -> None:
    dataset = next(d for d in REF["fleiss"] if d["name"] == "fourteen_raters")
    got = fleiss_kappa(pd.DataFrame(dataset["data"]), reader=None, n_boot=0).iloc[0]
    assert round(got["statistic"], 3) == 0.210
    assert round(got["observed_agreement"], 3) == 0.378
    assert round(got["expected_agreement"], 3) == 0.213


@pytest.mark.parametrize("dataset", REF["fleiss"], ids=lambda d: d["name"])
def test_fleiss_kappa_matches_statsmodels(dataset: dict) -> None:
    df = pd.DataFrame(dataset["data"])
    table = pd.crosstab(df["case_id"], df["category"]).to_numpy()
    got = fleiss_kappa(df, reader=None, n_boot=0)
    assert_close(got["statistic"], sm_fleiss_kappa(table, method="fleiss"))


# Table 5 of the worked example, intraobserver agreement of the benign-malignant call:
# kappa (95% CI) of each model over 3 runs on 114 cases.
TABLE5_BINARY = {
    "A1": (0.76, 0.65, 0.86),
    "A2": (0.86, 0.75, 0.96),
    "B": (-0.07, -0.18, 0.03),
    "C": (0.43, 0.33, 0.54),
    "D": (0.63, 0.53, 0.74),
    "E": (0.72, 0.62, 0.83),
}


@pytest.mark.parametrize("model", sorted(TABLE5_BINARY))
def test_binary_fleiss_ci_reproduces_the_worked_example_table5(model: str) -> None:
    # With two categories the Fleiss-Nee-Landis SE is sqrt(2 / (N m (m - 1))) whatever the
    # data, so the CI half-width of every binary row of Table 5 (N = 114, m = 3) is fixed;
    # a kappa that rounds to the printed one must give the printed limits.
    dataset = next(d for d in REF["fleiss"] if d["name"] == "runs_114")
    got = fleiss_kappa(
        pd.DataFrame(dataset["data"]),
        reader=None,
        threshold=4,
        n_boot=0,
        se_method="fleiss-nee-landis",
    )
    half = (got["ci_high"] - got["statistic"]).iloc[0]
    assert_close(got["se"], np.sqrt(2 / (114 * 3 * 2)))
    kappa, low, high = TABLE5_BINARY[model]
    candidates = np.linspace(kappa - 0.005, kappa + 0.005, 1001)
    ok = (np.round(candidates - half, 2) == low) & (np.round(candidates + half, 2) == high)
    assert ok.any()


def test_fleiss_kappa_per_reader_groups() -> None:
    dataset = next(d for d in REF["fleiss"] if d["name"] == "runs_114")
    one = pd.DataFrame(dataset["data"])
    two = pd.concat([one.assign(reader_id="M1"), one.assign(reader_id="M2")])
    got = fleiss_kappa(two, categories=dataset["levels"], n_boot=0)
    assert got["reader"].tolist() == ["M1", "M2"]
    assert_close(got["statistic"], [dataset["category"]["kappa"]] * 2)


def _naive_fleiss_boot_ci(df: pd.DataFrame, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile CI from resampling whole cases (the textbook bootstrap)."""
    wide = df.pivot(index="case_id", columns="run", values="category").to_numpy()
    cats = np.unique(wide)
    counts = (wide[:, :, None] == cats[None, None, :]).sum(axis=1).astype(float)
    n, m = wide.shape
    rng = np.random.default_rng(seed)
    kappas = []
    for _ in range(n_boot):
        c = counts[rng.integers(0, n, n)]
        p_bar = (((c**2).sum(axis=1) - m) / (m * (m - 1))).mean()
        p_e = ((c.sum(axis=0) / (n * m)) ** 2).sum()
        kappas.append((p_bar - p_e) / (1 - p_e))
    low, high = np.quantile(kappas, [0.025, 0.975])
    return float(low), float(high)


def test_fleiss_bootstrap_matches_resampling_whole_cases() -> None:
    dataset = next(d for d in REF["fleiss"] if d["name"] == "runs_114")
    df = pd.DataFrame(dataset["data"])
    got = fleiss_kappa(df, reader=None, n_boot=10_000, seed=3).iloc[0]
    low, high = _naive_fleiss_boot_ci(df, n_boot=10_000, seed=4)
    assert abs(got["boot_ci_low"] - low) < 0.01
    assert abs(got["boot_ci_high"] - high) < 0.01


def test_fleiss_bootstrap_depends_only_on_the_rating_patterns() -> None:
    dataset = next(d for d in REF["fleiss"] if d["name"] == "runs_114")
    df = pd.DataFrame(dataset["data"])
    renamed = df.assign(case_id=df["case_id"].map(lambda c: f"x{c}")).sample(frac=1, random_state=1)
    a = fleiss_kappa(df, reader=None, n_boot=300, seed=5).iloc[0]
    b = fleiss_kappa(renamed, reader=None, n_boot=300, seed=5).iloc[0]
    assert (a["boot_ci_low"], a["boot_ci_high"]) == (b["boot_ci_low"], b["boot_ci_high"])


def test_fleiss_bootstrap_is_seeded_and_brackets_kappa() -> None:
    dataset = next(d for d in REF["fleiss"] if d["name"] == "runs_114")
    df = pd.DataFrame(dataset["data"])
    a = fleiss_kappa(df, reader=None, n_boot=500, seed=7).iloc[0]
    b = fleiss_kappa(df, reader=None, n_boot=500, seed=7).iloc[0]
    c = fleiss_kappa(df, reader=None, n_boot=500, seed=8).iloc[0]
    assert (a["boot_ci_low"], a["boot_ci_high"]) == (b["boot_ci_low"], b["boot_ci_high"])
    assert a["boot_ci_low"] != c["boot_ci_low"]
    assert a["boot_ci_low"] < a["statistic"] < a["boot_ci_high"]
    # the percentile interval is close to the non-null analytic one
    gwet = fleiss_kappa(df, reader=None, n_boot=0).iloc[0]
    assert abs(a["boot_ci_low"] - gwet["ci_low"]) < 0.03
    assert abs(a["boot_ci_high"] - gwet["ci_high"]) < 0.03


def test_fleiss_rejects_fewer_than_two_runs() -> None:
    df = pd.DataFrame({"case_id": [1, 2, 3], "run": 1, "category": [1, 2, 3]})
    with pytest.raises(ValueError, match="run"):
        fleiss_kappa(df, reader=None)


def test_fleiss_rejects_an_unequal_number_of_runs() -> None:
    df = pd.DataFrame({"case_id": [1, 1, 2, 2, 2], "run": [1, 2, 1, 2, 3], "category": 1})
    with pytest.raises(ValueError, match="run"):
        fleiss_kappa(df, reader=None)


def test_fleiss_rejects_repeated_runs_and_nan() -> None:
    df = pd.DataFrame({"case_id": [1, 1, 2, 2], "run": [1, 1, 1, 2], "category": [1, 2, 1, 1]})
    with pytest.raises(ValueError, match="run"):
        fleiss_kappa(df, reader=None)
    df = pd.DataFrame({"case_id": [1, 1, 2, 2], "run": [1, 2, 1, 2], "category": [1, np.nan, 1, 1]})
    with pytest.raises(ValueError, match="category"):
        fleiss_kappa(df, reader=None)


def test_fleiss_omits_cases_left_incomplete_by_nan_on_request() -> None:
    df = pd.DataFrame(
        {"case_id": [1, 1, 2, 2, 3, 3], "run": [1, 2] * 3, "category": [1, 1, 2, np.nan, 2, 1]}
    )
    got = fleiss_kappa(df, reader=None, nan_policy="omit", n_boot=0).iloc[0]
    assert got["n_cases"] == 2
    expected = fleiss_kappa(df[df["case_id"] != 2], reader=None, n_boot=0)
    assert_close(got["statistic"], expected["statistic"].iloc[0])


def test_fleiss_rejects_unknown_se_method() -> None:
    df = pd.DataFrame({"case_id": [1, 1, 2, 2], "run": [1, 2, 1, 2], "category": [1, 2, 1, 1]})
    with pytest.raises(ValueError, match="se_method"):
        fleiss_kappa(df, reader=None, se_method="wald")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_fleiss_kappa_is_one_for_identical_runs_and_its_ci_contains_it(
    data: st.DataObject,
) -> None:
    n = data.draw(st.integers(min_value=2, max_value=30))
    m = data.draw(st.integers(min_value=2, max_value=5))
    base = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    if len(set(base)) < 2:
        base[0] = (base[0] + 1) % 7
    df = pd.DataFrame(
        {"case_id": np.tile(np.arange(n), m), "run": np.repeat(np.arange(m), n)}
    ).assign(category=np.tile(base, m))
    got = fleiss_kappa(df, reader=None, categories=range(7), n_boot=50).iloc[0]
    assert_close(got["statistic"], 1.0)
    assert got["ci_low"] <= got["statistic"] <= got["ci_high"]


# Fleiss' kappa CIs against irrCAC (Gwet, the default) and irr (SPSS's null SE)


def _kappa_scales(dataset: dict) -> list[tuple[str, dict]]:
    scales = [("category", {"categories": dataset["levels"]})]
    if dataset.get("binary"):
        scales.append(("binary", {"threshold": dataset["threshold"]}))
    return scales


@pytest.mark.parametrize("dataset", KAPPA_CI["sets"], ids=lambda d: d["name"])
def test_default_fleiss_ci_is_gwets_as_irrcac_fleiss_kappa_raw(dataset: dict) -> None:
    df = pd.DataFrame(dataset["data"])
    for scale, kw in _kappa_scales(dataset):
        ref = dataset[scale]
        got = fleiss_kappa(df, reader=None, n_boot=0, **kw).iloc[0]
        assert got["se_method"] == "gwet"
        assert_close(got["statistic"], ref["kappa"])
        assert_close(got["se"], ref["gwet_se"])
        assert_close([got["ci_low"], got["ci_high"]], ref["gwet_ci"])
        spss = fleiss_kappa(df, reader=None, n_boot=0, se_method="fleiss-nee-landis", **kw)
        assert_close(spss["se"], ref["spss_se"])
        assert_close(spss[["ci_low", "ci_high"]].to_numpy()[0], np.clip(ref["spss_ci"], -1, 1))
        assert_close(spss["z"], ref["z"])


def test_the_spss_se_is_more_than_twice_too_narrow_on_fleiss_1971_data() -> None:
    # Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses (irr::diagnoses)
    dataset = next(d for d in KAPPA_CI["sets"] if d["name"] == "diagnoses")
    df = pd.DataFrame(dataset["data"])
    gwet = fleiss_kappa(df, reader=None, n_boot=0).iloc[0]
    spss = fleiss_kappa(df, reader=None, n_boot=0, se_method="fleiss-nee-landis").iloc[0]
    assert round(gwet["statistic"], 3) == 0.430
    assert gwet["se"] / spss["se"] == pytest.approx(2.2236, abs=1e-4)
    # irrCAC prints (0.319,0.541)
    assert (round(gwet["ci_low"], 3), round(gwet["ci_high"], 3)) == (0.319, 0.541)


def _fleiss_coverage(se_method: str, *, n: int, reps: int, seed: int) -> float:
    """Share of CIs that contain the kappa of the population they are drawn from.

    The population is Fleiss's 1971 data itself: each replicate draws ``n`` of its 30
    patients (with their six diagnoses) with replacement, so the true kappa is the kappa
    of the 30 (Fleiss' kappa is a function of the mean per-patient counts).
    """
    dataset = next(d for d in KAPPA_CI["sets"] if d["name"] == "diagnoses")
    data = pd.DataFrame(dataset["data"])
    wide = data.pivot(index="case_id", columns="run", values="category").to_numpy()
    rng = np.random.default_rng(seed)
    draws = wide[rng.integers(0, len(wide), size=(reps, n))]
    rep, case, run = np.meshgrid(np.arange(reps), np.arange(n), np.arange(6), indexing="ij")
    long = pd.DataFrame(
        {"reader_id": rep.ravel(), "case_id": case.ravel(), "run": run.ravel()}
    ).assign(category=draws.ravel())
    got = fleiss_kappa(long, n_boot=0, se_method=se_method, categories=range(1, 6))  # type: ignore[arg-type]
    true = dataset["category"]["kappa"]
    return float(((got["ci_low"] <= true) & (true <= got["ci_high"])).mean())


def test_the_default_fleiss_ci_covers_away_from_the_null_and_the_spss_one_does_not() -> None:
    # 400 samples of 30 patients from Fleiss's data (kappa 0.43): the 95% interval of
    # Gwet's variance holds the true kappa about 94% of the time, SPSS's about 61%.
    assert _fleiss_coverage("gwet", n=30, reps=400, seed=11) >= 0.92
    assert _fleiss_coverage("fleiss-nee-landis", n=30, reps=400, seed=11) <= 0.70


def test_demo_model_runs_csv_is_the_demo_studys() -> None:
    from fixtures.demo import build_demo_tables

    tables = build_demo_tables()
    cases = tables["cases"].set_index("case_id")["split"]
    readings = tables["readings"]
    readings = readings[readings["case_id"].map(cases).eq("test")]
    models = readings[readings.groupby("reader_id")["run"].transform("nunique") >= 3]
    got = (
        models[["reader_id", "case_id", "run", "category"]]
        .astype({"reader_id": str, "case_id": str, "run": int, "category": int})
        .sort_values(["reader_id", "run", "case_id"])
        .reset_index(drop=True)
    )
    committed = pd.read_csv(R_DIR / "demo_model_runs.csv", dtype={"reader_id": str})
    pd.testing.assert_frame_equal(got, committed, check_dtype=False)


def test_demo_fleiss_cis_match_irrcac_and_stay_inside_minus_one_one() -> None:
    runs = pd.read_csv(R_DIR / "demo_model_runs.csv", dtype={"reader_id": str})
    for scale, kw in (("category", {"categories": range(7)}), ("binary", {"threshold": 4})):
        gwet = fleiss_kappa(runs, n_boot=0, **kw).set_index("reader")
        spss = fleiss_kappa(runs, n_boot=0, se_method="fleiss-nee-landis", **kw)
        spss = spss.set_index("reader")
        for ref in KAPPA_CI["demo"]:
            r = ref[scale]
            assert_close(gwet.loc[ref["reader"], ["ci_low", "ci_high"]], r["gwet_ci"])
            assert_close(
                spss.loc[ref["reader"], ["ci_low", "ci_high"]], np.clip(r["spss_ci"], -1, 1)
            )
        for table in (gwet, spss):
            assert (table["ci_low"] >= -1).all() and (table["ci_high"] <= 1).all()
    # A1's positive call: kappa 0.956, the SPSS interval reached 1.062 before clipping
    a1 = next(r for r in KAPPA_CI["demo"] if r["reader"] == "A1")["binary"]
    assert a1["spss_ci"][1] > 1.06
    assert a1["gwet_ci"][1] == 1.0


def test_fleiss_counts_the_cases_dropped_listwise() -> None:
    df = pd.DataFrame(
        {
            "reader_id": ["M"] * 9,
            "case_id": [1, 1, 1, 2, 2, 2, 3, 3, 4],
            "run": [1, 2, 3, 1, 2, 3, 1, 2, 1],
            "category": [1, 1, 2, 2, 2, 2, 1, 2, 1],
        }
    )
    got = fleiss_kappa(df, nan_policy="omit", n_boot=0).iloc[0]
    assert (got["n_cases"], got["n_omitted"]) == (2, 2)


# --------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: four
# observers, twelve units, values 1-5 with missing data.
KRIPP_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
)
KRIPP_2011_PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def _kripp_long(matrix: np.ndarray) -> pd.DataFrame:
    r, u = np.indices(matrix.shape)
    return pd.DataFrame(
        {"rater_id": r.ravel(), "case_id": u.ravel(), "score": matrix.ravel()}
    ).dropna()


@pytest.mark.parametrize("level", sorted(KRIPP_2011_PUBLISHED))
def test_krippendorff_alpha_reproduces_the_2011_worked_example(level: str) -> None:
    got = krippendorff_alpha(_kripp_long(KRIPP_2011), level=level).iloc[0]
    assert round(got["statistic"], 3) == KRIPP_2011_PUBLISHED[level]
    assert (got["n_units"], got["n_values"]) == (11, 40)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_krippendorff_alpha_matches_the_krippendorff_package(data: st.DataObject) -> None:
    raters = data.draw(st.integers(min_value=2, max_value=5))
    units = data.draw(st.integers(min_value=3, max_value=25))
    cells = data.draw(
        st.lists(
            st.one_of(st.none(), st.integers(1, 5)),
            min_size=raters * units,
            max_size=raters * units,
        )
    )
    matrix = np.array([np.nan if c is None else c for c in cells], dtype=float).reshape(
        raters, units
    )
    long = _kripp_long(matrix)
    pairable = (~np.isnan(matrix)).sum(axis=0) >= 2
    values = matrix[:, pairable]
    if values.size == 0 or len(np.unique(values[~np.isnan(values)])) < 2:
        return
    for level in ("nominal", "ordinal", "interval", "ratio"):
        got = krippendorff_alpha(long, level=level)["statistic"].iloc[0]
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
        assert_close(got, expected, tol=1e-9)


def test_krippendorff_alpha_accepts_several_unit_columns() -> None:
    long = _kripp_long(KRIPP_2011)
    long["reader_id"] = np.where(long["case_id"] < 6, "A", "B")
    long["domain"] = long["case_id"] % 6
    got = krippendorff_alpha(long, unit=["reader_id", "domain"], level="ordinal")
    base = krippendorff_alpha(_kripp_long(KRIPP_2011), level="ordinal")
    assert_close(got["statistic"], base["statistic"].iloc[0])


def _reliability_long(dataset: dict) -> pd.DataFrame:
    return pd.DataFrame(dataset["data"]).rename(columns={"unit": "case_id"})


@pytest.mark.parametrize("dataset", RELIABILITY["sets"], ids=lambda d: d["name"])
def test_krippendorff_alpha_matches_irr_and_irrcac(dataset: dict) -> None:
    long = _reliability_long(dataset)
    for level, ref in dataset["alpha"].items():
        got = krippendorff_alpha(long, level=level).iloc[0]
        assert_close(got["statistic"], ref["value"])
        if "irrcac" in ref:  # printed to 5 digits
            assert_close(got["statistic"], ref["irrcac"], tol=5e-6)


def test_irr_kripp_alpha_is_wrong_on_complete_data_with_more_than_two_raters() -> None:
    # A known difference (docs/statistics.md): irr 0.84.1 gives -0.0324 for the nominal
    # alpha of irr::anxiety (3 raters, no missing value); Krippendorff's definition,
    # irrCAC and this module give -0.0237. With a missing value irr agrees.
    for name, differs in (("anxiety", True), ("video", True), ("anxiety_missing", False)):
        dataset = next(d for d in RELIABILITY["sets"] if d["name"] == name)
        nominal = dataset["alpha"]["nominal"]
        assert (abs(nominal["irr_complete"] - nominal["value"]) > 1e-3) is differs


@pytest.mark.parametrize("dataset", RELIABILITY["sets"], ids=lambda d: d["name"])
def test_krippendorff_bootstrap_ci_matches_an_r_unit_bootstrap(dataset: dict) -> None:
    # R: 20,000 resamples of the units with irr::kripp.alpha; here 20,000 more with
    # numpy. The percentile limits agree within Monte Carlo error.
    got = krippendorff_alpha(
        _reliability_long(dataset), level="ordinal", n_boot=20_000, seed=4
    ).iloc[0]
    low, high = dataset["alpha"]["ordinal"]["boot_ci"]
    assert abs(got["ci_low"] - low) < 0.02
    assert abs(got["ci_high"] - high) < 0.02
    assert got["ci_low"] < got["statistic"] < got["ci_high"]


def test_krippendorff_bootstrap_equals_resampling_whole_units() -> None:
    long = _reliability_long(RELIABILITY["sets"][0])
    wide = long.pivot(index="case_id", columns="rater_id", values="score")
    rng = np.random.default_rng(9)
    alphas = []
    for _ in range(3000):
        sample = wide.iloc[rng.integers(0, len(wide), len(wide))].reset_index(drop=True)
        alphas.append(krippendorff.alpha(sample.T.to_numpy(), level_of_measurement="ordinal"))
    low, high = np.quantile(alphas, [0.025, 0.975])
    got = krippendorff_alpha(long, level="ordinal", n_boot=3000, seed=1).iloc[0]
    assert abs(got["ci_low"] - low) < 0.03 and abs(got["ci_high"] - high) < 0.03


def test_krippendorff_bootstrap_is_seeded_and_off_by_default() -> None:
    long = _reliability_long(RELIABILITY["sets"][1])
    a = krippendorff_alpha(long, n_boot=500, seed=3).iloc[0]
    b = krippendorff_alpha(long, n_boot=500, seed=3).iloc[0]
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])
    none = krippendorff_alpha(long).iloc[0]
    assert np.isnan(none["ci_low"]) and np.isnan(none["ci_high"])
    with pytest.raises(ValueError, match="n_boot"):
        krippendorff_alpha(long, n_boot=-1)


def test_krippendorff_rejects_scores_out_of_range_and_bad_level() -> None:
    long = _kripp_long(KRIPP_2011)
    with pytest.raises(ValueError, match="score"):
        krippendorff_alpha(long, low=1, high=4)
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(long, level="cardinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="score"):
        krippendorff_alpha(
            pd.DataFrame({"rater_id": [1, 2], "case_id": [1, 1], "score": [1, np.nan]}),
            nan_policy="raise",
        )


# --------------------------------------------------------------------------------------
# ICC
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", REF["icc"], ids=lambda d: d["name"])
def test_icc_matches_psych(dataset: dict) -> None:
    got = icc(pd.DataFrame(dataset["data"]), target="target", low=1, high=5)
    assert got["type"].tolist() == dataset["type"]
    for col, ref_col in (
        ("statistic", "icc"),
        ("f", "f"),
        ("df1", "df1"),
        ("df2", "df2"),
        ("p_value", "p"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
    ):
        assert_close(got[col], dataset[ref_col])


@pytest.mark.parametrize("dataset", RELIABILITY["sets"], ids=lambda d: d["name"])
def test_icc_matches_psych_and_irr_on_the_irr_data(dataset: dict) -> None:
    long = _reliability_long(dataset)
    got = icc(long, target="case_id", nan_policy="omit").set_index("type")
    ref = dataset["icc"]
    assert_close(got.loc[ref["type"], "statistic"], ref["icc"])
    assert_close(got.loc[ref["type"], "ci_low"], ref["ci_low"])
    assert_close(got.loc[ref["type"], "ci_high"], ref["ci_high"])
    assert got["n_targets"].iloc[0] == dataset["n_complete"]
    # irr::icc(model = "twoway", type = "agreement", unit = "single") is ICC2
    irr = dataset["irr_icc_a1"]
    assert_close(got.loc["ICC2", "statistic"], irr["value"])
    assert_close(got.loc["ICC2", ["ci_low", "ci_high"]], irr["ci"])
    assert_close(got.loc["ICC2", "f"], irr["f"])
    # irr tests ICC(A,1) = 0 on approximate (Satterthwaite) df; psych and this module use
    # F = MSB / MSE on (n - 1, (n - 1)(k - 1)) df (a known difference, docs/statistics.md)
    assert abs(got.loc["ICC2", "p_value"] - irr["p"]) > 1e-4


def test_icc_rejects_an_incomplete_table_unless_omitted() -> None:
    df = pd.DataFrame(REF["icc"][0]["data"])
    df = df.drop(index=df.index[0])
    with pytest.raises(ValueError, match="rater_id"):
        icc(df, target="target")
    got = icc(df, target="target", nan_policy="omit")
    assert got["n_targets"].iloc[0] == 44


def test_icc_rejects_scores_out_of_range() -> None:
    df = pd.DataFrame(REF["icc"][0]["data"])
    with pytest.raises(ValueError, match="score"):
        icc(df, target="target", low=2, high=5)


# --------------------------------------------------------------------------------------
# interpretation bands
# --------------------------------------------------------------------------------------


def test_interpretation_bands_follow_the_worked_example() -> None:
    # wording of the worked example: 0.43 moderate, 0.36 fair, 0.46-0.70 moderate to good,
    # 0.39-0.60 fair to moderate, 0.63-0.86 good to excellent, -0.07 poor
    values = [-0.07, 0.20, 0.21, 0.36, 0.39, 0.40, 0.43, 0.60, 0.63, 0.70, 0.80, 0.81, 0.86]
    expected = [
        "poor",
        "poor",
        "fair",
        "fair",
        "fair",
        "fair",
        "moderate",
        "moderate",
        "good",
        "good",
        "good",
        "excellent",
        "excellent",
    ]
    assert interpret_kappa(values).tolist() == expected
    assert interpret_kappa([np.nan]).tolist() == [None]
