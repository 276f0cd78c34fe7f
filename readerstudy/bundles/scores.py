"""Bulk import of Likert scores into an existing study (the API's ``scores/import/``).

The upload is a ``ratings.csv`` as in a study bundle (docs/bundle.md), or the same rows as JSON
objects. It is validated exactly like the bundle's ratings.csv by
:func:`readerstudy.bundles.parse.parse_ratings` (columns, integers, the Likert range, known
domains, a stored reading for each reader, case, run and modality, duplicates within the upload),
then against what is stored (a score that already exists, an output a rater has pending in an
open rating session). Any problem raises :class:`~readerstudy.bundles.BundleError` listing every
one as ``file:line: column: message`` and nothing is written; otherwise every row is written in
one transaction and the import is audited.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from evaluation.models import LikertDomain, LikertScore, Rater, RatingSession, RatingTask
from readerstudy.audit.services import audit_record
from readerstudy.bundles.parse import RATING_COLUMNS, _Problems, parse_ratings
from readerstudy.bundles.problems import BundleError, Problem
from readerstudy.bundles.upload import MemorySource
from readerstudy.core.db.bulk import bulk_insert
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.studies.models import Reading, Study

RATINGS_FILE = "ratings.csv"
#: How problems of JSON rows are reported: ``rows:N`` is the N-th row (from 1).
JSON_FILE = "rows"


def _cell(value: Any) -> str | None:
    """The CSV text of a JSON value; ``None`` when it cannot be a cell (objects, lists, booleans)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def rows_to_csv(rows: Any) -> bytes:
    """JSON rows (objects with the columns of ratings.csv) as the bytes of a ratings.csv.

    Row ``N`` (from 1) becomes line ``N + 1`` of the CSV. Raises :class:`BundleError` naming
    the row and key for anything that is not an object of known keys with text or number values.
    """
    problems: list[Problem] = []
    if not isinstance(rows, list):
        raise BundleError([Problem(JSON_FILE, 0, "-", "expected a list of objects")])
    buffer = io.StringIO()
    # Neutralised as the bundle export writes them: the import restores the exact text.
    writer = csv_writer(buffer, lineterminator="\n")
    writer.writerow(RATING_COLUMNS)
    known = ", ".join(RATING_COLUMNS)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(Problem(JSON_FILE, number, "-", f"expected an object with {known}"))
            continue
        for key in sorted(str(k) for k in row if k not in RATING_COLUMNS):
            problems.append(Problem(JSON_FILE, number, key, f"unknown column (expected: {known})"))
        cells: list[str] = []
        for column in RATING_COLUMNS:
            text = _cell(row.get(column))
            if text is None:
                problems.append(Problem(JSON_FILE, number, column, "must be text or a number"))
                text = ""
            elif "\n" in text or "\r" in text:
                problems.append(Problem(JSON_FILE, number, column, "must be on one line"))
                text = " "
            cells.append(text)
        writer.writerow(cells)
    if problems:
        raise BundleError(problems)
    return buffer.getvalue().encode("utf-8")


def _study_readings(study: Study) -> pd.DataFrame:
    """Every reading of the study: ``reader_id, case_id, run, modality, reading_pk``."""
    rows = Reading.objects.filter(case__study=study).values_list(
        "reader__code", "case__code", "run", "modality", "pk"
    )
    frame = pd.DataFrame(
        list(rows), columns=["reader_id", "case_id", "run", "modality", "reading_pk"]
    )
    for column in ("run", "modality"):
        frame[column] = frame[column].astype(np.int32)
    return frame


@dataclass(frozen=True)
class ScoresImportResult:
    created: int
    raters_created: list[str]


def _describe(row: Any) -> str:
    return (
        f"rater {row.rater_id!r}, reader {row.reader_id!r}, case {row.case_id!r}, "
        f"run {row.run}, modality {row.modality}, domain {row.domain!r}"
    )


