"""docs/configuration.md documents every environment variable the settings read."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
#: Read by the settings to detect the test runner, not a deployment setting.
NOT_A_SETTING = {"PYTEST_VERSION"}


def test_every_variable_the_settings_read_is_documented_with_a_default() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOC.read_text(encoding="utf-8")))
    read = set(settings.SETTINGS_ENVIRONMENT_VARIABLES) - NOT_A_SETTING
    assert read, "the settings module records no variable"
    assert sorted(read - documented) == []


def test_each_documented_row_gives_a_default() -> None:
    rows = [
        line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and line.count("|") >= 4
    ]
    assert rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 2:  # the two-column tables (system checks: id, when)
            continue
        assert cells[1], f"no default in {row!r}"
