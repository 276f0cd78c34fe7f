"""Tidy datasets of a study for SPSS, R, Stata, Python or Excel, and their data dictionary.

Three datasets:

* ``readings``: one row per reading (reader × case × run × modality);
* ``likert``: one row per Likert score (rater × reading × domain);
* ``wide``: one row per case with its attributes and one column per reader × run
  (× modality) holding the category.

Each comes as CSV, Parquet and SPSS ``.sav`` (with variable and value labels), and all
three in one Excel workbook (``data.xlsx``); ``dictionary.csv`` / ``dictionary.md``
describe every column. CSV is streamed chunk by chunk from a server-side cursor, so memory
stays flat whatever the size; Parquet and Excel are written chunk by chunk to a temporary
file. SPSS files are built in memory (pyreadstat writes a whole data frame at once).

Identifiers are pseudonymous (:class:`readerstudy.studies.pseudonyms.Pseudonyms`) or real, as the
caller decides (:class:`readerstudy.studies.pseudonyms.Blinding`; docs/analysis.md,
"Pseudonymisation"); pseudonymous rows are never in import order.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.selectors import (
    READING_EXPORT_COLUMNS,
    SCORE_EXPORT_COLUMNS,
    Pseudonyms,
    reading_chunks,
    score_chunks,
    study_data,
    study_domains,
)
from analysis.tables import table_csv
from analysis.xlsx import XlsxWriter
from readerstudy.core.spreadsheet import neutralise_frame
from readerstudy.studies.models import Study

DATASETS: tuple[str, ...] = ("readings", "likert", "wide")
EXCEL_MAX_ROWS = 1_048_575  # data rows per sheet (one row is the header)


@dataclass(frozen=True)
class ExportKind:
    name: str
    dataset: str | None
    fmt: str
    content_type: str
    description: str


def _kinds() -> dict[str, ExportKind]:
    kinds: dict[str, ExportKind] = {}
    what = {
        "readings": "one row per reading",
        "likert": "one row per Likert score",
        "wide": "one row per case, one column per reader and run",
    }
    formats = {
        "csv": ("text/csv; charset=utf-8", "CSV"),
        "parquet": ("application/vnd.apache.parquet", "Parquet"),
        "sav": ("application/x-spss-sav", "SPSS"),
    }
    for dataset in DATASETS:
        for fmt, (content_type, label) in formats.items():
            name = f"{dataset}.{fmt}"
            kinds[name] = ExportKind(name, dataset, fmt, content_type, f"{label}: {what[dataset]}")
    kinds["data.xlsx"] = ExportKind(
        "data.xlsx",
        None,
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel: the three datasets and the dictionary, a sheet each",
    )
    kinds["dictionary.csv"] = ExportKind(
        "dictionary.csv", None, "csv", "text/csv; charset=utf-8", "Data dictionary (CSV)"
    )
    kinds["dictionary.md"] = ExportKind(
        "dictionary.md", None, "md", "text/markdown; charset=utf-8", "Data dictionary (Markdown)"
    )
    return kinds


EXPORT_KINDS: dict[str, ExportKind] = _kinds()


def export_filename(study: Study, kind: str, *, pseudonymous: bool) -> str:
    suffix = "-pseudonymous" if pseudonymous else ""
    return f"{study.slug}{suffix}-{kind}"


# ---------------------------------------------------------------------------------------
# Datasets in chunks
# ---------------------------------------------------------------------------------------


def spss_name(text: str) -> str:
    """A valid SPSS / Stata / R variable name for ``text`` (letters, digits, ``_``)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", text)
    if not name or not name[0].isalpha():
        name = "v_" + name
    return name[:64]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


@dataclass(frozen=True)
class WideColumn:
    name: str
    reader_id: str
    run: int
    modality: int


