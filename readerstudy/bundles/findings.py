"""The finding files of a bundle: ``findings.csv`` (truth) and ``reading_findings.csv``.

``findings.csv`` has one row per case and finding, ``case_id, finding, present`` (0/1) and
an optional ``location``; ``reading_findings.csv`` one row per reader, case, run and
finding, ``reader_id, case_id, run, finding, present`` and an optional ``method`` (how the
label was obtained, ``readerstudy.studies.models.FindingMethod``; ``imported`` when
empty). Every finding must be a key of ``[[findings]]`` in study.toml (checked by
``readerstudy.core.findings.parse_vocabulary``), every case and reader must be in
cases.csv and readers.csv, and every problem is reported in one pass as
``file:line: column: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from django.db import transaction

from readerstudy.bundles.limits import BundleLimits
from readerstudy.bundles.parse import (
    Table,
    _duplicates,
    _ids,
    _integers,
    _lengths,
    _Problems,
    _toml_line,
    read_table,
)
from readerstudy.bundles.source import BundleSource
from readerstudy.core.findings import parse_vocabulary
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.studies.models import (
    Case,
    CaseFinding,
    FindingMethod,
    Reader,
    ReadingFinding,
    Study,
)

if TYPE_CHECKING:
    from readerstudy.bundles.export import BundleWriter

FINDINGS = "findings.csv"
READING_FINDINGS = "reading_findings.csv"
FINDINGS_REQUIRED = ("case_id", "finding", "present")
FINDINGS_OPTIONAL = ("location",)
READING_FINDINGS_REQUIRED = ("reader_id", "case_id", "run", "finding", "present")
READING_FINDINGS_OPTIONAL = ("method",)
#: Longest ``location`` (``CaseFinding.location``).
MAX_LOCATION = 300


@dataclass
class ParsedFindings:
    #: case_id, finding, present (bool), location, position
    truth: pd.DataFrame | None
    #: reader_id, case_id, run, finding, present (bool), method
    labels: pd.DataFrame | None


def check_vocabulary(raw: object, toml_text: str, problems: _Problems) -> list[str] | None:
    """Report the problems of ``[[findings]]``; the finding keys (None when unreadable)."""
    terms, found = parse_vocabulary(raw)
    for index, field, message in found:
        table = ("findings", index) if index is not None else None
        problems.add(
            "study.toml", _toml_line(toml_text, field, table), f"findings.{field}", message
        )
    return None if found else [t.key for t in terms]


def _present(table: Table, problems: _Problems) -> pd.Series:
    values = table.frame["present"].str.strip()
    bad = ~values.isin(["0", "1"])
    if bad.any():
        problems.add_rows(
            table.name,
            table.lines[bad.to_numpy()],
            "present",
            values[bad],
            "must be 0 (absent) or 1 (present), got {value}",
        )
    return values == "1"


def _finding_keys(table: Table, problems: _Problems, keys: list[str] | None) -> pd.Series:
    finding = _ids(table, "finding", problems)
    if keys is not None:
        unknown = (finding != "") & ~finding.isin(keys)
        if unknown.any():
            shown = ", ".join(keys) if keys else "none: study.toml has no [[findings]]"
            problems.add_rows(
                table.name,
                table.lines[unknown.to_numpy()],
                "finding",
                finding[unknown],
                f"unknown finding {{value}} (the [[findings]] keys of study.toml: {shown})",
            )
    return finding


def _known(
    table: Table,
    problems: _Problems,
    column: str,
    values: pd.Series,
    known: pd.Index | None,
    what: str,
) -> None:
    if known is None:
        return
    unknown = (values != "") & ~values.isin(known)
    if unknown.any():
        problems.add_rows(
            table.name,
            table.lines[unknown.to_numpy()],
            column,
            values[unknown],
            f"unknown {what} {{value}} (not in {what}s.csv)",
        )


def parse_findings(
    source: BundleSource,
    problems: _Problems,
    *,
    keys: list[str] | None,
    case_ids: pd.Index | None,
    reader_ids: pd.Index | None,
    limits: BundleLimits | None = None,
) -> ParsedFindings:
    """findings.csv and reading_findings.csv (each None when absent or when it has problems).

    ``keys``, ``case_ids`` and ``reader_ids`` are what the rows are checked against (None:
    that check is skipped because its source could not be read).
    """
    truth = labels = None
    if source.exists(FINDINGS):
        table = read_table(
            source,
            FINDINGS,
            problems,
            required=FINDINGS_REQUIRED,
            optional=FINDINGS_OPTIONAL,
            limits=limits,
        )
        if table is not None:
            before = len(problems.items)
            case_id = _ids(table, "case_id", problems)
            _known(table, problems, "case_id", case_id, case_ids, "case")
            finding = _finding_keys(table, problems, keys)
            present = _present(table, problems)
            location = table.frame["location"].str.strip()
            _lengths(
                table, problems, {"location": MAX_LOCATION}, pd.DataFrame({"location": location})
            )
            ok = ((case_id != "") & (finding != "")).to_numpy()
            _duplicates(
                FINDINGS,
                pd.DataFrame({"case_id": case_id, "finding": finding}).loc[ok],
                table.lines[ok],
                problems,
                "finding of this case",
            )
            if len(problems.items) == before:
                truth = pd.DataFrame(
                    {
                        "case_id": case_id,
                        "finding": finding,
                        "present": present,
                        "location": location,
                        "position": np.arange(len(case_id)),
                    }
                )
    if source.exists(READING_FINDINGS):
        table = read_table(
            source,
            READING_FINDINGS,
            problems,
            required=READING_FINDINGS_REQUIRED,
            optional=READING_FINDINGS_OPTIONAL,
            limits=limits,
        )
        if table is not None:
            before = len(problems.items)
            reader_id = _ids(table, "reader_id", problems)
            _known(table, problems, "reader_id", reader_id, reader_ids, "reader")
            case_id = _ids(table, "case_id", problems)
            _known(table, problems, "case_id", case_id, case_ids, "case")
            run = _integers(
                table,
                "run",
                problems,
                default=None,
                required=True,
                minimum=1,
                what="a run number (1, 2, ...)",
            )
            finding = _finding_keys(table, problems, keys)
            present = _present(table, problems)
            method = table.frame["method"].str.strip().replace("", FindingMethod.IMPORTED.value)
            bad = ~method.isin(FindingMethod.values)
            if bad.any():
                problems.add_rows(
                    READING_FINDINGS,
                    table.lines[bad.to_numpy()],
                    "method",
                    method[bad],
                    f"must be one of {', '.join(FindingMethod.values)}, got {{value}}",
                )
            ok = ((reader_id != "") & (case_id != "") & (finding != "") & run.notna()).to_numpy()
            _duplicates(
                READING_FINDINGS,
                pd.DataFrame(
                    {"reader_id": reader_id, "case_id": case_id, "run": run, "finding": finding}
                ).loc[ok],
                table.lines[ok],
                problems,
                "label of this reader, case, run and finding",
            )
            if len(problems.items) == before:
                labels = pd.DataFrame(
                    {
                        "reader_id": reader_id,
                        "case_id": case_id,
                        "run": run.astype(np.int64),
                        "finding": finding,
                        "present": present,
                        "method": method,
                    }
                )
    return ParsedFindings(truth, labels)


# --------------------------------------------------------------------------------------
# import and export
# --------------------------------------------------------------------------------------


def write_findings(
    parsed: ParsedFindings, case_pk: dict[str, int], reader_pk: dict[str, int]
) -> dict[str, int]:
    """Insert the rows of findings.csv and reading_findings.csv (inside the import)."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        if parsed.truth is not None and len(parsed.truth):
            CaseFinding.objects.bulk_create(
                [
                    CaseFinding(
                        case_id=case_pk[r.case_id],
                        finding=r.finding,
                        present=bool(r.present),
                        location=r.location,
                        position=int(r.position),
                    )
                    for r in parsed.truth.itertuples(index=False)
                ],
                batch_size=5000,
            )
            counts["findings"] = len(parsed.truth)
        if parsed.labels is not None and len(parsed.labels):
            ReadingFinding.objects.bulk_create(
                [
                    ReadingFinding(
                        reader_id=reader_pk[r.reader_id],
                        case_id=case_pk[r.case_id],
                        run=int(r.run),
                        finding=r.finding,
                        present=bool(r.present),
                        method=r.method,
                    )
                    for r in parsed.labels.itertuples(index=False)
                ],
                batch_size=5000,
            )
            counts["reading_findings"] = len(parsed.labels)
    return counts


