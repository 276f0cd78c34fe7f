"""The figures of an analysis with plotly, interactive (HTML) and static (PNG / SVG).

==========================  =====================================================================
figure                      what (worked example)
==========================  =====================================================================
``delong_matrix``           paired DeLong p value of every pair of readers, lower triangle with
                            significance marks (Fig. 3)
``diagnostic_radar``        AUC, sensitivity, specificity, accuracy, PPV, NPV per reader on one
                            shared scale; or per-axis scales (the paper), or a dot plot with CIs
                            (Fig. 4)
``case_heatmap``            columns = cases sorted by truth; rows = truth, each model and the
                            reference reader; colour = final category (Fig. 5)
``likert_radars``           Likert mean per domain, domains grouped, one radar per reader, with
                            a configurable radial range (Fig. 6)
``confusion_matrices``      TP / FN / FP / TN per reader (Fig. 7)
``roc_curves``              empirical ROC curve of each reader with its operating point
``likert_distribution``     share of each Likert score per reader
``mrmc_modalities``         MRMC: each reader's AUC by modality, and the average with its
                            95% CI (random readers and cases; more than one modality)
``preference_bars``         pairwise preference: win / tie / loss per comparison, "at least as
                            good" with its clustered 95% CI (issue 14)
``position_bias``           share of non-tied comparisons won by the left option, Wilson CI
``acceptability_bars``      acceptable ratings per source, Clopper–Pearson CI
``error_categories``        annotated errors per report by category and source
``subgroup_forest``         AUC with its 95% CI of each reader in each subgroup (case
                            attribute, split, site), Cochran's Q p value per attribute
``judge_agreement``         each LLM judge's weighted κ with the panel consensus (95% CI) per
                            domain / instrument, beside the humans' own agreement (leave one
                            rater out) and the judge's position bias (issue 21)
==========================  =====================================================================

Text from the study (reader, case and rater codes, labels of categories, domains, domain
groups and modalities, the scale name) is passed through :func:`plot_text` wherever it
reaches a figure: plotly renders a subset of HTML in every text (``<a href>`` becomes a live
link, in the dashboard, the HTML pages and the PNG / SVG images alike), so that text is
escaped and shown as written.

HTML never refers to anything outside the page: plotly.js is either a file next to it
(``plotly.min.js``, copied from the installed plotly package) or embedded. Static images are
rendered by kaleido 1.x in the system Chromium (``BROWSER_PATH`` or ``chromium`` on the
PATH) with one rendering server per process, MathJax off and no network. Without Chromium
the HTML is still written and :func:`write_figures` reports why the images were not.
"""

from __future__ import annotations

import html
import json
import math
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative, sample_colorscale
from plotly.subplots import make_subplots

from analysis.figure_theme import (
    DEFAULT_THEME,
    WIDTHS_MM,
    FigureTheme,
    apply_theme,
    export_geometry,
    png_with_dpi,
    print_figure,
    tiff_with_dpi,
)
from analysis.figure_theme import reader_colours as theme_reader_colours
from analysis.render import (
    PLOTLY_JS,
    StaticExportUnavailable,
    _render_lock,
    _renderer,
)
from analysis.results import METRICS, Analysis
from analysis.selectors import distinct, in_order

PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}
TEMPLATE = "plotly_white"

FIGURE_TITLES: dict[str, str] = {
    "delong_matrix": "DeLong test P values between readers (Fig. 3)",
    "diagnostic_radar": "Diagnostic performance radar (Fig. 4)",
    "case_heatmap": "Case-level categories (Fig. 5)",
    "likert_radars": "Likert scores by domain (Fig. 6)",
    "confusion_matrices": "Confusion matrices (Fig. 7)",
    "roc_curves": "ROC curves with operating points",
    "likert_distribution": "Likert score distributions",
    "mrmc_modalities": "MRMC: AUC of each reader by modality, average with 95% CI",
    "preference_bars": "Pairwise preference: win / tie / loss per comparison",
    "position_bias": "Pairwise preference: position bias",
    "acceptability_bars": "Acceptability by source",
    "error_categories": "Error categories by source",
    "subgroup_forest": "AUC by subgroup (forest plot) with 95% CI",
    "ai_assistance": "AI-assistance effect: each human reader unaided → aided (AUC, time)",
    "judge_agreement": "LLM judges against the human panel: weighted κ with 95% CI",
    "case_gallery": "Case gallery: input, reference and each reader's impression (Fig. 8)",
    "case_flow": "Flow of cases: assessed, excluded, included, by split (Fig. 1)",
}

#: Radial range of the Likert radars: one ``(low, high)`` for every reader, or a mapping
#: reader -> ``(low, high)`` where the key ``"*"`` is the range of readers not named;
#: ``None`` derives one range from the data.
LikertRange = tuple[float, float] | Mapping[str, tuple[float, float]] | None


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def plot_text(value: object) -> str:
    """``value`` as plotly shows it literally: ``&``, ``<`` and ``>`` as HTML entities (plotly
    renders ``<a href>``, ``<b>``, ``<br>`` ... in any text) and ``%`` as ``&#37;`` (so that
    ``%{...}`` in a name is not a placeholder inside a hover template)."""
    return html.escape(str(value), quote=False).replace("%", "&#37;")


def plot_texts(values: Sequence[object]) -> list[str]:
    """:func:`plot_text` of each value."""
    return [plot_text(v) for v in values]


def reader_colours(readers: Sequence[str]) -> dict[str, str]:
    """A fixed colour per reader, in reader order (Okabe–Ito; the same in every figure).

    The greyscale option of the theme replaces them by grey levels and patterns
    (:func:`analysis.figure_theme.apply_patterns`)."""
    return theme_reader_colours(readers)


def nice_axis(
    low: float,
    high: float,
    intervals: int = 4,
    *,
    lower: float | None = None,
    upper: float | None = None,
) -> tuple[float, float]:
    """``(start, step)`` of ``intervals`` equal, round steps covering ``[low, high]``.

    The step is 1, 2, 2.5 or 5 times a power of ten and ``start`` a multiple of it; the
    axis is shifted to stay within ``[lower, upper]`` when given (e.g. 0–100% for a
    proportion).
    """
    span = high - low
    if not math.isfinite(span) or span <= 0:
        span = max(abs(high) * 0.1, 0.01)
        low, high = low - span / 2, low + span / 2
    raw = span / intervals
    exponent = math.floor(math.log10(raw))
    for _ in range(4):
        for mantissa in (1.0, 2.0, 2.5, 5.0, 10.0):
            step = mantissa * 10.0**exponent
            if step < raw * (1 - 1e-12):
                continue
            start = math.floor(low / step + 1e-9) * step
            if start + intervals * step < high - 1e-12:
                continue
            if upper is not None and start + intervals * step > upper + 1e-12:
                start = upper - intervals * step
            if lower is not None and start < lower - 1e-12:
                if upper is not None and lower + intervals * step > upper + 1e-12:
                    continue
                start = lower
            return start, step
        exponent += 1
    return low, span / intervals


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _wrap(label: str, width: int = 14) -> str:
    """``label`` on lines of about ``width`` characters, each escaped (:func:`plot_text`)."""
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(plot_text(line) for line in lines)


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r, g, b, alpha)``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------


def significance_mark(p: float | None) -> str:
    """``***`` P < 0.001, ``**`` P < 0.01, ``*`` P < 0.05, else nothing."""
    if p is None or not math.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def delong_matrix(analysis: Analysis) -> go.Figure | None:
    """Fig. 3: lower triangle of paired DeLong P values with significance marks.

    Row reader − column reader; every pair once (no diagonal, no upper triangle), AUCs in
    the axis labels. The P value shown is the adjusted one when the analysis adjusts
    (``p_adjusted``), the mark follows it.
    """
    tests = analysis.auc_tests
    if tests.empty:
        return None
    aucs = dict(zip(analysis.aucs["reader"], analysis.aucs["auc"], strict=True))
    readers = [r for r in analysis.reader_order if r in aucs]
    if len(readers) < 2:
        return None
    index = {r: i for i, r in enumerate(readers)}
    shown = plot_texts(readers)
    n = len(readers)
    # rows: readers[1:], columns: readers[:-1]; cell (i, j) is reader i+1 vs reader j
    z = np.full((n - 1, n - 1), np.nan)
    text = [["" for _ in range(n - 1)] for _ in range(n - 1)]
    hover = [["" for _ in range(n - 1)] for _ in range(n - 1)]
    adjusted = (
        "p_adjust" in tests.columns
        and tests["p_adjusted"].notna().any()
        and set(tests["p_adjust"].dropna()) != {"none"}
    )
    for t in tests.to_dict("records"):
        i, j = index[t["reader_a"]], index[t["reader_b"]]
        p = t["p_adjusted"] if adjusted else t["p_value"]
        label = "" if p is None or not math.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")
        # the row is the later reader: reader_a − reader_b, or its negation (CI −high to −low)
        if i > j:
            row, col, diff, low, high = i, j, t["diff"], t["ci_low"], t["ci_high"]
        else:
            row, col, diff, low, high = j, i, -t["diff"], -t["ci_high"], -t["ci_low"]
        z[row - 1, col] = p
        text[row - 1][col] = f"{label}{significance_mark(p)}"
        hover[row - 1][col] = (
            f"{shown[row]} vs {shown[col]}<br>AUC {_fmt(aucs[readers[row]])} vs "
            f"{_fmt(aucs[readers[col]])}<br>difference {_fmt(diff, 3)} "
            f"({_fmt(low, 3)} to {_fmt(high, 3)})<br>P = {label}"
        )
    labels = [f"{s} ({_fmt(aucs[r])})" for r, s in zip(readers, shown, strict=True)]
    which = "adjusted P" if adjusted else "P"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels[:-1],
            y=labels[1:],
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            zmin=0,
            zmax=1,
            colorscale=[
                [0.0, "#b2182b"],
                [0.01, "#d6604d"],
                [0.05, "#f4a582"],
                [0.0500001, "#e0ecf4"],
                [1.0, "#f7fbff"],
            ],
            colorbar={"title": {"text": which}, "tickvals": [0, 0.05, 0.5, 1]},
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": f"Paired DeLong tests of AUC, row reader vs column reader ({which}; "
            "* P < 0.05, ** P < 0.01, *** P < 0.001; AUC in brackets)"
        },
        yaxis={"autorange": "reversed"},
        xaxis={"side": "bottom", "tickangle": -45},
    )
    return fig


RADAR_SCALES: tuple[str, ...] = ("shared", "per-axis")
#: What Fig. 4 is: the radar on one shared scale, the per-axis radar, or a dot plot with CIs.
PERFORMANCE_PLOTS: tuple[str, ...] = (*RADAR_SCALES, "dots")


