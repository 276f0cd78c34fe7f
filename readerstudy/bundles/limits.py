"""Resource limits of a bundle, checked before any table or image is read.

Every limit is a setting (``READERSTUDY_BUNDLE_*``, ``READERSTUDY_IMAGE_*``,
``READERSTUDY_DICOM_MAX_FRAMES``; docs/configuration.md). Sizes are uncompressed: for a
.zip, what its directory declares for each member (``zipfile`` never inflates a member
beyond its declared size, it fails with a CRC error instead), for a folder the file
sizes. A bundle over a limit gets one problem per violation and nothing else is read, so a
zip bomb costs the import a directory listing.
"""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

from readerstudy.bundles.problems import Problem
from readerstudy.bundles.source import BundleSource

TOML_MAX_BYTES = 1024 * 1024
TABLE_SUFFIXES = (".csv", ".toml")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm")
#: The per-file size limit of each kind of file, by suffix.
SIZE_FIELDS = {
    **dict.fromkeys(TABLE_SUFFIXES, "max_table_bytes"),
    **dict.fromkeys(IMAGE_SUFFIXES, "max_image_bytes"),
}


@dataclass(frozen=True)
class BundleLimits:
    """Upper bounds of one import (see the settings of the same names)."""

    max_bytes: int
    max_files: int
    max_table_bytes: int
    max_rows: int
    max_columns: int
    max_image_bytes: int
    max_image_pixels: int
    max_dicom_frames: int

    @classmethod
    def from_settings(cls) -> BundleLimits:
        return cls(
            max_bytes=settings.BUNDLE_MAX_BYTES,
            max_files=settings.BUNDLE_MAX_FILES,
            max_table_bytes=settings.BUNDLE_MAX_TABLE_BYTES,
            max_rows=settings.BUNDLE_MAX_ROWS,
            max_columns=settings.BUNDLE_MAX_COLUMNS,
            max_image_bytes=settings.IMAGE_MAX_BYTES,
            max_image_pixels=settings.IMAGE_MAX_PIXELS,
            max_dicom_frames=settings.DICOM_MAX_FRAMES,
        )


#: The environment variable behind each limit, named in the messages.
SETTING = {
    "max_bytes": "READERSTUDY_BUNDLE_MAX_BYTES",
    "max_files": "READERSTUDY_BUNDLE_MAX_FILES",
    "max_table_bytes": "READERSTUDY_BUNDLE_MAX_TABLE_BYTES",
    "max_rows": "READERSTUDY_BUNDLE_MAX_ROWS",
    "max_columns": "READERSTUDY_BUNDLE_MAX_COLUMNS",
    "max_image_bytes": "READERSTUDY_IMAGE_MAX_BYTES",
    "max_image_pixels": "READERSTUDY_IMAGE_MAX_PIXELS",
    "max_dicom_frames": "READERSTUDY_DICOM_MAX_FRAMES",
}


def size_text(n: int) -> str:
    """Bytes in the largest binary unit that keeps the number at least 1 (``256 MiB``)."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:,.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{n:,} bytes"  # pragma: no cover - the loop always returns


def over_limit(what: str, value: int, limits: BundleLimits, field: str, noun: str = "") -> str:
    """``"is 300 MiB; the limit is 256 MiB (READERSTUDY_...)"``-style text.

    ``noun`` follows both numbers (``"files"``); without one the numbers are byte sizes.
    """
    limit = getattr(limits, field)
    if noun:
        shown = f"{value:,} {noun}; the limit is {limit:,} {noun}"
    else:
        shown = f"{size_text(value)}; the limit is {size_text(limit)}"
    return f"{what} {shown} ({SETTING[field]})"


def zip_entry_count(path: Path) -> int | None:
    """How many members a .zip declares in its end-of-central-directory record (also
    Zip64), read from the file's tail without parsing the directory; None if not found."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_size = min(size, 65_535 + 22 + 20)
        fh.seek(size - tail_size)
        tail = fh.read(tail_size)
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or end + 22 > len(tail):
            return None
        (count,) = struct.unpack("<H", tail[end + 10 : end + 12])
        if count != 0xFFFF or end < 20 or tail[end - 20 : end - 16] != b"PK\x06\x07":
            return count
        (offset,) = struct.unpack("<Q", tail[end - 12 : end - 4])
        fh.seek(offset)
        record = fh.read(40)
        if record[:4] != b"PK\x06\x06":
            return None
        (count64,) = struct.unpack("<Q", record[32:40])
        return count64


def zip_directory_problems(path: Path, limits: BundleLimits) -> list[Problem]:
    """A .zip declaring more members than ``max_files`` is refused before its directory is
    parsed (``zipfile`` builds an object per member: a million members cost gigabytes)."""
    if not path.is_file() or not zipfile.is_zipfile(path):
        return []
    count = zip_entry_count(path)
    if count is None or count <= limits.max_files:
        return []
    message = over_limit("holds", count, limits, "max_files", "files")
    return [Problem(path.name, 1, "-", message)]


def check_bundle_limits(source: BundleSource, limits: BundleLimits) -> list[Problem]:
    """Problems of the bundle's size, file count, file names and per-file sizes."""
    bundle = source.path.name or str(source.path)
    problems: list[Problem] = []
    entries = source.entries()
    total = 0
    for entry in entries:
        total += entry.size
        if entry.problem:
            problems.append(Problem(entry.name, 1, "-", entry.problem))
            continue
        suffix = PurePosixPath(entry.name).suffix.lower()
        if entry.name == "study.toml":
            if entry.size > TOML_MAX_BYTES:
                message = f"is {size_text(entry.size)}; study.toml may hold at most 1 MiB"
                problems.append(Problem(entry.name, 1, "-", message))
            continue
        field = SIZE_FIELDS.get(suffix)
        if field is not None and entry.size > getattr(limits, field):
            message = over_limit("is", entry.size, limits, field)
            problems.append(Problem(entry.name, 1, "-", message))
    if len(entries) > limits.max_files:
        problems.append(
            Problem(bundle, 1, "-", over_limit("holds", len(entries), limits, "max_files", "files"))
        )
    if total > limits.max_bytes:
        problems.append(Problem(bundle, 1, "-", over_limit("holds", total, limits, "max_bytes")))
    return problems
