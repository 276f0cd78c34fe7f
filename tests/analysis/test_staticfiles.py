"""plotly.js from the installed plotly package is a static file of the app (no CDN)."""

from __future__ import annotations

from django.contrib.staticfiles import finders

from analysis.staticfiles import PLOTLY_JS, STATIC_PATH, PlotlyJsFinder


def test_the_finder_finds_plotly_js_under_the_analysis_prefix() -> None:
    assert finders.find(STATIC_PATH) == str(PLOTLY_JS)
    finder = PlotlyJsFinder()
    assert finder.find(STATIC_PATH, find_all=True) == [str(PLOTLY_JS)]
    assert finder.find("analysis/vendor/other.js") == ""
    assert finder.check() == []


def test_collectstatic_sees_exactly_one_file_with_its_prefix() -> None:
    listed = list(PlotlyJsFinder().list(None))
    assert len(listed) == 1
    path, storage = listed[0]
    assert f"{storage.prefix}/{path}" == STATIC_PATH
    assert storage.path(path) == str(PLOTLY_JS)