def diagnostic_radar(analysis: Analysis, *, scale: str = "shared") -> go.Figure | None:
    """Fig. 4: one polygon per reader over AUC, sensitivity, specificity, accuracy, PPV, NPV.

    ``scale="shared"`` (default): every axis on one radial scale (round steps covering all
    values); ``"per-axis"``: the worked example's radar, every axis on its own observed
    min–max with its own ticks, labelled "per-axis scales" in the image.
    """
    if scale not in RADAR_SCALES:
        raise ValueError(f"scale: expected one of {', '.join(RADAR_SCALES)}, got {scale!r}")
    perf = analysis.performance
    if perf.empty:
        return None
    aucs = (
        dict(zip(analysis.aucs["reader"], analysis.aucs["auc"], strict=True))
        if len(analysis.aucs)
        else {}
    )
    readers = in_order(analysis.reader_order, perf["reader"])
    values = perf.set_index("reader").reindex(readers)
    values = values.assign(auc=[aucs.get(r, np.nan) for r in readers])
    metrics = ["auc", *METRICS]
    labels = ["AUC", "Sensitivity", "Specificity", "Accuracy", "PPV", "NPV"]
    inner, intervals = 0.2, 4
    norm = pd.DataFrame(index=readers, columns=metrics, dtype=float)
    fig = go.Figure()
    if scale == "shared":
        return _shared_radar(analysis, fig, readers, values, metrics, labels, intervals)
    for metric, label in zip(metrics, labels, strict=True):
        col = values[metric].astype(float)
        finite = col[np.isfinite(col)]
        if finite.empty:
            continue
        start, step = nice_axis(
            float(finite.min()), float(finite.max()), intervals, lower=0.0, upper=1.0
        )
        norm[metric] = inner + (1 - inner) * (col - start) / (intervals * step)
        ticks = [start + k * step for k in range(intervals + 1)]
        percent = metric != "auc"
        digits = 0 if abs(step * 100 - round(step * 100)) < 1e-9 else 1
        fig.add_trace(
            go.Scatterpolar(
                r=[inner + (1 - inner) * k / intervals for k in range(intervals + 1)],
                theta=[label] * (intervals + 1),
                mode="text",
                text=[f"{t * 100:.{digits}f}%" if percent else f"{t:.2f}" for t in ticks],
                textfont={"size": 10, "color": "#000000"},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    colours = reader_colours(analysis.reader_order)
    for reader in readers:
        r = norm.loc[reader].tolist()
        raw = values.loc[reader, metrics].astype(float).tolist()
        shown = [
            _fmt(v, 3) if m == "auc" else (f"{v * 100:.1f}%" if math.isfinite(v) else "–")
            for m, v in zip(metrics, raw, strict=True)
        ]
        fig.add_trace(
            go.Scatterpolar(
                r=[*r, r[0]],
                theta=[*labels, labels[0]],
                customdata=[*shown, shown[0]],
                mode="lines+markers",
                name=plot_text(reader),
                line={"color": colours[reader], "width": 2},
                marker={"size": 6},
                hovertemplate=f"{plot_text(reader)}<br>%{{theta}}: %{{customdata}}<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": "Diagnostic performance, per-axis scales (each axis on its own observed range)"
        },
        polar={
            "radialaxis": {
                "range": [0, 1.02],
                "tickvals": [inner + (1 - inner) * k / intervals for k in range(intervals + 1)],
                "showticklabels": False,
                "ticks": "",
            },
            "angularaxis": {"direction": "clockwise", "rotation": 90},
        },
        legend={"title": {"text": "Reader"}},
    )
    fig.add_annotation(
        text="per-axis scales",
        x=0,
        y=1,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"style": "italic"},
    )
    return fig


def _shared_radar(
    analysis: Analysis,
    fig: go.Figure,
    readers: list[str],
    values: pd.DataFrame,
    metrics: list[str],
    labels: list[str],
    intervals: int,
) -> go.Figure:
    """The radar with every axis on one radial scale (proportions and AUC, 0–1)."""
    frame = values[metrics].astype(float).to_numpy()
    finite = frame[np.isfinite(frame)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    start, step = nice_axis(low, high, intervals, lower=0.0, upper=1.0)
    ticks = [start + k * step for k in range(intervals + 1)]
    colours = reader_colours(analysis.reader_order)
    for reader in readers:
        raw = values.loc[reader, metrics].astype(float).tolist()
        shown = [
            _fmt(v, 3) if m == "auc" else (f"{v * 100:.1f}%" if math.isfinite(v) else "–")
            for m, v in zip(metrics, raw, strict=True)
        ]
        r = [v if math.isfinite(v) else None for v in raw]
        fig.add_trace(
            go.Scatterpolar(
                r=[*r, r[0]],
                theta=[*labels, labels[0]],
                customdata=[*shown, shown[0]],
                mode="lines+markers",
                name=plot_text(reader),
                line={"color": colours[reader], "width": 1.5},
                marker={"size": 5},
                hovertemplate=f"{plot_text(reader)}<br>%{{theta}}: %{{customdata}}<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": "Diagnostic performance on one shared scale (AUC; sensitivity, specificity, "
            "accuracy, PPV and NPV as proportions)"
        },
        polar={
            "radialaxis": {
                "range": [start, start + intervals * step],
                "tickvals": ticks,
                "ticktext": [f"{t:.2f}" for t in ticks],
                "angle": 60,
                "tickangle": 60,
                "showline": False,
            },
            "angularaxis": {"direction": "clockwise", "rotation": 90},
        },
        legend={"title": {"text": "Reader"}},
    )
    return fig


def diagnostic_dots(analysis: Analysis) -> go.Figure | None:
    """Fig. 4 as a dot plot: one panel per measure (AUC, sensitivity, specificity, accuracy,
    PPV, NPV), a dot per reader with its CI as a horizontal bar, all on one 0–1 scale.

    The alternative to the radar (``--radar dots``): every estimate with its interval, read
    off one common axis.
    """
    perf = analysis.performance
    if perf.empty:
        return None
    readers = in_order(analysis.reader_order, perf["reader"])
    values = perf.set_index("reader").reindex(readers)
    aucs = analysis.aucs.set_index("reader") if len(analysis.aucs) else pd.DataFrame()
    labels = ["AUC", "Sensitivity", "Specificity", "Accuracy", "PPV", "NPV"]
    columns = [("auc", "ci_low", "ci_high"), *((m, f"{m}_ci_low", f"{m}_ci_high") for m in METRICS)]
    fig = make_subplots(
        rows=1, cols=len(labels), shared_yaxes=True, subplot_titles=labels, horizontal_spacing=0.02
    )
    colours = reader_colours(analysis.reader_order)
    shown = plot_texts(readers)
    for col, ((metric, low, high), label) in enumerate(zip(columns, labels, strict=True), 1):
        frame = aucs if metric == "auc" else values
        for reader, name in zip(readers, shown, strict=True):
            if reader not in frame.index:
                continue
            est, lo, hi = (float(frame.loc[reader, c]) for c in (metric, low, high))
            fig.add_trace(
                go.Scatter(
                    x=[est],
                    y=[name],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=False,
                    marker={"color": colours[reader], "size": 7},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": [hi - est],
                        "arrayminus": [est - lo],
                        "thickness": 1.2,
                        "width": 0,
                        "color": colours[reader],
                    },
                    hovertemplate=(
                        f"{name}<br>{label} {_fmt(est, 3)} (95% CI {_fmt(lo, 3)} to "
                        f"{_fmt(hi, 3)})<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(range=[0, 1.02], tickvals=[0, 0.5, 1], ticktext=["0", "0.5", "1"])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": "Diagnostic performance of each reader with its 95% CI (AUC: DeLong; "
            "proportions: binomial)"
        },
        showlegend=False,
        height=max(300, 28 * len(readers) + 120),
        # printed across two columns, wide and low (see print_aspect / figure_column)
        meta={"column": "double", "aspect": 0.2 + 0.035 * len(readers)},
    )
    return fig


#: Colours of the truth row of Fig. 5: negative (light grey), positive (black) — apart in
#: greyscale and for every colour vision.
TRUTH_COLOURS: tuple[str, str] = ("#bdbdbd", "#000000")


def heatmap_readers(analysis: Analysis) -> list[str]:
    """Rows of Fig. 5: every model, then the reference reader (all readers if no models)."""
    present = distinct(analysis.final["reader_id"]) if len(analysis.final) else set()
    kinds = dict(
        zip(analysis.data.readers["reader_id"], analysis.data.readers["kind"], strict=True)
    )
    models = [r for r in analysis.reader_order if r in present and kinds.get(r) == "model"]
    ref = analysis.data.reference_reader
    rows = models + ([ref] if ref is not None and ref in present and ref not in models else [])
    return (
        rows
        if len(rows) > (1 if ref in present else 0)
        else [r for r in analysis.reader_order if r in present]
    )


def case_heatmap(analysis: Analysis) -> go.Figure | None:
    """Fig. 5: truth on top, then each model and the reference reader; colour = category."""
    final = analysis.final
    if final.empty:
        return None
    rows = heatmap_readers(analysis)
    wide = final.pivot(index="case_id", columns="reader_id", values="category")
    truth = final.drop_duplicates("case_id").set_index("case_id")["truth"]
    ref = analysis.data.reference_reader
    sort_cols = [ref] if ref in wide.columns else []
    frame = wide.assign(_truth=truth.reindex(wide.index)).reset_index()
    frame = frame.sort_values(
        ["_truth", *sort_cols, "case_id"], ascending=[False, *([True] * len(sort_cols)), True]
    )
    cases = frame["case_id"].tolist()
    cats = analysis.data.categories or sorted(int(c) for c in final["category"].unique())
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    colours = sample_colorscale("YlOrRd", [0.08 + 0.9 * i / max(k - 1, 1) for i in range(k)])
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / k, colour], [(i + 1) / k, colour]]
    z = [[index.get(v) if pd.notna(v) else None for v in frame[r]] for r in rows]
    labels = {v: plot_text(label) for v, label in analysis.data.category_labels.items()}
    shown_cases = plot_texts(cases)
    shown_rows = [
        f"{plot_text(r)} (reference)" if r == ref and len(rows) > 1 else plot_text(r) for r in rows
    ]
    hover = [
        [
            f"case {c}<br>{s}: {'' if pd.isna(v) else int(v)} {labels.get(int(v), '') if pd.notna(v) else 'not read'}"
            for c, v in zip(shown_cases, frame[r], strict=True)
        ]
        for r, s in zip(rows, shown_rows, strict=True)
    ]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.1, 0.9], vertical_spacing=0.02
    )
    t = frame["_truth"].astype(int).tolist()
    fig.add_trace(
        go.Heatmap(
            z=[t],
            x=shown_cases,
            y=["Truth"],
            zmin=0,
            zmax=1,
            colorscale=[
                [0, TRUTH_COLOURS[0]],
                [0.5, TRUTH_COLOURS[0]],
                [0.5, TRUTH_COLOURS[1]],
                [1, TRUTH_COLOURS[1]],
            ],
            showscale=False,
            hovertext=[
                [
                    f"case {c}<br>truth: {'positive' if v else 'negative'}"
                    for c, v in zip(shown_cases, t, strict=True)
                ]
            ],
            hoverinfo="text",
            xgap=0.5,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=shown_cases,
            y=shown_rows,
            zmin=-0.5,
            zmax=k - 0.5,
            colorscale=scale,
            colorbar={
                "title": {"text": plot_text(analysis.data.scale_name)},
                "tickvals": list(range(k)),
                "ticktext": [str(c) for c in cats],
                "len": 0.85,
                "y": 0.45,
            },
            hovertext=hover,
            hoverinfo="text",
            xgap=0.5,
            ygap=1,
        ),
        row=2,
        col=1,
    )
    for name, colour in (
        ("Truth: positive", TRUTH_COLOURS[1]),
        ("Truth: negative", TRUTH_COLOURS[0]),
    ):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"symbol": "square", "size": 10, "color": colour},
                name=name,
                legendgroup="truth",
                showlegend=True,
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    n_pos = int(sum(t))
    reference = (
        f"; {plot_text(ref)} is the reference reader" if ref in rows and len(rows) > 1 else ""
    )
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": f"Final category per case (left: {n_pos} positive, right: {len(t) - n_pos} "
            f"negative; top row: truth{reference})"
        },
        yaxis2={"autorange": "reversed"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "xanchor": "left"},
    )
    fig.update_xaxes(showticklabels=len(cases) <= 40, ticks="", row=2, col=1)
    fig.update_xaxes(showticklabels=False, ticks="", row=1, col=1)
    return fig


