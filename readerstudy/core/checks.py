"""System checks of readerstudy (ids ``readerstudy.E…`` / ``readerstudy.W…``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.files)
def check_media_root(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """MEDIA_ROOT holds case images: it must exist (or be creatable) and be writable."""
    root = Path(settings.MEDIA_ROOT)
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), None)
    if probe is None or not os.access(probe, os.W_OK):
        return [
            checks.Error(
                f"MEDIA_ROOT {root} is not writable.",
                hint="Set MEDIA_ROOT to a directory the application user can write to.",
                id="readerstudy.E001",
            )
        ]
    return []


@checks.register(checks.Tags.compatibility, deploy=True)
def check_chromium(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Static figures (PNG/SVG) are rendered by kaleido with a local Chromium."""
    browser = (
        os.environ.get("BROWSER_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not browser:
        return [
            checks.Warning(
                "No Chromium found: `analyze` will write HTML figures but no PNG/SVG.",
                hint="Install Debian's chromium package or set BROWSER_PATH.",
                id="readerstudy.W001",
            )
        ]
    return []
