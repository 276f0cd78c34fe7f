"""Exports read back with pandas and pyreadstat equal the database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import load_workbook

from analysis.exports import (
    EXPORT_KINDS,
    csv_stream,
    dictionary,
    spss_name,
    write_export,
)
from evaluation.models import LikertScore
from readerstudy.studies.models import Case, Reading, Study
from readerstudy.studies.pseudonyms import Pseudonyms, pseudonym
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db


def db_readings(study: Study) -> pd.DataFrame:
    rows = Reading.objects.filter(reader__study=study).values_list(
        "reader__code", "reader__kind", "case__code", "case__patient_id", "case__split",
        "case__truth", "run", "modality", "category", "score", "seconds", "source", "impression",
    )  # fmt: skip
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "reader_id", "reader_kind", "case_id", "patient_id", "split", "truth", "run",
            "modality", "category", "score", "seconds", "source", "impression",
        ],
    )  # fmt: skip
    return frame.sort_values(["reader_id", "case_id", "run", "modality"]).reset_index(drop=True)


def db_scores(study: Study) -> pd.DataFrame:
    rows = LikertScore.objects.filter(domain__study=study).values_list(
        "rater__code", "reading__reader__code", "reading__case__code", "reading__run",
        "reading__modality", "domain__key", "domain__group", "score",
    )  # fmt: skip
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "rater_id",
            "reader_id",
            "case_id",
            "run",
            "modality",
            "domain",
            "domain_group",
            "score",
        ],
    )
    return frame.sort_values(["reader_id", "case_id", "run", "domain", "rater_id"]).reset_index(
        drop=True
    )


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.fixture(scope="module")
def exported(
    demo_study: Study,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_blocker: pytest.FixtureRequest,
) -> Path:
    """Every export of the demo study with real ids, written once."""
    folder = tmp_path_factory.mktemp("exports")
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for kind in EXPORT_KINDS:
            if kind != "data.xlsx":  # slow for 55,404 scores; tested on a small study below
                write_export(demo_study, kind, Pseudonyms(demo_study.slug, False), folder / kind)
    return folder


def _assert_readings_equal(got: pd.DataFrame, study: Study) -> None:
    expected = db_readings(study)
    got = _sorted(got, ["reader_id", "case_id", "run", "modality"])
    assert len(got) == len(expected) == 2394 + 342  # + the AI-assisted readings of R3-R5
    for col in [
        "reader_id",
        "reader_kind",
        "case_id",
        "patient_id",
        "split",
        "source",
        "impression",
    ]:
        assert got[col].fillna("").astype(str).tolist() == expected[col].astype(str).tolist(), col
    for col in ["truth", "run", "modality", "category"]:
        assert got[col].astype(int).tolist() == expected[col].astype(int).tolist(), col
    for col in ["score", "seconds"]:
        np.testing.assert_array_equal(got[col].astype(float), expected[col].astype(float))
    assert (got["positive"].astype(int) == (expected["category"] >= 4).astype(int)).all()


def test_readings_csv_reads_back_equal_to_the_database(exported: Path, demo_study: Study) -> None:
    got = pd.read_csv(exported / "readings.csv", keep_default_na=False, na_values=[""])
    _assert_readings_equal(got, demo_study)
    assert (got["study"] == demo_study.slug).all()


def test_likert_csv_has_one_row_per_score_equal_to_the_database(
    exported: Path, demo_study: Study
) -> None:
    got = _sorted(
        pd.read_csv(exported / "likert.csv"), ["reader_id", "case_id", "run", "domain", "rater_id"]
    )
    expected = db_scores(demo_study)
    assert len(got) == len(expected) == 55_404
    for col in expected.columns:
        assert got[col].tolist() == expected[col].tolist(), col


def test_parquet_reads_back_equal_to_the_csv(exported: Path) -> None:
    for dataset, keys in (
        ("readings", ["reader_id", "case_id", "run", "modality"]),
        ("likert", ["reader_id", "case_id", "run", "domain", "rater_id"]),
        ("wide", ["case_id"]),
    ):
        parquet = _sorted(pd.read_parquet(exported / f"{dataset}.parquet"), keys)
        csv = _sorted(pd.read_csv(exported / f"{dataset}.csv"), keys)
        assert list(parquet.columns) == list(csv.columns)
        pd.testing.assert_frame_equal(
            parquet.astype(object).where(parquet.notna(), None),
            csv.astype(object).where(csv.notna(), None),
            check_dtype=False,
        )


def test_spss_readings_read_back_with_pyreadstat_equal_the_database(
    exported: Path, demo_study: Study
) -> None:
    frame, meta = pyreadstat.read_sav(str(exported / "readings.sav"))
    labels = meta.variable_value_labels
    for col in ("reader_kind", "split", "source"):
        frame[col] = frame[col].map(labels[col])
    frame["reader_kind"] = frame["reader_kind"].map({"human reader": "human", "model": "model"})
    frame["split"] = frame["split"].map({"test set": "test", "training set": "train"})
    frame["source"] = frame["source"].map({"imported": "imported"})
    _assert_readings_equal(frame.replace({"patient_id": {"": None}}), demo_study)
    assert labels["truth"] == {0.0: "negative", 1.0: "positive"}
    assert labels["category"][4.0] == "Suspicious"
    names = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert names["category"] == "BI-RADS category"
    assert meta.variable_measure["category"] == "ordinal"


def test_spss_likert_has_domain_value_labels_and_equals_the_database(
    exported: Path, demo_study: Study
) -> None:
    frame, _ = pyreadstat.read_sav(str(exported / "likert.sav"), apply_value_formats=True)
    labels = {d.label: d.key for d in demo_study.likert_domains.all()}
    frame["domain"] = frame["domain"].astype(str).map(labels)
    frame["score"] = (
        frame["score"].astype(str).replace({"strongly disagree": "1", "strongly agree": "5"})
    )
    got = _sorted(frame, ["reader_id", "case_id", "run", "domain", "rater_id"])
    expected = db_scores(demo_study)
    for col in ("rater_id", "reader_id", "case_id", "domain"):
        assert got[col].astype(str).tolist() == expected[col].tolist(), col
    assert got["score"].astype(float).astype(int).tolist() == expected["score"].tolist()
    assert got["domain_group"].astype(str).tolist() == expected["domain_group"].tolist()


def test_wide_has_one_row_per_case_and_a_category_per_reader_and_run(
    exported: Path, demo_study: Study
) -> None:
    wide = pd.read_csv(exported / "wide.csv").set_index("case_id")
    assert len(wide) == Case.objects.filter(study=demo_study).count() == 233
    category_columns = [c for c in wide.columns if "_r" in c and c.split("_r")[-1].isdigit()]
    # two modalities (R3-R5 unaided and AI-assisted): every column names its modality
    assert len(category_columns) == 3 * 2 + 6 * 3
    for reading in Reading.objects.filter(reader__study=demo_study).select_related(
        "reader", "case"
    )[:300]:
        column = f"{reading.reader.code}_m{reading.modality}_r{reading.run}"
        assert wide.loc[reading.case.code, column] == reading.category
    assert {"R3_m2_r1", "R5_m2_r1"} <= set(category_columns)
    assert {"distribution", "tic_type", "age", "adc"} <= set(wide.columns)
    sav, _ = pyreadstat.read_sav(str(exported / "wide.sav"))
    assert sav["E_m1_r2"].tolist() == pytest.approx(
        wide.loc[sav["case_id"], "E_m1_r2"].tolist(), nan_ok=True
    )


def test_the_dictionary_describes_every_column_of_every_dataset(
    exported: Path, demo_study: Study
) -> None:
    dictionary_csv = pd.read_csv(exported / "dictionary.csv", keep_default_na=False)
    for dataset in ("readings", "likert", "wide"):
        columns = list(pd.read_csv(exported / f"{dataset}.csv", nrows=1).columns)
        described = dictionary_csv[dictionary_csv["dataset"] == dataset]["column"].tolist()
        assert described == columns, dataset
    assert (dictionary_csv["label"] != "").all()
    markdown = (exported / "dictionary.md").read_text()
    assert "| `category` | integer | BI-RADS category |" in markdown
    assert "4 = Suspicious" in markdown


def test_the_excel_workbook_has_every_dataset_and_the_dictionary(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    ids = Pseudonyms(study.slug, False)
    write_export(study, "data.xlsx", ids, tmp_path / "data.xlsx")
    for dataset in ("readings.csv", "likert.csv", "wide.csv", "dictionary.csv"):
        write_export(study, dataset, ids, tmp_path / dataset)
    workbook = load_workbook(tmp_path / "data.xlsx", read_only=True)
    assert workbook.sheetnames == ["readings", "likert", "wide", "dictionary"]
    for sheet in workbook.sheetnames:
        excel = pd.read_excel(tmp_path / "data.xlsx", sheet_name=sheet, keep_default_na=False)
        csv = pd.read_csv(tmp_path / f"{sheet}.csv", keep_default_na=False)
        assert list(excel.columns) == list(csv.columns), sheet
        assert excel.astype(str).to_numpy().tolist() == csv.astype(str).to_numpy().tolist(), sheet
    assert len(pd.read_excel(tmp_path / "data.xlsx", sheet_name="likert")) == (
        LikertScore.objects.filter(domain__study=study).count()
    )


def test_pseudonymous_exports_hide_every_code_and_are_stable(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    ids = Pseudonyms(study.slug, True)
    first = b"".join(csv_stream(study, "readings", ids)).decode()
    again = b"".join(csv_stream(study, "readings", ids)).decode()
    assert first == again
    for code in ("R1", "M1", "C001", "P001"):
        assert f'"{code}"' not in first
    assert pseudonym(study.slug, "reader", "M1") in first
    assert pseudonym(study.slug, "case", "C001") in first
    likert = b"".join(csv_stream(study, "likert", ids)).decode()
    assert '"rA"' not in likert and pseudonym(study.slug, "rater", "rA") in likert
    # the same code in another study gets another pseudonym
    assert pseudonym("other", "reader", "M1") != pseudonym(study.slug, "reader", "M1")
    write_export(study, "wide.sav", ids, tmp_path / "wide.sav")
    frame, _ = pyreadstat.read_sav(str(tmp_path / "wide.sav"))
    assert not set(frame["case_id"]) & {f"C{i:03d}" for i in range(40)}
    assert all(name == spss_name(name) for name in frame.columns)


def test_an_empty_study_exports_headers_only(small_study: SmallStudy, tmp_path: Path) -> None:
    study = small_study(likert=False)
    ids = Pseudonyms(study.slug, False)
    text = b"".join(csv_stream(study, "likert", ids)).decode()
    assert text.strip() == ",".join(
        f'"{c}"' for c in [v.name for v in dictionary(study, ids, datasets=["likert"])]
    )
    write_export(study, "likert.parquet", ids, tmp_path / "likert.parquet")
    assert pd.read_parquet(tmp_path / "likert.parquet").empty
