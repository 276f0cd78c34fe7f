"""Fixtures shared by the whole suite."""

from __future__ import annotations

import io
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image, PngImagePlugin

# Playwright fixtures of the browser tests (module-scoped browser, ``new_page``).
from tests.browser import browser, new_page, sync_orm_beside_playwright  # noqa: F401

STUDY_TOML = """\
slug = "tiny"
title = "Tiny study"
reference_reader = "R1"

[scale]
name = "BI-RADS"
categories = [0, 1, 2, 3, 4, 5, 6]
positive_threshold = 4

[scale.labels]
4 = "Suspicious"

[repeats]
consensus = "majority-median"

[likert]
min = 1
max = 5

[[likert.domains]]
key = "correctness"
label = "Correctness"
group = "Knowledge accuracy"

[[likert.domains]]
key = "coherence"
label = "Coherence"
group = "Report structure"
"""

CASES_CSV = """\
case_id,truth,patient_id,split,location,findings,tic_type
C1,1,P1,test,left breast,"Segmental NME,
clumped enhancement",washout
C2,0,P2,test,right breast,Focal NME,persistent
C3,1,P3,train,left breast,,plateau
"""

READERS_CSV = """\
reader_id,kind,label,years_experience,interpretations
R1,human,Senior radiologist,15,1000
M1,model,Zero-shot model,,
"""

READINGS_CSV = """\
reader_id,case_id,run,category,score,impression,seconds
R1,C1,1,5,0.9,"BI-RADS 5: biopsy",120.5
R1,C2,1,2,0.1,BI-RADS 2,30
M1,C1,1,4,,BI-RADS 4,
M1,C1,2,5,,BI-RADS 5,
M1,C2,1,3,,BI-RADS 3,
"""

RATINGS_CSV = """\
rater_id,reader_id,case_id,run,domain,score
rA,M1,C1,1,correctness,5
rA,M1,C1,2,coherence,4
rB,M1,C2,1,correctness,3
"""


def png_bytes(value: int = 128, text: dict[str, str] | None = None) -> bytes:
    image = Image.new("L", (8, 8), value)
    info = PngImagePlugin.PngInfo()
    for key, val in (text or {}).items():
        info.add_text(key, val)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def default_bundle_files() -> dict[str, str | bytes]:
    return {
        "study.toml": STUDY_TOML,
        "cases.csv": CASES_CSV,
        "readers.csv": READERS_CSV,
        "readings.csv": READINGS_CSV,
        "ratings.csv": RATINGS_CSV,
        "images/C1/phase1.png": png_bytes(100, {"Comment": "Patient Jane Doe"}),
        "images/C1/phase2.png": png_bytes(150),
    }


BundleFactory = Callable[..., Path]
T = TypeVar("T")

