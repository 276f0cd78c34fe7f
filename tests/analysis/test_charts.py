"""Every figure renders: PNG and SVG through kaleido and Chromium, HTML with nothing external."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from analysis.charts import (
    FIGURE_TITLES,
    build_figures,
    case_gallery,
    diagnostic_radar,
    figure_html,
    gallery_cases,
    heatmap_readers,
    mrmc_power_plot,
    nice_axis,
    write_figures,
)
from analysis.results import Analysis, run_analysis
from analysis.selectors import study_data
from analysis.stats.mrmc import ORComponents
from analysis.stats.sample_size import mrmc_power_grid
from readerstudy.studies.models import Study
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
    assert set(build_figures(demo_analysis)) == PAPER_FIGURES | {"subgroup_forest"}
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


def test_the_per_axis_radar_scales_each_axis_to_its_own_observed_range(
    demo_analysis: Analysis,
) -> None:
    fig = diagnostic_radar(demo_analysis, scale="per-axis")
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
    assert set(figures) - {"subgroup_forest"} == PAPER_FIGURES - {
        "likert_radars",
        "likert_distribution",
    }
    html = figure_html(figures["case_heatmap"], title="<Fig. 5>", plotlyjs="inline")
    assert "<title>&lt;Fig. 5&gt;</title>" in html
    assert 'src="http' not in html


def test_an_mrmc_study_adds_the_modality_figure(small_study: SmallStudy) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1}, modalities=2, likert=False)
    assert "mrmc_modalities" in build_figures(run_analysis(study_data(study)))


# --- hover texts: every interval shown contains its estimate --------------------------

NUMBER = r"[−-]?\d+(?:\.\d+)?"
INTERVAL = re.compile(
    rf"(?P<est>{NUMBER})%?\s*\((?:\d+% CI\s+)?(?P<low>{NUMBER})%?\s*(?:to|–)\s*"
    rf"(?P<high>{NUMBER})%?\)"
)
PLACEHOLDER = re.compile(r"%\{(?P<name>[a-z]+)(?:\[(?P<index>\d+)\])?(?::(?P<fmt>[^}]*))?\}")


def _number(text: str) -> tuple[float, float]:
    """The value of a shown number and half a unit in its last digit."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text.replace("−", "-")), 0.5 * 10.0**-decimals