def wide_frame(study: Study, ids: Pseudonyms) -> tuple[pd.DataFrame, list[WideColumn]]:
    """The wide dataset (every case, every split) and what each category column holds."""
    data = study_data(study, split="all", pseudonymous=ids.enabled, with_scores=False)
    # study_cases' order: cases.csv, or the keyed order of pseudonymous cases.
    cases = data.cases
    attributes = [f"attr:{a}" for a in data.attributes]
    base = pd.DataFrame(
        {
            "study": study.slug,
            "case_id": cases["case_id"].to_numpy(dtype=object),
            "patient_id": cases["patient_id"].to_numpy(dtype=object),
            "split": cases["split"].to_numpy(dtype=object),
            "truth": cases["truth"].to_numpy(dtype=np.int64),
        }
    )
    attr_names = _unique([spss_name(a) for a in data.attributes])
    for col, name in zip(attributes, attr_names, strict=True):
        base[name] = cases[col].to_numpy()
    readings = data.readings
    columns: list[WideColumn] = []
    if len(readings):
        multi = readings["modality"].nunique() > 1
        order = {r: i for i, r in enumerate(data.reader_order)}
        keys = (
            readings[["reader_id", "modality", "run"]]
            .drop_duplicates()
            .assign(_o=lambda f: f["reader_id"].map(order))
            .sort_values(["_o", "modality", "run"])
        )
        labels = [
            spss_name(f"{r}_m{m}_r{u}" if multi else f"{r}_r{u}")
            for r, m, u in zip(keys["reader_id"], keys["modality"], keys["run"], strict=True)
        ]
        labels = _unique([n if n not in base.columns else f"{n}_cat" for n in labels])
        columns = [
            WideColumn(n, str(r), int(u), int(m))
            for n, r, m, u in zip(
                labels, keys["reader_id"], keys["modality"], keys["run"], strict=True
            )
        ]
        wide = readings.pivot_table(
            index="case_id",
            columns=["reader_id", "modality", "run"],
            values="category",
            aggfunc="first",
        )
        for c in columns:
            values = wide[(c.reader_id, c.modality, c.run)].reindex(base["case_id"])
            base[c.name] = pd.array(values.to_numpy(), dtype="Int64")
    return base, columns


def dataset_chunks(study: Study, dataset: str, ids: Pseudonyms) -> Iterator[pd.DataFrame]:
    """The rows of one dataset in chunks (one chunk for ``wide``)."""
    if dataset == "readings":
        yield from reading_chunks(study, ids)
    elif dataset == "likert":
        yield from score_chunks(study, ids)
    elif dataset == "wide":
        yield wide_frame(study, ids)[0]
    else:
        raise ValueError(f"dataset: expected one of {', '.join(DATASETS)}, got {dataset!r}")


def _empty(dataset: str, study: Study, ids: Pseudonyms) -> pd.DataFrame:
    if dataset == "readings":
        return pd.DataFrame(columns=list(READING_EXPORT_COLUMNS))
    if dataset == "likert":
        return pd.DataFrame(columns=list(SCORE_EXPORT_COLUMNS))
    return wide_frame(study, ids)[0]


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------


