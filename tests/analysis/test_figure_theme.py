"""The journal theme: no titles in the image, sizes in mm at a DPI written in the file,
PDF / SVG that parse, Fig. 3 as a lower triangle, the greyscale-safe patterns."""

from __future__ import annotations

import io
import math
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from analysis.charts import (
    ImageOptions,
    build_figures,
    case_heatmap,
    diagnostic_radar,
    eps_from_pdf,
    figure_column,
    write_figure_images,
)
from analysis.figure_theme import (
    GREYS,
    OKABE_ITO,
    WIDTHS_MM,
    FigureTheme,
    apply_theme,
    export_geometry,
    figure_caption,
    png_with_dpi,
    tiff_with_dpi,
    width_px,
)
from analysis.render import StaticExportUnavailable
from analysis.results import Analysis, run_analysis
from analysis.selectors import study_data
from readerstudy.studies.models import Study

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def small_analysis(shared_small_study: Study, django_db_blocker: pytest.FixtureRequest) -> Analysis:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return run_analysis(study_data(shared_small_study))


@pytest.fixture(scope="module")
def figures(small_analysis: Analysis) -> dict:
    return build_figures(small_analysis)


def test_no_figure_has_a_title_in_its_layout_but_each_keeps_its_caption(figures: dict) -> None:
    assert len(figures) >= 7
    for name, fig in figures.items():
        assert fig.layout.title.text is None, name
        caption = figure_caption(fig)
        assert len(caption) > 10 and "<br>" not in caption and "&lt;" not in caption, name


def test_text_is_black_in_the_chosen_font(small_analysis: Analysis) -> None:
    sans = build_figures(small_analysis)["roc_curves"]
    serif = build_figures(small_analysis, theme=FigureTheme(font="serif"))["roc_curves"]
    sans_font, serif_font = sans.layout.template.layout.font, serif.layout.template.layout.font
    assert sans_font.color == serif_font.color == "#000000"
    assert sans.layout.template.layout.xaxis.tickfont.color == "#000000"
    assert "sans-serif" in sans_font.family
    assert serif_font.family.endswith(" serif") and "sans" not in serif_font.family
    for fig in (sans, serif):  # no other colour of text is set anywhere in the figure
        assert fig.layout.font.color in (None, "#000000")
    with pytest.raises(ValueError, match="font"):
        FigureTheme(font="comic")


def test_fig_3_has_no_upper_triangle_and_marks_significance(figures: dict) -> None:
    heat = figures["delong_matrix"].data[0]
    rows, cols = list(heat.y), list(heat.x)
    assert len(rows) == len(cols)
    for r in range(len(rows)):
        for c in range(len(cols)):
            filled = heat.z[r][c] is not None and not math.isnan(heat.z[r][c])
            # rows are readers 2..n, columns readers 1..n-1: cell (r, c) is below the
            # diagonal iff c <= r
            assert filled == (c <= r), (r, c)
            if not filled:
                assert heat.text[r][c] == ""
    for r in range(len(rows)):
        for c in range(r + 1):
            p = heat.z[r][c]
            marks = heat.text[r][c].count("*")
            assert marks == (3 if p < 0.001 else 2 if p < 0.01 else 1 if p < 0.05 else 0)
    assert "* P < 0.05" in figure_caption(figures["delong_matrix"])


def test_the_radar_shares_one_scale_unless_per_axis_is_asked(small_analysis: Analysis) -> None:
    shared = diagnostic_radar(small_analysis)
    assert shared is not None
    assert not [t for t in shared.data if t.mode == "text"]  # no per-axis tick labels
    low, high = shared.layout.polar.radialaxis.range
    values = [v for t in shared.data for v in t.r if v is not None]
    assert low <= min(values) and max(values) <= high <= 1.0
    per_axis = diagnostic_radar(small_analysis, scale="per-axis")
    assert per_axis is not None
    assert any(a.text == "per-axis scales" for a in per_axis.layout.annotations)
    with pytest.raises(ValueError, match="scale"):
        diagnostic_radar(small_analysis, scale="log")


def test_fig_5_labels_the_reference_reader_and_has_a_truth_legend(
    small_analysis: Analysis,
) -> None:
    fig = case_heatmap(small_analysis)
    assert fig is not None
    ref = small_analysis.data.reference_reader
    assert f"{ref} (reference)" in list(fig.data[1].y)
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["Truth: positive", "Truth: negative"]


def test_combined_figures_get_panel_letters(figures: dict) -> None:
    letters = [
        a.text for a in figures["confusion_matrices"].layout.annotations if a.name == "panel-letter"
    ]
    assert letters == ["a", "b", "c"]


def test_the_greyscale_option_changes_the_reader_traces(small_analysis: Analysis) -> None:
    colour = build_figures(small_analysis)["roc_curves"]
    grey = build_figures(small_analysis, theme=FigureTheme(greyscale=True))["roc_curves"]
    lines = [t for t in colour.data if t.mode == "lines" and t.name]
    grey_lines = [t for t in grey.data if t.mode == "lines" and t.name]
    assert {t.line.color for t in lines} <= set(OKABE_ITO)
    assert {t.line.color for t in grey_lines} <= set(GREYS)
    dashes = [t.line.dash for t in grey_lines]
    assert len(set(dashes)) == len(dashes) == 3  # one pattern per reader
    points = [t.marker.symbol for t in grey.data if t.mode == "markers"]
    assert len(set(points)) == len(points)
    assert dashes != [t.line.dash for t in lines]


