"""Tests of analysis.stats.clustered_roc against R (tests/stats/r/clustered_roc_reference.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats.clustered_roc import (
    clustered_auc_cov,
    clustered_aucs,
    compare_clustered,
    omnibus_auc_test,
)
from analysis.stats.roc import compare_readers, placements, reader_aucs
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("clustered_roc_reference")
CLUSTERED = pd.DataFrame(REF["clustered"]["data"])


def test_clustered_aucs_match_the_independent_r_implementation() -> None:
    got = clustered_aucs(CLUSTERED)
    ref = REF["clustered"]
    assert got["reader"].tolist() == ["A", "B", "C"]
    assert_close(got["statistic"], ref["auc"])
    assert_close(got["se"], np.sqrt(np.diag(np.array(ref["cov"]))))
    assert got["n_clusters"].iloc[0] == ref["n_clusters"]
    assert (got["n_positive"].iloc[0], got["n_negative"].iloc[0]) == (
        ref["n_positive"],
        ref["n_negative"],
    )


def test_clustered_covariance_matches_r_off_the_diagonal() -> None:
    wide = CLUSTERED.pivot(index="case_id", columns="reader_id", values="rating")
    first = CLUSTERED.drop_duplicates("case_id").set_index("case_id").loc[wide.index]
    auc, cov = clustered_auc_cov(
        wide.to_numpy().T, first["truth"].to_numpy().astype(bool), first["patient_id"].to_numpy()
    )
    assert_close(auc, REF["clustered"]["auc"])
    assert_close(cov.ravel(), np.array(REF["clustered"]["cov"]).ravel())


def test_compare_clustered_matches_r() -> None:
    got = compare_clustered(CLUSTERED)
    for (_, row), ref in zip(got.iterrows(), REF["clustered"]["pairs"], strict=True):
        assert (row["reader_a"], row["reader_b"]) == (ref["reader_a"], ref["reader_b"])
        assert_close(
            row[["statistic", "se", "z", "p_value"]],
            [ref[k] for k in ("statistic", "se", "z", "p_value")],
        )
        assert_close(row[["ci_low", "ci_high"]], ref["ci"])


def test_a_duplicated_lesion_adds_no_information_when_clustered() -> None:
    # every lesion read twice in the same patient: the clustered variance is unchanged,
    # the DeLong variance (treating the copies as independent) roughly halves
    copy = CLUSTERED.assign(case_id=CLUSTERED["case_id"] + "_copy")
    doubled = pd.concat([CLUSTERED, copy])
    once, twice = clustered_aucs(CLUSTERED), clustered_aucs(doubled)
    np.testing.assert_allclose(twice["statistic"], once["statistic"])
    np.testing.assert_allclose(twice["se"], once["se"], rtol=1e-12)
    naive = reader_aucs(doubled)["se"].to_numpy()
    assert (naive < 0.75 * twice["se"].to_numpy()).all()


def test_one_unit_per_cluster_is_delong_with_the_small_sample_factor() -> None:
    single = CLUSTERED.assign(patient_id=CLUSTERED["case_id"])
    got = clustered_aucs(single)
    assert_close(got["se"] ** 2, np.diag(np.array(REF["single"]["cov"])))
    # exact link to the DeLong variance (pROC-checked) on the same placements
    wide = single.pivot(index="case_id", columns="reader_id", values="rating")
    truth = single.drop_duplicates("case_id").set_index("case_id").loc[wide.index, "truth"]
    t = truth.to_numpy().astype(bool)
    _, v10, v01 = placements(wide.to_numpy().T, t)
    m, n = int(t.sum()), int((~t).sum())
    i = m + n
    linked = i / (i - 1) * (v10.var(axis=1) / m + v01.var(axis=1) / n)
    np.testing.assert_allclose(got["se"] ** 2, linked, rtol=1e-12)
    delong = np.diag(np.array(REF["single"]["delong_cov"]))
    assert_close(reader_aucs(single)["se"] ** 2, delong)
    np.testing.assert_allclose(got["se"] ** 2, delong, rtol=0.03)


def test_omnibus_test_with_delong_covariance_matches_r_and_proc() -> None:
    got = omnibus_auc_test(CLUSTERED).iloc[0]
    ref = REF["single"]["omnibus"]
    assert got["covariance"] == "delong" and got["df"] == ref["df"]
    assert_close(got[["statistic", "p_value"]], [ref["statistic"], ref["p_value"]])


def test_omnibus_test_reproduces_three_markers_of_proc_asah() -> None:
    wide = pd.DataFrame(REF["asah"]["data"])
    long = wide.melt(
        id_vars=["case_id", "truth"], value_vars=["s100b", "ndka", "wfns"], var_name="reader_id"
    ).rename(columns={"value": "rating"})
    ref = REF["asah"]["omnibus"]
    order = ["s100b", "ndka", "wfns"]
    aucs = reader_aucs(long).set_index("reader").loc[order, "statistic"]
    assert_close(aucs, ref["auc"])
    got = omnibus_auc_test(long).iloc[0]
    assert_close(got[["statistic", "p_value"]], [ref["statistic"], ref["p_value"]])


def test_omnibus_test_with_clustering_matches_r() -> None:
    got = omnibus_auc_test(CLUSTERED, cluster="patient_id").iloc[0]
    ref = REF["clustered"]["omnibus"]
    assert got["covariance"] == "obuchowski"
    assert_close(got[["statistic", "df", "p_value"]], [ref["statistic"], ref["df"], ref["p_value"]])


def test_omnibus_of_two_readers_is_the_square_of_the_paired_delong_z() -> None:
    two = CLUSTERED[CLUSTERED["reader_id"].isin(["A", "C"])]
    z = compare_readers(two)["z"].iloc[0]
    got = omnibus_auc_test(two).iloc[0]
    assert got["df"] == 1
    assert got["statistic"] == pytest.approx(z**2, rel=1e-10)


def test_omnibus_of_identical_readers_has_a_reduced_rank() -> None:
    dup = pd.concat([CLUSTERED, CLUSTERED[CLUSTERED["reader_id"] == "A"].assign(reader_id="D")])
    got = omnibus_auc_test(dup).iloc[0]
    assert got["df"] == 2
    three = omnibus_auc_test(CLUSTERED).iloc[0]
    assert got["statistic"] == pytest.approx(three["statistic"], rel=1e-8)


def test_omnibus_rejects_a_single_reader() -> None:
    with pytest.raises(ValueError, match="reader"):
        omnibus_auc_test(CLUSTERED[CLUSTERED["reader_id"] == "A"])


def test_clustered_aucs_reject_a_single_cluster() -> None:
    with pytest.raises(ValueError, match="cluster"):
        clustered_aucs(CLUSTERED.assign(patient_id="p1"))


def test_clustered_aucs_reject_a_case_in_two_clusters() -> None:
    bad = CLUSTERED.copy()
    bad.loc[bad.index[0], "patient_id"] = "elsewhere"
    with pytest.raises(ValueError, match="cluster"):
        clustered_aucs(bad)


def test_clustered_aucs_reject_readers_on_different_cases() -> None:
    with pytest.raises(ValueError, match="same cases"):
        clustered_aucs(CLUSTERED.iloc[1:])


def test_clustered_aucs_reject_one_class_and_missing_cluster_column() -> None:
    with pytest.raises(ValueError, match="truth"):
        clustered_aucs(CLUSTERED.assign(truth=1))
    with pytest.raises(ValueError, match="cluster"):
        clustered_aucs(CLUSTERED.drop(columns="patient_id"))


def test_clustered_intervals_stay_within_bounds() -> None:
    perfect = CLUSTERED.assign(rating=CLUSTERED["truth"] * 10 + CLUSTERED["rating"] * 0.01)
    got = clustered_aucs(perfect)
    assert (got["ci_high"] <= 1.0).all() and (got["ci_low"] >= 0.0).all()
    diffs = compare_clustered(perfect)
    assert (diffs["ci_low"] >= -1.0).all() and (diffs["ci_high"] <= 1.0).all()
