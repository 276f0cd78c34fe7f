"""Analysis runs that read the database and write files or fill the dashboard cache.

* :func:`analysis_compute` loads a study's population and analyses it, cached by the
  study's data version (a fingerprint from a few aggregate queries), so the dashboard always
  reflects live data and neither loads nor computes anything when nothing changed.
* :func:`analysis_write_outputs` is ``manage.py analyze``: ``results.json``, the tables
  (CSV and one workbook), the figures (HTML, PNG, SVG) and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.cache import cache

from analysis.charts import (
    FIGURE_TITLES,
    IMAGE_FORMATS,
    FigureOutput,
    ImageOptions,
    LikertRange,
    build_figures,
    write_figure_html,
    write_figure_images,
)
from analysis.figure_theme import DEFAULT_THEME, FigureTheme, figure_caption
from analysis.manifest import build_manifest
from analysis.methods_text import write_methods
from analysis.notes import MRMC_NOTE_CODES
from analysis.render import prepare_static_export
from analysis.results import (
    STEPS,
    Analysis,
    AnalysisOptions,
    mrmc_reader_summary,
    mrmc_summary,
    results_json,
    run_analysis,
)
from analysis.selectors import modality_name, study_data, study_data_version
from analysis.tables import (
    DISPLAY_TABLES,
    TABLE_TITLES,
    build_tables,
    display_rows,
    table_footnotes,
    write_csvs,
    write_docx,
    write_workbook,
)
from readerstudy.studies.models import Study

CACHE_SECONDS = 60 * 60
#: The tables and the figure of the dashboard's MRMC section (not repeated below it).
MRMC_TABLES: tuple[str, ...] = ("mrmc", "mrmc_readers")
MRMC_FIGURE = "mrmc_modalities"
#: Analyses of more input rows than this are not kept in the (per-process) cache.
CACHE_MAX_ROWS = 500_000
#: Above this many cases the per-case table (Fig. 5 data) is left out of tables.xlsx.
WORKBOOK_MAX_ROWS = 5_000

Progress = Callable[[str], None]


def analysis_key(*, study: Study, options: AnalysisOptions, pseudonymous: bool) -> str:
    """The results-cache key of ``study`` at its current data version with these options."""
    version = study_data_version(study)
    doc = [study.pk, version, options.as_dict(), pseudonymous, str(study.unblinded_at)]
    return "analysis:" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def analysis_compute(
    *, study: Study, options: AnalysisOptions, pseudonymous: bool
) -> tuple[Analysis, str]:
    """The analysis of the study's current data and its cache key.

    The key holds the study's data version (:func:`analysis.selectors.study_data_version`,
    a few aggregate queries), the options and the identifiers; the data is loaded and
    analysed only when no analysis is cached under it (the first request after a change).
    """
    key = analysis_key(study=study, options=options, pseudonymous=pseudonymous)
    analysis = cache.get(key)
    if analysis is None:
        data = study_data(
            study,
            split=options.split,
            readers=options.readers,
            runs=options.runs,
            pseudonymous=pseudonymous,
        )
        analysis = run_analysis(data, options)
        if len(data.readings) + len(data.scores) <= CACHE_MAX_ROWS:
            cache.set(key, analysis, CACHE_SECONDS)
    return analysis, key


def dashboard_payload(
    *, study: Study, options: AnalysisOptions, pseudonymous: bool, likert_range: LikertRange
) -> dict[str, Any]:
    """What the dashboard shows: headline numbers, display tables and figure JSON (cached).

    The payload is looked up first, so a cached view never loads the (much larger) analysis.
    """
    key = analysis_key(study=study, options=options, pseudonymous=pseudonymous)
    payload_key = f"{key}:dashboard:{json.dumps(_range_doc(likert_range), sort_keys=True)}"
    payload = cache.get(payload_key)
    if payload is not None:
        return payload
    analysis, computed_key = analysis_compute(
        study=study, options=options, pseudonymous=pseudonymous
    )
    if computed_key != key:  # the data changed in between: store under the version computed
        payload_key = payload_key.replace(key, computed_key, 1)
    tables = build_tables(analysis)
    footnotes = table_footnotes(analysis)
    figures = build_figures(analysis, likert_range=likert_range)
    labels = analysis.data.modality_labels

    def table_doc(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "title": TABLE_TITLES.get(name, name),
            **display_rows(name, tables[name]),
            "footnotes": footnotes.get(name, []),
        }

    def figure_doc(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "title": FIGURE_TITLES.get(name, name),
            "caption": figure_caption(figures[name]),
            "json": script_json(text=figures[name].to_json()),
        }

    payload = {
        "n_cases": analysis.n_cases,
        "n_positive": analysis.n_positive,
        "readers": analysis.reader_order,
        "modalities": [modality_name(m, labels) for m in analysis.modalities],
        "modality": None if analysis.modality is None else modality_name(analysis.modality, labels),
        "notes": [n.as_dict() for n in analysis.notes if n.code not in MRMC_NOTE_CODES],
        "mrmc": mrmc_section(analysis=analysis) if len(analysis.modalities) > 1 else None,
        "tables": [
            table_doc(name) for name in tables if name in DISPLAY_TABLES and name not in MRMC_TABLES
        ],
        "table_names": list(tables),
        "figures": [figure_doc(name) for name in figures if name != MRMC_FIGURE],
    }
    if payload["mrmc"] is not None:
        payload["mrmc"]["tables"] = [table_doc(n) for n in MRMC_TABLES if n in tables]
        payload["mrmc"]["figure"] = figure_doc(MRMC_FIGURE) if MRMC_FIGURE in figures else None
    cache.set(payload_key, payload, CACHE_SECONDS)
    return payload


def mrmc_section(*, analysis: Analysis) -> dict[str, Any]:
    """The text of the dashboard's MRMC section: design, plain-language summary and notes."""
    labels = analysis.data.modality_labels
    design = analysis.mrmc_design
    summary: list[str] = []
    for result in analysis.mrmc:
        summary += mrmc_summary(result, labels)
    if analysis.mrmc:
        summary += mrmc_reader_summary(analysis.mrmc[0], labels)
    text = None
    if design is not None:
        names = [modality_name(m, labels) for m in design.modalities]
        text = (
            f"Design: {' vs '.join(names)}; readers {', '.join(design.readers)} on "
            f"{len(design.cases)} cases ({design.n_positive} positive), empirical AUC, "
            f"{analysis.options.mrmc_covariance} covariance."
        )
    return {
        "design": text,
        "summary": summary,
        "notes": [n.as_dict() for n in analysis.notes if n.code in MRMC_NOTE_CODES],
    }


