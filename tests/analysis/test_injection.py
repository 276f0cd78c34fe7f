"""Planted text in the analysis outputs (issue 11, findings 7 and 14).

7: the datasets (CSV, XLSX), the tables (CSV, workbook) and the dictionary hold no cell a
spreadsheet would run, and pandas reads the numbers back unchanged.
14: text of the study that reaches a plotly figure is escaped (no live ``<a href>``).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.charts import build_figures, figure_html, figure_image, figure_size, plot_text
from analysis.exports import EXPORT_KINDS, write_export
from analysis.results import run_analysis
from analysis.selectors import study_data
from analysis.services import tables_workbook
from analysis.tables import build_tables, table_csv
from readerstudy.core.spreadsheet import neutralise_text
from readerstudy.studies.models import Reading, Study
from readerstudy.studies.pseudonyms import Pseudonyms
from tests.analysis.conftest import CustomStudy
from tests.core.test_spreadsheet import (
    HYPERLINK,
    assert_no_formula_cells,
    assert_no_formula_xlsx,
)

pytestmark = pytest.mark.django_db

LINK = '<a href="http://evil.example">x</a>'
#: Case ids name image folders: no "/" in them.
CASE_LINK = '<a href="mailto:x@evil.example">C00'
LIVE_LINK = re.compile(r"<a\s", re.IGNORECASE)


def planted_study(custom_study: CustomStudy) -> Study:
    """A study whose codes, labels and impressions carry formulas and links; negative scores."""
    n = 12
    truth = [1, 0] * (n // 2)
    cases = pd.DataFrame(
        {
            "case_id": [CASE_LINK if i == 0 else f"C{i:02d}" for i in range(n)],
            "truth": truth,
            "patient_id": ["=P0" if i == 0 else f"P{i:02d}" for i in range(n)],
            "split": "test",
            "note": [HYPERLINK if i == 1 else "ok" for i in range(n)],
            "delta": [-0.5 - i for i in range(n)],
        }
    )
    readers = pd.DataFrame({"reader_id": ["R1", LINK, "=M2"], "kind": ["human", "model", "model"]})
    rows = []
    for r, reader in enumerate(readers["reader_id"]):
        for i, case in enumerate(cases["case_id"]):
            category = 4 + (i + r) % 2 if truth[i] else 2 + (i + r) % 2
            rows.append(
                {
                    "reader_id": reader,
                    "case_id": case,
                    "category": category,
                    "score": -0.5 if i == 0 else (i % 5) / 5 - 0.4,
                    "impression": HYPERLINK if i == 0 else f"-{i} mm, {reader}",
                }
            )
    readings = pd.DataFrame(rows)
    ratings = pd.DataFrame(
        [
            {
                "rater_id": rater,
                "reader_id": row.reader_id,
                "case_id": row.case_id,
                "run": 1,
                "domain": "correctness",
                "score": 3 + i % 3,
            }
            for i, row in enumerate(readings.itertuples())
            for rater in ("@rA", "rB")
        ]
    )
    return custom_study(
        cases=cases, readers=readers, readings=readings, reference="R1", ratings=ratings
    )


@pytest.fixture
def planted(custom_study: CustomStudy) -> Study:
    study = planted_study(custom_study)
    study.title = HYPERLINK
    study.save(update_fields=["title"])
    return study


def test_dataset_csvs_are_safe_and_read_back_with_pandas(planted: Study, tmp_path: Path) -> None:
    ids = Pseudonyms(planted.slug, False)
    for kind in ("readings.csv", "likert.csv", "wide.csv", "dictionary.csv"):
        write_export(planted, kind, ids, tmp_path / kind)
        assert_no_formula_cells((tmp_path / kind).read_bytes(), where=kind)
    readings = pd.read_csv(tmp_path / "readings.csv", keep_default_na=False, na_values=[""])
    stored = pd.DataFrame(
        list(Reading.objects.filter(reader__study=planted).values_list(
            "reader__code", "case__code", "score", "impression"
        )),
        columns=["reader_id", "case_id", "score", "impression"],
    )  # fmt: skip
    keys = ["reader_id", "case_id"]
    expected = stored.assign(
        reader_id=stored["reader_id"].map(neutralise_text),
        case_id=stored["case_id"].map(neutralise_text),
        impression=stored["impression"].map(neutralise_text),
    ).sort_values(keys, ignore_index=True)
    got = readings.sort_values(keys, ignore_index=True)
    # Numbers come back unchanged, negative ones included; text with its quote.
    assert got["score"].dtype == np.float64 and (got["score"] == -0.5).sum() == 3
    np.testing.assert_array_equal(got["score"].to_numpy(), expected["score"].to_numpy())
    assert got["impression"].tolist() == expected["impression"].tolist()
    assert ("'" + HYPERLINK) in got["impression"].tolist()
    assert "'=M2" in got["reader_id"].tolist()
    likert = pd.read_csv(tmp_path / "likert.csv")
    assert set(likert["rater_id"]) == {"'@rA", "rB"} and likert["score"].dtype == np.int64
    wide = pd.read_csv(tmp_path / "wide.csv")
    assert wide["delta"].dtype == np.float64 and sorted(wide["delta"]) == [
        -0.5 - i for i in reversed(range(12))
    ]
    assert ("'" + HYPERLINK) in wide["note"].tolist() and "'=P0" in wide["patient_id"].tolist()


def test_the_excel_workbook_stores_text_not_formulas(planted: Study, tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    write_export(planted, "data.xlsx", Pseudonyms(planted.slug, False), path)
    assert_no_formula_xlsx(path.read_bytes(), where="data.xlsx")
    readings = pd.read_excel(path, sheet_name="readings")
    assert HYPERLINK in readings["impression"].tolist()  # exactly as stored, no quote
    assert "=M2" in readings["reader_id"].tolist() and (readings["score"] == -0.5).sum() == 3
    wide = pd.read_excel(path, sheet_name="wide")
    assert HYPERLINK in wide["note"].tolist() and wide["delta"].min() == -11.5
    cell = next(
        c
        for row in load_workbook(path)["readings"].iter_rows()
        for c in row
        if c.value == HYPERLINK
    )
    assert cell.data_type == "s"


def test_tables_csv_and_workbook_are_safe(planted: Study) -> None:
    analysis = run_analysis(study_data(planted))
    tables = build_tables(analysis)
    planted_seen = False
    for name, table in tables.items():
        data = table_csv(table)
        assert_no_formula_cells(data, where=name)
        back = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])
        text = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        assert list(back.columns) == [neutralise_text(str(c)) for c in table.columns], name
        for col in table.columns:
            got = back[neutralise_text(str(col))]
            values = table[col]
            if pd.api.types.is_float_dtype(values.dtype):
                np.testing.assert_array_equal(
                    got.to_numpy(dtype=float), values.to_numpy(dtype=float)
                )
            elif values.notna().all() and values.map(type).eq(str).all():
                assert text[neutralise_text(str(col))].tolist() == [
                    neutralise_text(v) for v in values
                ], (
                    name,
                    col,
                )
                planted_seen |= "'=M2" in got.tolist()
    assert planted_seen
    workbook = tables_workbook(analysis=analysis, pseudonymous=False)
    assert_no_formula_xlsx(workbook, where="tables.xlsx")
    about = pd.read_excel(io.BytesIO(workbook), sheet_name="about", header=None)
    assert f"{HYPERLINK} ({planted.slug})" in about[1].tolist()


def test_the_downloads_of_tables_and_datasets_are_safe(planted: Study, client, member) -> None:
    client.force_login(member(planted, "coordinator"))
    base = f"/studies/{planted.slug}"
    response = client.get(f"{base}/analysis/tables/diagnostic_performance.csv")
    assert response.status_code == 200, response.content[:300]
    assert_no_formula_cells(response.content, where="diagnostic_performance.csv")
    assert "'=M2" in pd.read_csv(io.BytesIO(response.content))["reader"].tolist()
    workbook = client.get(f"{base}/analysis/tables/tables.xlsx")
    assert workbook.status_code == 200
    assert_no_formula_xlsx(workbook.content, where="tables.xlsx")
    readings = client.get(f"{base}/exports/readings.csv")
    assert readings.status_code == 200
    body = b"".join(readings.streaming_content)
    assert_no_formula_cells(body, where="readings.csv")
    assert ("'" + HYPERLINK) in pd.read_csv(io.BytesIO(body))["impression"].tolist()


# --- finding 14 ----------------------------------------------------------------------------


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def test_plot_text_escapes_markup_and_template_placeholders() -> None:
    assert plot_text(LINK) == '&lt;a href="http://evil.example"&gt;x&lt;/a&gt;'
    assert plot_text("%{x} & <b>") == "&#37;{x} &amp; &lt;b&gt;"
    assert plot_text("R1") == "R1"


def test_no_figure_carries_a_live_link_from_the_study(planted: Study) -> None:
    study = planted
    study.scale_name = "<a href='http://evil.example'>BI-RADS</a>"
    study.config = {**study.config, "modalities": {"1": LINK}}
    study.save(update_fields=["scale_name", "config"])
    study.scale_categories.filter(value=4).update(label=LINK)
    from evaluation.models import LikertDomain

    LikertDomain.objects.filter(study=study).update(label=LINK, group="<b>grp</b>")
    analysis = run_analysis(study_data(study))
    figures = build_figures(analysis)
    assert {"case_heatmap", "roc_curves", "delong_matrix", "likert_radars"} <= set(figures)
    escaped = plot_text(LINK)
    for name, fig in figures.items():
        spec = json.loads(fig.to_json())
        texts = _strings(spec["data"]) + _strings(spec["layout"])
        live = [t for t in texts if LIVE_LINK.search(t) or "<b>" in t]
        assert not live, (name, live[:3])
        assert any(escaped in t for t in texts), name
        html = figure_html(fig, title=name, plotlyjs="inline")
        assert LINK not in html and 'href=\\"http://evil' not in html, name


def test_a_static_figure_shows_the_link_as_text(planted: Study) -> None:
    """kaleido renders the same figure: the SVG holds the text, not an ``<a>`` element."""
    figures = build_figures(run_analysis(study_data(planted)))
    fig = figures["roc_curves"]
    svg = figure_image(fig, fmt="svg", width=900, height=700).decode("utf-8")
    assert "evil.example" in svg  # the legend shows the code as written
    assert not re.search(r"<a[\s>]", svg) and "xlink:href" not in svg
    assert figure_size("roc_curves", fig) == (900, 700)


def test_every_export_kind_was_considered() -> None:
    """A new export kind must be added to the tests above (CSV / XLSX) or be binary."""
    assert {k for k, v in EXPORT_KINDS.items() if v.fmt in ("csv", "xlsx")} == {
        "readings.csv", "likert.csv", "wide.csv", "dictionary.csv", "data.xlsx",
    }  # fmt: skip