def _likert_ranges(
    analysis: Analysis, readers: Sequence[str], likert_range: LikertRange
) -> dict[str, tuple[float, float]]:
    data = analysis.data
    by_domain = analysis.likert_by_domain
    domain_rows = by_domain[by_domain["domain"].notna()]
    lowest = float(domain_rows["mean"].min()) if len(domain_rows) else data.likert_min
    auto_low = max(float(data.likert_min), math.floor(lowest * 2 - 0.2) / 2)
    auto = (auto_low, float(data.likert_max))
    out = {}
    for r in readers:
        if likert_range is None:
            out[r] = auto
        elif isinstance(likert_range, Mapping):
            low, high = likert_range.get(r, likert_range.get("*", auto))
            out[r] = (float(low), float(high))
        else:
            out[r] = (float(likert_range[0]), float(likert_range[1]))
    return out


def likert_radars(
    analysis: Analysis, *, likert_range: LikertRange = None, columns: int = 3
) -> go.Figure | None:
    """Fig. 6: one radar per reader over the domains, shaded by domain group."""
    by_domain = analysis.likert_by_domain
    if by_domain.empty:
        return None
    domains = analysis.data.domains
    used = distinct(by_domain["domain"].dropna())
    domains = domains[domains["domain"].isin(used)]
    group_order = list(dict.fromkeys(domains["group"]))
    domains = domains.assign(_g=domains["group"].map({g: i for i, g in enumerate(group_order)}))
    domains = domains.sort_values(["_g", "position"], kind="stable")
    theta = [_wrap(label) for label in domains["label"]]
    readers = in_order(analysis.reader_order, by_domain["reader"])
    ranges = _likert_ranges(analysis, readers, likert_range)
    n_rows, n_cols = _grid(len(readers), columns)
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        specs=[[{"type": "polar"}] * n_cols for _ in range(n_rows)],
        subplot_titles=[
            f"{plot_text(r)} ({_fmt(ranges[r][0], 1)}–{_fmt(ranges[r][1], 1)})" for r in readers
        ],
        horizontal_spacing=0.12,
        vertical_spacing=0.14 if n_rows > 1 else 0.1,
    )
    group_colours = dict(
        zip(group_order, (qualitative.Pastel1 * 3)[: len(group_order)], strict=True)
    )
    colours = reader_colours(analysis.reader_order)
    for i, reader in enumerate(readers):
        row, col = i // n_cols + 1, i % n_cols + 1
        low, high = ranges[reader]
        for group in group_order:
            in_group = domains["group"] == group
            fig.add_trace(
                go.Barpolar(
                    r=[high - low] * int(in_group.sum()),
                    base=low,
                    theta=[t for t, g in zip(theta, in_group, strict=True) if g],
                    marker={"color": group_colours[group], "line": {"width": 0}},
                    opacity=0.55,
                    name=plot_text(group),
                    legendgroup=plot_text(group),
                    showlegend=i == 0,
                    hoverinfo="skip",
                ),
                row=row,
                col=col,
            )
        sub = by_domain[(by_domain["reader"] == reader) & by_domain["domain"].notna()].set_index(
            "domain"
        )
        means = [float(sub.loc[d, "mean"]) if d in sub.index else None for d in domains["domain"]]
        cis = [
            f"{_fmt(sub.loc[d, 'ci_low'])}–{_fmt(sub.loc[d, 'ci_high'])}" if d in sub.index else ""
            for d in domains["domain"]
        ]
        fig.add_trace(
            go.Scatterpolar(
                r=[*means, means[0]],
                theta=[*theta, theta[0]],
                customdata=[*cis, cis[0]],
                mode="lines+markers",
                fill="toself",
                line={"color": colours[reader], "width": 2},
                fillcolor=_rgba(colours[reader], 0.35),
                name=plot_text(reader),
                showlegend=False,
                hovertemplate=f"{plot_text(reader)}<br>%{{theta}}<br>mean %{{r:.2f}} (95% CI %{{customdata}})<extra></extra>",
            ),
            row=row,
            col=col,
        )
        key = "polar" if i == 0 else f"polar{i + 1}"
        fig.layout[key].update(
            radialaxis={
                "range": [low, high],
                "tickfont": {"size": 9, "color": "#000000"},
                "angle": 90 - 180 / len(theta),
                "tickangle": 90 - 180 / len(theta),
            },
            angularaxis={
                "direction": "clockwise",
                "rotation": 90,
                "tickfont": {"size": 9},
                "categoryorder": "array",
                "categoryarray": theta,
            },
            bargap=0,
        )
    fig.update_annotations(yshift=28, font={"size": 15})
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Likert mean per domain, grouped (radial range in each title)"},
        legend={"title": {"text": "Domain group"}, "orientation": "h", "y": -0.05},
        height=380 * n_rows + 120,
        margin={"t": 130},
    )
    return fig


def confusion_matrices(analysis: Analysis, *, columns: int | None = None) -> go.Figure | None:
    """Fig. 7: a 2 × 2 matrix per reader (rows truth, columns the call)."""
    perf = analysis.performance
    if perf.empty:
        return None
    readers = in_order(analysis.reader_order, perf["reader"])
    counts = perf.set_index("reader")
    columns = columns or min(4, math.ceil(math.sqrt(len(readers))))
    n_rows, n_cols = _grid(len(readers), columns)
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=plot_texts(readers),
        horizontal_spacing=0.08,
        vertical_spacing=0.16 if n_rows > 1 else 0.1,
    )
    zmax = float(counts[["tp", "fn", "fp", "tn"]].to_numpy().max()) or 1.0
    for i, reader in enumerate(readers):
        c = counts.loc[reader]
        z = [[c["tp"], c["fn"]], [c["fp"], c["tn"]]]
        text = [
            [f"TP {int(c['tp'])}", f"FN {int(c['fn'])}"],
            [f"FP {int(c['fp'])}", f"TN {int(c['tn'])}"],
        ]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=["Positive call", "Negative call"],
                y=["Positive", "Negative"],
                text=text,
                texttemplate="%{text}",
                coloraxis="coloraxis",
                hovertemplate=f"{plot_text(reader)}<br>truth %{{y}}, %{{x}}: %{{z}}<extra></extra>",
                xgap=2,
                ygap=2,
            ),
            row=i // n_cols + 1,
            col=i % n_cols + 1,
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": f"Confusion matrices (positive call: category ≥ {analysis.data.threshold}; rows: truth)"
        },
        coloraxis={"colorscale": "Blues", "cmin": 0, "cmax": zmax, "showscale": False},
        height=260 * n_rows + 100,
    )
    return fig


def roc_curves(analysis: Analysis) -> go.Figure | None:
    """Empirical ROC curve per reader and its operating point at the positive threshold."""
    roc = analysis.roc
    if roc.empty:
        return None
    aucs = dict(zip(analysis.aucs["reader"], analysis.aucs["auc"], strict=True))
    perf = analysis.performance.set_index("reader")
    colours = reader_colours(analysis.reader_order)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"color": "#bbbbbb", "dash": "dash"},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    for reader in [r for r in analysis.reader_order if r in aucs]:
        sub = roc[roc["reader"] == reader]
        fig.add_trace(
            go.Scatter(
                x=sub["fpr"],
                y=sub["tpr"],
                mode="lines",
                name=f"{plot_text(reader)} (AUC {_fmt(aucs[reader])})",
                legendgroup=plot_text(reader),
                line={"color": colours[reader], "width": 2},
                hovertemplate=f"{plot_text(reader)}<br>1 − specificity %{{x:.3f}}<br>sensitivity %{{y:.3f}}<extra></extra>",
            )
        )
        if reader in perf.index:
            p = perf.loc[reader]
            fig.add_trace(
                go.Scatter(
                    x=[1 - p["specificity"]],
                    y=[p["sensitivity"]],
                    mode="markers",
                    marker={
                        "color": colours[reader],
                        "size": 11,
                        "symbol": "circle-open",
                        "line": {"width": 2},
                    },
                    legendgroup=plot_text(reader),
                    showlegend=False,
                    hovertemplate=(
                        f"{plot_text(reader)} at category ≥ {analysis.data.threshold}<br>sensitivity "
                        f"{p['sensitivity']:.3f}<br>specificity {p['specificity']:.3f}<extra></extra>"
                    ),
                )
            )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "ROC curves (circles: operating point at the positive threshold)"},
        xaxis={"title": {"text": "1 − specificity"}, "range": [0, 1], "constrain": "domain"},
        yaxis={"title": {"text": "Sensitivity"}, "range": [0, 1], "scaleanchor": "x"},
        legend={"title": {"text": "Reader"}},
    )
    return fig