def csv_stream(study: Study, dataset: str, ids: Pseudonyms) -> Iterator[bytes]:
    """The dataset as UTF-8 CSV bytes, header first, one block per chunk.

    Written by Arrow's CSV writer: text is always quoted (so an empty text ``""`` differs
    from a missing value, which is an empty field), numbers in their shortest form. Text a
    spreadsheet would run as a formula gets a leading ``'`` (readerstudy/core/spreadsheet.py).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = True
    for chunk in dataset_chunks(study, dataset, ids):
        buffer = io.BytesIO()
        table = pa.Table.from_pandas(neutralise_frame(chunk), preserve_index=False)
        pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=first))
        first = False
        yield buffer.getvalue()
    if first:
        header = ",".join(f'"{c}"' for c in _empty(dataset, study, ids).columns)
        yield (header + "\n").encode()


# ---------------------------------------------------------------------------------------
# Dictionary
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    dataset: str
    name: str
    type: str
    label: str
    values: dict[Any, str]
    measure: str  # nominal, ordinal or scale (SPSS)


def _scale_labels(study: Study) -> dict[int, str]:
    return {
        int(v): (label or str(v))
        for v, label in study.scale_categories.order_by("value").values_list("value", "label")
    }


def dictionary(
    study: Study, ids: Pseudonyms, *, datasets: Iterable[str] = DATASETS
) -> list[Variable]:
    """Every column of ``datasets`` with its type, label and value labels."""
    wanted = tuple(datasets)
    ids_note = "pseudonym" if ids.enabled else "code as imported"
    cats = _scale_labels(study)
    domains = study_domains(study)
    common = {
        "study": ("string", "Study slug", {}, "nominal"),
        "reader_id": ("string", f"Reader ({ids_note})", {}, "nominal"),
        "reader_kind": (
            "string",
            "Reader kind",
            {"human": "human reader", "model": "model"},
            "nominal",
        ),
        "case_id": ("string", f"Case ({ids_note})", {}, "nominal"),
        "patient_id": ("string", f"Patient ({ids_note})", {}, "nominal"),
        "split": ("string", "Case set", {"test": "test set", "train": "training set"}, "nominal"),
        "truth": (
            "integer",
            "Reference standard (1 = positive)",
            {0: "negative", 1: "positive"},
            "nominal",
        ),
        "run": ("integer", "Run (repeated reading) number", {}, "ordinal"),
        "modality": ("integer", "Modality (test condition)", {}, "nominal"),
    }
    specific: dict[str, dict[str, tuple[str, str, dict[Any, str], str]]] = {
        "readings": {
            "category": ("integer", f"{study.scale_name} category", cats, "ordinal"),
            "positive": (
                "integer",
                f"Positive call (category >= {study.positive_threshold})",
                {0: "negative call", 1: "positive call"},
                "nominal",
            ),
            "score": ("float", "Continuous rating (e.g. a probability)", {}, "scale"),
            "seconds": ("float", "Reading time in seconds", {}, "scale"),
            "source": (
                "string",
                "How the reading was recorded",
                {
                    "imported": "imported",
                    "entered": "entered in the reading page",
                    "generated": "generated by a model",
                },
                "nominal",
            ),
            "impression": ("string", "Written impression", {}, "nominal"),
        },
        "likert": {
            "rater_id": ("string", f"Rater ({ids_note})", {}, "nominal"),
            "domain": (
                "string",
                "Likert domain",
                dict(zip(domains["domain"], domains["label"], strict=True)),
                "nominal",
            ),
            "domain_group": (
                "string",
                "Domain group",
                {g: g for g in dict.fromkeys(domains["group"])},
                "nominal",
            ),
            "score": (
                "integer",
                f"Likert score ({study.likert_min}-{study.likert_max})",
                {study.likert_min: "strongly disagree", study.likert_max: "strongly agree"},
                "ordinal",
            ),
        },
    }
    columns: dict[str, list[str]] = {
        "readings": list(READING_EXPORT_COLUMNS),
        "likert": list(SCORE_EXPORT_COLUMNS),
    }
    if "wide" in wanted:
        frame, category_columns = wide_frame(study, ids)
        columns["wide"] = list(frame.columns)
        wide: dict[str, tuple[str, str, dict[Any, str], str]] = {}
        for name in frame.columns:
            if name in common:
                continue
            numeric = pd.api.types.is_numeric_dtype(frame[name])
            wide[name] = (
                "float" if numeric else "string",
                f"Case attribute {name}",
                {},
                "scale" if numeric else "nominal",
            )
        for c in category_columns:
            wide[c.name] = (
                "integer",
                f"{study.scale_name} category of reader {c.reader_id}, run {c.run}, "
                f"modality {c.modality}",
                cats,
                "ordinal",
            )
        specific["wide"] = wide
    out = []
    for dataset in DATASETS:
        if dataset not in wanted:
            continue
        for name in columns[dataset]:
            kind, label, values, measure = specific[dataset].get(name) or common[name]
            out.append(Variable(dataset, name, kind, label, values, measure))
    return out


def dictionary_frame(variables: list[Variable]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": [v.dataset for v in variables],
            "column": [v.name for v in variables],
            "type": [v.type for v in variables],
            "label": [v.label for v in variables],
            "values": ["; ".join(f"{k} = {lab}" for k, lab in v.values.items()) for v in variables],
            "measure": [v.measure for v in variables],
        }
    )


def dictionary_markdown(study: Study, variables: list[Variable], *, pseudonymous: bool) -> str:
    lines = [
        f"# Data dictionary: {study.title} ({study.slug})",
        "",
        "Identifiers are "
        + (
            "pseudonyms (stable keyed hashes of the real codes; see docs/analysis.md)."
            if pseudonymous
            else "the codes as imported."
        ),
        "",
    ]
    for dataset in DATASETS:
        lines += [f"## {dataset}", "", "| column | type | label | values |", "|---|---|---|---|"]
        for v in variables:
            if v.dataset != dataset:
                continue
            values = "; ".join(f"{k} = {lab}" for k, lab in v.values.items()).replace("|", "\\|")
            lines.append(f"| `{v.name}` | {v.type} | {v.label.replace('|', '/')} | {values} |")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------

#: String columns stored in SPSS as numeric codes with value labels (the strings).
SPSS_CODED: dict[str, tuple[str, ...]] = {
    "readings": ("reader_kind", "split", "source"),
    "likert": ("reader_kind", "split", "domain", "domain_group"),
    "wide": ("split",),
}


def write_sav(study: Study, dataset: str, ids: Pseudonyms, path: Path) -> None:
    """The dataset as an SPSS .sav file with variable labels, value labels and measures.

    Short text columns with few values (reader kind, split, source, domain, domain group)
    become numeric codes whose value labels are the texts (for domains, their labels), so
    that SPSS can group by them; every other text stays a string variable.
    """
    import pyreadstat

    frame = pd.concat(
        list(dataset_chunks(study, dataset, ids)) or [_empty(dataset, study, ids)],
        ignore_index=True,
    )
    variables = {v.name: v for v in dictionary(study, ids, datasets=[dataset])}
    value_labels: dict[str, dict[float, str]] = {}
    for name in SPSS_CODED[dataset]:
        known = list(variables[name].values)
        extra = sorted(set(frame[name].dropna().astype(str)) - set(known))
        levels = known + extra
        codes = {level: i + 1 for i, level in enumerate(levels)}
        frame[name] = frame[name].map(codes).astype(float)
        value_labels[name] = {
            float(i + 1): str(variables[name].values.get(level, level))
            for i, level in enumerate(levels)
        }
    for name, var in variables.items():
        if name in value_labels or not var.values or var.type == "string":
            continue
        value_labels[name] = {float(k): str(label) for k, label in var.values.items()}
    for name in frame.columns:
        if frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name]):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), "")
        elif isinstance(frame[name].dtype, pd.Int64Dtype):
            frame[name] = frame[name].astype(float)
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=f"{study.slug} {dataset}"[:64],
        column_labels={n: variables[n].label[:255] for n in frame.columns if n in variables},
        variable_value_labels=value_labels,
        variable_measure={n: variables[n].measure for n in frame.columns if n in variables},
    )


_ARROW_TYPES = {"string": "string", "integer": "int64", "float": "float64"}


def write_parquet(study: Study, dataset: str, ids: Pseudonyms, path: Path) -> None:
    """The dataset as Parquet, one row group per chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    variables = dictionary(study, ids, datasets=[dataset])
    schema = pa.schema([(v.name, _ARROW_TYPES[v.type]) for v in variables])
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        for chunk in dataset_chunks(study, dataset, ids):
            writer.write_table(_arrow_table(chunk, schema))