def export_findings(writer: BundleWriter, study: Study) -> dict[str, int]:
    """findings.csv and reading_findings.csv of ``study`` (each only when it has rows).

    Rows follow cases.csv and readers.csv order, then run and the vocabulary's order, so a
    second export is byte-identical and a re-import gives the same rows.
    """
    counts: dict[str, int] = {}
    order = {t["key"]: i for i, t in enumerate(study.config.get("findings", []) or [])}
    cases = {
        pk: (position, code)
        for pk, position, code in Case.objects.filter(study=study).values_list(
            "pk", "position", "code"
        )
    }
    truth = list(
        CaseFinding.objects.filter(case__study=study).values_list(
            "case_id", "position", "finding", "present", "location"
        )
    )
    if truth:
        truth.sort(key=lambda r: (r[1], cases[r[0]], r[2]))
        with writer.text(FINDINGS) as out:
            w = csv_writer(out, lineterminator="\n")
            w.writerow([*FINDINGS_REQUIRED, *FINDINGS_OPTIONAL])
            w.writerows([cases[c][1], f, str(int(p)), loc] for c, _, f, p, loc in truth)
        counts["findings"] = len(truth)
    readers = {
        pk: (position, code)
        for pk, position, code in Reader.objects.filter(study=study).values_list(
            "pk", "position", "code"
        )
    }
    labels = list(
        ReadingFinding.objects.filter(case__study=study).values_list(
            "reader_id", "case_id", "run", "finding", "present", "method"
        )
    )
    if labels:
        labels.sort(
            key=lambda r: (readers[r[0]], cases[r[1]], r[2], order.get(r[3], len(order)), r[3])
        )
        with writer.text(READING_FINDINGS) as out:
            w = csv_writer(out, lineterminator="\n")
            w.writerow([*READING_FINDINGS_REQUIRED, *READING_FINDINGS_OPTIONAL])
            w.writerows(
                [readers[r][1], cases[c][1], str(run), f, str(int(p)), m]
                for r, c, run, f, p, m in labels
            )
        counts["reading_findings"] = len(labels)
    return counts
