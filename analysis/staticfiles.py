"""A staticfiles finder that serves plotly.js from the installed plotly package.

The dashboard loads ``{% static "analysis/vendor/plotly.min.js" %}``. Nothing is copied into
the repository: in development WhiteNoise serves the file through the finders, in
production ``collectstatic`` copies it into ``STATIC_ROOT`` like any other static file
(and the manifest storage fingerprints it), so the browser never needs a CDN.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

from analysis.render import PLOTLY_JS

PREFIX = "analysis/vendor"
STATIC_PATH = f"{PREFIX}/plotly.min.js"


class PlotlyJsFinder(BaseFinder):
    """Finds ``analysis/vendor/plotly.min.js`` (the plotly package's own plotly.min.js)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PLOTLY_JS.parent))
        self.storage.prefix = PREFIX  # type: ignore[attr-defined]

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if not PLOTLY_JS.is_file():
            return [
                Error(
                    f"plotly.min.js not found at {PLOTLY_JS}",
                    hint="Install the plotly package pinned in requirements.txt.",
                    id="analysis.E001",
                )
            ]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        if kwargs.get("all"):
            find_all = True
        if path == STATIC_PATH and PLOTLY_JS.is_file():
            return [str(PLOTLY_JS)] if find_all else str(PLOTLY_JS)
        return [] if find_all else ""

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        if PLOTLY_JS.is_file():
            yield PLOTLY_JS.name, self.storage