def _arrow_table(chunk: pd.DataFrame, schema: Any) -> Any:
    import pyarrow as pa

    arrays = []
    for field in schema:
        values = chunk[field.name]
        if pa.types.is_string(field.type):
            arrays.append(
                pa.array(values.astype(object).where(values.notna(), None), type=field.type)
            )
        elif pa.types.is_integer(field.type):
            arrays.append(pa.array(pd.array(values, dtype="Int64"), type=field.type))
        else:
            arrays.append(pa.array(values.to_numpy(dtype=float), type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_xlsx(study: Study, ids: Pseudonyms, path: Path) -> None:
    """All three datasets and the dictionary, one sheet each (long sheets continue on more).

    Written by :class:`analysis.xlsx.XlsxWriter` (column-vectorised, streamed into the
    zip): every text is a string cell, never a formula.
    """
    variables = dictionary(study, ids)
    with XlsxWriter(path) as wb:
        for dataset in DATASETS:
            part, rows = 0, EXCEL_MAX_ROWS
            for chunk in dataset_chunks(study, dataset, ids):
                start = 0
                while start < len(chunk):
                    if rows >= EXCEL_MAX_ROWS:
                        part += 1
                        wb.sheet(dataset if part == 1 else f"{dataset} ({part})", chunk.columns)
                        rows = 0
                    piece = chunk.iloc[start : start + EXCEL_MAX_ROWS - rows]
                    wb.rows(piece)
                    rows += len(piece)
                    start += len(piece)
            if part == 0:
                wb.sheet(dataset, _empty(dataset, study, ids).columns)
        frame = dictionary_frame(variables)
        wb.sheet("dictionary", frame.columns)
        wb.rows(frame)


def write_export(study: Study, kind: str, ids: Pseudonyms, path: Path) -> None:
    """Write the export ``kind`` (a key of :data:`EXPORT_KINDS`) to ``path``."""
    spec = EXPORT_KINDS.get(kind)
    if spec is None:
        raise ValueError(f"kind: expected one of {', '.join(EXPORT_KINDS)}, got {kind!r}")
    if spec.name == "dictionary.csv":
        path.write_bytes(table_csv(dictionary_frame(dictionary(study, ids))))
    elif spec.name == "dictionary.md":
        path.write_text(
            dictionary_markdown(study, dictionary(study, ids), pseudonymous=ids.enabled),
            encoding="utf-8",
        )
    elif spec.name == "data.xlsx":
        write_xlsx(study, ids, path)
    elif spec.fmt == "csv":
        with path.open("wb") as fh:
            for block in csv_stream(study, str(spec.dataset), ids):
                fh.write(block)
    elif spec.fmt == "parquet":
        write_parquet(study, str(spec.dataset), ids, path)
    elif spec.fmt == "sav":
        write_sav(study, str(spec.dataset), ids, path)


def export_temp_path(kind: str) -> Path:
    """A new private temporary folder with the file name ``kind`` in it (not created)."""
    return Path(tempfile.mkdtemp(prefix="readerstudy-export-")) / kind


def discard_temp_path(path: Path) -> None:
    """Delete a file made by :func:`export_temp_path` and its folder."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def file_chunks(path: Path, *, block: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of ``path`` in blocks; the file (and its temporary folder) go once read."""
    try:
        with path.open("rb") as fh:
            yield from iter(lambda: fh.read(block), b"")
    finally:
        discard_temp_path(path)
