"""Read queries of reading sessions: worklists, progress, what a reader may see of a case."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from readerstudy.core.randomisation import permutation
from readerstudy.core.users import Visitor
from readerstudy.reading.models import (
    ReadingAmendment,
    ReadingAssignment,
    ReadingSession,
    ReadingSubmission,
    ReadingWork,
)
from readerstudy.studies.access import has_study_role
from readerstudy.studies.consensus import final_category
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, Study

User = Visitor


def reading_order(*, seed: int, order: str, reader_code: str, n: int) -> list[int]:
    """Indexes into the session's case list (in session order) giving a reader's order.

    Random order: ``randomisation.permutation(seed, reader_code, n)``, so anyone with the
    exported seed, the session's case list and the reader code re-derives it; fixed order:
    the session's case order for everyone.
    """
    if order == ReadingSession.Order.FIXED:
        return list(range(n))
    return permutation(seed, reader_code, n)


def reading_sessions_for_study(*, study: Study) -> QuerySet[ReadingSession]:
    """The study's sessions, newest first, with case, reader and done counts."""
    return (
        ReadingSession.objects.filter(study=study)
        .select_related("design")
        .annotate(
            n_cases=Count("cases", distinct=True),
            n_readers=Count("assignments", distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def reading_default_modality(*, study: Study) -> int:
    """A modality no reading or session of the study uses yet (1 for a fresh study)."""
    top_reading = Reading.objects.filter(case__study=study).aggregate(m=Max("modality"))["m"] or 0
    top_session = ReadingSession.objects.filter(study=study).aggregate(m=Max("modality"))["m"] or 0
    return max(top_reading, top_session) + 1


def reading_session_collisions(
    *, study: Study, readers: Sequence[Reader], cases: Sequence[Case], run: int, modality: int
) -> list[str]:
    """Why a session with these readers, cases, run and modality would clash (empty: it won't).

    A clash is an existing reading of a selected reader on a selected case at that run and
    modality (e.g. imported ones), or another session of the study that already assigns
    one of the readers to one of the cases at that run and modality.
    """
    problems: list[str] = []
    reader_ids = [r.pk for r in readers]
    case_ids = [c.pk for c in cases]
    existing = (
        Reading.objects.filter(
            reader_id__in=reader_ids, case_id__in=case_ids, run=run, modality=modality
        )
        .values("reader__code")
        .annotate(n=Count("id"))
        .order_by("reader__code")
    )
    for row in existing:
        problems.append(
            f"{row['reader__code']} already has {row['n']} reading{'s' if row['n'] != 1 else ''} "
            f"of these cases at run {run}, modality {modality}"
        )
    overlapping = (
        ReadingWork.objects.filter(
            assignment__session__study=study,
            assignment__session__run=run,
            assignment__session__modality=modality,
            assignment__reader_id__in=reader_ids,
            case_id__in=case_ids,
        )
        .values("assignment__session__name", "assignment__reader__code")
        .annotate(n=Count("id"))
        .order_by("assignment__session__name", "assignment__reader__code")
    )
    for overlap in overlapping:
        problems.append(
            f"session {overlap['assignment__session__name']!r} already assigns "
            f"{overlap['n']} of these cases to {overlap['assignment__reader__code']} at run {run}, "
            f"modality {modality}"
        )
    return problems


@dataclass
class ReaderProgress:
    assignment: ReadingAssignment
    done: int
    total: int
    median_seconds: float | None
    median_active_seconds: float | None
    conflicts: int
    amendments: int
    last_submitted_at: datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def reading_session_progress(*, session: ReadingSession) -> list[ReaderProgress]:
    """Per assigned reader: cases done of total, median server and active seconds."""
    assignments = list(
        session.assignments.select_related("reader", "reader__user").order_by(
            "reader__position", "reader__code"
        )
    )
    timings: dict[int, list[tuple[float | None, float | None, datetime]]] = {
        a.pk: [] for a in assignments
    }
    totals = dict(
        ReadingWork.objects.filter(assignment__session=session)
        .values("assignment_id")
        .annotate(n=Count("id"))
        .values_list("assignment_id", "n")
    )
    for assignment_id, seconds, active, submitted in ReadingWork.objects.filter(
        assignment__session=session, submitted_at__isnull=False
    ).values_list("assignment_id", "seconds", "active_seconds", "submitted_at"):
        timings[assignment_id].append((seconds, active, submitted))
    conflicts = dict(
        ReadingSubmission.objects.filter(
            work__assignment__session=session,
            outcome__in=[ReadingSubmission.Outcome.CONFLICT, ReadingSubmission.Outcome.REFUSED],
        )
        .values("work__assignment_id")
        .annotate(n=Count("id"))
        .values_list("work__assignment_id", "n")
    )
    amendments = dict(
        ReadingAmendment.objects.filter(work__assignment__session=session)
        .values("work__assignment_id")
        .annotate(n=Count("id"))
        .values_list("work__assignment_id", "n")
    )
    out = []
    for a in assignments:
        rows = timings[a.pk]
        secs = [s for s, _, _ in rows if s is not None]
        active = [x for _, x, _ in rows if x is not None]
        out.append(
            ReaderProgress(
                assignment=a,
                done=len(rows),
                total=totals.get(a.pk, 0),
                median_seconds=statistics.median(secs) if secs else None,
                median_active_seconds=statistics.median(active) if active else None,
                conflicts=conflicts.get(a.pk, 0),
                amendments=amendments.get(a.pk, 0),
                last_submitted_at=max((t for _, _, t in rows), default=None),
            )
        )
    return out


RANDOMISATION_COLUMNS = ("session", "reader", "position", "case_id", "seed", "order")


def reading_randomisation_rows(*, session: ReadingSession) -> Iterable[tuple[object, ...]]:
    """The unblinding key of a session: every reader's case order, with the seed."""
    rows = (
        ReadingWork.objects.filter(assignment__session=session)
        .order_by("assignment__reader__position", "assignment__reader__code", "position")
        .values_list("assignment__reader__code", "position", "case__code")
    )
    for reader, position, case in rows.iterator(chunk_size=2000):
        yield (session.name, reader, position, case, session.seed, session.order)


@dataclass
class WorklistEntry:
    assignment: ReadingAssignment
    done: int
    total: int
    next_position: int | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def reading_worklist(*, user: User) -> list[WorklistEntry]:
    """The user's assignments in open and closed sessions (never drafts), open ones first."""
    if not user.is_authenticated:
        return []
    assignments = (
        ReadingAssignment.objects.filter(reader__user=user)
        .exclude(session__status=ReadingSession.Status.DRAFT)
        .select_related("session", "session__study", "reader")
        .annotate(
            n_total=Count("work"),
            n_done=Count("work", filter=Q(work__submitted_at__isnull=False)),
        )
        .order_by("session__status", "-session__opened_at", "session__name")
    )
    entries = []
    for a in assignments:
        if not has_study_role(user, a.session.study, "reader"):
            continue
        entries.append(
            WorklistEntry(
                assignment=a,
                done=a.n_done,  # type: ignore[attr-defined]
                total=a.n_total,  # type: ignore[attr-defined]
                next_position=reading_next_position(assignment=a)
                if a.session.status == ReadingSession.Status.OPEN
                else None,
            )
        )
    return entries


class ReadingWashoutError(PermissionDenied):
    """The reader's second condition of a crossover design is not open yet (washout)."""

    def __init__(self, message: str, opens_at: datetime | None) -> None:
        super().__init__(message)
        self.message = message
        self.opens_at = opens_at


def reading_washout_opens_at(
    *, assignment: ReadingAssignment, now: datetime | None = None
) -> tuple[bool, datetime | None]:
    """Whether a crossover's period-2 assignment is open for its reader, and when it opens.

    Period 2 opens ``washout_days`` after the reader's last submitted case in period 1, once
    they have finished period 1 (or period 1 is closed). Outside designs (or period 1) it is
    always open. Returns ``(open, opens_at)``; ``opens_at`` is ``None`` while period 1 is
    unfinished (the date is not known yet).
    """
    session = assignment.session
    if session.design_id is None or assignment.period != 2:
        return True, None
    first = (
        ReadingAssignment.objects.select_related("session", "session__design")
        .filter(session__design_id=session.design_id, reader_id=assignment.reader_id, period=1)
        .first()
    )
    if first is None:
        return True, None
    unfinished = first.work.filter(submitted_at__isnull=True).exists()
    last = first.work.aggregate(last=Max("submitted_at"))["last"]
    if unfinished and first.session.is_open:
        return False, None
    if last is None:
        return True, None
    opens_at = last + timedelta(days=first.session.design.washout_days)  # type: ignore[union-attr]
    return (now or timezone.now()) >= opens_at, opens_at


def reading_washout_check(*, assignment: ReadingAssignment, now: datetime | None = None) -> None:
    """Raise ``ReadingWashoutError`` (with the date it opens) when the washout is not over."""
    is_open, opens_at = reading_washout_opens_at(assignment=assignment, now=now)
    if is_open:
        return
    session = assignment.session
    if opens_at is None:
        raise ReadingWashoutError(
            f"“{session.name}” opens after you finish the first session of this design "
            f"and a washout of {session.design.washout_days} days.",  # type: ignore[union-attr]
            None,
        )
    raise ReadingWashoutError(
        f"“{session.name}” opens for you on {timezone.localtime(opens_at):%Y-%m-%d %H:%M} "
        f"(washout of {session.design.washout_days} days after your last reading in "  # type: ignore[union-attr]
        "the first session).",
        opens_at,
    )


def reading_assignment_for_user(
    *, user: User, token: str, now: datetime | None = None
) -> ReadingAssignment:
    """The assignment with ``token`` if it is ``user``'s and its session has started; else 404.

    The user must hold the reader role in the session's study (group and membership) and be
    the account linked to the assigned reader. Coordinators get 404 here too: these pages
    are the reader's own.
    """
    assignment = (
        ReadingAssignment.objects.select_related(
            "session", "session__study", "session__design", "reader"
        )
        .filter(token=token)
        .exclude(session__status=ReadingSession.Status.DRAFT)
        .first()
    )
    if (
        assignment is None
        or not user.is_authenticated
        or assignment.reader.user_id != user.pk
        or not has_study_role(user, assignment.session.study, "reader")
    ):
        raise Http404("No such reading assignment.")
    reading_washout_check(assignment=assignment, now=now)
    return assignment


def reading_work_at(*, assignment: ReadingAssignment, position: int) -> ReadingWork:
    work = (
        ReadingWork.objects.select_related("case", "reading", "draft")
        .filter(assignment=assignment, position=position)
        .first()
    )
    if work is None:
        raise Http404("No such case in this assignment.")
    work.assignment = assignment
    return work


def reading_next_position(*, assignment: ReadingAssignment, after: int = 0) -> int | None:
    """The first unfinished position after ``after`` (wrapping around); None when all done."""
    todo = ReadingWork.objects.filter(assignment=assignment, submitted_at__isnull=True)
    later = todo.filter(position__gt=after).order_by("position").values_list("position", flat=True)
    first = later.first()
    if first is None:
        first = todo.order_by("position").values_list("position", flat=True).first()
    return first


@dataclass(frozen=True)
class GridCell:
    index: int  # 1-based position of the image in the case's display order
    label: str


@dataclass
class ImageGrid:
    """A case's images; with phases and slices known, also ``rows`` (slices) x ``columns``
    (phases) of cells."""

    images: list[CaseImage]
    cells: list[GridCell] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[str, list[GridCell | None]]] = field(default_factory=list)

    @property
    def is_grid(self) -> bool:
        return bool(self.columns)


def _image_label(index: int, image: CaseImage) -> str:
    if image.phase and image.slice:
        return f"Phase {image.phase}, slice {image.slice}"
    if image.phase or image.slice:
        return f"Phase {image.phase}" if image.phase else f"Slice {image.slice}"
    return f"Image {index}"


def reading_image_grid(*, case: Case) -> ImageGrid:
    """The case's images in display order and, when phases and slices are known, a grid."""
    images = list(CaseImage.objects.filter(case=case).order_by("order", "id"))
    cells = [GridCell(i, _image_label(i, im)) for i, im in enumerate(images, start=1)]
    grid = ImageGrid(images=images, cells=cells)
    if not images or any(not (im.phase and im.slice) for im in images):
        return grid
    phases = list(dict.fromkeys(im.phase for im in images))
    slices = list(dict.fromkeys(im.slice for im in images))
    by_place: dict[tuple[str, str], GridCell] = {}
    for cell, im in zip(cells, images, strict=True):
        by_place.setdefault((im.slice, im.phase), cell)
    if len(by_place) != len(images):  # two images in one cell: show the plain list instead
        return grid
    grid.columns = phases
    grid.rows = [(s, [by_place.get((s, p)) for p in phases]) for s in slices]
    return grid


def reading_image_at(*, case: Case, index: int) -> CaseImage:
    if index < 1:
        raise Http404("No such image.")
    images = list(CaseImage.objects.filter(case=case).order_by("order", "id")[index - 1 : index])
    if not images:
        raise Http404("No such image.")
    return images[0]


@dataclass(frozen=True)
class DicomSeries:
    """One DICOM series of a case for the viewer: its 1-based position and the number of
    slices (instances are addressed as ``series/slice``, both 1-based, nothing else)."""

    number: int
    slices: int


def reading_dicom_series(*, case: Case) -> list[DicomSeries]:
    """The case's DICOM series in order (see ``readerstudy.core.dicom.series_order``)."""
    counts: dict[int, int] = {}
    rows = CaseImage.objects.filter(case=case, dicom_series_index__isnull=False).values_list(
        "dicom_series_index", flat=True
    )
    for index in rows:
        if index is not None:
            counts[index] = counts.get(index, 0) + 1
    return [DicomSeries(number=n, slices=counts[i]) for n, i in enumerate(sorted(counts), 1)]


def reading_dicom_at(*, case: Case, series: int, slice_number: int) -> CaseImage:
    """The DICOM instance at 1-based ``series`` and ``slice_number`` of the case (404 if none)."""
    indices = sorted(
        {
            index
            for index in CaseImage.objects.filter(
                case=case, dicom_series_index__isnull=False
            ).values_list("dicom_series_index", flat=True)
            if index is not None
        }
    )
    if not 1 <= series <= len(indices) or slice_number < 1:
        raise Http404("No such DICOM instance.")
    found = list(
        CaseImage.objects.filter(
            case=case, dicom_series_index=indices[series - 1], dicom_slice__isnull=False
        ).order_by("dicom_slice", "id")[slice_number - 1 : slice_number]
    )
    if not found:
        raise Http404("No such DICOM instance.")
    return found[0]


def reading_case_info(*, session: ReadingSession, case: Case) -> list[tuple[str, str]]:
    """The case information this session shows its readers, as (label, text) pairs.

    Only location, clinical history and findings, each if the session allows it. Never
    shown: the case id, patient id, truth, truth detail, reference impression, extra
    attributes (they may hold pathology), or any other reader's reading.
    """
    info = []
    if session.show_location and case.location:
        info.append(("Lesion location", case.location))
    if session.show_clinical_history and case.clinical_history:
        info.append(("Clinical history", case.clinical_history))
    if session.show_findings and case.findings:
        info.append(("Findings", case.findings))
    return info


@dataclass(frozen=True)
class Assist:
    category: int
    label: str
    impression: str
    n_runs: int


def reading_assist(*, session: ReadingSession, case: Case) -> Assist | None:
    """The assisting model's final category on ``case`` (the study's consensus rule over its
    runs at modality 1) and the impression of its first run that gave that category."""
    if session.assist_reader_id is None:
        return None
    runs = list(
        Reading.objects.filter(reader_id=session.assist_reader_id, case=case, modality=1)
        .order_by("run")
        .values("run", "category", "impression")
    )
    if not runs:
        return None
    final = final_category([r["category"] for r in runs], rule=session.study.consensus)
    impression = next(r["impression"] for r in runs if r["category"] == final)
    label = (
        session.study.scale_categories.filter(value=final).values_list("label", flat=True).first()
    )
    return Assist(category=final, label=label or "", impression=impression, n_runs=len(runs))