def likert_distribution(analysis: Analysis) -> go.Figure | None:
    """Share of each Likert score per reader (all runs, raters and domains)."""
    scores = analysis.data.scores
    if scores.empty:
        return None
    data = analysis.data
    readers = in_order(analysis.reader_order, scores["reader_id"])
    levels = list(range(data.likert_min, data.likert_max + 1))
    counts = (
        scores.groupby(["reader_id", "score"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=readers, columns=levels, fill_value=0)
    )
    shares = counts.div(counts.sum(axis=1), axis=0)
    # a diverging scale that colour-blind readers tell apart (not red-green), dark at both ends
    colours = sample_colorscale("PuOr", [i / max(len(levels) - 1, 1) for i in range(len(levels))])
    fig = go.Figure()
    for level, colour in zip(levels, colours, strict=True):
        fig.add_trace(
            go.Bar(
                y=plot_texts(readers),
                x=shares[level] * 100,
                orientation="h",
                name=str(level),
                marker={"color": colour, "line": {"color": "#000000", "width": 0.5}},
                customdata=counts[level].to_numpy(),
                hovertemplate=f"%{{y}}: score {level} in %{{x:.1f}}% (%{{customdata}})<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="stack",
        title={"text": "Likert score distribution per reader (all runs, raters and domains)"},
        xaxis={"title": {"text": "% of scores"}, "range": [0, 100]},
        yaxis={"autorange": "reversed"},
        legend={"title": {"text": "Score"}, "traceorder": "normal", "orientation": "h", "y": -0.15},
    )
    return fig


def mrmc_modalities(analysis: Analysis) -> go.Figure | None:
    """MRMC: each reader's AUC by modality (lines), and the average with its 95% CI.

    The average's interval is the one of random readers and cases (RRRC; the first
    analysis computed if RRRC is not); the hover of each average names the analysis.
    """
    if not analysis.mrmc:
        return None
    main = next((r for r in analysis.mrmc if r.analysis == "RRRC"), analysis.mrmc[0])
    labels = analysis.data.modality_labels
    names = {
        int(m): f"{m} ({plot_text(labels[int(m)])})" if int(m) in labels else str(m)
        for m in main.modalities["modality"]
    }
    x = list(names.values())
    colours = reader_colours(analysis.reader_order)
    fig = go.Figure()
    reader_aucs = main.reader_aucs
    for reader in in_order(analysis.reader_order, reader_aucs["reader"]):
        sub = reader_aucs[reader_aucs["reader"] == reader].set_index("modality")
        values = [float(sub.loc[m, "statistic"]) for m in names]
        ses = [float(sub.loc[m, "se"]) for m in names]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                mode="lines+markers",
                name=plot_text(reader),
                line={"color": colours.get(reader, "#7f7f7f"), "width": 1.5},
                marker={"size": 8},
                hovertext=[
                    f"{plot_text(reader)}, modality {name}<br>AUC {_fmt(v, 3)} (SE {_fmt(se, 3)})"
                    for name, v, se in zip(x, values, ses, strict=True)
                ],
                hoverinfo="text",
            )
        )
    m = main.modalities
    level = f"{round(main.confidence * 100):d}%"
    n_readers = int(reader_aucs["reader"].nunique())
    random = ": readers and cases random" if main.analysis == "RRRC" else ""
    fig.add_trace(
        go.Scatter(
            x=x,
            y=m["statistic"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": m["ci_high"] - m["statistic"],
                "arrayminus": m["statistic"] - m["ci_low"],
                "thickness": 2,
                "width": 8,
                "color": "#111111",
            },
            mode="markers+lines",
            name=f"average ({level} CI)",
            line={"color": "#111111", "width": 3, "dash": "dot"},
            marker={"size": 13, "symbol": "diamond", "color": "#111111"},
            hovertext=[
                f"average of {n_readers} readers, modality {name}<br>AUC {_fmt(row.statistic, 3)} "
                f"({level} CI {_fmt(row.ci_low, 3)} to {_fmt(row.ci_high, 3)})<br>"
                f"{main.analysis}{random}"
                for name, row in zip(x, m.itertuples(index=False), strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": f"AUC of each reader by modality; average with its {level} CI "
            f"({main.analysis}, Obuchowski–Rockette / Hillis)"
        },
        xaxis={"title": {"text": "Modality"}, "type": "category"},
        yaxis={"title": {"text": "AUC"}},
        legend={"title": {"text": "Reader"}},
    )
    return fig


def _assistance_pair(analysis: Analysis, modalities: Sequence[int]) -> tuple[int, int] | None:
    """(unaided, aided): the modalities of the agreement-by-modality comparison when both
    are in ``modalities``, else the first two of ``modalities``."""
    frame = analysis.agreement_by_modality
    if len(frame) >= 2:
        a, b = (int(m) for m in frame["modality"].iloc[:2])
        if a in modalities and b in modalities:
            return a, b
    return (int(modalities[0]), int(modalities[1])) if len(modalities) >= 2 else None


def ai_assistance(analysis: Analysis) -> go.Figure | None:
    """The AI-assistance effect: one line per human reader from the unaided to the aided
    modality, AUC (MRMC reader AUCs) and, when the readings are timed, median reading time.

    The unaided and aided modalities are the two of the agreement-by-modality comparison
    (else the first two of the MRMC analysis). The average line is the MRMC average of
    each modality; its legend entry gives the average effect (aided − unaided) with its
    CI from the MRMC comparison (RRRC when computed). Readers are grouped by their
    ``group`` (e.g. experience) in the legend. ``None`` without an MRMC analysis.
    """
    if not analysis.mrmc:
        return None
    main = next((r for r in analysis.mrmc if r.analysis == "RRRC"), analysis.mrmc[0])
    pair = _assistance_pair(analysis, [int(m) for m in main.modalities["modality"]])
    if pair is None:
        return None
    unaided, aided = pair
    readers = analysis.data.readers
    kinds = dict(zip(readers["reader_id"], readers["kind"], strict=True))
    groups = dict(zip(readers["reader_id"], readers["group"].fillna(""), strict=True))
    aucs = main.reader_aucs[main.reader_aucs["reader"].map(kinds).eq("human")]
    humans = [
        r
        for r in in_order(analysis.reader_order, aucs["reader"])
        if {unaided, aided} <= {int(m) for m in aucs.loc[aucs["reader"] == r, "modality"]}
    ]
    if not humans:
        return None
    humans.sort(key=lambda r: str(groups.get(r, "")))
    labels = analysis.data.modality_labels
    x = [f"{m} ({plot_text(labels[m])})" if m in labels else str(m) for m in (unaided, aided)]
    times = analysis.reading_time_summary
    if len(times):
        times = times[times["reader"].isin(humans) & times["modality"].isin([unaided, aided])]
    timed = [
        r
        for r in humans
        if len(times) and times.loc[times["reader"] == r, "modality"].nunique() == 2
    ]
    cols = 2 if timed else 1
    fig = make_subplots(
        rows=1,
        cols=cols,
        subplot_titles=["AUC", "Median reading time, s"][:cols],
        horizontal_spacing=0.15,
    )
    colours = reader_colours(analysis.reader_order)
    for reader in humans:
        sub = aucs[aucs["reader"] == reader].set_index("modality")
        group = str(groups.get(reader, "") or "")
        name = f"{plot_text(reader)} ({plot_text(group)})" if group else plot_text(reader)
        values = [float(sub.loc[m, "statistic"]) for m in (unaided, aided)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                mode="lines+markers",
                name=name,
                legendgroup=reader,
                meta={"reader": reader, "panel": "auc"},
                line={"color": colours.get(reader, "#7f7f7f"), "width": 1.5},
                marker={"size": 8},
                hovertext=[
                    f"{name}, modality {n}<br>AUC {_fmt(v, 3)}"
                    for n, v in zip(x, values, strict=True)
                ],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
        if reader in timed:
            t = times[times["reader"] == reader].set_index("modality")
            medians = [float(t.loc[m, "median"]) for m in (unaided, aided)]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=medians,
                    mode="lines+markers",
                    name=name,
                    legendgroup=reader,
                    showlegend=False,
                    meta={"reader": reader, "panel": "time"},
                    line={"color": colours.get(reader, "#7f7f7f"), "width": 1.5},
                    marker={"size": 8},
                    hovertext=[
                        f"{name}, modality {n}<br>median {_fmt(v, 0)} s"
                        for n, v in zip(x, medians, strict=True)
                    ],
                    hoverinfo="text",
                ),
                row=1,
                col=2,
            )
    means = main.modalities.set_index("modality")
    level = f"{round(main.confidence * 100):d}%"
    comp = main.comparisons
    row = comp[
        ((comp["modality_a"] == unaided) & (comp["modality_b"] == aided))
        | ((comp["modality_a"] == aided) & (comp["modality_b"] == unaided))
    ]
    effect = ""
    if len(row):
        r = row.iloc[0]
        sign = 1.0 if int(r["modality_b"]) == unaided else -1.0  # statistic = mean_a − mean_b
        est = sign * float(r["statistic"])
        lo, hi = sorted([sign * float(r["ci_low"]), sign * float(r["ci_high"])])
        effect = (
            f": ΔAUC {_fmt(est, 3)} ({level} CI {_fmt(lo, 3)} to {_fmt(hi, 3)}), {main.analysis}"
        )
    avg = [float(means.loc[m, "statistic"]) for m in (unaided, aided)]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=avg,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [
                    float(means.loc[m, "ci_high"]) - v
                    for m, v in zip((unaided, aided), avg, strict=True)
                ],
                "arrayminus": [
                    v - float(means.loc[m, "ci_low"])
                    for m, v in zip((unaided, aided), avg, strict=True)
                ],
                "thickness": 2,
                "width": 8,
                "color": "#111111",
            },
            mode="markers+lines",
            name=f"average{effect}",
            meta={"reader": "average", "panel": "auc"},
            line={"color": "#111111", "width": 3, "dash": "dot"},
            marker={"size": 12, "symbol": "diamond", "color": "#111111"},
            hovertext=[
                f"average, modality {n}<br>AUC {_fmt(v, 3)}{effect}"
                for n, v in zip(x, avg, strict=True)
            ],
            hoverinfo="text",
        ),
        row=1,
        col=1,
    )
    fig.update_xaxes(type="category", title={"text": "Modality (unaided → aided)"})
    fig.update_yaxes(title={"text": "AUC"}, row=1, col=1)
    if timed:
        fig.update_yaxes(title={"text": "Seconds"}, row=1, col=2)
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": "AI-assistance effect: AUC of each human reader unaided and aided"
            + (" and median reading time" if timed else "")
            + f"; MRMC average with its {level} CI"
        },
        legend={"title": {"text": "Reader"}},
    )
    return fig


