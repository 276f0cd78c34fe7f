"""Parse and validate a whole study bundle before anything is written.

Every problem is collected (not only the first) and reported as ``file:line: column:
message``. Tables are read with the ``csv`` module, which keeps track of physical line
numbers even when a quoted field spans several lines, and validated column by column with
pandas, so a million readings are checked in seconds.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.conf import settings

from evaluation.instruments import (
    DEFAULT_ACCEPTABILITY,
    DEFAULT_TAXONOMY,
    AcceptabilityScale,
    DomainScale,
    ErrorTaxonomy,
    parse_acceptability,
    parse_domain_scale,
    parse_errors,
    stored_errors,
)
from evaluation.models import REFERENCE_READER
from readerstudy.bundles.flow import flow_problems
from readerstudy.bundles.limits import (
    TOML_MAX_BYTES,
    BundleLimits,
    check_bundle_limits,
    over_limit,
)
from readerstudy.bundles.names import (
    FORBIDDEN,
    KIND_MESSAGES,
    forbidden_message,
    re2_class,
    unsafe_path_reason,
)
from readerstudy.bundles.problems import BundleError, Problem
from readerstudy.bundles.source import BundleReadError, BundleSource
from readerstudy.core.choices import CONSENSUS_RULES, DEFAULT_CONSENSUS
from readerstudy.core.dicom import (
    DicomError,
    DicomInstance,
    deidentify,
    patient_pseudonym,
    series_order,
)
from readerstudy.core.images import ImageError, sniff_content_type, strip_metadata
from readerstudy.core.spreadsheet import restore_cell, restore_series
from readerstudy.studies.display import (
    ImageDisplayError,
    geometry_problem,
    image_geometry,
    render_display,
)
from readerstudy.studies.models import Case, Reader

if TYPE_CHECKING:  # within the part: judgments imports this module
    from readerstudy.bundles.findings import ParsedFindings
    from readerstudy.bundles.judgments import ParsedJudgments

SLUG_RE = re.compile(r"[-a-zA-Z0-9_]+")  # used with fullmatch: "$" would admit a final "\n"
IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "dcm": "application/dicom",
}
MAX_ID_LENGTH = 100
DICOM_TYPE = "application/dicom"
MAX_IMAGE_NAME_LENGTH = 300  # CaseImage.original_name
IMAGE_HEADER_BYTES = 256 * 1024  # read first: an image's size is checked before it is read

CASE_COLUMNS = (
    "case_id",
    "patient_id",
    "split",
    "truth",
    "location",
    "clinical_history",
    "findings",
    "reference_impression",
    "truth_detail",
)
READER_COLUMNS = (
    "reader_id",
    "kind",
    "label",
    "group",
    "years_experience",
    "interpretations",
    "description",
)
READING_COLUMNS = (
    "reader_id",
    "case_id",
    "run",
    "modality",
    "category",
    "score",
    "impression",
    "seconds",
)
RATING_COLUMNS = ("rater_id", "reader_id", "case_id", "run", "modality", "domain", "score")
IMAGE_COLUMNS = ("case_id", "file", "series", "phase", "slice", "order")


@dataclass
class DomainSpec:
    key: str
    label: str
    group: str
    description: str
    extra: dict[str, Any]
    #: The domain's own range (``min``/``max`` in study.toml), None for the study's.
    scale: DomainScale | None = None


@dataclass
class StudySpec:
    slug: str
    title: str
    description: str
    scale_name: str
    categories: list[int]
    category_labels: dict[int, str]
    positive_threshold: int
    consensus: str
    reference_reader: str | None
    likert_min: int
    likert_max: int
    domains: list[DomainSpec]
    config: dict[str, Any]
    acceptability: AcceptabilityScale = DEFAULT_ACCEPTABILITY
    taxonomy: ErrorTaxonomy = DEFAULT_TAXONOMY
    #: Parts of study.toml that could not be read ("scale", "likert", "domains",
    #: "acceptability", "errors"): the
    #: checks of other files that depend on them are skipped instead of failing every row.
    unreadable: set[str] = field(default_factory=set)


TOML_LABELS = {"title", "scale.name", "likert.domains.label", "likert.domains.group"}
#: Lengths of the database columns that store these study.toml values.
TOML_LENGTHS = {
    "title": 300,
    "scale.name": 80,
    "likert.domains.label": 200,
    "likert.domains.group": 200,
}


@dataclass
class ImageSpec:
    case_id: str
    path: str  # inside the bundle
    name: str  # relative to images/<case_id>/
    series: str
    phase: str
    slice: str
    order: int
    dicom_series: str = ""  # replaced Series Instance UID (DICOM only)
    dicom_series_index: int | None = None  # 0-based position of the series in the case
    dicom_slice: int | None = None  # 0-based position of the instance in its series


@dataclass
class ParsedBundle:
    study: StudySpec
    cases: pd.DataFrame
    case_attributes: list[str]
    readers: pd.DataFrame
    readings: pd.DataFrame
    ratings: pd.DataFrame | None
    images: list[ImageSpec] = field(default_factory=list)
    judgments: ParsedJudgments | None = None
    findings: ParsedFindings | None = None
    #: marks.csv (readerstudy/bundles/marks.py), None when the bundle has none.
    marks: pd.DataFrame | None = None


#: Rows listed one by one for a single check of one column; the rest get one summary entry,
#: so a million bad rows cost a thousand messages, not a million.
MAX_LISTED_ROWS = 1000


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, line: int, column: str, message: str) -> None:
        self.items.append(Problem(file, int(line), column, message))

    def add_rows(
        self,
        file: str,
        lines: np.ndarray | list[int],
        column: str,
        values: pd.Series | list[object],
        message: str,
    ) -> None:
        """One problem per flagged row; ``message`` may contain ``{value}``.

        Only the first ``MAX_LISTED_ROWS`` rows are listed; one more entry counts the others.
        """
        lines = lines.tolist() if isinstance(lines, np.ndarray) else list(lines)
        shown = values.iloc[:MAX_LISTED_ROWS] if isinstance(values, pd.Series) else values
        for line, value in zip(lines[:MAX_LISTED_ROWS], list(shown), strict=False):
            self.add(file, line, column, message.format(value=_show(value)))
        self.add_more(file, lines[MAX_LISTED_ROWS:], column, message.format(value="..."))

    def add_more(self, file: str, lines: list[int], column: str, message: str) -> None:
        """The summary entry of rows beyond the listed ones (nothing when there are none)."""
        if lines:
            self.items.append(
                Problem(
                    file,
                    int(lines[0]),
                    column,
                    f"and {len(lines):,} more rows with this problem (lines {lines[0]} to "
                    f"{lines[-1]}): {message}",
                    count=len(lines),
                )
            )


def _show(value: object) -> str:
    if isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


UTF8_BOM = b"\xef\xbb\xbf"


def _read(source: BundleSource, name: str, problems: _Problems, limit: int) -> bytes | None:
    """The bytes of one file, or None (reported) when it is damaged or over ``limit``."""
    try:
        return source.read_bytes(name, limit=limit)
    except BundleReadError as exc:
        problems.add(name, 1, "-", str(exc))
        return None


def _decode(name: str, raw: bytes, problems: _Problems, hint: str = "") -> str | None:
    """UTF-8 text without its BOM; a problem naming the offending byte (offsets count the
    BOM, so they match a hex editor's) and its line otherwise."""
    skip = len(UTF8_BOM) if raw.startswith(UTF8_BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = raw.count(b"\n", 0, offset) + 1
        problems.add(
            name,
            line,
            "-",
            f"bytes are not valid UTF-8 (byte 0x{raw[offset]:02x} at offset {offset}){hint}",
        )
        return None


def _text_problem(value: object, kind: str) -> str | None:
    """Forbidden characters in a string from study.toml (None for other values)."""
    return forbidden_message(value, kind) if isinstance(value, str) else None


MAX_TOML_DEPTH = 20


def _toml_depth(value: object, depth: int = 0) -> int:
    """Nesting depth of arrays and tables (stops counting past ``MAX_TOML_DEPTH``)."""
    if depth > MAX_TOML_DEPTH:
        return depth
    if isinstance(value, dict):
        return max((_toml_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_toml_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


TomlTable = tuple[str, int] | None


def _toml_strings(
    value: object, path: str = "", table: TomlTable = None
) -> Iterator[tuple[str, str, bool, TomlTable]]:
    """Every (dotted key, string, is_key, [[table]] and index) of a parsed TOML document."""
    if isinstance(value, dict):
        for key, item in value.items():
            dotted = f"{path}.{key}" if path else str(key)
            yield dotted, str(key), True, table
            yield from _toml_strings(item, dotted, table)
    elif isinstance(value, list):
        tables = all(isinstance(item, dict) for item in value)
        for i, item in enumerate(value):
            yield from _toml_strings(item, path, (path, i) if tables else table)
    elif isinstance(value, str):
        yield path, value, False, table


# ----------------------------------------------------------------------------- study.toml


def _toml_line(text: str, key: str, nth_table: tuple[str, int] | None = None) -> int:
    """Best-effort line of ``key = ...`` (inside the n-th ``[[table]]`` when given)."""
    lines = text.splitlines()
    start, stop = 0, len(lines)
    if nth_table is not None:
        header, index = nth_table
        starts = [i for i, ln in enumerate(lines) if ln.strip() == f"[[{header}]]"]
        if index < len(starts):
            start = starts[index]
            later = [i for i, ln in enumerate(lines) if i > start and ln.strip().startswith("[")]
            stop = later[0] if later else len(lines)
    pattern = re.compile(rf"^\s*{re.escape(key.split('.')[-1])}\s*=")
    for i in range(start, stop):
        if pattern.match(lines[i]):
            return i + 1
    return start + 1


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_study_toml(source: BundleSource, problems: _Problems) -> tuple[StudySpec | None, str]:
    name = "study.toml"
    if not source.exists(name):
        problems.add(name, 1, "-", "file is missing (every bundle needs a study.toml)")
        return None, ""
    raw = _read(source, name, problems, TOML_MAX_BYTES)
    text = None if raw is None else _decode(name, raw, problems)
    if text is None:
        return None, ""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        problems.add(
            name, 1, "-", f"not valid here: arrays or tables nested deeper than {MAX_TOML_DEPTH}"
        )
        return None, text
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f"column {match.group(2)}" if match else "-"
        problems.add(name, line, col, f"not valid TOML: {message}")
        return None, text
    if _toml_depth(data) > MAX_TOML_DEPTH:
        problems.add(
            name, 1, "-", f"not valid here: arrays or tables nested deeper than {MAX_TOML_DEPTH}"
        )
        return None, text
    for dotted, value, is_key, table in _toml_strings(data):
        kind = "id" if dotted == "reference_reader" else "text"
        if (
            is_key
            or dotted in TOML_LABELS
            or dotted.startswith(
                ("scale.labels.", "modalities.", "acceptability.labels.", "errors.categories.")
            )
        ):
            kind = "label"
        forbidden = forbidden_message(value, kind)
        line = _toml_line(text, dotted, table)
        if forbidden is not None:
            what = "key" if is_key else "value"
            problems.add(name, line, dotted, f"{what} {forbidden}")
        limit = TOML_LENGTHS.get(dotted, 200 if dotted.startswith("scale.labels.") else None)
        if not is_key and limit is not None and len(value) > limit:
            problems.add(name, line, dotted, f"is longer than {limit} characters")

    unreadable: set[str] = set()

    def bad(key: str, message: str, table: tuple[str, int] | None = None) -> None:
        problems.add(name, _toml_line(text, key, table), key, message)

    config = {
        k: v
        for k, v in data.items()
        if k
        not in {"slug", "title", "description", "reference_reader", "scale", "repeats", "likert"}
    }

    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        bad("slug", 'required: a short identifier such as "nme-gpt4o"')
    elif not SLUG_RE.fullmatch(slug) or len(slug) > 80:
        bad("slug", f"must be at most 80 letters, digits, '-' or '_', got {slug!r}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        bad("title", "required: the study title")
    description = data.get("description", "")
    if not isinstance(description, str):
        bad("description", "must be a string")
        description = ""
    reference_reader = data.get("reference_reader")
    if reference_reader is not None and (
        not isinstance(reference_reader, str) or not reference_reader
    ):
        bad("reference_reader", "must be a reader_id from readers.csv")
        reference_reader = None

    scale = data.get("scale")
    categories: list[int] = []
    labels: dict[int, str] = {}
    threshold = 0
    scale_name = "BI-RADS"
    if not isinstance(scale, dict):
        unreadable.add("scale")
        problems.add(
            name,
            1,
            "scale",
            "required table [scale] with categories and positive_threshold is missing",
        )
    else:
        config_scale = {
            k: v
            for k, v in scale.items()
            if k not in {"name", "categories", "positive_threshold", "labels"}
        }
        if config_scale:
            config["scale"] = config_scale
        scale_name = scale.get("name", "BI-RADS")
        if not isinstance(scale_name, str) or not scale_name:
            bad("scale.name", "must be a non-empty string")
            scale_name = "BI-RADS"
        cats = scale.get("categories")
        if not isinstance(cats, list) or not cats or not all(_is_int(c) for c in cats):
            unreadable.add("scale")
            bad("scale.categories", "required: a list of integers such as [0, 1, 2, 3, 4, 5, 6]")
        elif len(set(cats)) != len(cats):
            unreadable.add("scale")
            bad("scale.categories", "categories must be unique")
        elif any(not -32768 <= c <= 32767 for c in cats):
            unreadable.add("scale")
            bad("scale.categories", "categories must be between -32768 and 32767")
        else:
            categories = sorted(cats)
        thr = scale.get("positive_threshold")
        if not _is_int(thr):
            bad(
                "scale.positive_threshold",
                "required: an integer; category >= it is a positive call",
            )
        elif categories and thr not in categories:
            bad(
                "scale.positive_threshold", f"must be one of the categories {categories}, got {thr}"
            )
        else:
            threshold = int(thr)
        raw_labels = scale.get("labels", {})
        if not isinstance(raw_labels, dict):
            bad("scale.labels", "must be a table mapping a category to its label")
        else:
            for key, label in raw_labels.items():
                try:
                    number = int(key)
                except ValueError:
                    bad("scale.labels", f"label key {key!r} is not a category number")
                    continue
                if categories and number not in categories:
                    bad("scale.labels", f"label for {number}, which is not a category")
                elif not isinstance(label, str):
                    bad("scale.labels", f"label of {number} must be a string")
                else:
                    labels[number] = label

    repeats = data.get("repeats", {})
    consensus = DEFAULT_CONSENSUS
    if not isinstance(repeats, dict):
        problems.add(name, _toml_line(text, "repeats"), "repeats", "must be a table")
    else:
        extra = {k: v for k, v in repeats.items() if k != "consensus"}
        if extra:
            config["repeats"] = extra
        consensus = repeats.get("consensus", DEFAULT_CONSENSUS)
        if consensus not in CONSENSUS_RULES:
            bad(
                "repeats.consensus",
                f"must be one of {', '.join(CONSENSUS_RULES)}, got {consensus!r}",
            )
            consensus = DEFAULT_CONSENSUS

    likert = data.get("likert", {})
    likert_min, likert_max = 1, 5
    domains: list[DomainSpec] = []
    if not isinstance(likert, dict):
        unreadable.update({"likert", "domains"})
        problems.add(name, _toml_line(text, "likert"), "likert", "must be a table")
    else:
        extra = {k: v for k, v in likert.items() if k not in {"min", "max", "domains"}}
        if extra:
            config["likert"] = extra
        lo, hi = likert.get("min", 1), likert.get("max", 5)
        if not _is_int(lo) or not _is_int(hi) or lo >= hi or not (lo >= -100 and hi <= 100):
            unreadable.add("likert")
            bad(
                "likert.min",
                f"likert min and max must be integers with min < max, got {lo!r} and {hi!r}",
            )
        else:
            likert_min, likert_max = lo, hi
        raw_domains = likert.get("domains", [])
        if not isinstance(raw_domains, list):
            unreadable.add("domains")
            bad("likert.domains", "must be an array of tables [[likert.domains]]")
            raw_domains = []
        seen: set[str] = set()
        for i, dom in enumerate(raw_domains):
            where = ("likert.domains", i)
            if not isinstance(dom, dict):
                unreadable.add("domains")
                bad("likert.domains", f"domain {i + 1} must be a table", where)
                continue
            key = dom.get("key")
            if not isinstance(key, str) or not SLUG_RE.fullmatch(key or ""):
                unreadable.add("domains")
                bad(
                    "key",
                    f"domain {i + 1}: key must be letters, digits, '-' or '_', got {key!r}",
                    where,
                )
                continue
            if key in seen:
                bad("key", f"domain key {key!r} appears twice", where)
                continue
            seen.add(key)
            label = dom.get("label", key.replace("_", " ").capitalize())
            group = dom.get("group", "")
            desc = dom.get("description", "")
            if not all(isinstance(v, str) for v in (label, group, desc)):
                unreadable.add("domains")
                bad("label", f"domain {key!r}: label, group and description must be strings", where)
                continue
            extra_dom = {
                k: v for k, v in dom.items() if k not in {"key", "label", "group", "description"}
            }
            scale = None
            if "likert" not in unreadable and ({"min", "max", "anchors"} & set(dom)):
                scale, found = parse_domain_scale(dom, low=likert_min, high=likert_max)
                for field_key, message in found:
                    bad(field_key, f"domain {key!r}: {message}", where)
                if found:
                    unreadable.add("domains")
            domains.append(DomainSpec(key, label, group, desc, extra_dom, scale))

    # [acceptability] and [errors] stay in ``config`` verbatim (written back on export);
    # evaluation.instruments reads them from there.
    acceptability, acceptability_problems = parse_acceptability(data.get("acceptability"))
    taxonomy, error_problems = parse_errors(data.get("errors"))
    stored = config.get("errors")
    if not error_problems and isinstance(stored, dict) and "categories" in stored:
        config["errors"] = stored_errors(stored, taxonomy)
    for part, found in (("acceptability", acceptability_problems), ("errors", error_problems)):
        if found:
            unreadable.add(part)
        for key, message in found:
            bad(key, message)

    _check_modality_labels(
        data.get("modalities"), text, lambda line, msg: problems.add(name, line, "modalities", msg)
    )
    from readerstudy.bundles.marks import localisation_problems  # (cycle)

    for key, message in localisation_problems(data.get("localisation")):
        bad(key, message)
    for key, message in flow_problems(data.get("flow")):
        problems.add(name, _flow_line(text, key), key, message)

    # Returned even with problems: the other files are still checked against what could be
    # read (categories, domains, Likert range), so every problem is reported in one pass.
    return (
        StudySpec(
            slug=slug if isinstance(slug, str) else "",
            title=title.strip() if isinstance(title, str) else "",
            description=description,
            scale_name=scale_name,
            categories=categories,
            category_labels=labels,
            positive_threshold=threshold,
            consensus=consensus,
            reference_reader=reference_reader,
            likert_min=likert_min,
            likert_max=likert_max,
            domains=domains,
            config=config,
            acceptability=acceptability,
            taxonomy=taxonomy,
            unreadable=unreadable,
        ),
        text,
    )


def _flow_line(text: str, key: str) -> int:
    """Line of a ``[flow]`` key: ``flow.assessed``, ``flow.excluded[2].n``, ..."""
    match = re.fullmatch(r"flow\.excluded\[(\d+)\](?:\.(\w+))?", key)
    if match:
        return _toml_line(
            text, match.group(2) or "reason", ("flow.excluded", int(match.group(1)) - 1)
        )
    lines = text.splitlines()
    header = next((i for i, ln in enumerate(lines) if ln.strip() == "[flow]"), None)
    if header is None:
        return _toml_line(text, "flow")
    leaf = key.split(".")[-1]
    for i in range(header + 1, len(lines)):
        if lines[i].strip().startswith("["):
            break
        if re.match(rf"^\s*{re.escape(leaf)}\s*=", lines[i]):
            return i + 1
    return header + 1


#: Longest label of a modality in ``[modalities]`` of study.toml.
MODALITY_LABEL_MAX = 100


def _modality_line(text: str, key: str | None) -> int:
    """Line of ``[modalities]`` (or of ``key = ...`` inside it, or of ``modalities = ...``)."""
    lines = text.splitlines()
    header = next((i for i, ln in enumerate(lines) if ln.strip() == "[modalities]"), None)
    if header is None:
        return _toml_line(text, "modalities")
    if key is not None:
        pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
        for i in range(header + 1, len(lines)):
            if lines[i].strip().startswith("["):
                break
            if pattern.match(lines[i]):
                return i + 1
    return header + 1


def _check_modality_labels(raw: object, text: str, add: Callable[[int, str], None]) -> None:
    """``[modalities]``: optional labels of the reading conditions, e.g. ``1 = "unaided"``.

    The table is kept verbatim in the study's config (and written back on export); the
    analysis uses it to label modalities in tables, figures and notes.
    """
    if raw is None:
        return
    if not isinstance(raw, dict):
        add(
            _modality_line(text, None),
            'must be a table mapping a modality number to its label: 1 = "unaided"',
        )
        return
    for key, label in raw.items():
        line = _modality_line(text, key)
        if not (key.isascii() and key.isdigit()) or int(key) < 1:
            add(line, f"key {key!r} is not a modality number (1, 2, ...)")
        elif not isinstance(label, str) or not label.strip():
            add(line, f"label of modality {key} must be a non-empty string")
        elif len(label) > MODALITY_LABEL_MAX:
            add(line, f"label of modality {key} is longer than {MODALITY_LABEL_MAX} characters")


# ----------------------------------------------------------------------------- CSV tables


@dataclass
class Table:
    name: str
    frame: pd.DataFrame  # all values str; missing optional columns filled with ""
    lines: np.ndarray  # physical start line of each row
    extra_columns: list[str]


def read_table(
    source: BundleSource,
    name: str,
    problems: _Problems,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    allow_extra: bool = False,
    limits: BundleLimits | None = None,
) -> Table | None:
    """Read one CSV; report encoding, header and row-shape problems; return text columns."""
    limits = limits or BundleLimits.from_settings()
    raw = _read(source, name, problems, limits.max_table_bytes)
    if raw is None:
        return None
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if lines - 1 > limits.max_rows:
        problems.add(
            name, 1, "-", over_limit("has", lines - 1, limits, "max_rows", "lines after the header")
        )
        return None
    text = _decode(name, raw, problems, "; save the file as UTF-8")
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        problems.add(name, 1, "-", "file is empty (a header row is required)")
        return None
    except csv.Error as exc:
        problems.add(name, 1, "-", f"not valid CSV: {exc}")
        return None
    if len(header) > limits.max_columns:
        problems.add(name, 1, "-", over_limit("has", len(header), limits, "max_columns", "columns"))
        return None
    header = [restore_cell(h).strip() for h in header]
    ok = True
    seen: set[str] = set()
    for h in header:
        message = forbidden_message(h, "id")
        if not h:
            problems.add(name, 1, "-", "a header cell is empty")
            ok = False
        elif message is not None:
            problems.add(name, 1, repr(h), f"column name {message}")
            ok = False
        elif h in seen:
            problems.add(name, 1, h, "column appears twice in the header")
            ok = False
        seen.add(h)
    for col in required:
        if col not in seen:
            problems.add(name, 1, col, "required column is missing")
            ok = False
    extra = [h for h in header if h and h not in required and h not in optional]
    if extra and not allow_extra:
        known = ", ".join(required + optional)
        for h in extra:
            problems.add(name, 1, h, f"unknown column (expected: {known})")
        ok = False
    if not ok:
        return None

    body = raw[len(UTF8_BOM) :] if raw.startswith(UTF8_BOM) else raw
    del raw
    loaded = _read_fast(body, text, header)
    del body
    if loaded is None:
        loaded = _read_slow(name, text, header, problems)
    if loaded is None:
        return None
    frame, row_lines = loaded
    for col in frame.columns:
        # A leading quote that neutralised a formula (readerstudy/core/spreadsheet.py) goes.
        frame[col] = restore_series(frame[col])
    for col in optional:
        if col not in frame.columns:
            frame[col] = pd.Series([""] * len(frame), dtype="str")
    return Table(name, frame, row_lines, extra)


def _read_fast(body: bytes, text: str, header: list[str]) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Parse with Arrow's multithreaded CSV reader; ``None`` if any row is malformed.

    Row line numbers are ``2, 3, ...`` when no quoted field spans lines and no line is blank;
    otherwise they come from a pass of the ``csv`` module.
    """
    malformed: list[object] = []

    def on_invalid(row: object) -> str:
        malformed.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if malformed:
        return None
    n = table.num_rows
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical == n + 1:
        lines = np.arange(2, n + 2, dtype=np.int64)
    else:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        next(reader)
        starts: list[int] = []
        previous = reader.line_num
        for row in reader:
            if row:
                starts.append(previous + 1)
            previous = reader.line_num
        if len(starts) != n:
            return None
        lines = np.asarray(starts, dtype=np.int64)
    frame = table.to_pandas()
    frame.columns = header
    return frame, lines


def _read_slow(
    name: str, text: str, header: list[str], problems: _Problems
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Row-by-row parse that reports every malformed row with its line number."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next(reader)
    width = len(header)
    columns: list[list[str]] = [[] for _ in range(width)]
    lines: list[int] = []
    previous = reader.line_num
    bad = False
    try:
        for row in reader:
            start = previous + 1
            previous = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                problems.add(
                    name, start, "-", f"expected {width} fields as in the header, found {len(row)}"
                )
                bad = True
                continue
            lines.append(start)
            for j, value in enumerate(row):
                columns[j].append(value)
    except csv.Error as exc:
        problems.add(name, reader.line_num, "-", f"not valid CSV: {exc}")
        return None
    if bad:
        return None
    frame = pd.DataFrame({h: pd.Series(columns[j], dtype="str") for j, h in enumerate(header)})
    return frame, np.asarray(lines, dtype=np.int64)


INT_PATTERN = r"^[+-]?[0-9]+(\.0*)?$"
FLOAT_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _parse_numbers(text: pd.Series, pattern: str) -> tuple[pd.Series, pd.Series]:
    """Vectorised parse of stripped text: (float64 values with NaN, mask of unparseable)."""
    arr = pa.array(text.to_numpy(dtype=object) if text.dtype == object else text, type=pa.string())
    ok = pc.match_substring_regex(arr, pattern)
    values = pc.cast(pc.if_else(ok, arr, "nan"), pa.float64()).to_numpy(zero_copy_only=False)
    return pd.Series(values, index=text.index), pd.Series(
        ~ok.to_numpy(zero_copy_only=False), index=text.index
    )


_RE2_FORBIDDEN = {kind: re2_class(ranges) for kind, ranges in FORBIDDEN.items()}


def _arrow_strings(values: pd.Series) -> pa.Array:
    return pa.array(
        values.to_numpy(dtype=object) if values.dtype == object else values, type=pa.string()
    )


def _characters(
    table: Table, column: str, problems: _Problems, kind: str, values: pd.Series | None = None
) -> None:
    """Report cells of ``column`` holding characters forbidden for ``kind`` (names.py)."""
    values = table.frame[column] if values is None else values
    hit = pc.match_substring_regex(_arrow_strings(values), _RE2_FORBIDDEN[kind])
    rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    if not len(rows):
        return
    lines = table.lines[rows].tolist()
    for i, line in zip(rows[:MAX_LISTED_ROWS].tolist(), lines, strict=False):
        problems.add(table.name, line, column, forbidden_message(values.iat[i], kind) or "")
    problems.add_more(table.name, lines[MAX_LISTED_ROWS:], column, KIND_MESSAGES[kind])


def _ids(table: Table, column: str, problems: _Problems, *, defining: bool = False) -> pd.Series:
    """Stripped identifiers; empty or over-long ones are reported, and where the table
    defines them (``defining``) forbidden characters too."""
    values = table.frame[column].str.strip()
    if defining:
        _characters(table, column, problems, "id", values)
    empty = values == ""
    if empty.any():
        problems.add_rows(
            table.name, table.lines[empty.to_numpy()], column, values[empty], "must not be empty"
        )
    long = values.str.len() > MAX_ID_LENGTH
    if long.any():
        problems.add_rows(
            table.name,
            table.lines[long.to_numpy()],
            column,
            values[long],
            f"is longer than {MAX_ID_LENGTH} characters: {{value}}",
        )
    return values


def _integers(
    table: Table,
    column: str,
    problems: _Problems,
    *,
    default: int | None,
    required: bool = False,
    minimum: int | None = None,
    maximum: int = 32767,
    what: str = "an integer",
) -> pd.Series:
    """Integer column as float64: ``default`` where empty, else NaN (an error if ``required``)."""
    text = table.frame[column].str.strip()
    empty = text == ""
    number, unparsed = _parse_numbers(text, INT_PATTERN)
    invalid = ~empty & unparsed
    if invalid.any():
        problems.add_rows(
            table.name,
            table.lines[invalid.to_numpy()],
            column,
            text[invalid],
            f"must be {what}, got {{value}}",
        )
    ok = ~empty & ~invalid
    if minimum is not None:
        low = ok & (number < minimum)
        if low.any():
            problems.add_rows(
                table.name,
                table.lines[low.to_numpy()],
                column,
                text[low],
                f"must be at least {minimum}, got {{value}}",
            )
    high = ok & (number > maximum)
    if high.any():
        problems.add_rows(
            table.name,
            table.lines[high.to_numpy()],
            column,
            text[high],
            f"must be at most {maximum}, got {{value}}",
        )
    if required:
        if empty.any():
            problems.add_rows(
                table.name, table.lines[empty.to_numpy()], column, text[empty], "must not be empty"
            )
    elif default is not None:
        number = number.where(~empty, float(default))
    return number


def _floats(
    table: Table, column: str, problems: _Problems, *, minimum: float | None = None
) -> pd.Series:
    """Optional real column (NaN when empty)."""
    text = table.frame[column].str.strip()
    empty = text == ""
    number, unparsed = _parse_numbers(text, FLOAT_PATTERN)
    invalid = ~empty & unparsed
    if invalid.any():
        problems.add_rows(
            table.name,
            table.lines[invalid.to_numpy()],
            column,
            text[invalid],
            "must be a number, got {value}",
        )
    if minimum is not None:
        low = ~invalid & ~empty & (number < minimum)
        if low.any():
            problems.add_rows(
                table.name,
                table.lines[low.to_numpy()],
                column,
                text[low],
                f"must be at least {minimum}, got {{value}}",
            )
    return number


def _duplicates(
    name: str,
    keys_frame: pd.DataFrame,
    lines: np.ndarray,
    problems: _Problems,
    what: str,
) -> None:
    """Report every row that repeats the keys of an earlier row, naming the first one.

    ``keys_frame`` holds only the key columns of the rows whose keys could be read (rows with
    an unreadable key are reported for that and left out here).
    """
    keys = list(keys_frame.columns)
    dup = keys_frame.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    sub = keys_frame.loc[dup].copy()
    sub["_line"] = lines[dup]
    first_line = sub.groupby(keys, sort=False)["_line"].transform("min")
    later = (sub["_line"] != first_line).to_numpy()
    later_lines = sub["_line"].to_numpy()[later].tolist()
    firsts = first_line.to_numpy()[later][:MAX_LISTED_ROWS].tolist()
    rows = sub.loc[later, keys].iloc[:MAX_LISTED_ROWS].itertuples(index=False, name=None)
    for line, first, key_values in zip(later_lines, firsts, rows, strict=False):
        described = ", ".join(f"{k}={_show(v)}" for k, v in zip(keys, key_values, strict=True))
        problems.add(name, line, keys[0], f"duplicate {what} ({described}); first on line {first}")
    problems.add_more(name, later_lines[MAX_LISTED_ROWS:], keys[0], f"duplicate {what}")


def _lengths(
    table: Table, problems: _Problems, limits: dict[str, int], values: pd.DataFrame | None = None
) -> None:
    """Report cells longer than the database column that stores them."""
    frame = table.frame if values is None else values
    for col, limit in limits.items():
        long = frame[col].str.len() > limit
        if long.any():
            problems.add_rows(
                table.name,
                table.lines[long.to_numpy()],
                col,
                frame[col][long],
                f"is longer than {limit} characters: {{value}}",
            )


def parse_cases(
    source: BundleSource, problems: _Problems, *, limits: BundleLimits | None = None
) -> tuple[pd.DataFrame | None, list[str], pd.Index | None]:
    """cases.csv; also returns the case ids that could be read, for checking other files."""
    name = "cases.csv"
    if not source.exists(name):
        problems.add(name, 1, "-", "file is missing (every bundle needs cases.csv)")
        return None, [], None
    table = read_table(
        source,
        name,
        problems,
        required=("case_id", "truth"),
        optional=(*CASE_COLUMNS[2:], "patient_id"),
        allow_extra=True,
        limits=limits,
    )
    if table is None:
        return None, [], None
    frame = table.frame
    before = len(problems.items)
    case_id = _ids(table, "case_id", problems, defining=True)
    folder = (
        case_id.isin([".", ".."])
        | case_id.str.contains("/", regex=False)
        | (case_id.str.contains("\\", regex=False))
    )
    if folder.any():
        problems.add_rows(
            name,
            table.lines[folder.to_numpy()],
            "case_id",
            case_id[folder],
            "must not be '.' or '..' or contain / or \\ (it names the folder "
            "images/<case_id>/): {value}",
        )
    truth_text = frame["truth"].str.strip()
    bad_truth = ~truth_text.isin(["0", "1"])
    if bad_truth.any():
        problems.add_rows(
            name,
            table.lines[bad_truth.to_numpy()],
            "truth",
            truth_text[bad_truth],
            "must be 0 or 1, got {value}",
        )
    split = frame["split"].str.strip().str.lower().replace("", "test")
    bad_split = ~split.isin(Case.Split.values)
    if bad_split.any():
        problems.add_rows(
            name,
            table.lines[bad_split.to_numpy()],
            "split",
            frame["split"][bad_split],
            "must be train or test, got {value}",
        )
    _lengths(table, problems, {"patient_id": 100, "location": 300, "truth_detail": 300})
    _characters(table, "patient_id", problems, "id")
    _characters(table, "location", problems, "label")
    for col in (*CASE_COLUMNS[5:], *table.extra_columns):
        _characters(table, col, problems, "text")
    out = pd.DataFrame(
        {
            "case_id": case_id,
            "line": table.lines,
            "patient_id": frame["patient_id"].str.strip(),
            "split": split,
            "truth": pd.to_numeric(truth_text.where(~bad_truth, "0")).astype(np.int8),
            "location": frame["location"],
            "clinical_history": frame["clinical_history"],
            "findings": frame["findings"],
            "reference_impression": frame["reference_impression"],
            "truth_detail": frame["truth_detail"],
        }
    )
    readable = (case_id != "").to_numpy()
    _duplicates(name, out.loc[readable, ["case_id"]], table.lines[readable], problems, "case_id")
    for col in table.extra_columns:
        out["attr:" + col] = frame[col]
    ids = pd.Index(case_id[case_id != ""].unique())
    if len(problems.items) > before:
        return None, table.extra_columns, ids
    return out, table.extra_columns, ids


def parse_readers(
    source: BundleSource, problems: _Problems, *, limits: BundleLimits | None = None
) -> tuple[pd.DataFrame | None, pd.Index | None]:
    """readers.csv; also returns the reader ids that could be read."""
    name = "readers.csv"
    if not source.exists(name):
        problems.add(name, 1, "-", "file is missing (every bundle needs readers.csv)")
        return None, None
    table = read_table(
        source,
        name,
        problems,
        required=("reader_id", "kind"),
        optional=READER_COLUMNS[2:],
        limits=limits,
    )
    if table is None:
        return None, None
    before = len(problems.items)
    frame = table.frame
    reader_id = _ids(table, "reader_id", problems, defining=True)
    kind = frame["kind"].str.strip().str.lower()
    bad = ~kind.isin(Reader.Kind.values)
    if bad.any():
        problems.add_rows(
            name,
            table.lines[bad.to_numpy()],
            "kind",
            frame["kind"][bad],
            f"must be {' or '.join(Reader.Kind.values)}, got {{value}}",
        )
    _lengths(table, problems, {"label": 300, "group": 200})
    _characters(table, "label", problems, "label")
    _characters(table, "group", problems, "label")
    _characters(table, "description", problems, "text")
    out = pd.DataFrame(
        {
            "reader_id": reader_id,
            "line": table.lines,
            "kind": kind,
            "label": frame["label"],
            "group": frame["group"],
            "years_experience": _floats(table, "years_experience", problems, minimum=0),
            "interpretations": _integers(
                table,
                "interpretations",
                problems,
                default=None,
                minimum=0,
                maximum=2_147_483_647,
                what="a whole number",
            ),
            "description": frame["description"],
        }
    )
    readable = (reader_id != "").to_numpy()
    _duplicates(
        name, out.loc[readable, ["reader_id"]], table.lines[readable], problems, "reader_id"
    )
    ids = pd.Index(reader_id[reader_id != ""].unique())
    return (None if len(problems.items) > before else out), ids


READING_KEYS = ["reader_id", "case_id", "run", "modality"]


def _readable_keys(
    ids: list[pd.Series], run: pd.Series, modality: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose ids are all present, and rows whose run and modality could be read."""
    ids_ok = np.logical_and.reduce([(values != "").to_numpy() for values in ids])
    numbers_ok = (run.notna() & modality.notna() & (run >= 1) & (modality >= 1)).to_numpy()
    return ids_ok, numbers_ok


def _int_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with run and modality as integers (they compare and print so)."""
    out = frame.copy()
    out[["run", "modality"]] = out[["run", "modality"]].astype(np.int64)
    return out


@dataclass
class ReadingKeys:
    """What ratings.csv is checked against when readings.csv itself has problems: the keys
    of the readings that could be read, and the (reader, case) pairs of readings whose run
    or modality could not (a score for those is neither confirmed nor refused)."""

    keys: pd.DataFrame
    uncertain: pd.MultiIndex


def _readings(
    source: BundleSource,
    problems: _Problems,
    *,
    case_ids: pd.Index | None,
    reader_ids: pd.Index | None,
    categories: list[int] | None,
    limits: BundleLimits | None = None,
) -> tuple[pd.DataFrame | None, ReadingKeys | None]:
    """readings.csv: (the readings when they are all valid, the keys that could be read)."""
    name = "readings.csv"
    if not source.exists(name):
        problems.add(
            name,
            1,
            "-",
            "file is missing (every bundle needs readings.csv, with a header row at least)",
        )
        return None, None
    table = read_table(
        source,
        name,
        problems,
        required=("reader_id", "case_id", "category"),
        optional=READING_COLUMNS[2:4] + READING_COLUMNS[5:],
        limits=limits,
    )
    if table is None:
        return None, None
    before = len(problems.items)
    frame = table.frame
    reader_id = _ids(table, "reader_id", problems)
    case_id = _ids(table, "case_id", problems)
    if reader_ids is not None:
        unknown = (reader_id != "") & ~reader_id.isin(reader_ids)
        if unknown.any():
            problems.add_rows(
                name,
                table.lines[unknown.to_numpy()],
                "reader_id",
                reader_id[unknown],
                "unknown reader {value} (not in readers.csv)",
            )
    if case_ids is not None:
        unknown = (case_id != "") & ~case_id.isin(case_ids)
        if unknown.any():
            problems.add_rows(
                name,
                table.lines[unknown.to_numpy()],
                "case_id",
                case_id[unknown],
                "unknown case {value} (not in cases.csv)",
            )
    run = _integers(table, "run", problems, default=1, minimum=1, what="a run number (1, 2, ...)")
    modality = _integers(
        table, "modality", problems, default=1, minimum=1, what="a modality number (1, 2, ...)"
    )
    category = _integers(
        table, "category", problems, default=None, required=True, what="an integer category"
    )
    if categories:
        off = category.notna() & ~category.isin([float(c) for c in categories])
        if off.any():
            problems.add_rows(
                name,
                table.lines[off.to_numpy()],
                "category",
                frame["category"][off],
                f"{{value}} is not on the scale {categories}",
            )
    _characters(table, "impression", problems, "text")
    out = pd.DataFrame(
        {
            "reader_id": reader_id,
            "case_id": case_id,
            "line": table.lines,
            "run": run,
            "modality": modality,
            "category": category,
            "score": _floats(table, "score", problems),
            "impression": frame["impression"],
            "seconds": _floats(table, "seconds", problems, minimum=0),
        }
    )
    del table.frame
    # Duplicates are looked for among every row whose key could be read, whatever else is
    # wrong with the file, so that they are reported in the same pass as the rest.
    ids_ok, numbers_ok = _readable_keys([reader_id, case_id], run, modality)
    readable = ids_ok & numbers_ok
    keys = _int_keys(out.loc[readable, READING_KEYS])
    _duplicates(name, keys, table.lines[readable], problems, "reading")
    uncertain = pd.MultiIndex.from_frame(out.loc[ids_ok & ~numbers_ok, ["reader_id", "case_id"]])
    reading_keys = ReadingKeys(keys, uncertain)
    if len(problems.items) > before:
        return None, reading_keys
    for col in ("run", "modality", "category"):
        out[col] = out[col].astype(np.int32)
    return out, reading_keys


def parse_readings(
    source: BundleSource,
    problems: _Problems,
    *,
    case_ids: pd.Index | None,
    reader_ids: pd.Index | None,
    categories: list[int] | None,
    limits: BundleLimits | None = None,
) -> pd.DataFrame | None:
    """readings.csv, checked against the cases, readers and scale; None when it has problems."""
    readings, _ = _readings(
        source,
        problems,
        case_ids=case_ids,
        reader_ids=reader_ids,
        categories=categories,
        limits=limits,
    )
    return readings


def parse_ratings(
    source: BundleSource,
    problems: _Problems,
    *,
    readings: pd.DataFrame | None,
    domains: list[str] | None,
    likert: tuple[int, int] | None,
    uncertain: pd.MultiIndex | None = None,
    limits: BundleLimits | None = None,
    domain_ranges: dict[str, tuple[int, int]] | None = None,
) -> pd.DataFrame | None:
    """ratings.csv, checked against ``readings`` (their key columns), the domains and the
    Likert range (of the domain, where ``domain_ranges`` has its own); ``uncertain`` (reader, case) pairs are not reported as missing readings."""
    name = "ratings.csv"
    if not source.exists(name):
        return None
    table = read_table(
        source,
        name,
        problems,
        required=("rater_id", "reader_id", "case_id", "run", "domain", "score"),
        optional=("modality",),
        limits=limits,
    )
    if table is None:
        return None
    before = len(problems.items)
    frame = table.frame
    rater_id = _ids(table, "rater_id", problems, defining=True)
    reader_id = _ids(table, "reader_id", problems)
    case_id = _ids(table, "case_id", problems)
    domain = frame["domain"].str.strip()
    run = _integers(
        table,
        "run",
        problems,
        default=None,
        required=True,
        minimum=1,
        what="a run number (1, 2, ...)",
    )
    modality = _integers(
        table, "modality", problems, default=1, minimum=1, what="a modality number (1, 2, ...)"
    )
    score = _integers(
        table, "score", problems, default=None, required=True, what="an integer score"
    )
    if domains is not None:
        unknown = ~domain.isin(domains)
        if unknown.any():
            problems.add_rows(
                name,
                table.lines[unknown.to_numpy()],
                "domain",
                domain[unknown],
                f"unknown domain {{value}} (study.toml defines: {', '.join(domains) or 'none'})",
            )
    if likert is not None:
        lo, hi = likert
        own = domain_ranges or {}
        plain = ~domain.isin(list(own))
        out_of_range = plain & score.notna() & ((score < lo) | (score > hi))
        if out_of_range.any():
            problems.add_rows(
                name,
                table.lines[out_of_range.to_numpy()],
                "score",
                frame["score"][out_of_range],
                f"{{value}} is outside the Likert range {lo}-{hi}",
            )
        for key, (d_lo, d_hi) in own.items():
            off = (domain == key) & score.notna() & ((score < d_lo) | (score > d_hi))
            if off.any():
                problems.add_rows(
                    name,
                    table.lines[off.to_numpy()],
                    "score",
                    frame["score"][off],
                    f"{{value}} is outside the Likert range {d_lo}-{d_hi} of domain {key!r}",
                )
    out = pd.DataFrame(
        {
            "rater_id": rater_id,
            "reader_id": reader_id,
            "case_id": case_id,
            "line": table.lines,
            "run": run,
            "modality": modality,
            "domain": domain,
            "score": score,
        }
    )
    ids_ok, numbers_ok = _readable_keys([rater_id, reader_id, case_id], run, modality)
    readable = ids_ok & numbers_ok
    keys = _int_keys(out.loc[readable])
    if readings is not None:
        known = pd.MultiIndex.from_frame(
            readings[READING_KEYS].astype({"run": np.int64, "modality": np.int64})
        )
        present = pd.MultiIndex.from_frame(keys[READING_KEYS]).isin(known)
        if uncertain is not None and len(uncertain):
            present |= pd.MultiIndex.from_frame(keys[["reader_id", "case_id"]]).isin(uncertain)
        missing = keys.loc[~present]
        lines = missing["line"].tolist()
        for line, r, c, run_, mod in zip(
            lines[:MAX_LISTED_ROWS],
            missing["reader_id"],
            missing["case_id"],
            missing["run"],
            missing["modality"],
            strict=False,
        ):
            problems.add(
                name,
                line,
                "reader_id",
                f"no reading in readings.csv for reader {r!r}, case {c!r}, run {run_}, modality {mod}",
            )
        problems.add_more(name, lines[MAX_LISTED_ROWS:], "reader_id", "no reading in readings.csv")
    _duplicates(
        name,
        keys[["rater_id", "reader_id", "case_id", "run", "modality", "domain"]],
        table.lines[readable],
        problems,
        "score",
    )
    if len(problems.items) > before:
        return None
    for col in ("run", "modality", "score"):
        out[col] = out[col].astype(np.int32)
    return out


#: ``progress(stage, fraction)`` of ``parse_bundle``: what is being checked, 0 to 1.
Progress = Callable[[str, float], None]


def _silent(stage: str, fraction: float) -> None:
    """The progress of a bundle nobody watches."""


class ImageStore:
    """Receives each image of a valid bundle once it is checked: its stored (metadata
    stripped) and display (re-encoded PNG) bytes. The default keeps nothing (validation)."""

    def add(self, path: str, stored: bytes, display: bytes, content_type: str) -> None:
        """Keep the two versions of the image at bundle path ``path``."""


@dataclass(frozen=True)
class DicomScope:
    """What de-identifying a bundle's DICOM files needs: the HMAC key and the study slug
    (UIDs and patient pseudonyms are derived per study)."""

    key: bytes
    study: str

    @classmethod
    def from_settings(cls, study: str) -> DicomScope:
        return cls(key=settings.DICOM_UID_KEY.encode(), study=study)


def _image_problem(
    source: BundleSource,
    path: str,
    expected: str,
    limits: BundleLimits,
    store: ImageStore,
    dicom: DicomScope,
    case_id: str,
    instances: dict[str, DicomInstance],
) -> str | None:
    """Read, check, strip and render one image; the problem, or None once ``store`` has it.

    The size is read from the file's first bytes, so an image over the limits is refused
    before the whole file is even read. A DICOM file is de-identified
    (:func:`readerstudy.core.dicom.deidentify`); its ordering facts go to ``instances``.
    """
    try:
        head = source.read_prefix(path, IMAGE_HEADER_BYTES)
        kind = sniff_content_type(head)
        if kind != expected:
            return f"content is not {expected} as its extension says"
        try:
            geometry = image_geometry(head, kind)
            data = None
        except ImageDisplayError:  # the header is longer than the prefix, or damaged
            data = source.read_bytes(path, limit=limits.max_image_bytes)
            geometry = image_geometry(data, kind)
    except BundleReadError as exc:
        return str(exc)
    except ImageDisplayError as exc:
        return f"damaged image: {exc}"
    too_large = geometry_problem(
        geometry, max_pixels=limits.max_image_pixels, max_frames=limits.max_dicom_frames
    )
    if too_large is not None:
        return f"too large: {too_large}"
    try:
        if data is None:
            data = source.read_bytes(path, limit=limits.max_image_bytes)
        if kind == DICOM_TYPE:
            patient = patient_pseudonym(case_id, key=dicom.key, scope=dicom.study)
            stored, instance = deidentify(data, patient=patient, key=dicom.key, scope=dicom.study)
            instances[path] = instance
        else:
            stored = strip_metadata(data, kind)
        del data
        display = render_display(
            stored,
            kind,
            max_pixels=limits.max_image_pixels,
            max_frames=limits.max_dicom_frames,
        )
    except BundleReadError as exc:
        return str(exc)
    except DicomError as exc:
        return f"DICOM refused: {exc}"
    except (ImageError, ImageDisplayError) as exc:
        return f"damaged image: {exc}"
    store.add(path, stored, display, kind)
    return None


def parse_images(
    source: BundleSource,
    problems: _Problems,
    *,
    case_ids: pd.Index | None,
    limits: BundleLimits | None = None,
    store: ImageStore | None = None,
    dicom: DicomScope | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImageSpec]:
    """Image files under images/<case_id>/, described by the optional images.csv.

    Every image is decoded once here, within ``limits``: its display rendering is made and
    handed to ``store`` with the stripped (DICOM: de-identified) file (the import writes
    both to storage). DICOM files are grouped into series and ordered by slice.
    """
    limits = limits or BundleLimits.from_settings()
    store = store or ImageStore()
    dicom = dicom or DicomScope.from_settings("")
    instances: dict[str, DicomInstance] = {}
    files = [f for f in source.files_under("images") if not PurePosixPath(f).name.startswith(".")]
    by_name: dict[tuple[str, str], str] = {}
    for done, path in enumerate(files):
        if progress is not None and done % 20 == 0:
            progress(done, len(files))
        reason = unsafe_path_reason(path)
        if reason is not None:
            problems.add(path, 1, "-", f"unsafe file name: {reason}")
            continue
        parts = PurePosixPath(path).parts
        if len(parts) < 3:
            problems.add(
                path,
                1,
                "-",
                "images must be inside a folder named after their case: images/<case_id>/<file>",
            )
            continue
        case_id, rel = parts[1], "/".join(parts[2:])
        if case_ids is not None and case_id not in case_ids:
            problems.add(path, 1, "-", f"folder {case_id!r} is not a case_id in cases.csv")
            continue
        if len(rel) > MAX_IMAGE_NAME_LENGTH:
            problems.add(
                path,
                1,
                "-",
                f"the name inside images/{case_id}/ is longer than {MAX_IMAGE_NAME_LENGTH} characters",
            )
            continue
        ext = rel.rsplit(".", 1)[-1].lower() if "." in rel else ""
        if ext not in IMAGE_TYPES:
            problems.add(
                path, 1, "-", "not an image this platform stores (PNG, JPEG or DICOM .dcm)"
            )
            continue
        problem = _image_problem(
            source, path, IMAGE_TYPES[ext], limits, store, dicom, case_id, instances
        )
        if problem is not None:
            problems.add(path, 1, "-", problem)
            continue
        by_name[(case_id, rel)] = path

    specs: dict[tuple[str, str], ImageSpec] = {}
    name = "images.csv"
    if source.exists(name):
        table = read_table(
            source,
            name,
            problems,
            required=("case_id", "file"),
            optional=IMAGE_COLUMNS[2:],
            limits=limits,
        )
        if table is not None:
            frame = table.frame
            order = _integers(
                table,
                "order",
                problems,
                default=0,
                minimum=0,
                maximum=2_147_483_647,
                what="a whole number",
            )
            stripped = frame[["series", "phase", "slice"]].apply(lambda col: col.str.strip())
            _lengths(table, problems, {"series": 100, "phase": 50, "slice": 50}, stripped)
            for col in ("series", "phase", "slice"):
                _characters(table, col, problems, "label")
            for i, line in enumerate(table.lines.tolist()):
                key = (frame["case_id"].iat[i].strip(), frame["file"].iat[i].strip())
                if key not in by_name:
                    problems.add(
                        name,
                        line,
                        "file",
                        f"no file images/{_show(key[0])[1:-1]}/{_show(key[1])[1:-1]} in the bundle",
                    )
                    continue
                if key in specs:
                    problems.add(name, line, "file", f"images/{key[0]}/{key[1]} is listed twice")
                    continue
                value = order.iat[i]
                specs[key] = ImageSpec(
                    case_id=key[0],
                    path=by_name[key],
                    name=key[1],
                    series=stripped["series"].iat[i],
                    phase=stripped["phase"].iat[i],
                    slice=stripped["slice"].iat[i],
                    order=0 if math.isnan(value) else int(value),
                )
    # Files not described by images.csv keep their name order after the described ones.
    next_order: dict[str, int] = {}
    for spec in specs.values():
        next_order[spec.case_id] = max(next_order.get(spec.case_id, 0), spec.order + 1)
    for key, path in by_name.items():
        if key not in specs:
            n = next_order.get(key[0], 1 if specs else 0)
            specs[key] = ImageSpec(key[0], path, key[1], "", "", "", n)
            next_order[key[0]] = n + 1
    _order_dicom(list(specs.values()), instances, problems)
    return list(specs.values())


def _order_dicom(
    specs: list[ImageSpec], instances: dict[str, DicomInstance], problems: _Problems
) -> None:
    """Series and slice positions of each case's DICOM images; a SOP Instance UID found
    twice in a case is a problem (both files are named)."""
    by_case: dict[str, list[ImageSpec]] = {}
    for spec in specs:
        if spec.path in instances:
            by_case.setdefault(spec.case_id, []).append(spec)
    for members in by_case.values():
        seen: dict[str, str] = {}
        for spec in sorted(members, key=lambda s: s.path):
            uid = instances[spec.path].sop_uid
            if uid in seen:
                problems.add(
                    spec.path, 1, "-", f"same SOP Instance UID as {seen[uid]} (a duplicate file)"
                )
            else:
                seen[uid] = spec.path
        found = [instances[spec.path] for spec in members]
        for series_index, (uid, order) in enumerate(series_order(found)):
            for slice_index, i in enumerate(order):
                members[i].dicom_series = uid
                members[i].dicom_series_index = series_index
                members[i].dicom_slice = slice_index


def parse_bundle(
    source: BundleSource,
    *,
    limits: BundleLimits | None = None,
    store: ImageStore | None = None,
    progress: Progress | None = None,
) -> ParsedBundle:
    """Validate the whole bundle; raise ``BundleError`` with every problem found.

    ``progress(stage, fraction)`` is told what is being checked (a fraction of the checking
    from 0 to 1, by file; the images one by one); the web upload's progress bar shows it.

    The bundle's size, file count and file names are checked first (``limits``); a bundle
    over a limit is refused before any file is read. Then every file is checked and every
    problem collected, also those that span files (duplicates, unknown ids, ratings without
    a reading), in one pass.
    """
    limits = limits or BundleLimits.from_settings()
    tell = progress or _silent
    tell("checking the sizes and names of the files", 0.0)
    gate = check_bundle_limits(source, limits)
    if gate:
        raise BundleError(gate)
    problems = _Problems()
    tell("checking study.toml", 0.02)
    study, toml_text = parse_study_toml(source, problems)
    tell("checking cases.csv", 0.05)
    cases, attributes, case_index = parse_cases(source, problems, limits=limits)
    tell("checking readers.csv", 0.15)
    readers, reader_index = parse_readers(source, problems, limits=limits)
    tell("checking readings.csv", 0.2)
    unreadable = study.unreadable if study is not None else {"scale", "likert", "domains"}
    readings, reading_keys = _readings(
        source,
        problems,
        case_ids=case_index,
        reader_ids=reader_index,
        categories=study.categories if study and "scale" not in unreadable else None,
        limits=limits,
    )
    tell("checking ratings.csv", 0.45)
    ratings = parse_ratings(
        source,
        problems,
        readings=reading_keys.keys if reading_keys is not None else None,
        domains=[d.key for d in study.domains] if study and "domains" not in unreadable else None,
        likert=(study.likert_min, study.likert_max)
        if study and "likert" not in unreadable
        else None,
        uncertain=reading_keys.uncertain if reading_keys is not None else None,
        limits=limits,
        domain_ranges={d.key: (d.scale.low, d.scale.high) for d in study.domains if d.scale}
        if study
        else None,
    )
    if (
        study is not None
        and study.reference_reader
        and reader_index is not None
        and study.reference_reader not in reader_index
    ):
        line = _toml_line(toml_text, "reference_reader")
        problems.add(
            "study.toml",
            line,
            "reference_reader",
            f"{study.reference_reader!r} is not a reader_id in readers.csv",
        )
    from readerstudy.bundles.judgments import JudgmentContext, parse_judgments  # (cycle)

    tell("checking preferences.csv, acceptability.csv and errors.csv", 0.55)
    judgments = parse_judgments(
        source,
        problems,
        JudgmentContext(
            case_ids=case_index,
            references=dict(zip(cases["case_id"], cases["reference_impression"], strict=True))
            if cases is not None
            else None,
            reader_ids=reader_index,
            reading_keys=reading_keys.keys if reading_keys is not None else None,
            uncertain=reading_keys.uncertain if reading_keys is not None else None,
            readings=readings,
            acceptability=study.acceptability
            if study and "acceptability" not in unreadable
            else None,
            taxonomy=study.taxonomy if study and "errors" not in unreadable else None,
        ),
        limits=limits,
    )
    from readerstudy.bundles.marks import parse_marks  # (cycle)

    marks = parse_marks(
        source,
        problems,
        case_truth=dict(zip(cases["case_id"], cases["truth"], strict=True))
        if cases is not None
        else None,
        reading_keys=reading_keys.keys if reading_keys is not None else None,
        uncertain=reading_keys.uncertain if reading_keys is not None else None,
        limits=limits,
    )
    judgment_files = [
        f for f in ("preferences.csv", "acceptability.csv", "errors.csv") if source.exists(f)
    ]
    if judgment_files and reader_index is not None and REFERENCE_READER in reader_index:
        line = 1
        if readers is not None:
            line = int(readers.loc[readers["reader_id"] == REFERENCE_READER, "line"].iloc[0])
        problems.add(
            "readers.csv",
            line,
            "reader_id",
            f"{REFERENCE_READER!r} is reserved: in {', '.join(judgment_files)} it means the "
            "case's reference impression; rename this reader",
        )
    from readerstudy.bundles.findings import check_vocabulary, parse_findings  # (cycle)

    finding_keys = (
        check_vocabulary(study.config.get("findings"), toml_text, problems)
        if study is not None
        else None
    )
    findings = parse_findings(
        source,
        problems,
        keys=finding_keys,
        case_ids=case_index,
        reader_ids=reader_index,
        limits=limits,
    )
    # Every image is checked and decoded either way; it is only stored when nothing else is
    # wrong so far (a bad bundle costs no writes).
    images = parse_images(
        source,
        problems,
        case_ids=case_index,
        limits=limits,
        store=None if problems.items else store,
        dicom=DicomScope.from_settings(study.slug if study is not None else ""),
        progress=lambda done, total: tell(
            f"checking the images ({done:,} of {total:,})", 0.6 + 0.4 * done / max(total, 1)
        ),
    )
    if problems.items or study is None or cases is None or readers is None or readings is None:
        raise BundleError(problems.items)
    return ParsedBundle(
        study,
        cases,
        attributes,
        readers,
        readings,
        ratings,
        images,
        judgments=judgments,
        findings=findings,
        marks=marks,
    )
