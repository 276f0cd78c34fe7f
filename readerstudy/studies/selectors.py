"""Reusable read queries of the core domain."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, QuerySet

from readerstudy.audit.models import AuditEvent
from readerstudy.core.users import Visitor
from readerstudy.studies.models import Reader, Reading, Study, StudyMember
from readerstudy.studies.pseudonyms import Blinding


def _study_counts() -> dict[str, Count]:
    """The sizes shown with a study wherever it is listed (home page, ``manage.py demo``)."""
    return {"n_cases": Count("cases", distinct=True), "n_readers": Count("readers", distinct=True)}


def study_counts(*, study: Study) -> dict[str, int]:
    """``n_cases`` and ``n_readers`` of ``study``, counted as the home page counts them."""
    return Study.objects.filter(pk=study.pk).aggregate(**_study_counts())


def studies_for_user(user: Visitor, *, role: str | None = None) -> QuerySet[Study]:
    """Studies ``user`` is a member of (in ``role`` if given); superusers see every study."""
    if not user.is_authenticated:
        return Study.objects.none()
    qs = Study.objects.all()
    if not user.is_superuser:
        members = Q(members__user=user)
        if role is not None:
            members &= Q(members__role=role)
        qs = qs.filter(members).distinct()
    return qs.annotate(**_study_counts()).order_by("slug")


def study_reader_rows(*, study: Study, blinding: Blinding) -> list[dict[str, object]]:
    """The readers of a study as its hub lists them: ``code`` (as ``blinding`` shows it),
    ``kind``, ``label`` (blank when hidden), ``n_readings`` and ``reference``; in the study's
    order, or in pseudonym order when ``blinding`` hides real ids."""
    rows = [
        {
            "code": blinding.reader(r.code),
            "kind": r.kind,
            "label": "" if blinding.hides_details else r.label,
            "n_readings": r.n_readings,
            "reference": r.pk == study.reference_reader_id,
        }
        for r in Reader.objects.filter(study=study)
        .annotate(n_readings=Count("readings"))
        .order_by("position", "code")
    ]
    if blinding.pseudonymous:
        rows.sort(key=lambda row: str(row["code"]))
    return rows


def reading_ids_in_order(
    readings: QuerySet[Reading],
    *,
    reader_ranks: Mapping[int, int],
    case_ranks: Mapping[int, int],
    chunk_rows: int = 200_000,
) -> list[int]:
    """The ids of ``readings`` sorted by reader rank, case rank, run, modality and id.

    For lists whose order the database cannot compute cheaply (a blinded statistician's:
    pseudonym and keyed order, :class:`readerstudy.studies.pseudonyms.Blinding`). Reads five
    integers per reading in chunks into numpy and sorts there: about a second per million
    readings, whatever page is asked for, where sorting on a hash in SQL took several.
    """
    try:
        sql, params = (
            readings.order_by()
            .values_list("id", "reader_id", "case_id", "run", "modality")
            .query.sql_with_params()
        )
    except EmptyResultSet:  # .none(), or a filter that can match nothing
        return []
    parts: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_rows):
            parts.append(np.array(rows, dtype=np.int64))
    if not parts:
        return []
    table = np.concatenate(parts)

    def rank(ranks: Mapping[int, int], pks: np.ndarray) -> np.ndarray:
        index = pd.Index(np.fromiter(ranks.keys(), dtype=np.int64, count=len(ranks)))
        values = np.fromiter(ranks.values(), dtype=np.int64, count=len(ranks))
        return values[index.get_indexer(pks)]

    order = np.lexsort(
        (
            table[:, 0],
            table[:, 4],
            table[:, 3],
            rank(case_ranks, table[:, 2]),
            rank(reader_ranks, table[:, 1]),
        )
    )
    return table[order, 0].tolist()


#: What the parts above add to a study's hub overview (``register_overview``): each gives
#: ``{key: value}`` for the study (evaluation: ``n_scores``, ``domains``).
OVERVIEW_SOURCES: list[Callable[[Study], dict[str, object]]] = []


def register_overview(source: Callable[[Study], dict[str, object]]) -> None:
    """Add ``source(study)`` to every :func:`study_overview` (once per source)."""
    if source not in OVERVIEW_SOURCES:
        OVERVIEW_SOURCES.append(source)


def study_overview(*, study: Study, blinding: Blinding) -> dict[str, object]:
    """Counts and people of a study, for its hub page (readers as ``blinding`` shows them),
    with what the other parts registered (:func:`register_overview`)."""
    readers = study_reader_rows(study=study, blinding=blinding)
    overview: dict[str, object] = {"n_scores": 0, "domains": []}
    for source in OVERVIEW_SOURCES:
        overview.update(source(study))
    return overview | {
        "n_cases": study.cases.count(),
        "n_test": study.cases.filter(split="test").count(),
        "n_train": study.cases.filter(split="train").count(),
        "n_positive": study.cases.filter(split="test", truth=1).count(),
        "readers": readers,
        "members": list(
            StudyMember.objects.filter(study=study)
            .select_related("user")
            .order_by("role", "user__username")
        ),
    }


def audit_events(*, study: Study | None = None) -> QuerySet:
    """Audit events of ``study`` (all events when ``None``), newest first."""
    qs = AuditEvent.objects.all() if study is None else AuditEvent.objects.filter(study=study)
    return qs.order_by("-at", "-id")
