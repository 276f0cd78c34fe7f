"""The journal theme of every figure: fonts, colours, sizes and the export geometry.

A figure as a journal prints it has black text in one family (sans, as most journals ask,
or serif), no title inside the image (the caption is printed beside it: :func:`apply_theme`
moves the title into ``layout.meta["caption"]``, where :func:`figure_caption` finds it for
the dashboard and the exports), panel letters (a, b, ...) when it combines panels, and a
width of one column (89 mm) or two (183 mm) — the widths of Nature's and most clinical
journals' columns.

Colours are the Okabe–Ito palette, distinguishable with the common colour-vision
deficiencies (Okabe & Ito 2008, *Color Universal Design*; Wong 2011, *Nat Methods* 8:441).
``greyscale=True`` makes every reader's line and marker distinct without colour: grey levels,
a dash pattern and a marker symbol per reader, so a figure printed in black and white still
tells the readers apart.

Geometry of a static export (:func:`export_geometry`): the layout is laid out at the print
size in CSS pixels (1 CSS px = 1/96 inch, so ``width_mm / 25.4 * 96``) with fonts in points
(``pt * 96 / 72`` px), and kaleido renders it at ``scale = dpi / 96``: the image is
``width_mm * dpi / 25.4`` pixels wide and its text has the stated point size when printed at
that width.
"""

from __future__ import annotations

import copy
import html
import io
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from PIL import Image

#: Okabe–Ito, black last (black is the colour of averages and reference lines).
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Grey levels of the greyscale-safe option (dark to light, all visible on white).
GREYS: tuple[str, ...] = ("#000000", "#555555", "#888888", "#333333", "#777777", "#aaaaaa")
#: Dash patterns and marker symbols, one per reader in order (cycled).
DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "cross",
    "x",
    "triangle-down",
    "star",
    "pentagon",
    "hexagon",
)
#: Column widths in millimetres.
WIDTHS_MM: dict[str, float] = {"single": 89.0, "double": 183.0}
#: Raster resolutions offered (dots per inch).
DPIS: tuple[int, ...] = (300, 600)
FONTS: dict[str, str] = {
    "sans": "Arial, Helvetica, 'Liberation Sans', 'DejaVu Sans', sans-serif",
    "serif": "'Times New Roman', Times, 'Liberation Serif', 'DejaVu Serif', serif",
}
CSS_DPI = 96.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class FigureTheme:
    """How every figure looks: ``font`` "sans" or "serif", ``greyscale`` patterns instead
    of colour only, ``font_pt`` the text size in print (points) and ``screen_font_px`` on
    screen, ``panel_letters`` on combined figures."""

    font: str = "sans"
    greyscale: bool = False
    font_pt: float = 7.0
    screen_font_px: float = 13.0
    panel_letters: bool = True

    def __post_init__(self) -> None:
        if self.font not in FONTS:
            raise ValueError(f"font: expected one of {', '.join(FONTS)}, got {self.font!r}")
        if not self.font_pt > 0:
            raise ValueError(f"font_pt: must be positive, got {self.font_pt!r}")


DEFAULT_THEME = FigureTheme()


def palette(theme: FigureTheme = DEFAULT_THEME) -> tuple[str, ...]:
    """The colours of readers (in reader order, cycled)."""
    return GREYS if theme.greyscale else OKABE_ITO


def reader_colours(readers: Sequence[str], theme: FigureTheme = DEFAULT_THEME) -> dict[str, str]:
    """A fixed colour per reader, in reader order (the same in every figure)."""
    colours = palette(theme)
    return {r: colours[i % len(colours)] for i, r in enumerate(readers)}


def width_px(width_mm: float, dpi: float) -> int:
    """Pixel width of an image ``width_mm`` wide at ``dpi``: ``mm × dpi / 25.4``."""
    return round(width_mm * dpi / MM_PER_INCH)


def _title_text(fig: go.Figure) -> str:
    title = fig.layout.title
    return (title.text or "") if title is not None else ""


def figure_caption(fig: go.Figure) -> str:
    """The caption of a themed figure (the title it had before :func:`apply_theme`)."""
    meta = fig.layout.meta
    if isinstance(meta, Mapping) and "caption" in meta:
        return str(meta["caption"])
    return _title_text(fig)


def _pattern_key(trace: Any) -> str | None:
    """The reader a line/marker trace draws (its legend group or name), else ``None``."""
    if trace.type not in ("scatter", "scatterpolar"):
        return None
    mode = trace.mode or ""
    if "lines" not in mode and "markers" not in mode:
        return None
    if trace.hoverinfo == "skip":  # reference lines (the ROC diagonal)
        return None
    return trace.legendgroup or trace.name