@dataclass(frozen=True)
class OutputSummary:
    out: Path
    files: list[Path]
    warnings: list[str]
    notes: list[str]
    results: dict[str, Any]


def output_steps(*, figures: bool, formats: Sequence[str]) -> int:
    """How many progress steps :func:`analysis_write_outputs` reports."""
    n = 1 + len(STEPS) + 4  # load, analysis steps, results.json, CSV, workbook, manifest
    if figures:
        n += 1 + ("html" in formats) + bool(set(IMAGE_FORMATS) & set(formats))
    return n


@dataclass(frozen=True)
class OutputOptions:
    """What :func:`analysis_write_outputs` writes: pseudonyms or the readers' codes, the
    figures or not and in which ``formats`` (html, png, tiff, pdf, svg), the ``dpis`` of
    PNG / TIFF, the print ``columns`` ("single", "double", "default"), the journal ``theme``,
    the scale of the performance radar, and the Likert axis range of the figures."""

    pseudonymous: bool = False
    figures: bool = True
    formats: Sequence[str] = ("html", "png", "svg")
    likert_range: LikertRange = None
    dpis: Sequence[int] = (300,)
    columns: Sequence[str] = ("default",)
    theme: FigureTheme = DEFAULT_THEME
    radar_scale: str = "shared"