# ---------------------------------------------------------------------------------------
# Judgment instruments (issue 14)
# ---------------------------------------------------------------------------------------

#: Colours of the preference outcomes (Okabe–Ito: blue, grey, vermillion).
PREFERENCE_COLOURS: dict[str, str] = {"wins": "#0072B2", "ties": "#BBBBBB", "losses": "#D55E00"}


def _pair_labels(frame: pd.DataFrame) -> list[str]:
    return [
        f"{plot_text(a)} vs {plot_text(b)}"
        for a, b in zip(frame["reader"], frame["comparator"], strict=True)
    ]


def preference_bars(analysis: Analysis) -> go.Figure | None:
    """Pairwise preference: win / tie / loss shares per comparison (stacked), with the share
    "at least as good" and its clustered (rater × case) 95% CI."""
    pref = analysis.judgments.preference
    if pref.empty:
        return None
    y = _pair_labels(pref)
    fig = go.Figure()
    names = {"wins": "A better", "ties": "equivalent", "losses": "B better"}
    for key, name in names.items():
        fig.add_trace(
            go.Bar(
                y=y,
                x=pref[key] / pref["n"] * 100,
                orientation="h",
                name=name,
                marker={"color": PREFERENCE_COLOURS[key], "line": {"color": "#000", "width": 0.5}},
                customdata=pref[key].to_numpy(),
                hovertemplate=f"%{{y}}: {name} %{{x:.1f}}% (%{{customdata}})<extra></extra>",
            )
        )
    ok = pref["at_least_as_good"] * 100
    low = pref["clustered_ci_low"].fillna(pref["ci_low"]) * 100
    high = pref["clustered_ci_high"].fillna(pref["ci_high"]) * 100
    fig.add_trace(
        go.Scatter(
            y=y,
            x=ok,
            mode="markers",
            name="at least as good (95% CI)",
            marker={"symbol": "diamond", "size": 10, "color": "#111111"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": high - ok,
                "arrayminus": ok - low,
                "color": "#111111",
                "thickness": 1.5,
            },
            hovertemplate="%{y}: at least as good %{x:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        barmode="stack",
        title={
            "text": "Pairwise preference per comparison: A better / equivalent / B better, and "
            "A at least as good with its rater × case bootstrap 95% CI"
        },
        xaxis={"title": {"text": "% of comparisons"}, "range": [0, 100]},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def position_bias(analysis: Analysis) -> go.Figure | None:
    """Position bias: share of non-tied comparisons won by the option shown on the left, per
    comparison, with its Wilson 95% CI and the line at 50%."""
    pref = analysis.judgments.preference
    if pref.empty or not (pref["left_n"] > 0).any():
        return None
    pref = pref[pref["left_n"] > 0]
    k = np.round(pref["left_chosen"].to_numpy() * pref["left_n"].to_numpy())
    n = pref["left_n"].to_numpy(float)
    z = 1.959963984540054
    centre = (k + z**2 / 2) / (n + z**2)
    half = z * np.sqrt(k * (n - k) / n + z**2 / 4) / (n + z**2)
    share = pref["left_chosen"].to_numpy() * 100
    y = _pair_labels(pref)
    fig = go.Figure(
        go.Scatter(
            x=share,
            y=y,
            mode="markers",
            name="left option chosen",
            marker={"size": 10, "color": "#0072B2"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (centre + half) * 100 - share,
                "arrayminus": share - (centre - half) * 100,
                "color": "#0072B2",
            },
            customdata=np.stack([pref["left_bias_p"].to_numpy(), n], axis=1),
            hovertemplate="%{y}: left chosen in %{x:.1f}% of %{customdata[1]:.0f} non-tied "
            "comparisons (P = %{customdata[0]:.3g})<extra></extra>",
        )
    )
    fig.add_vline(x=50, line={"color": "#555555", "dash": "dash", "width": 1})
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": "Position bias: option shown on the left chosen among non-tied comparisons "
            "(Wilson 95% CI; 50% = no bias)"
        },
        xaxis={"title": {"text": "% left chosen"}, "range": [0, 100]},
        yaxis={"autorange": "reversed"},
        showlegend=False,
    )
    return fig


