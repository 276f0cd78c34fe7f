"""analysis.stats.localisation against RJafroc 2.1.2 (tests/stats/r/localisation_reference.R).

The reference data set is RJafroc's dataset04 (5 modalities × 4 readers × 200 cases, FROC),
written by the R script as one row per mark; the tests feed it to ``afroc_fom`` as marks
already classified and, placed on an image, through ``lesion_localisation`` first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.localisation import afroc_fom, afroc_reader_average, lesion_localisation

R = Path(__file__).parent / "r"
REF = json.loads((R / "localisation_reference.json").read_text())


@pytest.fixture(scope="module")
def dataset04() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    marks = pd.read_csv(R / "localisation_marks.csv", dtype={"modality": str, "reader_id": str})
    marks["lesion"] = marks["lesion"].where(marks["kind"] == "LL")
    truth = pd.read_csv(R / "localisation_truth.csv")
    cases = truth.groupby("case_id", as_index=False)["lesion"].max()
    cases["truth"] = (cases["lesion"] > 0).astype(int)
    return marks, cases[["case_id", "truth"]], truth[truth["lesion"] > 0]


def _by_cell(out: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    return {(str(r.modality), str(r.reader)): r for r in out.itertuples()}


@pytest.mark.parametrize("fom", ["wAFROC", "AFROC"])
def test_figure_of_merit_and_jackknife_variance_match_rjafroc(dataset04, fom: str) -> None:
    marks, cases, lesions = dataset04
    out = _by_cell(afroc_fom(marks, cases, lesions, fom=fom))
    assert len(out) == len(REF[fom]["cells"]) == 20
    for ref in REF[fom]["cells"]:
        row = out[(ref["modality"], ref["reader_id"])]
        assert row.statistic == pytest.approx(ref["statistic"], abs=1e-12)
        assert row.std_err**2 == pytest.approx(ref["jackknife_var"], rel=1e-9)
        assert row.ci_low < row.statistic < row.ci_high and row.note == ""
        assert (row.n_normal, row.n_abnormal) == (REF["normal"], REF["abnormal"])


@pytest.mark.parametrize("fom", ["wAFROC", "AFROC"])
def test_reader_average_matches_rjafroc_frrc(dataset04, fom: str) -> None:
    marks, cases, lesions = dataset04
    out = afroc_reader_average(marks, cases, lesions, fom=fom).set_index("modality")
    for ref in REF[fom]["frrc"]:
        row = out.loc[ref["modality"]]
        assert row["statistic"] == pytest.approx(ref["statistic"], abs=1e-12)
        assert row["std_err"] == pytest.approx(ref["std_err"], rel=1e-9)
        assert ref["df"] == REF["cases"] - 1 and row["n_readers"] == 4
        assert row["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-9)
        assert row["ci_high"] == pytest.approx(ref["ci_high"], rel=1e-9)


def test_marks_placed_on_the_image_reproduce_rjafroc(dataset04) -> None:
    """LLs near their lesion, NLs far from any, a few extra lower-rated marks on a lesion."""
    marks, cases, lesions = dataset04
    truth = lesions.assign(series="DCE", slice=4, x=60.0 * lesions["lesion"], y=50.0)
    placed = marks.assign(series="DCE", slice=4, x=0.0, y=0.0)
    ll = placed["lesion"].notna()
    placed.loc[ll, "x"] = 60.0 * placed.loc[ll, "lesion"] + 3.0
    placed.loc[ll, "y"] = 46.0  # distance 5 from the centre: on the radius
    placed.loc[~ll, "x"] = 400.0 + 7 * np.arange((~ll).sum()) % 300
    extra = placed[ll].head(30).assign(rating=lambda d: d["rating"] - 0.5, x=lambda d: d["x"] - 4)
    wrong_slice = placed[ll].tail(10).assign(slice=7, rating=10.0)
    placed = pd.concat([placed, extra, wrong_slice], ignore_index=True)
    located = lesion_localisation(placed.drop(columns="lesion"), truth, radius=5)
    assert located["lesion"].notna().sum() == ll.sum()
    assert located.iloc[-10:]["lesion"].isna().all()
    # the off-slice marks land on abnormal cases as NLs, which wAFROC does not use
    out = _by_cell(afroc_fom(located, cases, lesions))
    for ref in REF["wAFROC"]["cells"]:
        assert out[(ref["modality"], ref["reader_id"])].statistic == pytest.approx(ref["statistic"])


def test_a_mark_goes_to_the_nearest_lesion_it_reaches_and_lesion_radius_counts() -> None:
    truth = pd.DataFrame(
        {
            "case_id": 1,
            "lesion": [1, 2],
            "series": ["", "T2"],
            "slice": [3, None],
            "x": [10.0, 20.0],
            "y": [10.0, 10.0],
            "radius": [None, 12.0],
        }
    )
    marks = pd.DataFrame(
        {
            "reader_id": "A",
            "modality": 1,
            "case_id": 1,
            "series": ["DCE", "T2", "DCE", "T2"],
            "slice": [3, 3, 3, 9],
            "x": [13.0, 17.0, 20.0, 31.0],
            "y": [10.0, 10.0, 10.0, 10.0],
            "rating": [1, 2, 3, 4],
        }
    )
    out = lesion_localisation(marks, truth, radius=4)
    # 13 → lesion 1 (3 px); 17 on T2 → lesion 2 (3 px; lesion 1 is 7 px away); 20 on DCE:
    # lesion 2 is on T2 only and lesion 1 is 10 px away; 31 on T2 slice 9: inside lesion 2's
    # own radius 12 (a lesion with no slice is on every slice), and rated 4 it outranks 17's 2
    assert out["lesion"].iloc[0] == 1.0 and out["lesion"].iloc[3] == 2.0
    assert out["lesion"].iloc[1:3].isna().all()
    assert out["distance"].tolist()[:2] == pytest.approx([3.0, 3.0])
    assert np.isnan(out["distance"].iloc[2])
    shifted = marks.assign(slice=[4, 3, 3, 9])
    assert np.isnan(lesion_localisation(shifted, truth, radius=4)["lesion"].iloc[0])
    assert lesion_localisation(shifted, truth, radius=4, slice_tolerance=1)["lesion"].iloc[0] == 1


def test_degenerate_and_bad_input() -> None:
    cases = pd.DataFrame({"case_id": [1, 2], "truth": [1, 1]})
    lesions = pd.DataFrame({"case_id": [1, 2], "lesion": [1, 1]})
    marks = pd.DataFrame(
        {"reader_id": "A", "modality": 1, "case_id": [1], "lesion": [1], "rating": [3]}
    )
    out = afroc_fom(marks, cases, lesions)
    assert np.isnan(out["statistic"].iloc[0]) and "no negative case" in out["note"].iloc[0]
    with pytest.raises(ValueError, match="fom"):
        afroc_fom(marks, cases, lesions, fom="FROC")
    with pytest.raises(ValueError, match="without a lesion"):
        afroc_fom(marks, cases, lesions.head(1))
    with pytest.raises(ValueError, match="radius"):
        lesion_localisation(
            marks.assign(series="", slice=1, x=1, y=1),
            lesions.assign(series="", slice=1, x=1, y=1),
            radius=0,
        )
    with pytest.raises(ValueError, match="not in cases"):
        afroc_fom(marks.assign(case_id=9), cases, lesions)
    with pytest.raises(ValueError, match="lesion"):
        afroc_fom(marks.drop(columns="lesion"), cases, lesions)