def analysis_write_outputs(
    *,
    study: Study,
    out: Path,
    options: AnalysisOptions,
    output: OutputOptions | None = None,
    progress: Progress | None = None,
) -> OutputSummary:
    """Write the whole analysis of ``study`` into the folder ``out``.

    Layout: ``results.json``, ``manifest.json``, ``tables/<name>.csv``, ``tables.xlsx``,
    ``figures/<name>.html|png|svg`` and ``figures/plotly.min.js``. Files of an earlier run
    with the same names are replaced.
    """
    output = output or OutputOptions()
    pseudonymous, figures, formats = output.pseudonymous, output.figures, output.formats
    likert_range = output.likert_range
    step = progress or (lambda name: None)
    out.mkdir(parents=True, exist_ok=True)
    if figures and set(IMAGE_FORMATS) & set(formats):
        # Chromium starts in the background while the statistics are computed.
        prepare_static_export()
    step("load data")
    data = study_data(
        study,
        split=options.split,
        readers=options.readers,
        runs=options.runs,
        pseudonymous=pseudonymous,
    )
    analysis = run_analysis(data, options, progress=step)
    files: list[Path] = []
    warnings: list[str] = []
    images = [f for f in formats if f in IMAGE_FORMATS] if figures else []
    results = results_json(analysis)
    with ThreadPoolExecutor(max_workers=1) as pool:
        figs: dict[str, Any] = {}
        rendering: Future[FigureOutput] | None = None
        if figures:
            step("build figures")
            figs = build_figures(
                analysis,
                likert_range=likert_range,
                theme=output.theme,
                radar_scale=output.radar_scale,
            )
            if images:
                # Chromium renders the images while the tables are written.
                image_options = ImageOptions(
                    formats=tuple(images),
                    dpis=tuple(output.dpis),
                    columns=tuple(output.columns),
                    theme=output.theme,
                )
                rendering = pool.submit(
                    write_figure_images, figs, out / "figures", options=image_options
                )
        step("results.json")
        path = out / "results.json"
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        files.append(path)
        files += _write_tables(analysis, out, pseudonymous=pseudonymous, step=step)
        files += write_methods(analysis, out)
        if figures and "html" in formats:
            step("figures (HTML)")
            files += write_figure_html(figs, out / "figures")
        if rendering is not None:
            step("figures (" + ", ".join(images).upper() + ")")
            rendered = rendering.result()
            files += rendered.files
            warnings += rendered.warnings

    step("manifest.json")
    options_doc = {
        **options.as_dict(),
        "pseudonymous": pseudonymous,
        "figures": list(formats) if figures else [],
        "figure_dpis": list(output.dpis),
        "figure_columns": list(output.columns),
        "figure_theme": {"font": output.theme.font, "greyscale": output.theme.greyscale},
        "radar_scale": output.radar_scale,
        "likert_range": _range_doc(likert_range),
    }
    manifest = build_manifest(
        study=study,
        data=data,
        options=options_doc,
        outputs=files,
        root=out,
        warnings=warnings,
        notes=analysis.note_messages,
        static_figures=figures and bool(set(IMAGE_FORMATS) & set(formats)),
    )
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    files.append(path)
    return OutputSummary(
        out=out, files=files, warnings=warnings, notes=analysis.note_messages, results=results
    )


def _write_tables(
    analysis: Analysis, out: Path, *, pseudonymous: bool, step: Progress
) -> list[Path]:
    """tables/<name>.csv and tables.xlsx (the per-case table only up to 5,000 cases)."""
    data = analysis.data
    tables = build_tables(analysis)
    step("tables (CSV)")
    files = write_csvs(tables, out / "tables")
    step("tables.xlsx")
    about = {
        "study": f"{data.title} ({data.slug})",
        "population": f"{data.split} split, {analysis.n_cases} cases ({analysis.n_positive} positive)",
        "readers": ", ".join(analysis.reader_order),
        "identifiers": "pseudonymous" if pseudonymous else "real",
    }
    in_workbook = {
        name: t
        for name, t in tables.items()
        if len(t) <= WORKBOOK_MAX_ROWS or name != "case_categories"
    }
    if len(in_workbook) < len(tables):
        about["case_categories"] = (
            f"more than {WORKBOOK_MAX_ROWS:,} cases: only in tables/case_categories.csv"
        )
    workbook = out / "tables.xlsx"
    write_workbook(in_workbook, workbook, about=about)
    docx = write_docx(in_workbook, out / "tables", footnotes=table_footnotes(analysis))
    return [*files, workbook, *docx]


def tables_workbook(*, analysis: Analysis, pseudonymous: bool) -> bytes:
    """Every table of ``analysis`` as one .xlsx workbook (the dashboard's download)."""
    data = analysis.data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tables.xlsx"
        write_workbook(
            build_tables(analysis),
            path,
            about={
                "study": f"{data.title} ({data.slug})",
                "population": f"{data.split} split, {analysis.n_cases} cases",
                "identifiers": "pseudonymous" if pseudonymous else "real",
            },
        )
        return path.read_bytes()


def script_json(*, text: str) -> str:
    """JSON text that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where their ``\\uXXXX`` escapes
    mean the same, so no ``</script>`` or comment can end the element early.
    """
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _range_doc(likert_range: LikertRange) -> Any:
    if likert_range is None:
        return None
    if isinstance(likert_range, dict):
        return {k: list(v) for k, v in likert_range.items()}
    return list(likert_range)  # type: ignore[arg-type]
