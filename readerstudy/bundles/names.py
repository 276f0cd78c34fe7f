"""Characters a bundle may not carry, and file names that are safe to write.

Three sets of forbidden characters, each defined once here and used by the import
(vectorised through Arrow's RE2 patterns, or Python's ``re``):

* **ids** (``case_id``, ``reader_id``, ``rater_id``, ``patient_id``, column names, image
  file names): control characters (C0, DEL, C1), bidirectional formatting characters
  (embeddings, overrides, isolates, marks) and invisible zero-width characters, which
  make two ids look alike or reorder what a page shows;
* **labels** (titles, reader labels and groups, scale and domain labels, image series,
  phase and slice): control and bidirectional formatting characters;
* **free text** (impressions, findings, descriptions, case attributes): NUL and the other
  C0 controls except tab, line feed and carriage return (PostgreSQL cannot even store NUL).

``unsafe_path_reason`` decides whether a bundle-relative path (a .zip member, an image
name) may be written below a target folder: no absolute paths, ``..``, drive letters,
backslashes or forbidden characters.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

Ranges = tuple[tuple[int, int], ...]

_CONTROL: Ranges = ((0x00, 0x1F), (0x7F, 0x9F))
_BIDI: Ranges = ((0x061C, 0x061C), (0x200E, 0x200F), (0x202A, 0x202E), (0x2066, 0x2069))
_INVISIBLE: Ranges = ((0x200B, 0x200D), (0x2060, 0x2060), (0xFEFF, 0xFEFF))
_TEXT_CONTROL: Ranges = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x7F))

ID_CHARS: Ranges = _CONTROL + _BIDI + _INVISIBLE
LABEL_CHARS: Ranges = _CONTROL + _BIDI
TEXT_CHARS: Ranges = _TEXT_CONTROL

KIND_MESSAGES = {
    "id": "control, bidirectional-formatting and zero-width characters are not allowed in ids",
    "label": "control and bidirectional-formatting characters are not allowed in labels",
    "text": "NUL and other control characters (except tab and line breaks) are not allowed",
}
FORBIDDEN: dict[str, Ranges] = {"id": ID_CHARS, "label": LABEL_CHARS, "text": TEXT_CHARS}


def re2_class(ranges: Ranges) -> str:
    """The ranges as an RE2 character class (Arrow's ``match_substring_regex``)."""
    parts = [
        f"\\x{{{lo:04X}}}" if lo == hi else f"\\x{{{lo:04X}}}-\\x{{{hi:04X}}}" for lo, hi in ranges
    ]
    return "[" + "".join(parts) + "]"


def python_class(ranges: Ranges) -> re.Pattern[str]:
    parts = [f"\\u{lo:04X}" if lo == hi else f"\\u{lo:04X}-\\u{hi:04X}" for lo, hi in ranges]
    return re.compile("[" + "".join(parts) + "]")


_PATTERNS = {kind: python_class(ranges) for kind, ranges in FORBIDDEN.items()}


def first_forbidden(value: str, kind: str) -> str | None:
    """The first forbidden character of ``value`` as ``U+202E RIGHT-TO-LEFT OVERRIDE``."""
    match = _PATTERNS[kind].search(value)
    if match is None:
        return None
    char = match.group()
    name = unicodedata.name(char, "a control character")
    return f"U+{ord(char):04X} {name}".strip()


def forbidden_message(value: str, kind: str) -> str | None:
    """A problem message for ``value`` when it holds a forbidden character, else None."""
    found = first_forbidden(value, kind)
    return None if found is None else f"contains {found} ({KIND_MESSAGES[kind]})"


_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_LENGTH = 300


def unsafe_path_reason(name: str) -> str | None:
    """Why a bundle-relative POSIX path must not be written below a folder, or None."""
    if not name:
        return "the name is empty"
    if "\x00" in name:
        return "the name contains a NUL character"
    found = first_forbidden(name, "id")
    if found is not None:
        return f"the name contains {found}"
    if "\\" in name:
        return "the name contains a backslash (use / between folders)"
    if name.startswith("/"):
        return "the name is an absolute path"
    if _DRIVE.match(name) or ":" in name:
        return "the name contains ':' (a drive letter or a stream name)"
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "the name has an empty, '.' or '..' folder"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    return None


def safe_relative_path(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside the folder it is written to.

    Raises ``UnsafeNameError`` naming the reason otherwise.
    """
    reason = unsafe_path_reason(name)
    if reason is not None:
        raise UnsafeNameError(f"{name!r}: {reason}")
    return PurePosixPath(name)


class UnsafeNameError(ValueError):
    """A file name would be written outside its target folder (or is not portable)."""