def apply_patterns(fig: go.Figure, theme: FigureTheme = DEFAULT_THEME) -> None:
    """Give every reader's lines and markers their own dash and symbol (greyscale: also a
    grey level); in colour the first eight readers keep solid lines (distinct colours)."""
    keys: dict[str, int] = {}
    for trace in fig.data:
        key = _pattern_key(trace)
        if key is None:
            continue
        k = keys.setdefault(key, len(keys))
        mode = trace.mode or ""
        if "lines" in mode:
            dash = DASHES[k % len(DASHES)] if theme.greyscale else DASHES[k // len(OKABE_ITO)]
            trace.line.dash = dash
            if theme.greyscale:
                trace.line.color = GREYS[k % len(GREYS)]
        if "markers" in mode:
            symbol = str(trace.marker.symbol or "")
            open_ = "-open" if symbol.endswith("-open") else ""
            trace.marker.symbol = SYMBOLS[k % len(SYMBOLS)] + open_
            if theme.greyscale:
                trace.marker.color = GREYS[k % len(GREYS)]
        if theme.greyscale and getattr(trace, "fillcolor", None):
            trace.fillcolor = "rgba(0, 0, 0, 0.08)"


def add_panel_letters(fig: go.Figure) -> None:
    """A bold letter (a, b, ...) at the top left of each panel of a combined figure."""
    used = set()
    for trace in fig.data:
        subplot = getattr(trace, "subplot", None) if trace.type.endswith("polar") else None
        if subplot:
            used.add(subplot.replace("polar1", "polar"))
        elif getattr(trace, "xaxis", None):
            used.add("xaxis" + trace.xaxis[1:])
    domains = []
    for key in fig.layout:
        if key in used and key.startswith(("polar", "xaxis")):
            obj = fig.layout[key]
            if key.startswith("xaxis"):
                y_key = "yaxis" + key[len("xaxis") :]
                y_dom = fig.layout[y_key].domain if y_key in fig.layout else (0, 1)
                x_dom = obj.domain
            else:
                x_dom, y_dom = obj.domain.x, obj.domain.y
            if x_dom is not None and y_dom is not None:
                domains.append((x_dom, y_dom))
    if len(domains) < 2:
        return
    # reading order: top to bottom, left to right
    domains.sort(key=lambda d: (-round(d[1][1], 3), round(d[0][0], 3)))
    for i, (x_dom, y_dom) in enumerate(domains):
        fig.add_annotation(
            text=chr(ord("a") + i) if i < 26 else str(i + 1),
            x=x_dom[0],
            y=y_dom[1],
            xref="paper",
            yref="paper",
            xanchor="right",
            yanchor="bottom",
            xshift=-4,
            showarrow=False,
            font={"size": 14, "weight": "bold"},
            name="panel-letter",
        )


def apply_theme(
    fig: go.Figure, theme: FigureTheme = DEFAULT_THEME, *, panels: bool = False
) -> go.Figure:
    """Theme ``fig`` in place (and return it): the title becomes the caption
    (``layout.meta["caption"]``, plain text: plotly's entities decoded, line breaks as
    spaces), text black in the theme's font, white background, black axis lines, the reader
    patterns of :func:`apply_patterns`, panel letters if ``panels``."""
    caption = html.unescape(figure_caption(fig).replace("<br>", " "))
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, Mapping) else {}
    meta["caption"] = caption
    meta["theme"] = {"font": theme.font, "greyscale": theme.greyscale}
    # one template assignment (every axis, polar and legend of any subplot): much faster
    # than updating each axis
    fig.layout.template = _template(theme.font, theme.screen_font_px)
    fig.layout.meta = meta
    fig.layout.title = None
    apply_patterns(fig, theme)
    if panels and theme.panel_letters:
        add_panel_letters(fig)
    return fig


@cache
def _template(font: str, size: float) -> go.layout.Template:
    """simple_white with black text in ``font`` and black axes (cached: built once)."""
    template = go.layout.Template(pio.templates["simple_white"])
    black = "#000000"
    axis = {"linecolor": black, "tickcolor": black, "tickfont": {"color": black}}
    template.layout.update(
        font={"family": FONTS[font], "color": black, "size": size},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        legend={"font": {"color": black}},
        xaxis=axis,
        yaxis=axis,
        polar={"radialaxis": axis, "angularaxis": axis},
    )
    return template


