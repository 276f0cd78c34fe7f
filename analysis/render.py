"""Static figure export: one Chromium per process, driven by kaleido.

Kept apart from ``analysis.charts`` and light to import, so that ``analyze`` can start
Chromium (about two seconds) before it imports pandas, scipy and plotly and computes the
statistics: the browser is ready by the time the figures are.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import shutil
import subprocess
import threading
from functools import cache
from pathlib import Path
from typing import Any

#: plotly.js of the installed plotly package (served by the app, loaded by kaleido).
PLOTLY_JS = (
    Path(importlib.util.find_spec("plotly").origin).resolve().parent  # type: ignore[union-attr, arg-type]
    / "package_data"
    / "plotly.min.js"
)

_render_lock = threading.Lock()
#: Chromium tabs rendering in parallel. One: every extra tab loads plotly.js again, which
#: costs more at start-up (2.2 s → 3.7 s here) than it saves on a study's few figures.
RENDER_TABS = 1


@cache
def browser_version(path: str) -> str | None:
    """``path --version`` (e.g. "Chromium 156.0..."), or ``None`` if it does not run."""
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or path


def browser_path() -> str | None:
    """The Chromium that renders static images, or ``None`` when there is none.

    ``BROWSER_PATH`` if set (as kaleido / choreographer), else ``chromium``,
    ``chromium-browser``, ``google-chrome`` on the PATH; it must run ``--version``.
    """
    env = os.environ.get("BROWSER_PATH")
    candidates = (
        [env]
        if env
        else [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    )
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK) and browser_version(path):
            return path
    return None


class StaticExportUnavailable(RuntimeError):
    """Static images cannot be rendered here (no Chromium)."""


NO_CHROMIUM = (
    "PNG/SVG not written: no Chromium found (install Debian's chromium or set BROWSER_PATH "
    "to a Chromium/Chrome binary); the HTML figures are complete."
)


def _batch_kaleido_class() -> type:
    import kaleido

    class BatchKaleido(kaleido.Kaleido):  # type: ignore[misc]
        """kaleido without the page reload after every image.

        kaleido reloads its page (4.8 MB of plotly.js) after each image; its render plots
        into a new element and purges it, so the reload only costs time: without it the PNGs
        are byte-identical and the SVGs differ only in plotly's random element ids, about
        three times faster (kaleido 1.5.0, pinned).
        """

        async def _return_kaleido_tab(self, tab: Any) -> None:
            await self.tabs_ready.put(tab)

    return BatchKaleido


class _Renderer:
    """One Chromium per process, driven by kaleido from an event loop in its own thread.

    Creating it returns at once (Chromium starts in the background); every render waits
    for it with a timeout, so a broken browser fails a render instead of hanging.
    """

    def __init__(self, path: str) -> None:
        import atexit

        self.path = path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kaleido", daemon=True)
        self.thread.start()
        self.kaleido: Any = None
        self.opened = asyncio.run_coroutine_threadsafe(self._open(), self.loop)
        atexit.register(self.close)

    async def _open(self) -> None:
        for name in ("kaleido", "choreographer", "logistro", "browser_proc"):
            logging.getLogger(name).setLevel(logging.WARNING)
        k = _batch_kaleido_class()(
            n=RENDER_TABS, timeout=120, plotlyjs=str(PLOTLY_JS), mathjax=False, path=self.path
        )
        await k.open()
        self.kaleido = k

    def run(self, make: Any, timeout: float = 600) -> Any:
        """Run ``make(kaleido)`` (a coroutine) on the renderer's loop; return its result."""
        try:
            self.opened.result(timeout=120)
        except Exception as exc:
            raise StaticExportUnavailable(
                f"PNG/SVG not written: Chromium did not start ({exc})"
            ) from exc
        return asyncio.run_coroutine_threadsafe(make(self.kaleido), self.loop).result(timeout)

    def close(self) -> None:
        if self.kaleido is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.kaleido.close(), self.loop).result(30)
            self.kaleido = None
        self.loop.call_soon_threadsafe(self.loop.stop)


_renderers: dict[str, _Renderer] = {}


def _renderer() -> _Renderer:
    """The process's renderer for the current Chromium (started on first use)."""
    path = browser_path()
    if path is None:
        raise StaticExportUnavailable(NO_CHROMIUM)
    renderer = _renderers.get(path)
    if renderer is None:
        renderer = _renderers[path] = _Renderer(path)
    return renderer


def prepare_static_export() -> bool:
    """Start Chromium now, in the background; False if there is none."""
    with _render_lock:
        try:
            _renderer()
        except StaticExportUnavailable:
            return False
    return True
