"""Resource limits of a bundle import (issue 11, finding 11): zip bombs, too many files,
columns or rows, decompression-bomb images, and SQLite writers during an import.

Peak memory of the real attack bundles, before and after, is measured by
bench/bench_attack_bundles.py; here each limit is pinned with a small bundle.
"""

from __future__ import annotations

import io
import queue
import threading
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection

import readerstudy.core.images
from readerstudy.bundles.services import study_import
from readerstudy.studies.models import CaseImage, Study
from tests.bundles.crafted_images import png_bomb_header
from tests.conftest import READINGS_CSV, BundleFactory, default_bundle_files

pytestmark = pytest.mark.django_db


def run_import(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_study", str(path), *args, stdout=out)
    return out.getvalue()


def import_error(path: Path) -> str:
    with pytest.raises(CommandError) as info:
        run_import(path)
    assert "nothing was imported" in str(info.value)
    assert not Study.objects.exists()
    return str(info.value)


def zip_bundle(path: Path, files: dict[str, bytes | str], level: int = 9) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, content in files.items():
            zf.writestr(name, content.encode() if isinstance(content, str) else content)
    return path


def test_a_zip_bomb_is_refused_from_its_directory_without_being_inflated(
    tmp_path: Path, settings: Any
) -> None:
    settings.BUNDLE_MAX_TABLE_BYTES = 1024 * 1024
    files: dict[str, bytes | str] = dict(default_bundle_files())
    files["readings.csv"] = READINGS_CSV + "R1,C1,1,4,,,\n" * 2_000_000  # 26 MB, 26 KB zipped
    archive = zip_bundle(tmp_path / "bomb.zip", files)
    assert archive.stat().st_size < 200_000
    tracemalloc.start()
    try:
        message = import_error(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (
        "readings.csv:1: -: is 24.8 MiB; the limit is 1 MiB (READERSTUDY_BUNDLE_MAX_TABLE_BYTES)"
        in message
    )
    assert peak < 5 * 1024 * 1024, f"{peak / 1024**2:.1f} MiB allocated"


def test_a_zip_member_larger_than_it_declares_is_a_damaged_file_not_a_bomb(
    tmp_path: Path,
) -> None:
    files: dict[str, bytes | str] = dict(default_bundle_files())
    files["readers.csv"] = "reader_id,kind\n" + "R1,human\n" * 100_000
    archive = zip_bundle(tmp_path / "liar.zip", files)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("readers.csv")
    # The declared size, in the central directory (offset 24) and the local header (22).
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 57] != b"readers.csv":
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    data[info.header_offset + 22 : info.header_offset + 26] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    message = import_error(archive)
    assert "readers.csv:1: -: the .zip member is damaged (Bad CRC-32" in message


def test_a_bundle_over_the_file_count_and_total_size_is_refused(
    make_bundle: BundleFactory, settings: Any
) -> None:
    settings.BUNDLE_MAX_FILES = 5
    settings.BUNDLE_MAX_BYTES = 1000
    root = make_bundle()
    message = import_error(root)
    name = root.name
    assert (
        f"{name}:1: -: holds 7 files; the limit is 5 files (READERSTUDY_BUNDLE_MAX_FILES)"
        in message
    )
    assert "; the limit is 1,000 bytes (READERSTUDY_BUNDLE_MAX_BYTES)" in message


def test_a_table_with_too_many_columns_is_refused_before_it_is_parsed(
    make_bundle: BundleFactory,
) -> None:
    header = "case_id,truth," + ",".join(f"attribute{i}" for i in range(10_000))
    cases = header + "\n" + "C1,1," + "," * 9_999 + "\n"
    message = import_error(make_bundle(cases_csv=cases))
    assert (
        "cases.csv:1: -: has 10,002 columns; the limit is 100 columns "
        "(READERSTUDY_BUNDLE_MAX_COLUMNS)" in message
    )


def test_a_table_with_too_many_rows_is_refused(make_bundle: BundleFactory, settings: Any) -> None:
    settings.BUNDLE_MAX_ROWS = 4
    message = import_error(make_bundle())
    assert (
        "readings.csv:1: -: has 5 lines after the header; the limit is 4 lines after the "
        "header (READERSTUDY_BUNDLE_MAX_ROWS)" in message
    )


def test_a_decompression_bomb_png_is_refused_from_its_header(make_bundle: BundleFactory) -> None:
    tracemalloc.start()
    try:
        message = import_error(make_bundle(**{"images__C1__bomb.png": png_bomb_header()}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (
        "images/C1/bomb.png:1: -: too large: 60000 x 60000 = 3,600,000,000 pixels; the limit "
        "is 50,000,000 pixels per image (READERSTUDY_IMAGE_MAX_PIXELS)" in message
    )
    assert peak < 20 * 1024 * 1024


def test_an_image_file_over_the_size_limit_is_refused(
    make_bundle: BundleFactory, settings: Any
) -> None:
    settings.IMAGE_MAX_BYTES = 50
    message = import_error(make_bundle())
    assert "images/C1/phase1.png:1: -: is " in message
    assert "; the limit is 50 bytes (READERSTUDY_IMAGE_MAX_BYTES)" in message


def test_the_problems_of_a_million_bad_rows_are_summarised_not_listed(
    make_bundle: BundleFactory,
) -> None:
    readings = READINGS_CSV + "".join(f"X9,C1,{run},4,,,\n" for run in range(1, 5001))
    message = import_error(make_bundle(readings_csv=readings))
    assert "the bundle has 5,000 problems" in message
    assert message.count("unknown reader 'X9'") == 500  # --max-errors 500 by default
    with pytest.raises(CommandError) as info:
        run_import(make_bundle(readings_csv=readings), "--max-errors", "0")
    listed = str(info.value)
    assert listed.count("unknown reader 'X9'") == 1000
    assert (
        "readings.csv:1007: reader_id: and 4,000 more rows with this problem (lines 1007 to "
        "5006): unknown reader ... (not in readers.csv)" in listed
    )


@pytest.mark.django_db(transaction=True)
def test_a_writer_is_not_locked_out_while_an_import_processes_its_images(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite an import must not hold the write lock while it reads and converts images:
    each time the import strips an image, another connection writes with a short busy
    timeout. (On PostgreSQL writers never wait for the import; the test runs there too.)"""
    bundle = make_bundle()
    calls: queue.Queue[threading.Event] = queue.Queue()
    real_strip = readerstudy.core.images.strip_png

    def slow_strip(data: bytes) -> bytes:
        done = threading.Event()
        calls.put(done)
        assert done.wait(10), "the writer did not answer"
        return real_strip(data)

    monkeypatch.setattr(readerstudy.core.images, "strip_png", slow_strip)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            study_import(path=bundle)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            from django.db import connection as thread_connection

            thread_connection.close()

    thread = threading.Thread(target=work)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 300")
    writes: list[str] = []
    thread.start()
    try:
        while thread.is_alive() or not calls.empty():
            try:
                done = calls.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                get_user_model().objects.create(username=f"autosave{len(writes)}")
                writes.append("ok")
            except OperationalError as exc:
                writes.append(str(exc))
            done.set()
    finally:
        thread.join(30)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 20000")
    assert not errors, errors
    assert writes and all(w == "ok" for w in writes), writes
    assert CaseImage.objects.count() == 2