#: Fixtures that start Chromium (tests/browser.py): a test using one is a browser test.
BROWSER_FIXTURES = frozenset({"browser", "new_page"})
#: Set by .ci/run on the SQLite pass: the schemathesis tests run once per CI run, on PostgreSQL.
SKIP_SCHEMATHESIS = "READERSTUDY_SKIP_SCHEMATHESIS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that drives Chromium ``browser`` (so ``-m "not browser"`` leaves out all
    of them, marked by hand or not), and skip the ``schemathesis`` tests when
    ``READERSTUDY_SKIP_SCHEMATHESIS=1``."""
    skip = os.environ.get(SKIP_SCHEMATHESIS) == "1"
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
        if skip and item.get_closest_marker("schemathesis"):
            item.add_marker(
                pytest.mark.skip(reason=f"{SKIP_SCHEMATHESIS}=1: schemathesis runs on another pass")
            )


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """Write a small valid bundle; keyword overrides replace files (``None`` removes one)."""
    counter = iter(range(1000))

    def make(**overrides: str | bytes | None) -> Path:
        root = tmp_path / f"bundle{next(counter)}"
        files = default_bundle_files()
        for key, value in overrides.items():
            name = key.replace("__", "/").replace("_csv", ".csv").replace("_toml", ".toml")
            if value is None:
                files.pop(name, None)
            else:
                files[name] = value
        for name, content in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        return root

    return make


@pytest.fixture(autouse=True)
def _test_settings(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Deliberately slow password hashing has nothing to prove in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def assert_confirmation_page(html: str, *, action: str, button: str) -> None:
    """``html`` is a confirmation page (readerstudy/core/confirm.py) posting to ``action`` with a
    danger-styled ``button``, and a Cancel link; it works without JavaScript."""
    form = re.search(r'<form method="post" action="([^"]+)" class="confirm-actions">', html)
    assert form is not None and form.group(1) == action, html
    assert f'<button type="submit" class="danger">{button}</button>' in html
    assert re.search(r'<a class="button secondary" href="[^"]+">Cancel</a>', html)
    assert "<script" not in html


class SqliteSnapshots:
    """Copies of this worker's SQLite test database, so that a module-scoped fixture builds a
    large world (the demo study) once per worker instead of once per module.

    ``shared(name, build, find, destroy)`` yields the world: the first time it runs ``build``
    and keeps a copy of the database with the world in it; afterwards it restores that copy
    (SQLite's backup API, milliseconds) instead of building again, and when the module is done
    it restores the copy taken before the first build instead of running ``destroy``. It only
    does so when the database holds exactly what it held before the first build (compared
    table by table) and, at the end, exactly what the copy held; otherwise (another world set
    up first, a transactional test flushed the tables, PostgreSQL) it builds and destroys as
    before. Tests inside stay isolated as they were: each one runs in a transaction that
    pytest-django rolls back.
    """

    def __init__(self, blocker: Any) -> None:
        self._blocker = blocker
        self._copies: dict[str, tuple[sqlite3.Connection, tuple[tuple[str, int], ...]]] = {}

    @staticmethod
    def _raw() -> sqlite3.Connection | None:
        from django.db import connection

        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return None
        connection.ensure_connection()
        return connection.connection  # type: ignore[no-any-return]

    @staticmethod
    def _fingerprint(raw: sqlite3.Connection) -> tuple[tuple[str, int], ...]:
        tables = [
            row[0]
            for row in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return tuple((t, raw.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables)

    def _save(self, key: str, raw: sqlite3.Connection) -> None:
        copy = sqlite3.connect(":memory:")
        raw.backup(copy)
        self._copies[key] = (copy, self._fingerprint(raw))

    def _restore(self, key: str, raw: sqlite3.Connection) -> None:
        from django.core.cache import cache

        self._copies[key][0].backup(raw)
        # As after a fresh build: nothing computed from an earlier module's world is reused.
        cache.clear()

    @contextmanager
    def shared(
        self,
        name: str,
        build: Callable[[], T],
        find: Callable[[], T],
        destroy: Callable[[], None],
    ) -> Iterator[T]:
        with self._blocker.unblock():
            value, restored = self._setup(name, build, find)
        try:
            yield value
        finally:
            with self._blocker.unblock():
                self._teardown(name, restored, destroy)

    def _setup(self, name: str, build: Callable[[], T], find: Callable[[], T]) -> tuple[T, bool]:
        raw = self._raw()
        clean, world = "clean", f"world:{name}"
        if raw is None or (
            clean in self._copies and self._fingerprint(raw) != self._copies[clean][1]
        ):
            return build(), False
        if clean not in self._copies:
            self._save(clean, raw)
        if world in self._copies:
            self._restore(world, raw)
            return find(), True
        value = build()
        self._save(world, raw)
        return value, True

    def _teardown(self, name: str, restored: bool, destroy: Callable[[], None]) -> None:
        raw = self._raw()
        world = f"world:{name}"
        if restored and raw is not None and self._fingerprint(raw) == self._copies[world][1]:
            self._restore("clean", raw)
        else:
            destroy()


@pytest.fixture(scope="session")
def sqlite_snapshots(django_db_setup: None, django_db_blocker: Any) -> SqliteSnapshots:
    """Per worker (each xdist worker has its own database); see :class:`SqliteSnapshots`."""
    return SqliteSnapshots(django_db_blocker)