def acceptability_bars(analysis: Analysis) -> go.Figure | None:
    """Share of acceptable ratings per source with its Clopper–Pearson 95% CI."""
    acc = analysis.judgments.acceptability
    if acc.empty:
        return None
    readers = [str(r) for r in acc["reader"]]
    colours = reader_colours(readers)
    rate = acc["rate"] * 100
    fig = go.Figure(
        go.Bar(
            x=plot_texts(readers),
            y=rate,
            marker={
                "color": [colours.get(r, "#7f7f7f") for r in readers],
                "line": {"color": "#000", "width": 0.5},
            },
            error_y={
                "type": "data",
                "symmetric": False,
                "array": acc["ci_high"] * 100 - rate,
                "arrayminus": rate - acc["ci_low"] * 100,
                "color": "#111111",
            },
            customdata=np.stack([acc["acceptable"].to_numpy(), acc["n"].to_numpy()], axis=1),
            hovertemplate="%{x}: %{y:.1f}% acceptable (%{customdata[0]}/%{customdata[1]})"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Acceptable ratings per source (Clopper–Pearson 95% CI)"},
        xaxis={"title": {"text": "Source"}, "type": "category"},
        yaxis={"title": {"text": "% acceptable"}, "range": [0, 100]},
        showlegend=False,
    )
    return fig


def error_categories(analysis: Analysis) -> go.Figure | None:
    """Errors per report by category and source (grouped bars)."""
    err = analysis.judgments.errors
    if err.empty:
        return None
    categories = sorted({c for d in err["by_category"] for c in d})
    if not categories:
        return None
    readers = [str(r) for r in err["reader"]]
    colours = reader_colours(readers)
    fig = go.Figure()
    for reader, row in zip(readers, err.to_dict("records"), strict=True):
        counts = [int(row["by_category"].get(c, 0)) for c in categories]
        fig.add_trace(
            go.Bar(
                x=plot_texts([c.replace("_", " ") for c in categories]),
                y=[c / row["n_reports"] for c in counts],
                name=plot_text(reader),
                marker={
                    "color": colours.get(reader, "#7f7f7f"),
                    "line": {"color": "#000", "width": 0.5},
                },
                customdata=counts,
                hovertemplate=f"{plot_text(reader)}, %{{x}}: %{{y:.2f}} per report "
                "(%{customdata} errors)<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="group",
        title={"text": "Annotated errors per report by category and source"},
        xaxis={"title": {"text": "Error category"}},
        yaxis={"title": {"text": "Errors per report"}},
        legend={"title": {"text": "Source"}},
    )
    return fig


#: How each split is named in Fig. 1.
FLOW_SPLIT_NAMES: dict[str, str] = {"train": "Training set", "test": "Test set"}


def _flow_box(fig: go.Figure, x0: float, y0: float, x1: float, y1: float, lines: list[str]) -> None:
    fig.add_shape(
        type="rect",
        x0=x0,
        y0=y0,
        x1=x1,
        y1=y1,
        line={"color": "#000", "width": 1},
        fillcolor="#fff",
        layer="below",
    )
    fig.add_annotation(
        x=(x0 + x1) / 2,
        y=(y0 + y1) / 2,
        text="<br>".join(lines),
        showarrow=False,
        align="center",
        font={"size": 11},
    )


def _flow_arrow(fig: go.Figure, x0: float, y0: float, x1: float, y1: float) -> None:
    fig.add_annotation(
        x=x1,
        y=y1,
        ax=x0,
        ay=y0,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowsize=1,
        arrowwidth=1,
        arrowcolor="#000",
    )


def case_flow(analysis: Analysis) -> go.Figure | None:
    """Fig. 1: the flow of cases (STARD): assessed for eligibility, excluded by reason,
    included, and the included cases per split with their positives and the exclusions after
    allocation to that split; from study.toml ``[flow]`` and the study's cases. None when the
    study has no ``[flow]``."""
    flow = analysis.data.flow
    if not flow:
        return None
    unit = str(flow["unit"])
    excluded = list(flow["excluded"])
    n_excluded = sum(int(e["n"]) for e in excluded)
    cases = int(flow["cases"])
    included = flow["included"]
    included_text = (
        f"{cases:,} cases"
        if included is None or unit == "cases"
        else (f"{int(included):,} {unit}, {cases:,} cases")
    )
    assessed = flow["assessed"]
    if assessed is None:
        assessed = (cases if included is None else int(included)) + n_excluded
    fig = go.Figure()
    top = 100.0
    if excluded or flow["assessed"] is not None:
        _flow_box(
            fig, 20, 86, 60, 98, [plot_text(f"Assessed for eligibility: {assessed:,} {unit}")]
        )
        _flow_arrow(fig, 40, 86, 40, 62)
        if excluded:
            lines = [plot_text(f"Excluded: {n_excluded:,} {unit}")]
            lines += [plot_text(f"• {e['reason']} (n = {int(e['n']):,})") for e in excluded]
            height = 4 + 3.2 * len(lines)
            mid = 74
            _flow_box(fig, 47, mid - height / 2, 100, mid + height / 2, lines)
            _flow_arrow(fig, 40, mid, 47, mid)
        top = 62
    positives = sum(v["positive"] for v in flow["splits"].values())
    _flow_box(
        fig,
        20,
        top - 12,
        60,
        top,
        [
            plot_text(f"Included: {included_text}"),
            plot_text(f"{positives:,} positive, {cases - positives:,} negative"),
        ],
    )
    splits = [s for s in ("train", "test") if s in flow["splits"]] + sorted(
        set(flow["splits"]) - {"train", "test"}
    )
    split_excluded: dict[str, list[dict[str, Any]]] = dict(flow.get("split_excluded") or {})
    splits += sorted(set(split_excluded) - set(splits))
    width = 80 / max(1, len(splits))
    lowest = top - 40
    for i, split in enumerate(splits):
        x0 = 10 + i * width + 2
        x1 = x0 + width - 4
        counts = flow["splits"].get(split, {"n": 0, "positive": 0})
        _flow_arrow(fig, 40, top - 12, (x0 + x1) / 2, top - 26)
        _flow_box(
            fig,
            x0,
            top - 38,
            x1,
            top - 26,
            [
                plot_text(f"{FLOW_SPLIT_NAMES.get(split, split)}: {counts['n']:,} cases"),
                plot_text(
                    f"{counts['positive']:,} positive, {counts['n'] - counts['positive']:,} negative"
                ),
            ],
        )
        gone = split_excluded.get(split, [])
        if gone:
            # excluded after allocation to this split (study.toml [[flow.excluded]] split)
            lines = [plot_text(f"Excluded: {sum(int(e['n']) for e in gone):,} {unit}")]
            lines += [plot_text(f"• {e['reason']} (n = {int(e['n']):,})") for e in gone]
            height = 4 + 3.2 * len(lines)
            _flow_arrow(fig, (x0 + x1) / 2, top - 38, (x0 + x1) / 2, top - 44)
            _flow_box(fig, x0, top - 44 - height, x1, top - 44, lines)
            lowest = min(lowest, top - 46 - height)
    bottom = lowest
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Flow of cases: assessed, excluded by reason, included, by split"},
        xaxis={"visible": False, "range": [0, 100], "fixedrange": True},
        yaxis={"visible": False, "range": [bottom, 100], "fixedrange": True},
        showlegend=False,
        height=int(8 * (100 - bottom)),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        meta={"column": "double", "aspect": min(1.2, 0.0085 * (100 - bottom))},
    )
    return fig


#: How many cases the gallery (Fig. 8) shows: the first positive and the first negative case
#: (in case order) among those with a reference impression and the most readers' impressions.
GALLERY_CASES = 2
#: Characters per line of the gallery's text column (double column, 7 pt).
GALLERY_WRAP = 80


def gallery_cases(analysis: Analysis) -> list[str]:
    """The cases of the gallery (Fig. 8): those of the option ``gallery_cases`` when given;
    otherwise chosen by case order and completeness only, never by a reader's result: among
    the cases with a reference impression and the most readers' impressions in the analysed
    modality, the first positive and the first negative one."""
    data = analysis.data
    texts = data.texts
    if texts.empty or data.case_inputs.empty:
        return []
    wanted = analysis.options.gallery_cases
    if wanted:
        # chosen by the statistician (``analyze --gallery-case``): in that order, those
        # that have a reference impression and an impression of a reader
        have = set(data.case_inputs["case_id"]) & set(texts["case_id"])
        return [c for c in wanted if c in have]
    if analysis.modality is not None:
        texts = texts[texts["modality"] == analysis.modality]
    counts = texts.groupby("case_id")["reader_id"].nunique()
    if counts.empty:
        return []
    full = set(counts[counts == counts.max()].index)
    cases = data.cases.sort_values("position", kind="stable")
    cases = cases[cases["case_id"].isin(full)]
    chosen: list[str] = []
    for truth in (1, 0):
        first = cases[cases["truth"] == truth]["case_id"].head(1).tolist()
        chosen += [str(c) for c in first]
    return chosen[:GALLERY_CASES]


def _wrapped(text: str) -> tuple[str, int]:
    """``text`` escaped for plotly and wrapped for the table; the number of lines."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        lines += textwrap.wrap(paragraph, GALLERY_WRAP) or [""]
    return "<br>".join(plot_texts(lines)), len(lines)


def case_gallery(analysis: Analysis) -> go.Figure | None:
    """Fig. 8: for each gallery case (:func:`gallery_cases`), what the models were given
    (clinical history, location, findings; and the exact prompt each generated model reader
    was sent, as stored with its request), the reference impression and every reader's
    impression (first run), side by side; readers and cases as shown (pseudonyms until
    unblinding)."""
    chosen = gallery_cases(analysis)
    if not chosen:
        return None
    data = analysis.data
    texts = data.texts
    if analysis.modality is not None:
        texts = texts[texts["modality"] == analysis.modality]
    texts = texts.sort_values("run", kind="stable").drop_duplicates(["reader_id", "case_id"])
    inputs = data.case_inputs.set_index("case_id")
    prompts = (
        data.prompts
        if not data.prompts.empty
        else pd.DataFrame(columns=["reader_id", "case_id", "prompt"])
    )
    truth = data.cases.set_index("case_id")["truth"]
    order = {r: i for i, r in enumerate(data.reader_order)}
    case_col: list[str] = []
    source_col: list[str] = []
    text_col: list[str] = []
    n_lines = 0
    for case in chosen:
        row = inputs.loc[case]
        given = "\n".join(
            f"{label}: {value}"
            for label, value in (
                ("Clinical history", row["clinical_history"]),
                ("Location", row["location"]),
                ("Findings", row["findings"]),
            )
            if str(value).strip()
        )
        of_case = texts[texts["case_id"] == case]
        of_case = of_case.assign(_o=of_case["reader_id"].map(order)).sort_values("_o")
        entries = [("Input", given or "(none)")]
        # the exact prompt of each generated model reader (readers sent the same text share it)
        sent = prompts[prompts["case_id"] == case]
        sent = sent.assign(_o=sent["reader_id"].map(order).fillna(len(order))).sort_values("_o")
        by_text: dict[str, list[str]] = {}
        for reader, prompt in zip(sent["reader_id"], sent["prompt"], strict=True):
            by_text.setdefault(str(prompt), []).append(str(reader))
        entries += [(f"Prompt ({', '.join(rs)})", text) for text, rs in by_text.items()]
        entries.append(("Reference", str(of_case["reference"].iloc[0])))
        entries += [
            (str(r), str(h))
            for r, h in zip(of_case["reader_id"], of_case["hypothesis"], strict=True)
        ]
        label = f"{case}\n({'positive' if int(truth.loc[case]) == 1 else 'negative'})"
        for i, (source, text) in enumerate(entries):
            wrapped, lines = _wrapped(text)
            case_col.append("<br>".join(plot_texts(label.split("\n"))) if i == 0 else "")
            source_col.append(plot_text(source))
            text_col.append(wrapped)
            n_lines += lines
    fig = go.Figure(
        go.Table(
            columnwidth=[1.45, 1.45, 6.0],
            header={
                "values": ["<b>Case</b>", "<b>Source</b>", "<b>Text</b>"],
                "align": "left",
                "fill": {"color": "#f0f0f0"},
                "line": {"color": "#000", "width": 0.5},
            },
            cells={
                "values": [case_col, source_col, text_col],
                "align": "left",
                "line": {"color": "#bbb", "width": 0.5},
                "fill": {"color": "#fff"},
            },
        )
    )
    height = 60 + 17 * (n_lines + len(text_col))
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        title={
            "text": "Case gallery: the input given to the models, the reference impression "
            "and each reader's impression"
        },
        meta={"column": "double", "aspect": min(3.2, 0.05 + 0.021 * (n_lines + len(text_col)))},
    )
    return fig


#: Figures made of several panels (panel letters a, b, ... in the image).
PANEL_FIGURES: frozenset[str] = frozenset({"likert_radars", "confusion_matrices"})
#: The column width each figure is printed at by default ("single" 89 mm, "double" 183 mm).
FIGURE_COLUMNS: dict[str, str] = {
    "delong_matrix": "double",
    "diagnostic_radar": "single",
    "case_heatmap": "double",
    "likert_radars": "double",
    "confusion_matrices": "double",
    "roc_curves": "single",
    "likert_distribution": "single",
    "mrmc_modalities": "single",
    "preference_bars": "double",
    "position_bias": "single",
    "acceptability_bars": "single",
    "error_categories": "double",
}
#: Height / width in print of the figures whose screen proportions do not fit a column.
PRINT_ASPECTS: dict[str, float] = {
    "diagnostic_radar": 1.25,
    "roc_curves": 1.3,
    "likert_distribution": 1.0,
    "mrmc_modalities": 1.0,
    "delong_matrix": 0.8,
    "likert_radars": 0.85,
}


def subgroup_forest(analysis: Analysis) -> go.Figure | None:
    """Forest plot: one row per subgroup (grouped by attribute), a dot per reader at its AUC
    with the CI as a horizontal bar; the attribute's row label carries the smallest Cochran
    Q p value of its readers (test of heterogeneity of the AUC between the subgroups)."""
    rows = analysis.subgroups
    if rows.empty or rows["auc"].notna().sum() == 0:
        return None
    rows = rows[rows["auc"].notna()]
    het = analysis.subgroup_heterogeneity
    readers = in_order(analysis.reader_order, rows["reader"])
    colours = reader_colours(analysis.reader_order)
    fig = go.Figure()
    n = len(readers)
    for k, reader in enumerate(readers):
        sub = rows[rows["reader"] == reader]
        y = [plot_text(f"{a}: {g}") for a, g in zip(sub["attribute"], sub["subgroup"], strict=True)]
        est = sub["auc"].to_numpy(dtype=float)
        lo = sub["auc_ci_low"].to_numpy(dtype=float)
        hi = sub["auc_ci_high"].to_numpy(dtype=float)
        name = plot_text(reader)
        fig.add_trace(
            go.Scatter(
                x=est,
                y=y,
                mode="markers",
                name=name,
                marker={"color": colours[reader], "size": 7},
                offsetgroup=str(k) if n > 1 else None,
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": hi - est,
                    "arrayminus": est - lo,
                    "thickness": 1.2,
                    "width": 0,
                    "color": colours[reader],
                },
                hovertext=[
                    f"{name}<br>{label}<br>AUC {_fmt(e, 3)} (95% CI {_fmt(lw, 3)} to "
                    f"{_fmt(h, 3)}), n = {int(m)}"
                    for label, e, lw, h, m in zip(y, est, lo, hi, sub["n"], strict=True)
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    for attr in dict.fromkeys(rows["attribute"]):
        p = het.loc[het["attribute"] == attr, "p_value"] if len(het) else pd.Series(dtype=float)
        if len(p.dropna()):
            first = plot_text(f"{attr}: {rows.loc[rows['attribute'] == attr, 'subgroup'].iloc[0]}")
            fig.add_annotation(
                x=1.0,
                y=first,
                xref="paper",
                xanchor="right",
                yanchor="bottom",
                showarrow=False,
                text=plot_text(f"Q test P (lowest reader) {_fmt(float(p.min()), 3)}"),
                font={"size": 10},
            )
    fig.add_vline(x=0.5, line={"dash": "dot", "color": "#999999", "width": 1})
    fig.update_xaxes(title={"text": "AUC (95% CI)"}, range=[0, 1.02])
    fig.update_yaxes(autorange="reversed", type="category")
    method = "Obuchowski clustered" if analysis.clustered else "DeLong"
    n_rows = len(rows.drop_duplicates(["attribute", "subgroup"]))
    fig.update_layout(
        template=TEMPLATE,
        title={"text": f"AUC of each reader by subgroup with its 95% CI ({method})"},
        height=max(320, 26 * n_rows + 140),
        legend={"title": {"text": "Reader"}},
        meta={"column": "double", "aspect": min(1.4, 0.25 + 0.04 * n_rows)},
    )
    return fig


def judge_agreement(analysis: Analysis) -> go.Figure | None:
    """Forest plot of the LLM judges: one row per judge and domain (a Likert domain,
    ``preference`` for pairwise, ``acceptability``), the judge's quadratic-weighted κ with
    the panel consensus and its 95% CI, and the humans' mean κ with the others (leave one
    rater out) as an open diamond; the hover adds κ judge − κ humans with its bootstrap CI
    and, for pairwise, the share of first-shown choices. ``None`` without a judge compared."""
    rows = analysis.judges
    if rows.empty:
        return None
    kappa = rows[
        (rows["analysis"] == "agreement")
        & (rows["measure"] == "weighted_kappa")
        & (rows["against"] == "panel")
        & rows["statistic"].notna()
    ]
    if kappa.empty:
        return None
    within = rows[(rows["analysis"] == "within_panel") & (rows["against"] == "mean")]
    bias = rows[(rows["analysis"] == "position_bias") & (rows["measure"] == "position_bias")]
    judges = list(dict.fromkeys(kappa["judge"].astype(str)))
    colours = reader_colours(judges)
    fig = go.Figure()
    humans_x: list[float] = []
    humans_y: list[str] = []
    humans_text: list[str] = []
    for judge in judges:
        sub = kappa[kappa["judge"].astype(str) == judge]
        y = [plot_text(f"{judge} · {d}") for d in sub["domain"]]
        est = sub["statistic"].to_numpy(dtype=float)
        lo = sub["ci_low"].to_numpy(dtype=float)
        hi = sub["ci_high"].to_numpy(dtype=float)
        texts = []
        for label, domain, e, lw, h, n in zip(y, sub["domain"], est, lo, hi, sub["n"], strict=True):
            text = (
                f"{label}<br>κ with the panel {_fmt(e, 3)} (95% CI {_fmt(lw, 3)} to "
                f"{_fmt(h, 3)}), n = {int(n)}"
            )
            w = within[(within["judge"].astype(str) == judge) & (within["domain"] == domain)]
            if len(w):
                r = w.iloc[0]
                text += (
                    f"<br>κ judge − κ humans {_fmt(r['statistic'], 3)} (95% CI "
                    f"{_fmt(r['ci_low'], 3)} to {_fmt(r['ci_high'], 3)})"
                )
                humans_x.append(float(r["human_agreement"]))
                humans_y.append(label)
                humans_text.append(
                    f"{label}<br>humans' κ with the others {_fmt(r['human_agreement'], 3)}"
                )
            b = bias[(bias["judge"].astype(str) == judge) & (bias["domain"] == domain)]
            if len(b):
                r = b.iloc[0]
                text += (
                    f"<br>first-shown choices {_fmt(r['statistic'], 3)} (95% CI "
                    f"{_fmt(r['ci_low'], 3)} to {_fmt(r['ci_high'], 3)}), "
                    f"P {_fmt(r['p_value'], 3)}"
                )
            texts.append(text)
        fig.add_trace(
            go.Scatter(
                x=est,
                y=y,
                mode="markers",
                name=plot_text(judge),
                marker={"color": colours[judge], "size": 8},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": hi - est,
                    "arrayminus": est - lo,
                    "thickness": 1.2,
                    "width": 0,
                    "color": colours[judge],
                },
                hovertext=texts,
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if humans_x:
        fig.add_trace(
            go.Scatter(
                x=humans_x,
                y=humans_y,
                mode="markers",
                name="Humans (leave one out)",
                marker={"color": "#000000", "symbol": "diamond-open", "size": 9},
                hovertext=humans_text,
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    fig.add_vline(x=0, line={"dash": "dot", "color": "#999999", "width": 1})
    fig.update_xaxes(title={"text": "Weighted κ with the panel (95% CI)"}, range=[-1.02, 1.02])
    fig.update_yaxes(autorange="reversed", type="category")
    n_rows = len(kappa)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "LLM judges against the human panel: weighted κ with 95% CI"},
        height=max(320, 30 * n_rows + 140),
        legend={"title": {"text": "Judge"}},
        meta={"column": "double", "aspect": min(1.4, 0.3 + 0.05 * n_rows)},
    )
    return fig


def build_figures(
    analysis: Analysis,
    *,
    likert_range: LikertRange = None,
    theme: FigureTheme = DEFAULT_THEME,
    radar_scale: str = "shared",
) -> dict[str, go.Figure]:
    """Every figure that the analysis has data for, by name (see the module docstring),
    in the journal ``theme`` (no titles: :func:`figure_caption` gives each caption)."""
    figures: dict[str, go.Figure | None] = {
        "delong_matrix": delong_matrix(analysis),
        "diagnostic_radar": (
            diagnostic_dots(analysis)
            if radar_scale == "dots"
            else diagnostic_radar(analysis, scale=radar_scale)
        ),
        "case_heatmap": case_heatmap(analysis),
        "likert_radars": likert_radars(analysis, likert_range=likert_range),
        "confusion_matrices": confusion_matrices(analysis),
        "roc_curves": roc_curves(analysis),
        "likert_distribution": likert_distribution(analysis),
        "mrmc_modalities": mrmc_modalities(analysis),
        "preference_bars": preference_bars(analysis),
        "position_bias": position_bias(analysis),
        "acceptability_bars": acceptability_bars(analysis),
        "error_categories": error_categories(analysis),
        "subgroup_forest": subgroup_forest(analysis),
        "ai_assistance": ai_assistance(analysis),
        "judge_agreement": judge_agreement(analysis),
        "case_gallery": case_gallery(analysis),
        "case_flow": case_flow(analysis),
    }
    return {
        name: apply_theme(fig, theme, panels=name in PANEL_FIGURES)
        for name, fig in figures.items()
        if fig is not None
    }


#: Size in CSS pixels of each figure when exported as an image.
def figure_size(name: str, fig: go.Figure) -> tuple[int, int]:
    height = fig.layout.height or {"case_heatmap": 520, "diagnostic_radar": 700}.get(name, 700)
    width = {"case_heatmap": 1400, "likert_radars": 1200, "confusion_matrices": 1100}.get(name, 900)
    return int(width), int(height)


def _meta(fig: go.Figure | None, key: str) -> Any:
    meta = fig.layout.meta if fig is not None else None
    return meta.get(key) if isinstance(meta, Mapping) else None


def print_aspect(name: str, fig: go.Figure) -> float:
    """Height / width of ``fig`` in print (the figure's own, else that of its name)."""
    if _meta(fig, "aspect"):
        return float(_meta(fig, "aspect"))
    if name in PRINT_ASPECTS:
        return PRINT_ASPECTS[name]
    width, height = figure_size(name, fig)
    return height / width


def figure_column(name: str, column: str | None = None, fig: go.Figure | None = None) -> str:
    """``column`` ("single" / "double"), or the figure's own when ``None`` / "default"."""
    if column in (None, "default"):
        return str(_meta(fig, "column") or FIGURE_COLUMNS.get(name, "double"))
    if column not in WIDTHS_MM:
        raise ValueError(f"column: expected single, double or default, got {column!r}")
    return column


# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------


def figure_html(fig: go.Figure, *, title: str, plotlyjs: str = "plotly.min.js") -> str:
    """A complete HTML page for ``fig`` that loads nothing from the network.

    ``plotlyjs`` is ``"inline"`` (plotly.js embedded: one self-contained file) or the
    relative URL of plotly.min.js (copied next to the page by :func:`write_figures`).
    """
    include: bool | str = True if plotlyjs == "inline" else plotlyjs
    html = pio.to_html(
        fig,
        include_plotlyjs=include,
        full_html=True,
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height="100vh",
        validate=False,
    )
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    html = html.replace("<html>", '<html lang="en">', 1)
    return html.replace("<head>", f"<head>\n    <title>{safe_title}</title>", 1)


#: Static formats: raster (rendered as PNG at the DPI, TIFF converted from it), vector
#: (rendered by kaleido) and EPS (the PDF converted by Ghostscript, ``gs``).
RASTER_FORMATS: tuple[str, ...] = ("png", "tiff")
VECTOR_FORMATS: tuple[str, ...] = ("pdf", "svg")
EPS_FORMAT = "eps"
IMAGE_FORMATS: tuple[str, ...] = RASTER_FORMATS + VECTOR_FORMATS + (EPS_FORMAT,)
#: Every figure format: the interactive HTML page and the static images.
FIGURE_FORMATS: tuple[str, ...] = ("html", *IMAGE_FORMATS)
NO_GHOSTSCRIPT = (
    "EPS not written: Ghostscript (gs) is not installed (Debian: apt-get install ghostscript); "
    "the PDF of each figure is the same drawing"
)


def eps_from_pdf(pdf: bytes) -> bytes:
    """A one-page PDF as Encapsulated PostScript (Ghostscript's ``eps2write``, vector).

    Raises :class:`StaticExportUnavailable` when Ghostscript is not installed and
    ``RuntimeError`` when it fails."""
    gs = shutil.which("gs")
    if gs is None:
        raise StaticExportUnavailable(NO_GHOSTSCRIPT)
    with tempfile.TemporaryDirectory(prefix="readerstudy-eps-") as tmp:
        source, target = Path(tmp) / "figure.pdf", Path(tmp) / "figure.eps"
        source.write_bytes(pdf)
        done = subprocess.run(
            [
                gs,
                "-q",
                "-dSAFER",
                "-dBATCH",
                "-dNOPAUSE",
                "-sDEVICE=eps2write",
                "-dEPSCrop",
                f"-sOutputFile={target}",
                str(source),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not target.exists():
            raise RuntimeError(f"Ghostscript failed: {done.stderr.decode(errors='replace')[-500:]}")
        return target.read_bytes()


@dataclass(frozen=True)
class ImageOptions:
    """Which static images are written: ``formats`` (png, tiff, pdf, svg, eps), ``dpis`` of the
    raster ones, ``columns`` ("single", "double" or "default": the figure's own column),
    and the ``theme`` of the print layout."""

    formats: Sequence[str] = ("png", "svg")
    dpis: Sequence[int] = (300,)
    columns: Sequence[str] = ("default",)
    theme: FigureTheme = DEFAULT_THEME

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in IMAGE_FORMATS]
        if bad:
            raise ValueError(f"formats: expected some of {', '.join(IMAGE_FORMATS)}, got {bad}")
        if not self.dpis or any(int(d) <= 0 for d in self.dpis):
            raise ValueError(f"dpis: expected positive resolutions, got {list(self.dpis)}")
        bad = [c for c in self.columns if c not in ("default", *WIDTHS_MM)]
        if bad or not self.columns:
            raise ValueError(
                f"columns: expected single, double or default, got {list(self.columns)}"
            )


def image_stem(name: str, column: str, dpi: int | None, options: ImageOptions) -> str:
    """File name (no suffix) of one image: ``name`` when one column and one DPI are asked
    for, else ``name-<column>[-<dpi>dpi]``."""
    if len(options.columns) == 1 and len(options.dpis) == 1:
        return name
    return f"{name}-{column}" + (f"-{dpi}dpi" if dpi is not None else "")


def _print_jobs(
    name: str, fig: go.Figure, folder: Path, options: ImageOptions
) -> tuple[list[dict[str, Any]], list[tuple[Path, int, bool, bool]]]:
    """kaleido jobs of one figure, and the raster post-processing: (png path, dpi, keep the
    PNG, write a TIFF)."""
    jobs: list[dict[str, Any]] = []
    post: list[tuple[Path, int, bool, bool]] = []
    raster = [f for f in options.formats if f in RASTER_FORMATS]
    vector = [f for f in options.formats if f in VECTOR_FORMATS]
    columns = list(dict.fromkeys(figure_column(name, c, fig) for c in options.columns))
    for column in columns:
        width_mm = WIDTHS_MM[column]
        aspect = print_aspect(name, fig)
        base = export_geometry(width_mm, None, aspect=aspect)
        spec = json.loads(pio.to_json(print_figure(fig, options.theme, base), validate=False))
        for fmt in vector:
            path = folder / f"{image_stem(name, column, None, options)}.{fmt}"
            opts = {"format": fmt, "width": base.width, "height": base.height, "scale": 1}
            jobs.append({"fig": spec, "path": path, "opts": opts})
        if raster:
            for dpi in options.dpis:
                geo = export_geometry(width_mm, int(dpi), aspect=aspect)
                path = folder / f"{image_stem(name, column, int(dpi), options)}.png"
                opts = {
                    "format": "png",
                    "width": geo.width,
                    "height": geo.height,
                    "scale": geo.scale,
                }
                jobs.append({"fig": spec, "path": path, "opts": opts})
                post.append((path, int(dpi), "png" in raster, "tiff" in raster))
    return jobs, post


def _finish_raster(path: Path, dpi: int, keep_png: bool, tiff: bool) -> list[Path]:
    """Write the DPI into the PNG kaleido wrote (pHYs) and / or convert it to TIFF."""
    if not path.exists():
        return []
    data = path.read_bytes()
    files = []
    if tiff:
        target = path.with_suffix(".tiff")
        target.write_bytes(tiff_with_dpi(data, dpi))
        files.append(target)
    if keep_png:
        path.write_bytes(png_with_dpi(data, dpi))
        files.insert(0, path)
    else:
        path.unlink()
    return files


def figure_image(
    fig: go.Figure,
    *,
    fmt: str,
    width: int | None = None,
    height: int | None = None,
    name: str = "",
    column: str | None = None,
    dpi: int = 300,
    theme: FigureTheme = DEFAULT_THEME,
) -> bytes:
    """``fig`` as PNG, TIFF, PDF, SVG or EPS bytes (raises :class:`StaticExportUnavailable`).

    With ``width`` and ``height`` (CSS px) the screen layout is rendered at that size;
    otherwise the print layout of ``column`` (the figure's own by default) at ``dpi``.
    """
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(IMAGE_FORMATS)}, got {fmt!r}")
    if fmt == EPS_FORMAT:
        pdf = figure_image(
            fig,
            fmt="pdf",
            width=width,
            height=height,
            name=name,
            column=column,
            dpi=dpi,
            theme=theme,
        )
        return eps_from_pdf(pdf)
    raster = fmt in RASTER_FORMATS
    if width is not None and height is not None:
        spec = json.loads(pio.to_json(fig, validate=False))
        opts: dict[str, Any] = {
            "format": "png" if raster else fmt,
            "width": width,
            "height": height,
        }
        opts["scale"] = dpi / 96 if raster else 1
    else:
        column = figure_column(name, column, fig)
        geo = export_geometry(
            WIDTHS_MM[column], dpi if raster else None, aspect=print_aspect(name, fig)
        )
        spec = json.loads(pio.to_json(print_figure(fig, theme, geo), validate=False))
        opts = {"format": "png" if raster else fmt, "width": geo.width, "height": geo.height}
        opts["scale"] = geo.scale
    with _render_lock:
        renderer = _renderer()
        data = renderer.run(lambda k: k.calc_fig(spec, opts=opts), timeout=300)
    if fmt == "png":
        return png_with_dpi(data, dpi)
    if fmt == "tiff":
        return tiff_with_dpi(data, dpi)
    return data


@dataclass(frozen=True)
class FigureOutput:
    files: list[Path]
    warnings: list[str]


def write_figure_html(figures: Mapping[str, go.Figure], folder: Path) -> list[Path]:
    """Every figure as a standalone HTML page, with plotly.min.js copied next to them."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "plotly.min.js"
    if not target.exists() or target.stat().st_size != PLOTLY_JS.stat().st_size:
        shutil.copyfile(PLOTLY_JS, target)
    files = [target]
    for name, fig in figures.items():
        path = folder / f"{name}.html"
        path.write_text(figure_html(fig, title=FIGURE_TITLES.get(name, name)), encoding="utf-8")
        files.append(path)
    return files


def write_figure_images(
    figures: Mapping[str, go.Figure],
    folder: Path,
    *,
    formats: Sequence[str] | None = None,
    options: ImageOptions | None = None,
) -> FigureOutput:
    """Every figure in the print layout as the images of ``options`` (PNG / TIFF with the
    DPI in the file, PDF, SVG), rendered in one batch by kaleido. ``formats`` alone keeps
    the other defaults of :class:`ImageOptions`."""
    if options is None:
        options = ImageOptions(formats=tuple(formats)) if formats is not None else ImageOptions()
    elif formats is not None:
        options = replace(options, formats=tuple(formats))
    folder.mkdir(parents=True, exist_ok=True)
    eps = EPS_FORMAT in options.formats
    keep_pdf = "pdf" in options.formats
    # EPS is converted from the PDF kaleido draws (written only for it when PDF is not asked)
    drawn = [f for f in options.formats if f != EPS_FORMAT] + (
        ["pdf"] if eps and not keep_pdf else []
    )
    draw = replace(options, formats=tuple(drawn))
    jobs: list[dict[str, Any]] = []
    post: list[tuple[Path, int, bool, bool]] = []
    for name, fig in figures.items():
        fig_jobs, fig_post = _print_jobs(name, fig, folder, draw)
        jobs += fig_jobs
        post += fig_post
    if not jobs:
        return FigureOutput(files=[], warnings=[])
    try:
        with _render_lock:
            renderer = _renderer()
            errors = renderer.run(
                lambda k: k.write_fig_from_object(jobs, cancel_on_error=False), timeout=900
            )
    except StaticExportUnavailable as exc:
        return FigureOutput(files=[], warnings=[str(exc)])
    warnings = [f"figure not rendered: {err}" for err in errors or ()]
    raster = {path for path, *_ in post}
    files = [Path(j["path"]) for j in jobs if j["path"] not in raster and Path(j["path"]).exists()]
    for path, dpi, keep_png, tiff in post:
        files += _finish_raster(path, dpi, keep_png, tiff)
    if eps:
        files, eps_warnings = _finish_eps(files, keep_pdf=keep_pdf)
        warnings += eps_warnings
    return FigureOutput(files=files, warnings=warnings)


def _finish_eps(files: list[Path], *, keep_pdf: bool) -> tuple[list[Path], list[str]]:
    """Convert each written PDF to EPS beside it; drop the PDFs that were drawn only for it."""
    out: list[Path] = []
    warnings: list[str] = []
    for path in files:
        if path.suffix != ".pdf":
            out.append(path)
            continue
        if keep_pdf:
            out.append(path)
        try:
            target = path.with_suffix(".eps")
            target.write_bytes(eps_from_pdf(path.read_bytes()))
            out.append(target)
        except StaticExportUnavailable as exc:
            if str(exc) not in warnings:
                warnings.append(str(exc))
        except RuntimeError as exc:
            warnings.append(f"{path.stem}: {exc}")
        if not keep_pdf:
            path.unlink()
    return out, warnings


def write_figures(
    figures: Mapping[str, go.Figure],
    folder: Path,
    *,
    formats: Sequence[str] = ("html", "png", "svg"),
    options: ImageOptions | None = None,
) -> FigureOutput:
    """Write every figure as standalone HTML and as images (PNG / TIFF / PDF / SVG).

    Returns the files written and warnings (e.g. no Chromium: images skipped).
    """
    files = write_figure_html(figures, folder) if "html" in formats else []
    images = [f for f in formats if f in IMAGE_FORMATS]
    out = (
        write_figure_images(figures, folder, formats=images, options=options)
        if images
        else FigureOutput(files=[], warnings=[])
    )
    return FigureOutput(files=files + out.files, warnings=out.warnings)


def mrmc_power_plot(grid: pd.DataFrame, *, theme: FigureTheme = DEFAULT_THEME) -> go.Figure:
    """Power against the number of cases, one line per number of readers.

    ``grid`` is the long frame of :func:`analysis.stats.sample_size.mrmc_power_grid`
    (columns ``readers, cases, power``); a dotted line marks 80% power.
    """
    missing = [c for c in ("readers", "cases", "power") if c not in grid.columns]
    if missing:
        raise ValueError(f"grid: missing column(s) {', '.join(missing)}")
    readers = sorted(int(j) for j in grid["readers"].unique())
    colours = theme_reader_colours([str(j) for j in readers], theme)
    fig = go.Figure()
    for j in readers:
        part = grid[grid["readers"] == j].sort_values("cases")
        fig.add_trace(
            go.Scatter(
                x=part["cases"].to_list(),
                y=part["power"].to_list(),
                mode="lines+markers",
                name=f"{j} readers",
                line={"color": colours[str(j)]},
                hovertemplate=f"{j} readers, %{{x}} cases: power %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_hline(y=0.8, line={"dash": "dot", "color": "black", "width": 1})
    fig.update_layout(
        title="OR-MRMC power against the number of cases, one line per number of readers",
        xaxis_title="Cases",
        yaxis_title="Power",
        yaxis_range=[0, 1],
        legend_title_text="Readers",
    )
    return apply_theme(fig, theme)