def _flat(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out: list[object] = []
    for item in value:  # type: ignore[attr-defined]
        out += _flat(item) if isinstance(item, list | tuple) else [item]
    return out


def _render(template: str, point: dict[str, object]) -> str:
    """A plotly hovertemplate filled in for one point (d3 formats such as ``.3f``)."""

    def fill(match: re.Match[str]) -> str:
        value = point.get(match["name"])
        if match["index"] is not None and isinstance(value, list | tuple):
            value = value[int(match["index"])]
        fmt = match["fmt"]
        if fmt and isinstance(value, int | float):
            return format(float(value), fmt)
        return str(value)

    return PLACEHOLDER.sub(fill, template.replace("<extra></extra>", ""))


def hover_texts(fig: object) -> list[str]:
    """Every hover text of ``fig`` as shown: hovertext, or the template of each point."""
    texts: list[str] = []
    for trace in fig.data:  # type: ignore[attr-defined]
        texts += [str(t) for t in _flat(getattr(trace, "hovertext", None)) if t]
        template = getattr(trace, "hovertemplate", None)
        if not template:
            continue
        keys = [k for k in ("x", "y", "z", "r", "theta", "customdata") if hasattr(trace, k)]
        values = {k: _flat(getattr(trace, k)) for k in keys if getattr(trace, k) is not None}
        n = max((len(v) for v in values.values()), default=1)
        for i in range(n):
            point = {k: v[i] if i < len(v) else None for k, v in values.items()}
            texts.append(_render(template, point))
    return [t.replace("<br>", "\n") for t in texts]


def intervals(text: str) -> list[tuple[str, str, str]]:
    return [(m["est"], m["low"], m["high"]) for m in INTERVAL.finditer(text)]


def test_the_interval_parser_finds_the_fig_3_bug() -> None:
    assert intervals("difference 0.094 (-0.006 to -0.183)") == [("0.094", "-0.006", "-0.183")]
    assert intervals("mean 4.74 (95% CI 4.41–4.60)") == [("4.74", "4.41", "4.60")]
    assert intervals("AUC 0.790 (95% CI 0.650 to 0.931)") == [("0.790", "0.650", "0.931")]
    assert intervals("AUC 0.841 (SE 0.032)") == []


@pytest.fixture(scope="module")
def demo_figures(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> dict:
    """Every figure of the demo study's analysis (unaided and AI-assisted readings)."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return build_figures(run_analysis(study_data(demo_study)))


def test_every_interval_in_every_hover_text_of_the_demo_contains_its_estimate(
    demo_figures: dict,
) -> None:
    assert set(demo_figures) == PAPER_FIGURES | {
        "mrmc_modalities",
        "subgroup_forest",
        "ai_assistance",
        "case_gallery",
        "case_flow",
    }
    found: dict[str, int] = {}
    for name, fig in demo_figures.items():
        for text in hover_texts(fig):
            for est, low, high in intervals(text):
                (e, e_tol), (lo, lo_tol), (hi, hi_tol) = map(_number, (est, low, high))
                tol = max(e_tol, lo_tol, hi_tol)
                assert lo <= hi, (name, text)
                assert lo - tol <= e <= hi + tol, (name, text)
                found[name] = found.get(name, 0) + 1
    # Fig. 3: the lower triangle of the 9 x 9 matrix (each pair once); Fig. 6: every reader x domain; MRMC: the
    # average of each modality
    assert found["delong_matrix"] == 9 * 8 // 2
    assert found["likert_radars"] >= 6 * 9
    assert found["mrmc_modalities"] == 2
    assert found["subgroup_forest"] > 9
    assert found["ai_assistance"] == 2  # the aided − unaided effect, hovered at both ends


def test_fig_3_shows_each_pair_once_as_row_minus_column_reader(
    demo_study: Study, demo_figures: dict
) -> None:
    analysis = run_analysis(study_data(demo_study))
    fig = demo_figures["delong_matrix"]
    readers = [r for r in analysis.reader_order if r in set(analysis.aucs["reader"])]
    for test in analysis.auc_tests.to_dict("records"):
        i, j = readers.index(test["reader_a"]), readers.index(test["reader_b"])
        # rows are readers[1:], columns readers[:-1]: the later reader is the row
        if i > j:
            cell = fig.data[0].hovertext[i - 1][j]
            want = f"difference {test['diff']:.3f} ({test['ci_low']:.3f} to {test['ci_high']:.3f})"
        else:
            cell = fig.data[0].hovertext[j - 1][i]
            want = (
                f"difference {-test['diff']:.3f} ({-test['ci_high']:.3f} to {-test['ci_low']:.3f})"
            )
        assert want in cell


def test_the_mrmc_figure_shows_each_reader_and_the_average_with_its_ci(
    demo_figures: dict, demo_study: Study
) -> None:
    fig = demo_figures["mrmc_modalities"]
    names = [t.name for t in fig.data]
    assert names == ["R3", "R4", "R5", "average (95% CI)"]
    assert list(fig.data[0].x) == ["1 (unaided)", "2 (AI-assisted)"]
    analysis = run_analysis(study_data(demo_study))
    rrrc = analysis.mrmc[0].modalities
    average = fig.data[-1]
    assert list(average.y) == pytest.approx(list(rrrc["statistic"]))
    assert list(average.error_y.array) == pytest.approx(list(rrrc["ci_high"] - rrrc["statistic"]))
    assert list(average.error_y.arrayminus) == pytest.approx(
        list(rrrc["statistic"] - rrrc["ci_low"])
    )
    assert "RRRC: readers and cases random" in average.hovertext[1]
    # the junior reader's line rises most
    rise = {t.name: t.y[1] - t.y[0] for t in fig.data[:3]}
    assert max(rise, key=rise.get) == "R5"  # type: ignore[arg-type]


def test_mrmc_power_plot_draws_one_line_per_reader_count_rising_with_cases() -> None:
    pilot = ORComponents(
        var_r=0.001535,
        var_tr=0.00020040252358,
        var_error=0.00080228826557,
        cov1=0.00034661370944,
        cov2=0.00034407482886,
        cov3=0.00023902837089,
        n_cases=114,
    )
    grid = mrmc_power_grid(pilot, effect_size=-0.0438, readers=[4, 8, 12], cases=[50, 100, 200])
    fig = mrmc_power_plot(grid)
    assert [t.name for t in fig.data] == ["4 readers", "8 readers", "12 readers"]
    assert list(fig.data[1].x) == [50, 100, 200]
    assert list(fig.data[1].y) == sorted(fig.data[1].y)
    assert "power against the number of cases" in fig.layout.meta["caption"]


def test_fig_1_shows_the_papers_flow_and_the_cases_by_split(demo_figures: dict) -> None:
    texts = [a.text for a in demo_figures["case_flow"].layout.annotations if a.text]
    joined = " ".join(texts)
    assert "Assessed for eligibility: 1,006 patients" in joined
    assert "Excluded: 777 patients" in joined and "Mass lesions (n = 698)" in joined
    assert "Included: 229 patients, 233 cases" in joined
    assert "Training set: 119 cases" in joined and "Test set: 114 cases" in joined


def test_fig_8_shows_the_input_the_reference_and_every_reader_for_a_positive_and_a_negative(
    demo_study: Study, django_db_blocker: pytest.FixtureRequest
) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        data = study_data(demo_study, pseudonymous=True)
    analysis = run_analysis(data)
    chosen = gallery_cases(analysis)
    truth = data.cases.set_index("case_id")["truth"]
    assert [int(truth[c]) for c in chosen] == [1, 0]
    # chosen by case order among the cases every reader wrote on, not by any result
    texts = data.texts[data.texts["modality"] == analysis.modality]
    counts = texts.groupby("case_id")["reader_id"].nunique()
    complete = data.cases[data.cases["case_id"].isin(counts[counts == counts.max()].index)]
    first_positive = complete[complete["truth"] == 1].sort_values("position")["case_id"].iloc[0]
    assert chosen[0] == first_positive
    table = case_gallery(analysis).data[0]
    cases, sources, _ = table.cells.values
    assert sources.count("Input") == 2 and sources.count("Reference") == 2
    assert set(data.reader_order) <= set(sources)  # pseudonyms: real codes are never shown
    assert all(c.startswith("CS-") for c in cases if c)