def _stored_conflicts(study: Study, ratings: pd.DataFrame, problems: _Problems) -> None:
    """Rows whose score is already stored, or whose output the rater has pending."""
    # Filtered by rater only (a handful of codes), never by a long list of reading ids.
    codes = sorted(ratings["rater_id"].unique())
    stored = set(
        LikertScore.objects.filter(rater__study=study, rater__code__in=codes).values_list(
            "rater__code", "reading_id", "domain__key"
        )
    )
    pending: dict[tuple[str, int, str], str] = {}
    for code, reading, domain, name in RatingTask.objects.filter(
        assignment__session__study=study,
        assignment__session__status=RatingSession.Status.OPEN,
        assignment__rater__code__in=codes,
        submitted_at__isnull=True,
    ).values_list(
        "assignment__rater__code",
        "item__reading_id",
        "assignment__session__domains__key",
        "assignment__session__name",
    ):
        pending[(code, reading, domain)] = name
    for row in ratings.itertuples(index=False):
        key = (row.rater_id, int(row.reading_pk), row.domain)
        if key in stored:
            problems.add(
                RATINGS_FILE,
                row.line,
                "rater_id",
                f"a score is already stored for {_describe(row)}; nothing is overwritten",
            )
        elif key in pending:
            problems.add(
                RATINGS_FILE,
                row.line,
                "rater_id",
                f"{_describe(row)}: this output is pending for the rater in the open rating "
                f"session {pending[key]!r}; close the session or leave the score out",
            )


def _reported(problems: list[Problem], *, json_rows: bool) -> list[Problem]:
    """Problems as the caller should read them: JSON rows by number, readings "in this study"."""
    out = []
    for p in problems:
        message = p.message.replace(
            "no reading in readings.csv for", "no reading in this study for"
        )
        if json_rows and p.file == RATINGS_FILE:
            out.append(Problem(JSON_FILE, max(p.line - 1, 0), p.column, message))
        else:
            out.append(Problem(p.file, p.line, p.column, message))
    return out


def likert_scores_import(
    *,
    study: Study,
    data: bytes,
    json_rows: bool = False,
    actor: User | None = None,
) -> ScoresImportResult:
    """Validate ``data`` (the bytes of a ratings.csv) completely, then store every score.

    ``json_rows`` says that ``data`` came from :func:`rows_to_csv` (problems then name the row
    instead of the line). Raises :class:`BundleError` with every problem, writing nothing.
    Raters not yet known in the study are created by code, as the bundle import does.
    """
    problems = _Problems()
    readings = _study_readings(study)
    domains = {d.key: d for d in LikertDomain.objects.filter(study=study).select_related("study")}
    ratings = parse_ratings(
        MemorySource({RATINGS_FILE: data}),
        problems,
        readings=readings[["reader_id", "case_id", "run", "modality"]],
        domains=sorted(domains),
        likert=(study.likert_min, study.likert_max),
        domain_ranges={
            key: (scale.low, scale.high)
            for key, scale in ((k, d.scale) for k, d in domains.items())
            if (scale.low, scale.high) != (study.likert_min, study.likert_max)
        },
    )
    if ratings is not None and not len(ratings):
        problems.add(RATINGS_FILE, 1, "-", "no rows to import")
    if ratings is not None and not problems.items:
        ratings = ratings.merge(readings, on=["reader_id", "case_id", "run", "modality"])
        _stored_conflicts(study, ratings, problems)
    if problems.items or ratings is None:
        raise BundleError(_reported(problems.items, json_rows=json_rows))

    codes = sorted(ratings["rater_id"].unique())
    with transaction.atomic():
        known = set(
            Rater.objects.filter(study=study, code__in=codes).values_list("code", flat=True)
        )
        new = [code for code in codes if code not in known]
        Rater.objects.bulk_create(Rater(study=study, code=code) for code in new)
        rater_pk = dict(Rater.objects.filter(study=study, code__in=codes).values_list("code", "pk"))
        # Column-wise (COPY on PostgreSQL), as the bundle import writes scores.
        now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
        n = len(ratings)
        created = bulk_insert(
            LikertScore._meta.db_table,
            {
                "rater_id": ratings["rater_id"].map(rater_pk).to_numpy(dtype=np.int64),
                "reading_id": ratings["reading_pk"].to_numpy(dtype=np.int64),
                "domain_id": ratings["domain"]
                .map(lambda key: domains[key].pk)
                .to_numpy(dtype=np.int64),
                "score": ratings["score"].to_numpy(dtype=np.int64),
                "source": [LikertScore.Source.IMPORTED.value] * n,
                "created_at": [now] * n,
                "updated_at": [now] * n,
            },
        )
        audit_record(
            action="likert_scores_imported",
            actor=actor,
            study=study,
            target=f"{created} scores",
            details={
                "rows": created,
                "format": "json" if json_rows else "csv",
                "raters": codes,
                "raters_created": new,
            },
        )
    return ScoresImportResult(created=created, raters_created=new)
