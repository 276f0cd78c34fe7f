"""Every figure renders: PNG and SVG through kaleido and Chromium, HTML with nothing external."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from analysis.charts import (
    FIGURE_TITLES,
    build_figures,
    diagnostic_radar,
    figure_html,
    heatmap_readers,
    nice_axis,
    write_figures,
)
from analysis.results import Analysis, run_analysis
from analysis.selectors import study_data
from readerstudy.models import Study
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db

PAPER_FIGURES = {
    "delong_matrix", "diagnostic_radar", "case_heatmap", "likert_radars", "confusion_matrices",
    "roc_curves", "likert_distribution",
}  # fmt: skip
URL = re.compile(rb"""https?://[^\s"'<>)]+""")


@pytest.fixture(scope="module")
def demo_analysis(shared_small_study: Study, django_db_blocker: pytest.FixtureRequest) -> Analysis:
    """A study with every kind of data the figures need: readers, runs, Likert scores."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return run_analysis(study_data(shared_small_study))


@pytest.fixture(scope="module")
def rendered(
    demo_analysis: Analysis, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("figures")
    ranges = {"M2": (4.5, 5.0), "*": (3.0, 5.0)}
    output = write_figures(build_figures(demo_analysis, likert_range=ranges), folder)
    return folder, output.warnings


def test_the_demo_has_every_figure_of_the_worked_example(demo_analysis: Analysis) -> None:
    assert set(build_figures(demo_analysis)) == PAPER_FIGURES
    assert set(FIGURE_TITLES) >= PAPER_FIGURES


def test_each_figure_is_written_as_png_svg_and_html(rendered: tuple[Path, list[str]]) -> None:
    folder, warnings = rendered
    assert warnings == []
    for name in PAPER_FIGURES:
        png = (folder / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
        svg = (folder / f"{name}.svg").read_text()
        assert svg.startswith("<svg") and "</svg>" in svg, name
        html = (folder / f"{name}.html").read_bytes()
        assert b'<script charset="utf-8" src="plotly.min.js"></script>' in html, name
        assert b"Plotly.newPlot" in html, name


def test_html_figures_refer_to_nothing_outside_their_folder(
    rendered: tuple[Path, list[str]],
) -> None:
    folder, _ = rendered
    assert (folder / "plotly.min.js").stat().st_size > 1_000_000
    for path in folder.glob("*.html"):
        urls = set(URL.findall(path.read_bytes()))
        assert urls <= {b"http://www.w3.org/2000/svg"}, (path.name, urls)


def test_without_chromium_the_html_is_written_and_a_warning_explains(
    demo_analysis: Analysis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium-here"))
    figures = build_figures(demo_analysis)
    output = write_figures({"roc_curves": figures["roc_curves"]}, tmp_path / "out")
    assert (tmp_path / "out" / "roc_curves.html").exists()
    assert not (tmp_path / "out" / "roc_curves.png").exists()
    assert len(output.warnings) == 1 and "no Chromium found" in output.warnings[0]


def test_the_radar_scales_each_axis_to_its_own_observed_range(demo_analysis: Analysis) -> None:
    fig = diagnostic_radar(demo_analysis)
    assert fig is not None
    ticks = [t for t in fig.data if t.mode == "text"]
    assert [t.theta[0] for t in ticks] == [
        "AUC",
        "Sensitivity",
        "Specificity",
        "Accuracy",
        "PPV",
        "NPV",
    ]
    readers = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in readers] == ["R1", "M1", "M2"]
    for axis in range(6):
        values = [t.r[axis] for t in readers]
        assert min(values) >= 0.2 - 1e-9 and max(values) <= 1.0 + 1e-9
    # the per-axis tick labels differ between axes (own scale) and stay within 0-100%
    labels = {t.theta[0]: list(t.text) for t in ticks}
    assert len({tuple(v) for v in labels.values()}) > 1
    assert all(float(x.rstrip("%")) <= 100 for x in labels["Sensitivity"])


def test_nice_axis_covers_the_data_with_round_steps() -> None:
    for low, high in [(0.56, 0.82), (0.70, 0.98), (0.28, 0.61), (0.0, 1.0), (0.5, 0.5)]:
        start, step = nice_axis(low, high, lower=0.0, upper=1.0)
        assert start <= low + 1e-12 and start + 4 * step >= high - 1e-12
        assert start >= -1e-12 and start + 4 * step <= 1 + 1e-12
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


def test_the_heatmap_rows_are_the_models_then_the_reference_reader(demo_analysis: Analysis) -> None:
    assert heatmap_readers(demo_analysis) == ["M1", "M2", "R1"]


def test_figures_of_a_small_study_without_likert_scores(small_study: SmallStudy) -> None:
    study = small_study(likert=False)
    figures = build_figures(run_analysis(study_data(study)))
    assert set(figures) == PAPER_FIGURES - {"likert_radars", "likert_distribution"}
    html = figure_html(figures["case_heatmap"], title="<Fig. 5>", plotlyjs="inline")
    assert "<title>&lt;Fig. 5&gt;</title>" in html
    assert 'src="http' not in html


def test_an_mrmc_study_adds_the_modality_figure(small_study: SmallStudy) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1}, modalities=2, likert=False)
    assert "mrmc_modalities" in build_figures(run_analysis(study_data(study)))
