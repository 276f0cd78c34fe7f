"""Tests for analysis.stats.roc against pROC (published and R-computed) values.

pROC behaviour on degenerate readers, which these tests pin down:

* constant reader (every case rated the same): AUC 0.5, DeLong variance 0, CI [0.5, 0.5];
* perfect reader (AUC 1): variance 0, CI [1, 1] (pROC warns that var() "is always 0");
* paired test of two readers whose difference has zero variance: ``roc.test`` returns
  Z = 0 and p = 1 when the AUCs are equal (identical readers, two perfect readers) and
  Z = ±Inf, p = 0, CI [diff, diff] otherwise (constant vs perfect reader);
* unpaired test with both variances 0: pROC's t statistic is 0/0 (NaN) or ±Inf, its
  Welch df is 0/0 = NaN and therefore p = NaN.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from analysis.stats.roc import (
    _auc_from_level_counts,
    bootstrap_auc_ci,
    compare_readers,
    compare_unpaired,
    delong_cov,
    placements,
    reader_aucs,
    roc_curve,
)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def brute_auc(x: np.ndarray, y: np.ndarray) -> float:
    """Mann–Whitney AUC by the full m x n comparison (test oracle only)."""
    x = np.asarray(x, float)[:, None]
    y = np.asarray(y, float)[None, :]
    return float(np.mean((x > y) + 0.5 * (x == y)))


def assert_num(actual: float, expected: float, tol: float) -> None:
    if math.isnan(expected):
        assert math.isnan(actual), (actual, expected)
    elif math.isinf(expected):
        assert actual == expected, (actual, expected)
    else:
        assert actual == pytest.approx(expected, abs=tol), (actual, expected)


def modality(df: pd.DataFrame, value: int) -> pd.DataFrame:
    return df[df["modality"] == value]


# Published single-reader pROC values (vandyke_reference.md section 8)
# reader: (auc1, lo1, hi1, var1, auc2, lo2, hi2, var2, cov, z, p)
# fmt: off
VANDYKE_PROC = {
    1: (0.91964573, 0.860974, 0.978318, 0.00089612, 0.94782609, 0.904705, 0.990947,
        0.00048403, 0.00036844, -1.1111, 0.266533),
    2: (0.85877617, 0.787940, 0.929612, 0.00130621, 0.90531401, 0.847266, 0.963362,
        0.00087716, 0.00074994, -1.7801, 0.075061),
    3: (0.90386473, 0.848803, 0.958927, 0.00078924, 0.92173913, 0.863763, 0.979715,
        0.00087499, 0.00035079, -0.5761, 0.564547),
    4: (0.97310789, 0.939354, 1.000000, 0.00029658, 0.99935588, 0.997951, 1.000000,
        0.00000051, 0.00000107, -1.5283, 0.126427),
    5: (0.82979066, 0.748535, 0.911047, 0.00171876, 0.92995169, 0.878928, 0.980975,
        0.00067772, 0.00023980, -2.2877, 0.022154),
}
# franken_reference.md section 6
FRANKEN_PROC = {
    1: (0.85345997, 0.778702, 0.928218, 0.00145487, 0.84961556, 0.774602, 0.924629,
        0.00146481, 0.00055556, 0.0904, 0.927970),
    2: (0.86499322, 0.789805, 0.940182, 0.00147166, 0.84350972, 0.767039, 0.919980,
        0.00152228, 0.00070504, 0.5398, 0.589322),
    3: (0.85730439, 0.786652, 0.927957, 0.00129945, 0.84011759, 0.766151, 0.914084,
        0.00142422, 0.00075688, 0.4941, 0.621232),
    4: (0.81524197, 0.732402, 0.898082, 0.00178644, 0.81433740, 0.735180, 0.893494,
        0.00163111, 0.00111080, 0.0262, 0.979132),
}
# fmt: on


# ---------------------------------------------------------------------------
# published anchors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "table"), [("vandyke", VANDYKE_PROC), ("franken", FRANKEN_PROC)]
)
def test_reader_aucs_match_published_proc_values(
    dataset: str, table: dict[int, tuple[float, ...]], request: pytest.FixtureRequest
) -> None:
    df = request.getfixturevalue(dataset)
    for mod, offset in ((1, 0), (2, 4)):
        res = reader_aucs(modality(df, mod), reader="reader", clip=True).set_index("reader")
        for reader, ref in table.items():
            auc, lo, hi, var = ref[offset : offset + 4]
            row = res.loc[reader]
            assert row["statistic"] == pytest.approx(auc, abs=5e-9)
            assert row["se"] ** 2 == pytest.approx(var, abs=5e-9)
            assert row["ci_low"] == pytest.approx(lo, abs=5e-7)
            assert row["ci_high"] == pytest.approx(hi, abs=5e-7)


@pytest.mark.parametrize(
    ("dataset", "table"), [("vandyke", VANDYKE_PROC), ("franken", FRANKEN_PROC)]
)
def test_paired_delong_between_modalities_matches_published_proc_values(
    dataset: str, table: dict[int, tuple[float, ...]], request: pytest.FixtureRequest
) -> None:
    df = request.getfixturevalue(dataset)
    for reader, ref in table.items():
        one = df[df["reader"] == reader]
        res = compare_readers(one, reader="modality").iloc[0]
        assert (res["reader_a"], res["reader_b"]) == (1, 2)
        assert res["statistic"] == pytest.approx(ref[0] - ref[4], abs=1e-8)
        assert res["z"] == pytest.approx(ref[9], abs=5e-5)
        assert res["p_value"] == pytest.approx(ref[10], abs=5e-7)
        wide = one.pivot(index="modality", columns="case_id", values="rating").to_numpy()
        truth = one[one["modality"] == 1].sort_values("case_id")["truth"].to_numpy() == 1
        _, v10, v01 = placements(wide, truth)
        cov = delong_cov(v10, v01)
        assert cov[0, 1] == pytest.approx(ref[8], abs=5e-9)
        assert cov[0, 0] == pytest.approx(ref[3], abs=5e-9)
        assert cov[1, 1] == pytest.approx(ref[7], abs=5e-9)


def test_ci_is_truncated_at_one_as_proc_unless_clip_is_false(vandyke: pd.DataFrame) -> None:
    raw = reader_aucs(modality(vandyke, 2), reader="reader", clip=False).set_index("reader")
    clipped = reader_aucs(modality(vandyke, 2), reader="reader").set_index("reader")
    # reader 4: AUC 0.99935588, DeLong SE 0.000717 -> raw upper limit above 1
    assert raw.loc[4, "ci_high"] > 1.0
    assert raw.loc[4, "ci_high"] == pytest.approx(0.99935588 + 1.959963984540054 * raw.loc[4, "se"])
    assert clipped.loc[4, "ci_high"] == 1.0
    assert clipped.loc[1, "ci_high"] == raw.loc[1, "ci_high"]


# ---------------------------------------------------------------------------
# R pROC reference JSON (tests/stats/r/roc_reference.R)
# ---------------------------------------------------------------------------

DATASET_NAMES = ("discrete", "continuous", "edge")


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_reader_aucs_match_proc(
    name: str, roc_datasets: dict[str, pd.DataFrame], roc_reference: dict[str, Any]
) -> None:
    ref = roc_reference["datasets"][name]["readers"]
    clipped = reader_aucs(roc_datasets[name])
    raw = reader_aucs(roc_datasets[name], clip=False)
    assert clipped["reader"].tolist() == [r["reader"] for r in ref]
    for (_, row), (_, raw_row), r in zip(clipped.iterrows(), raw.iterrows(), ref, strict=True):
        assert row["n_positive"] == r["n_positive"]
        assert row["n_negative"] == r["n_negative"]
        assert row["statistic"] == pytest.approx(r["auc"], abs=1e-9)
        assert row["se"] ** 2 == pytest.approx(r["var"], abs=1e-9)
        assert row["ci_low"] == pytest.approx(r["ci_low"], abs=1e-6)
        assert row["ci_high"] == pytest.approx(r["ci_high"], abs=1e-6)
        if raw_row["ci_low"] >= 0.0 and raw_row["ci_high"] <= 1.0:
            assert raw_row["ci_low"] == pytest.approx(r["ci_low"], abs=1e-6)
            assert raw_row["ci_high"] == pytest.approx(r["ci_high"], abs=1e-6)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_compare_readers_matches_proc_paired_delong(
    name: str, roc_datasets: dict[str, pd.DataFrame], roc_reference: dict[str, Any]
) -> None:
    ref = roc_reference["datasets"][name]["paired"]
    res = compare_readers(roc_datasets[name])
    assert list(zip(res["reader_a"], res["reader_b"], strict=True)) == [
        (r["reader_a"], r["reader_b"]) for r in ref
    ]
    for (_, row), r in zip(res.iterrows(), ref, strict=True):
        assert row["auc_a"] == pytest.approx(r["auc_a"], abs=1e-9)
        assert row["auc_b"] == pytest.approx(r["auc_b"], abs=1e-9)
        assert row["statistic"] == pytest.approx(r["auc_a"] - r["auc_b"], abs=1e-9)
        assert_num(row["z"], r["z"], 1e-6)
        assert_num(row["p_value"], r["p_value"], 1e-6)
        assert_num(row["ci_low"], r["ci_low"], 1e-6)
        assert_num(row["ci_high"], r["ci_high"], 1e-6)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_compare_unpaired_matches_proc_unpaired_delong(
    name: str, roc_datasets: dict[str, pd.DataFrame], roc_reference: dict[str, Any]
) -> None:
    ref = roc_reference["datasets"][name]["unpaired"]
    res = compare_unpaired(roc_datasets[name])
    assert len(res) == len(ref)
    for (_, row), r in zip(res.iterrows(), ref, strict=True):
        assert (row["reader_a"], row["reader_b"]) == (r["reader_a"], r["reader_b"])
        assert_num(row["t"], r["t"], 1e-6)
        assert_num(row["df"], r["df"], 1e-6)
        assert_num(row["p_value"], r["p_value"], 1e-6)


def test_compare_unpaired_matches_proc_for_curves_on_different_cases(
    roc_datasets: dict[str, pd.DataFrame], roc_reference: dict[str, Any]
) -> None:
    a = roc_datasets["discrete"].query("reader_id == 'A'").assign(reader_id="discrete_A")
    b = roc_datasets["continuous"].query("reader_id == 'B'").assign(reader_id="continuous_B")
    mixed = pd.concat([a, b], ignore_index=True).astype({"case_id": str})
    (ref,) = roc_reference["mixed_unpaired"]
    row = compare_unpaired(mixed).iloc[0]
    assert (row["reader_a"], row["reader_b"]) == (ref["reader_a"], ref["reader_b"])
    assert row["t"] == pytest.approx(ref["t"], abs=1e-6)
    assert row["df"] == pytest.approx(ref["df"], abs=1e-6)
    assert row["p_value"] == pytest.approx(ref["p_value"], abs=1e-6)
    assert row["ci_low"] < row["statistic"] < row["ci_high"]
    # different case sets: per-reader AUCs still match pROC
    aucs = reader_aucs(mixed).set_index("reader")
    for r in roc_reference["mixed_readers"]:
        assert aucs.loc[r["reader"], "statistic"] == pytest.approx(r["auc"], abs=1e-9)
        assert aucs.loc[r["reader"], "se"] ** 2 == pytest.approx(r["var"], abs=1e-9)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_roc_curve_points_match_proc_coords(
    name: str, roc_datasets: dict[str, pd.DataFrame], roc_reference: dict[str, Any]
) -> None:
    curve = roc_curve(roc_datasets[name])
    for r in roc_reference["datasets"][name]["readers"]:
        mine = curve[curve["reader"] == r["reader"]]
        ours = sorted(zip(mine["fpr"].round(12), mine["tpr"].round(12), strict=True))
        theirs = sorted(zip(np.round(r["roc_fpr"], 12), np.round(r["roc_tpr"], 12), strict=True))
        assert ours == [tuple(p) for p in theirs]
        assert mine["threshold"].iloc[0] == np.inf
        assert np.all(np.diff(mine["threshold"].to_numpy()) < 0)
        # trapezoidal area under the points is the Mann–Whitney AUC
        assert np.trapezoid(mine["tpr"], mine["fpr"]) == pytest.approx(r["auc"], abs=1e-12)


def test_degenerate_readers_behave_as_proc(roc_datasets: dict[str, pd.DataFrame]) -> None:
    edge = roc_datasets["edge"]
    aucs = reader_aucs(edge).set_index("reader")
    assert aucs.loc["constant", ["statistic", "se", "ci_low", "ci_high"]].tolist() == [
        0.5,
        0,
        0.5,
        0.5,
    ]
    assert aucs.loc["perfect", ["statistic", "se", "ci_low", "ci_high"]].tolist() == [1, 0, 1, 1]
    pairs = compare_readers(edge).set_index(["reader_a", "reader_b"])
    same = pairs.loc[("perfect", "perfect_ties")]
    assert (same["z"], same["p_value"], same["ci_low"], same["ci_high"]) == (0, 1, 0, 0)
    diff = pairs.loc[("constant", "perfect")]
    assert (diff["z"], diff["p_value"], diff["ci_low"], diff["ci_high"]) == (
        -np.inf,
        0,
        -0.5,
        -0.5,
    )


def test_identical_readers_have_zero_z_and_p_one(roc_datasets: dict[str, pd.DataFrame]) -> None:
    res = compare_readers(roc_datasets["continuous"]).set_index(["reader_a", "reader_b"])
    row = res.loc[("A", "D")]
    assert (row["statistic"], row["se"], row["z"], row["p_value"]) == (0, 0, 0, 1)


# ---------------------------------------------------------------------------
# algorithm checks and properties
# ---------------------------------------------------------------------------


def test_placements_equal_brute_force_definition() -> None:
    rng = np.random.default_rng(3)
    ratings = rng.integers(0, 6, size=(4, 57)).astype(float)
    ratings[3] = rng.normal(size=57)
    truth = rng.random(57) < 0.4
    auc, v10, v01 = placements(ratings, truth)
    for r in range(4):
        x, y = ratings[r, truth], ratings[r, ~truth]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        np.testing.assert_allclose(v10[r], psi.mean(axis=1), atol=1e-15)
        np.testing.assert_allclose(v01[r], psi.mean(axis=0), atol=1e-15)
        assert auc[r] == pytest.approx(brute_auc(x, y), abs=1e-15)


ratings_strategy = (
    st.integers(min_value=4, max_value=40)
    .flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, (3, n), elements=st.integers(-3, 3).map(float)),
            hnp.arrays(np.bool_, n),
        )
    )
    .filter(lambda rt: 2 <= rt[1].sum() <= rt[1].size - 2)
)


@settings(max_examples=60, deadline=None)
@given(ratings_strategy)
def test_auc_is_unchanged_by_strictly_monotone_transforms(
    rt: tuple[np.ndarray, np.ndarray],
) -> None:
    ratings, truth = rt
    auc, v10, v01 = placements(ratings, truth)
    auc2, v10b, v01b = placements(np.exp(ratings) * 3.0 - 7.0, truth)
    np.testing.assert_allclose(auc, auc2, atol=1e-12)
    np.testing.assert_allclose(delong_cov(v10, v01), delong_cov(v10b, v01b), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(ratings_strategy)
def test_auc_in_unit_interval_and_variances_nonnegative(rt: tuple[np.ndarray, np.ndarray]) -> None:
    ratings, truth = rt
    auc, v10, v01 = placements(ratings, truth)
    assert np.all((auc >= 0) & (auc <= 1))
    for r in range(ratings.shape[0]):
        assert auc[r] == pytest.approx(brute_auc(ratings[r, truth], ratings[r, ~truth]))
    cov = delong_cov(v10, v01)
    assert np.all(np.diag(cov) >= 0)
    assert np.all(np.linalg.eigvalsh(cov) >= -1e-12)  # a covariance matrix is PSD


@settings(max_examples=25, deadline=None)
@given(ratings_strategy)
def test_swapping_readers_flips_diff_and_z_but_not_p(rt: tuple[np.ndarray, np.ndarray]) -> None:
    ratings, truth = rt
    cases = np.arange(truth.size)
    long = pd.DataFrame(
        {
            "reader_id": np.repeat(["a", "b", "c"], truth.size),
            "case_id": np.tile(cases, 3),
            "truth": np.tile(truth.astype(int), 3),
            "rating": ratings.ravel(),
        }
    )
    fwd = compare_readers(long)
    rev = compare_readers(
        long.assign(reader_id=long["reader_id"].map({"a": "c", "b": "b", "c": "a"}))
    )
    f = fwd.set_index(["reader_a", "reader_b"])
    r = rev.set_index(["reader_a", "reader_b"])
    # a<->c renamed: pair (a, b) in fwd is pair (b, c) in rev with the sign flipped
    for (ra, rb), (sa, sb) in [
        (("a", "b"), ("b", "c")),
        (("a", "c"), ("a", "c")),
        (("b", "c"), ("a", "b")),
    ]:
        assert r.loc[(sa, sb), "statistic"] == pytest.approx(
            -f.loc[(ra, rb), "statistic"], abs=1e-12
        )
        assert r.loc[(sa, sb), "p_value"] == pytest.approx(f.loc[(ra, rb), "p_value"], abs=1e-12)
        zf, zr = f.loc[(ra, rb), "z"], r.loc[(sa, sb), "z"]
        assert zr == pytest.approx(-zf, abs=1e-9) or (zf == 0 and zr == 0)
        assert f.loc[(ra, rb), "se"] >= 0


@settings(max_examples=40, deadline=None)
@given(ratings_strategy)
def test_leave_one_out_aucs_from_placements_equal_recomputation(
    rt: tuple[np.ndarray, np.ndarray],
) -> None:
    ratings, truth = rt
    truth = truth.copy()
    if truth.sum() < 2 or (~truth).sum() < 2:
        return
    auc, v10, v01 = placements(ratings, truth)
    m, n = v10.shape[1], v01.shape[1]
    pos_idx, neg_idx = np.flatnonzero(truth), np.flatnonzero(~truth)
    for r in range(ratings.shape[0]):
        for i, k in enumerate(pos_idx):
            keep = np.ones(truth.size, bool)
            keep[k] = False
            want = brute_auc(ratings[r, keep & truth], ratings[r, keep & ~truth])
            assert (m * auc[r] - v10[r, i]) / (m - 1) == pytest.approx(want, abs=1e-12)
        for j, k in enumerate(neg_idx):
            keep = np.ones(truth.size, bool)
            keep[k] = False
            want = brute_auc(ratings[r, keep & truth], ratings[r, keep & ~truth])
            assert (n * auc[r] - v01[r, j]) / (n - 1) == pytest.approx(want, abs=1e-12)


def test_compare_readers_pairs_are_sorted(roc_datasets: dict[str, pd.DataFrame]) -> None:
    res = compare_readers(roc_datasets["continuous"])
    pairs = list(zip(res["reader_a"], res["reader_b"], strict=True))
    assert pairs == list(combinations(["A", "B", "C", "D"], 2))


def test_single_reader_gives_no_pairs(roc_datasets: dict[str, pd.DataFrame]) -> None:
    res = compare_readers(roc_datasets["discrete"].query("reader_id == 'A'"))
    assert res.empty
    assert list(res.columns) == [
        "reader_a",
        "reader_b",
        "auc_a",
        "auc_b",
        "statistic",
        "se",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
    ]


def test_confidence_level_changes_interval_width(roc_datasets: dict[str, pd.DataFrame]) -> None:
    d = roc_datasets["discrete"]
    w95 = reader_aucs(d).eval("ci_high - ci_low")
    w90 = reader_aucs(d, confidence=0.90).eval("ci_high - ci_low")
    np.testing.assert_allclose(w90 / w95, 1.6448536269514722 / 1.959963984540054)


# ---------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------


def test_level_count_auc_equals_auc_of_explicit_resample() -> None:
    rng = np.random.default_rng(11)
    x = rng.integers(1, 6, 30).astype(float)
    y = rng.integers(1, 5, 50).astype(float)
    levels = np.unique(np.concatenate([x, y]))
    for _ in range(20):
        xs = rng.choice(x, x.size)
        ys = rng.choice(y, y.size)
        p = np.array([[np.sum(xs == lv) for lv in levels]])
        q = np.array([[np.sum(ys == lv) for lv in levels]])
        assert _auc_from_level_counts(p, q)[0] == pytest.approx(brute_auc(xs, ys), abs=1e-15)


def test_bootstrap_is_reproducible_with_a_seed(roc_datasets: dict[str, pd.DataFrame]) -> None:
    d = roc_datasets["discrete"]
    a = bootstrap_auc_ci(d, n_boot=500, seed=42)
    b = bootstrap_auc_ci(d, n_boot=500, seed=np.random.default_rng(42))
    pd.testing.assert_frame_equal(a, b)
    c = bootstrap_auc_ci(d, n_boot=500, seed=43)
    assert not np.allclose(a["ci_low"], c["ci_low"])


def test_bootstrap_ci_agrees_with_delong_on_a_large_sample() -> None:
    rng = np.random.default_rng(5)
    n_cases = 3000
    truth = rng.random(n_cases) < 0.3
    long = pd.DataFrame(
        {
            "reader_id": np.repeat(["x", "y"], n_cases),
            "case_id": np.tile(np.arange(n_cases), 2),
            "truth": np.tile(truth.astype(int), 2),
            "rating": np.concatenate(
                [
                    np.round(rng.normal(size=n_cases) + truth, 2),
                    np.round(rng.normal(size=n_cases) + 2 * truth),
                ]
            ),
        }
    )
    boot = bootstrap_auc_ci(long, n_boot=4000, seed=1)
    dl = reader_aucs(long)
    np.testing.assert_allclose(boot["statistic"], dl["statistic"])
    np.testing.assert_allclose(boot["se"], dl["se"], rtol=0.06)
    np.testing.assert_allclose(boot["ci_low"], dl["ci_low"], atol=0.004)
    np.testing.assert_allclose(boot["ci_high"], dl["ci_high"], atol=0.004)


def test_bootstrap_rejects_bad_n_boot(roc_datasets: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_auc_ci(roc_datasets["discrete"], n_boot=0)


# ---------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "reader_id": ["a"] * 6 + ["b"] * 6,
            "case_id": list(range(6)) * 2,
            "truth": [0, 0, 0, 1, 1, 1] * 2,
            "rating": [1, 2, 3, 2, 4, 5, 1, 1, 2, 3, 3, 5],
        }
    )


@pytest.mark.parametrize("fn", [reader_aucs, compare_readers, compare_unpaired, roc_curve])
def test_it_rejects_a_single_truth_class(fn: Any, small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="truth"):
        fn(small.assign(truth=1))


def test_compare_readers_rejects_readers_on_different_cases(small: pd.DataFrame) -> None:
    other = small.copy()
    other.loc[other["reader_id"] == "b", "case_id"] += 10
    other = pd.concat([other, small.query("reader_id == 'b'").assign(reader_id="c")])
    with pytest.raises(ValueError, match=r"df: .*case='case_id'"):
        compare_readers(other)


def test_reader_aucs_accepts_readers_on_different_cases(small: pd.DataFrame) -> None:
    other = small.copy()
    other.loc[other["reader_id"] == "b", "case_id"] += 10
    pd.testing.assert_frame_equal(reader_aucs(other), reader_aucs(small))


@pytest.mark.parametrize("fn", [reader_aucs, compare_readers, roc_curve, bootstrap_auc_ci])
def test_nan_ratings_raise_by_default_and_are_dropped_with_omit(
    fn: Any, small: pd.DataFrame
) -> None:
    bad = small.astype({"rating": float})
    bad.loc[0, "rating"] = np.nan
    with pytest.raises(ValueError, match="rating"):
        fn(bad)
    if fn is compare_readers:
        # dropping the row leaves reader a without case 0: no longer paired
        with pytest.raises(ValueError, match="case"):
            fn(bad, nan_policy="omit")
        both = bad.copy()
        both.loc[both["case_id"] == 0, "rating"] = np.nan
        pd.testing.assert_frame_equal(fn(both, nan_policy="omit"), fn(small[small["case_id"] != 0]))
    else:
        kwargs = {"seed": 0} if fn is bootstrap_auc_ci else {}
        pd.testing.assert_frame_equal(
            fn(bad, nan_policy="omit", **kwargs), fn(bad.dropna(), **kwargs)
        )


def test_reader_aucs_with_omit_drops_only_the_nan_row(small: pd.DataFrame) -> None:
    bad = small.astype({"rating": float})
    bad.loc[0, "rating"] = np.nan
    res = reader_aucs(bad, nan_policy="omit").set_index("reader")
    assert res.loc["a", "n_negative"] == 2
    assert res.loc["b", "n_negative"] == 3


def test_it_rejects_a_bad_nan_policy(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="nan_policy"):
        reader_aucs(small, nan_policy="ignore")  # type: ignore[arg-type]


@pytest.mark.parametrize("missing", ["truth", "rating", "reader_id", "case_id"])
def test_it_names_missing_columns(missing: str, small: pd.DataFrame) -> None:
    kw = {"truth": "truth", "rating": "rating", "reader_id": "reader", "case_id": "case"}[missing]
    with pytest.raises(ValueError, match=f"{kw}='{missing}'"):
        reader_aucs(small.drop(columns=missing))


def test_it_rejects_duplicate_reader_case_rows(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="df: duplicate"):
        reader_aucs(pd.concat([small, small.iloc[:1]]))


def test_it_rejects_a_case_with_two_truth_values(small: pd.DataFrame) -> None:
    bad = small.copy()
    bad.loc[bad.index[-1], "truth"] = 0
    with pytest.raises(ValueError, match="truth: case"):
        compare_readers(bad)


def test_it_rejects_non_binary_truth_and_non_numeric_ratings(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="truth"):
        reader_aucs(small.assign(truth=small["truth"] * 2))
    with pytest.raises(ValueError, match="rating"):
        reader_aucs(small.assign(rating=["x"] * len(small)))


def test_it_rejects_a_non_dataframe_and_bad_confidence(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="df"):
        reader_aucs(small.to_dict())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        compare_readers(small, confidence=1.5)


def test_placements_validates_its_arrays() -> None:
    with pytest.raises(ValueError, match="truth"):
        placements(np.zeros((2, 5)), np.array([True, False]))
    with pytest.raises(ValueError, match="truth"):
        placements(np.zeros((2, 3)), np.array([True, True, True]))
    with pytest.raises(ValueError, match="ratings"):
        placements(np.array([[np.nan, 1.0, 2.0]]), np.array([True, False, True]))


def test_delong_variance_is_nan_with_a_single_case_of_a_class() -> None:
    long = pd.DataFrame(
        {"reader_id": "a", "case_id": range(5), "truth": [1, 0, 0, 0, 0], "rating": [5, 1, 2, 3, 4]}
    )
    res = reader_aucs(long).iloc[0]
    assert res["statistic"] == 1.0
    assert math.isnan(res["se"]) and math.isnan(res["ci_low"])


@settings(max_examples=60, deadline=None)
@given(ratings_strategy)
def test_auc_and_difference_cis_stay_inside_their_ranges(
    rt: tuple[np.ndarray, np.ndarray],
) -> None:
    ratings, truth = rt
    n = truth.size
    long = pd.DataFrame(
        {
            "reader_id": np.repeat(["a", "b", "c"], n),
            "case_id": np.tile(np.arange(n), 3),
            "truth": np.tile(truth.astype(int), 3),
            "rating": ratings.ravel(),
        }
    )
    aucs = reader_aucs(long)
    assert ((aucs["ci_low"] >= 0) & (aucs["ci_high"] <= 1)).all()
    assert ((aucs["ci_low"] <= aucs["statistic"]) & (aucs["statistic"] <= aucs["ci_high"])).all()
    tests = compare_readers(long)
    assert ((tests["ci_low"] >= -1) & (tests["ci_high"] <= 1)).all()
    assert (
        (tests["ci_low"] <= tests["statistic"]) & (tests["statistic"] <= tests["ci_high"])
    ).all()


def test_a_near_perfect_against_a_near_inverted_reader_keeps_the_difference_ci_below_one() -> None:
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    good = np.array([5, 4, 4, 3, 3, 1, 1, 1])
    bad = good[::-1]
    long = pd.DataFrame(
        {
            "reader_id": ["good"] * 8 + ["bad"] * 8,
            "case_id": list(range(8)) * 2,
            "truth": list(truth) * 2,
            "rating": list(good) + list(bad),
        }
    )
    raw = compare_readers(long, clip=False).iloc[0]
    assert abs(raw["statistic"]) > 0.9 and max(abs(raw["ci_low"]), abs(raw["ci_high"])) > 1
    clipped = compare_readers(long).iloc[0]
    assert -1 <= clipped["ci_low"] <= clipped["ci_high"] <= 1