@dataclass(frozen=True)
class ExportGeometry:
    """What kaleido is asked for: the layout size in CSS px and the scale."""

    width: int
    height: int
    scale: float
    width_mm: float
    dpi: int | None


def export_geometry(width_mm: float, dpi: int | None, *, aspect: float) -> ExportGeometry:
    """Layout ``width_mm`` wide at 96 CSS px per inch, ``aspect`` × as high; the scale that
    makes the image ``width_mm * dpi / 25.4`` px wide (1 for vector formats)."""
    if not width_mm > 0:
        raise ValueError(f"width_mm: must be positive, got {width_mm!r}")
    if dpi is not None and dpi <= 0:
        raise ValueError(f"dpi: must be positive, got {dpi!r}")
    width = round(width_mm / MM_PER_INCH * CSS_DPI)
    height = max(1, round(width * aspect))
    scale = 1.0 if dpi is None else width_px(width_mm, dpi) / width
    return ExportGeometry(width=width, height=height, scale=scale, width_mm=width_mm, dpi=dpi)


def print_figure(fig: go.Figure, theme: FigureTheme, geometry: ExportGeometry) -> go.Figure:
    """A copy of themed ``fig`` laid out for print: fonts in points, tight margins, the
    export size (the screen figure is not changed)."""
    out = go.Figure(copy.deepcopy(fig.to_dict()), skip_invalid=True)
    px = theme.font_pt * CSS_DPI / 72
    out.update_layout(
        font={"size": px},
        legend={"font": {"size": px}},
        width=geometry.width,
        height=geometry.height,
        margin={"l": 8, "r": 8, "t": 16, "b": 8, "autoexpand": True},
    )
    out.update_xaxes(automargin=True, title={"font": {"size": px}}, tickfont={"size": px})
    out.update_yaxes(automargin=True, title={"font": {"size": px}}, tickfont={"size": px})
    for annotation in out.layout.annotations:
        if annotation.name == "panel-letter":
            annotation.font.size = px * 1.4
        else:
            annotation.font.size = px
    out.layout.legend.title.font.size = px
    polars = [key for key in out.layout if key.startswith("polar")]
    if polars:
        # angular labels sit outside the polar domain, which automargin does not see
        # (subplot titles stand above each radar)
        top = 60 if len(polars) > 1 else 28
        out.update_layout(margin={"l": 56, "r": 56, "t": top, "b": 16})
    if geometry.width < 400 and len(out.data) > 1:
        # one column: the legend goes below the plot (at the bottom of the image, the margin
        # grows to hold it), not beside it
        out.update_layout(
            legend={
                "orientation": "h",
                "x": 0,
                "xanchor": "left",
                "yref": "container",
                "y": 0,
                "yanchor": "bottom",
            }
        )
    for key in polars:
        polar = out.layout[key]
        small = 0.8 if len(polars) > 1 else 1.0  # a grid of radars: labels nearer each other
        polar.radialaxis.tickfont.size = px * 0.8 * small
        polar.angularaxis.tickfont.size = px * small
    for trace in out.data:
        if getattr(trace, "textfont", None) is not None and trace.type in (
            "heatmap",
            "scatterpolar",
            "scatter",
        ):
            trace.textfont.size = px
        if trace.type == "heatmap" and trace.colorbar is not None:
            trace.colorbar.tickfont.size = px
            trace.colorbar.title.font.size = px
            trace.colorbar.thickness = 10
    return out


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("data: not a PNG (bad signature)")
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_with_dpi(data: bytes, dpi: float) -> bytes:
    """The PNG ``data`` with its resolution set to ``dpi`` (a ``pHYs`` chunk in pixels per
    metre, replacing any), without re-encoding the pixels."""
    if not dpi > 0:
        raise ValueError(f"dpi: must be positive, got {dpi!r}")
    ppm = round(dpi / 0.0254)
    out = [PNG_SIGNATURE]
    for kind, body in _png_chunks(data):
        if kind == b"pHYs":
            continue
        out.append(_chunk(kind, body))
        if kind == b"IHDR":
            out.append(_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)))
    return b"".join(out)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def tiff_with_dpi(png: bytes, dpi: float) -> bytes:
    """The PNG ``png`` as an RGB TIFF (LZW) whose resolution tags say ``dpi``."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGBA")
        flat = Image.new("RGB", rgb.size, (255, 255, 255))
        flat.paste(rgb, mask=rgb.getchannel("A"))
    buffer = io.BytesIO()
    flat.save(buffer, format="TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
    return buffer.getvalue()