def test_png_and_tiff_say_their_dpi() -> None:
    png = Image.new("RGB", (40, 20), "white")
    buffer = io.BytesIO()
    png.save(buffer, format="PNG")
    for dpi in (300, 600):
        tagged = png_with_dpi(buffer.getvalue(), dpi)
        with Image.open(io.BytesIO(tagged)) as image:
            assert image.size == (40, 20)
            assert [round(v) for v in image.info["dpi"]] == [dpi, dpi]
        with Image.open(io.BytesIO(tiff_with_dpi(tagged, dpi))) as image:
            assert image.format == "TIFF" and image.mode == "RGB"
            assert [round(float(v)) for v in image.info["dpi"]] == [dpi, dpi]
    with pytest.raises(ValueError, match="data"):
        png_with_dpi(b"GIF89a....", 300)


def test_export_geometry_gives_mm_times_dpi_over_25_4_pixels() -> None:
    for column, mm in WIDTHS_MM.items():
        for dpi in (300, 600):
            geo = export_geometry(mm, dpi, aspect=0.75)
            assert abs(geo.width * geo.scale - mm * dpi / 25.4) <= 1, (column, dpi)
    assert width_px(89, 300) == 1051 and width_px(183, 600) == 4323
    with pytest.raises(ValueError, match="width_mm"):
        export_geometry(0, 300, aspect=1)


def test_image_options_refuse_unknown_formats_dpis_and_columns() -> None:
    with pytest.raises(ValueError, match="formats"):
        ImageOptions(formats=("emf",))
    with pytest.raises(ValueError, match="dpis"):
        ImageOptions(dpis=(0,))
    with pytest.raises(ValueError, match="columns"):
        ImageOptions(columns=("triple",))
    assert figure_column("roc_curves") == "single" and figure_column("case_heatmap") == "double"


@pytest.mark.slow
def test_every_format_and_size_is_written_with_its_dpi_and_width(
    figures: dict, tmp_path: Path
) -> None:
    options = ImageOptions(
        formats=("png", "tiff", "pdf", "svg"), dpis=(300, 600), columns=("single", "double")
    )
    small = {
        "roc_curves": figures["roc_curves"],
        "confusion_matrices": figures["confusion_matrices"],
    }
    out = write_figure_images(small, tmp_path, options=options)
    assert out.warnings == []
    assert len(out.files) == 2 * 2 * (2 * 2 + 2)
    for name in small:
        for column, mm in WIDTHS_MM.items():
            for dpi in (300, 600):
                for fmt in ("png", "tiff"):
                    with Image.open(tmp_path / f"{name}-{column}-{dpi}dpi.{fmt}") as image:
                        assert [round(float(v)) for v in image.info["dpi"]] == [dpi, dpi]
                        assert abs(image.size[0] - mm * dpi / 25.4) <= 1, (name, column, dpi)
            pdf = (tmp_path / f"{name}-{column}.pdf").read_bytes()
            assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
            root = ET.fromstring((tmp_path / f"{name}-{column}.svg").read_bytes())
            assert root.tag.endswith("svg")
            assert float(root.get("width", "0")) == export_geometry(mm, None, aspect=1).width


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gs") is None, reason="needs Ghostscript (CI installs it)")
def test_eps_is_written_from_the_pdf_with_a_bounding_box_of_the_column_width(
    figures: dict, tmp_path: Path
) -> None:
    options = ImageOptions(formats=("eps",), columns=("single",))
    out = write_figure_images({"roc_curves": figures["roc_curves"]}, tmp_path, options=options)
    assert out.warnings == []
    assert [p.name for p in out.files] == ["roc_curves.eps"]
    assert not list(tmp_path.glob("*.pdf"))  # drawn for the EPS only
    eps = (tmp_path / "roc_curves.eps").read_bytes()
    assert eps.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    box = re.search(rb"%%BoundingBox: (\d+) (\d+) (\d+) (\d+)", eps)
    assert box is not None
    width_pt = int(box.group(3)) - int(box.group(1))
    # 89 mm is 252 pt; EPSCrop trims the white margin only
    assert 150 < width_pt <= 253
    both = write_figure_images(
        {"roc_curves": figures["roc_curves"]},
        tmp_path / "both",
        options=ImageOptions(formats=("pdf", "eps"), columns=("single",)),
    )
    assert sorted(p.suffix for p in both.files) == [".eps", ".pdf"]


def test_eps_without_ghostscript_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "gs" else real_which(name))
    with pytest.raises(StaticExportUnavailable, match="Ghostscript"):
        eps_from_pdf(b"%PDF-1.4")


def test_apply_theme_keeps_an_existing_caption_on_a_second_pass(figures: dict) -> None:
    fig = figures["roc_curves"]
    caption = figure_caption(fig)
    assert figure_caption(apply_theme(fig)) == caption


def test_the_dot_plot_shows_every_estimate_with_its_ci_on_one_scale(
    small_analysis: Analysis,
) -> None:
    fig = build_figures(small_analysis, radar_scale="dots")["diagnostic_radar"]
    assert [a.text for a in fig.layout.annotations][:6] == [
        "AUC", "Sensitivity", "Specificity", "Accuracy", "PPV", "NPV",
    ]  # fmt: skip
    perf = small_analysis.performance.set_index("reader")
    dots = [t for t in fig.data if t.mode == "markers"]
    assert len(dots) == 6 * len(perf)
    sens = [t for t in dots if t.xaxis == "x2"]
    for trace in sens:
        row = perf.loc[trace.y[0]]
        assert math.isclose(trace.x[0], row["sensitivity"])
        assert math.isclose(trace.x[0] - trace.error_x.arrayminus[0], row["sensitivity_ci_low"])
        assert math.isclose(trace.x[0] + trace.error_x.array[0], row["sensitivity_ci_high"])
    assert {tuple(fig.layout[f"xaxis{i if i > 1 else ''}"].range) for i in range(1, 7)} == {
        (0, 1.02)
    }
    assert figure_column("diagnostic_radar", None, fig) == "double"
