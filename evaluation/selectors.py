"""Reusable read queries of Likert rating: what raters may see, and what coordinators watch.

Everything a rater's page shows comes from :func:`rater_item_view`, which returns a plain
:class:`RaterItemView` holding only blinded values (the opaque id, the normalised text, the
allowed context, the rater's own draft). Templates of rater pages never get a model instance
that could reach the reading, its reader or its run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.models import User as SignedInUser
from django.db import connection
from django.db.models import Case, CharField, Count, Exists, Max, OuterRef, Q, QuerySet, Value, When
from django.http import Http404

from evaluation.blinding import (
    RULE_LABELS,
    LeakDetector,
    StructureWarning,
    normalise_output,
    structure_by_source,
)
from evaluation.instruments import (
    NO_ERRORS,
    acceptability_scale,
    domain_scale,
    error_taxonomy,
    judge_choice,
)
from evaluation.models import (
    REFERENCE_READER,
    AcceptabilityGrade,
    ErrorAnnotation,
    Instrument,
    JudgeAnswer,
    JudgeConfig,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    Rater,
    RatingAssignment,
    RatingItem,
    RatingSession,
    RatingTask,
    ScoreAmendment,
)
from readerstudy.core.db.rows import Columns
from readerstudy.core.users import Visitor
from readerstudy.studies.models import CaseImage, Reader, Reading, Study, StudyMember

User = Visitor

#: Larger image numbers are a 404 without a query (an OFFSET must fit the database's integers).
MAX_IMAGE_NUMBER = 100_000

#: Image types that may be shown to raters (DICOM is never sent to them).
RATER_IMAGE_TYPES: tuple[str, ...] = ("image/png", "image/jpeg")

FIVE_POINT_ANCHORS: tuple[str, ...] = (
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
)


def likert_anchors(low: int, high: int) -> list[tuple[int, str]]:
    """``(value, label)`` for each point of the scale; the ends are always labelled."""
    values = list(range(low, high + 1))
    if len(values) == len(FIVE_POINT_ANCHORS):
        return list(zip(values, FIVE_POINT_ANCHORS, strict=True))
    labels = {low: "Strongly disagree", high: "Strongly agree"}
    return [(v, labels.get(v, "")) for v in values]


def domain_points(
    domain: LikertDomain, study: Study, study_points: list[tuple[int, str]]
) -> tuple[list[tuple[int, str]], bool]:
    """``(value, anchor)`` of each point of ``domain``'s scale, and whether it is its own: a
    domain with its own range or anchors (``study.toml``) gets them, its unlabelled points
    the study-wide labels where the range is the study's (else blank, with the ends always
    labelled by its anchors or "Strongly disagree"/"Strongly agree")."""
    scale = domain_scale(domain.extra, low=study.likert_min, high=study.likert_max)
    own = bool(scale.anchors) or (scale.low, scale.high) != (study.likert_min, study.likert_max)
    if not own:
        return study_points, False
    base = dict(
        study_points
        if (scale.low, scale.high) == (study.likert_min, study.likert_max)
        else likert_anchors(scale.low, scale.high)
    )
    return [
        (v, scale.anchors.get(v, base.get(v, ""))) for v in range(scale.low, scale.high + 1)
    ], True


def session_domains(session: RatingSession) -> list[LikertDomain]:
    """The session's domains in the study's order."""
    return list(session.domains.order_by("position", "key"))


@lru_cache(maxsize=512)
def _cached_domains(session_id: int, created_at: datetime) -> tuple[LikertDomain, ...]:
    return tuple(
        LikertDomain.objects.filter(rating_sessions=session_id).order_by("position", "key")
    )


def session_domains_cached(session: RatingSession) -> list[LikertDomain]:
    """:func:`session_domains` remembered per process, for the write paths (autosave, submit).

    A session's set of domains never changes once it is created, so the cache is keyed by the
    session's id and creation time (never reused together). Only keys, ids and labels are
    read from these objects.
    """
    return list(_cached_domains(session.pk, session.created_at))


def study_leak_detector(study: Study) -> LeakDetector:
    readers = Reader.objects.filter(study=study).values_list("code", "label")
    return LeakDetector.for_readers(readers)


# --------------------------------------------------------------------------------------
# Rater side


def _rater_role(user: SignedInUser, study_path: str) -> Q:
    """Rows whose study (the field at ``study_path``) has ``user`` as a rater: the membership
    and the group, as :func:`readerstudy.studies.access.has_study_role` requires."""
    if user.is_superuser:
        return Q()
    member = StudyMember.objects.filter(
        study=OuterRef(study_path), user=user, role=StudyMember.Role.RATER
    )
    in_group = Group.objects.filter(user=user, name=StudyMember.Role.RATER)
    return Q(Exists(member)) & Q(Exists(in_group))


def is_study_rater(user: SignedInUser, study_id: int) -> bool:
    """``user`` holds the rater role in the study, in one query."""
    return Study.objects.filter(_rater_role(user, "pk"), pk=study_id).exists()


# The rater's task lookup and "next item" run on every autosave and submission, so they are
# written in SQL (readerstudy.core.db.rows): compiling them with the ORM cost several times what the
# database spends on them. Two small queries rather than one seven-table join, whose planning
# alone takes PostgreSQL several milliseconds.
_TASK = Columns(RatingTask, "t")
_ITEM = Columns(RatingItem, "i")
_ASSIGNMENT = Columns(RatingAssignment, "a")
_SESSION = Columns(RatingSession, "s")
_STUDY = Columns(Study, "st")
_STARTED = (RatingSession.Status.OPEN.value, RatingSession.Status.CLOSED.value)


@lru_cache(maxsize=4)
def _task_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    rater = quote(Rater._meta.db_table)
    return (
        f"SELECT {_TASK.sql}, {_ITEM.sql}, {_ASSIGNMENT.sql} "
        f"FROM {_ITEM.table} AS i "
        f"JOIN {_TASK.table} AS t ON t.item_id = i.id "
        f"JOIN {_ASSIGNMENT.table} AS a ON a.id = t.assignment_id "
        f"JOIN {rater} AS r ON r.id = a.rater_id "
        "WHERE i.public_id = %s AND r.user_id = %s"
    )


@lru_cache(maxsize=8)
def _rater_session_sql(vendor: str, check_role: bool) -> str:
    """The started session with its study, if the user (the last two parameters) still holds
    the rater role in the study: a membership row and the rater group, as
    :func:`readerstudy.studies.access.has_study_role` requires."""
    quote = connection.ops.quote_name
    user_groups = get_user_model().groups.through
    sql = (
        f"SELECT {_SESSION.sql}, {_STUDY.sql} "
        f"FROM {_SESSION.table} AS s JOIN {_STUDY.table} AS st ON st.id = s.study_id "
        "WHERE s.id = %s AND s.status IN (%s, %s)"
    )
    if check_role:
        sql += (
            f" AND EXISTS (SELECT 1 FROM {quote(StudyMember._meta.db_table)} AS m"
            " WHERE m.study_id = s.study_id AND m.user_id = %s AND m.role = %s)"
            f" AND EXISTS (SELECT 1 FROM {quote(user_groups._meta.db_table)} AS ug"
            f" JOIN {quote(Group._meta.db_table)} AS g ON g.id = ug.group_id"
            " WHERE ug.user_id = %s AND g.name = %s)"
        )
    return sql


def rater_task_for(user: User, public_id: str) -> RatingTask:
    """The caller's own task for item ``public_id`` of a started session; else ``Http404``.

    The same 404 is given for an id that does not exist, an item of another rater, an item of
    a session that has not started, and a user who is no longer a rater of the study. The task
    comes with its item, its assignment and the assignment's session and study loaded.
    """
    if not user.is_authenticated or len(public_id) > 32:
        raise Http404("No such item.")
    with connection.cursor() as cursor:
        cursor.execute(_task_sql(connection.vendor), [public_id, user.pk])
        row = cursor.fetchone()
        if row is None:
            raise Http404("No such item.")
        task = _TASK.load(row, 0)
        task.item = _ITEM.load(row, len(_TASK))
        task.assignment = _ASSIGNMENT.load(row, len(_TASK) + len(_ITEM))
        params: list[Any] = [task.assignment.session_id, *_STARTED]
        if not user.is_superuser:
            params += [user.pk, StudyMember.Role.RATER.value, user.pk, StudyMember.Role.RATER.value]
        cursor.execute(_rater_session_sql(connection.vendor, not user.is_superuser), params)
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such item.")
    session = _SESSION.load(row, 0)
    session.study = _STUDY.load(row, len(_SESSION))
    task.assignment.session = session
    return task


def rater_assignment_for(user: User, session_id: int) -> RatingAssignment:
    """The caller's assignment in a started session; else ``Http404``."""
    assignment = (
        RatingAssignment.objects.select_related("session__study", "rater", "last_task")
        .filter(
            session_id=session_id,
            rater__user=user,
            session__status__in=[RatingSession.Status.OPEN, RatingSession.Status.CLOSED],
        )
        .first()
        if user.is_authenticated
        else None
    )
    if (
        not user.is_authenticated
        or assignment is None
        or not is_study_rater(user, assignment.session.study_id)
    ):
        raise Http404("No such session.")
    return assignment


@dataclass(frozen=True)
class WorklistEntry:
    session_id: int
    study_id: int
    session_name: str
    study_title: str
    status: str
    total: int
    submitted: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.submitted >= self.total

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / self.total) if self.total else 0


def rater_worklist(user: User) -> list[WorklistEntry]:
    """The caller's started sessions, open ones first, with their progress."""
    if not user.is_authenticated:
        return []
    assignments = (
        RatingAssignment.objects.filter(
            rater__user=user,
            session__status__in=[RatingSession.Status.OPEN, RatingSession.Status.CLOSED],
        )
        .select_related("session__study")
        .annotate(
            n_total=Count("tasks"),
            n_submitted=Count("tasks", filter=Q(tasks__submitted_at__isnull=False)),
        )
        .order_by("session__status", "-session__opened_at", "session_id")
    )
    return [
        WorklistEntry(
            session_id=a.session_id,
            study_id=a.session.study_id,
            session_name=a.session.name,
            study_title=a.session.study.title,
            status=a.session.status,
            total=a.n_total,
            submitted=a.n_submitted,
        )
        for a in assignments
        if is_study_rater(user, a.session.study_id)
    ]


#: The states of a rater's task: not touched, draft saved, submitted.
TASK_STATES: tuple[str, ...] = ("new", "draft", "submitted")


def rater_open_tasks(user: User) -> QuerySet[RatingTask]:
    """The caller's tasks in open sessions of studies they are still a rater of.

    Ordered by session, then by the rater's own position (their randomised order); each row is
    annotated with ``state`` (one of :data:`TASK_STATES`). Only the opaque item id, the
    session, the position and the state are meant to be read from these rows.
    """
    if not user.is_authenticated:
        return RatingTask.objects.none()
    return (
        RatingTask.objects.filter(
            _rater_role(user, "assignment__session__study"),
            assignment__rater__user=user,
            assignment__session__status=RatingSession.Status.OPEN,
        )
        .annotate(
            state=Case(
                When(submitted_at__isnull=False, then=Value("submitted")),
                When(draft={}, then=Value("new")),
                default=Value("draft"),
                output_field=CharField(),
            )
        )
        .order_by("assignment__session_id", "position")
    )


@dataclass(frozen=True)
class TaskLine:
    """One row of a rater's own list of items."""

    number: int
    public_id: str
    state: str  # "submitted", "draft" or "new"


def rater_task_lines(assignment: RatingAssignment) -> list[TaskLine]:
    rows = assignment.tasks.order_by("position").values_list(
        "position", "item__public_id", "submitted_at", "draft"
    )
    return [
        TaskLine(
            number=pos + 1,
            public_id=pid,
            state="submitted" if submitted else ("draft" if draft else "new"),
        )
        for pos, pid, submitted, draft in rows
    ]


def resume_task(assignment: RatingAssignment) -> RatingTask | None:
    """Where the rater left: the last item they worked on while it is not submitted, else the
    first unsubmitted item in their order, else their last item."""
    last = assignment.last_task
    if last is not None and last.submitted_at is None:
        return last
    pending = assignment.tasks.filter(submitted_at__isnull=True).order_by("position").first()
    if pending is not None:
        return pending
    return last or assignment.tasks.order_by("position").first()


@lru_cache(maxsize=4)
def _next_pending_sql(vendor: str, after: bool) -> str:
    return (
        f"SELECT i.public_id FROM {_TASK.table} AS t JOIN {_ITEM.table} AS i ON i.id = t.item_id "
        "WHERE t.assignment_id = %s AND t.submitted_at IS NULL "
        f"AND t.position {'>' if after else '<'} %s ORDER BY t.position LIMIT 1"
    )


def next_pending_public_id(task: RatingTask) -> str | None:
    """The public id of the next unsubmitted item after ``task`` in the rater's order,
    wrapping around to the first one before it (an index range scan on (assignment, position);
    the second query only runs at the end of the list)."""
    with connection.cursor() as cursor:
        for after in (True, False):
            cursor.execute(
                _next_pending_sql(connection.vendor, after), [task.assignment_id, task.position]
            )
            row = cursor.fetchone()
            if row is not None:
                return str(row[0])
    return None


@dataclass(frozen=True)
class DomainRow:
    key: str
    label: str
    description: str
    value: int | None
    #: ``(value, anchor)`` of each point of this domain's scale (its own range and anchors,
    #: else the study's).
    points: list[tuple[int, str]] = field(default_factory=list)
    #: Whether the domain has a range or anchors of its own (the page then shows them).
    own_scale: bool = False


@dataclass(frozen=True)
class DomainGroup:
    name: str
    rows: list[DomainRow]


@dataclass(frozen=True)
class RaterItemView:
    """Everything a rater's item page may show: blinded values only."""

    public_id: str
    session_id: int
    session_name: str
    session_open: bool
    number: int
    total: int
    submitted_count: int
    text: str
    location: str
    clinical_history: str
    findings: str
    image_urls: list[str]
    groups: list[DomainGroup]
    anchors: list[tuple[int, str]]
    version: int
    submitted: bool
    allow_amend: bool
    previous_id: str | None
    next_id: str | None
    stored: dict[str, int] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.session_open and (not self.submitted or self.allow_amend)

    @property
    def complete(self) -> bool:
        return all(row.value is not None for g in self.groups for row in g.rows)

    @property
    def percent(self) -> int:
        return round(100 * self.submitted_count / self.total) if self.total else 0


def rater_item_view(task: RatingTask) -> RaterItemView:
    """The blinded view of ``task`` (a fixed number of queries whatever the item's source)."""
    session = task.assignment.session
    study = session.study
    item = task.item
    case = (
        Reading.objects.filter(pk=item.reading_id)
        .values("case_id", "case__location", "case__clinical_history", "case__findings")
        .get()
    )
    domains = session_domains(session)
    draft: dict[str, Any] = task.draft or {}
    groups: list[DomainGroup] = []
    study_points = likert_anchors(study.likert_min, study.likert_max)
    for d in domains:
        value = draft.get(d.key)
        points, own = domain_points(d, study, study_points)
        row = DomainRow(
            d.key,
            d.label,
            d.description,
            value if isinstance(value, int) else None,
            points,
            own,
        )
        if groups and groups[-1].name == d.group:
            groups[-1].rows.append(row)
        else:
            groups.append(DomainGroup(d.group, [row]))
    n_images = (
        CaseImage.objects.filter(
            case_id=case["case_id"], content_type__in=RATER_IMAGE_TYPES
        ).count()
        if session.show_images
        else 0
    )
    counts = RatingTask.objects.filter(assignment_id=task.assignment_id).aggregate(
        total=Count("id"),
        submitted=Count("id", filter=Q(submitted_at__isnull=False)),
        last=Max("position"),
    )
    neighbours = dict(
        RatingTask.objects.filter(
            assignment_id=task.assignment_id, position__in=[task.position - 1, task.position + 1]
        ).values_list("position", "item__public_id")
    )
    stored: dict[str, int] = {}
    if task.submitted_at is not None:
        stored = dict(
            LikertScore.objects.filter(
                rater_id=task.assignment.rater_id, reading_id=item.reading_id, domain__in=domains
            ).values_list("domain__key", "score")
        )
    return RaterItemView(
        public_id=item.public_id,
        session_id=session.pk,
        session_name=session.name,
        session_open=session.status == RatingSession.Status.OPEN,
        number=task.position + 1,
        total=counts["total"],
        submitted_count=counts["submitted"],
        text=item.display_text,
        location=case["case__location"] if session.show_location else "",
        clinical_history=case["case__clinical_history"] if session.show_clinical_history else "",
        findings=case["case__findings"] if session.show_findings else "",
        image_urls=[f"/rating/items/{item.public_id}/images/{k}/" for k in range(1, n_images + 1)],
        groups=groups,
        anchors=likert_anchors(study.likert_min, study.likert_max),
        version=task.version,
        submitted=task.submitted_at is not None,
        allow_amend=session.allow_amend,
        previous_id=neighbours.get(task.position - 1),
        next_id=neighbours.get(task.position + 1),
        stored=stored,
    )


@dataclass(frozen=True)
class JudgmentOption:
    """One answer of a judgment page: the stored value, its label and its key."""

    value: str
    label: str
    key: str


@dataclass(frozen=True)
class RaterJudgmentView:
    """Everything a rater's pairwise, acceptability or error page may show: blinded values only.

    A pairwise page shows ``left_text`` and ``right_text`` labelled "A" and "B" (which output
    is which is the item's seeded ``left``, never shown); ``choice`` is positional. An error
    page shows ``text``, whose ``options`` are the study's error categories; an
    acceptability or error item of the reference impression looks like any other."""

    public_id: str
    instrument: str
    session_id: int
    session_name: str
    session_open: bool
    number: int
    total: int
    submitted_count: int
    text: str
    left_text: str
    right_text: str
    location: str
    clinical_history: str
    findings: str
    options: list[JudgmentOption]
    draft: dict[str, Any]
    version: int
    submitted: bool
    allow_amend: bool
    previous_id: str | None
    next_id: str | None

    @property
    def editable(self) -> bool:
        return self.session_open and (not self.submitted or self.allow_amend)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The draft's marked errors, each with its category's label and the marked words."""
        labels = {o.value: o.label for o in self.options}
        return [
            {
                **e,
                "label": labels.get(e.get("category", ""), ""),
                "quote": self.text[e["start"] : e["end"]] if "start" in e else "",
            }
            for e in self.draft.get("errors", [])
            if isinstance(e, dict)
        ]

    @property
    def chosen(self) -> str:
        value = self.draft.get("choice" if self.instrument == "pairwise" else "grade")
        return "" if value is None else str(value)

    @property
    def percent(self) -> int:
        return round(100 * self.submitted_count / self.total) if self.total else 0


PAIRWISE_OPTIONS = [
    JudgmentOption("left", "A better", "←"),
    JudgmentOption("tie", "Equivalent", "↓"),
    JudgmentOption("right", "B better", "→"),
]


def rater_judgment_view(task: RatingTask) -> RaterJudgmentView:
    """The blinded view of a pairwise or acceptability ``task``."""
    session = task.assignment.session
    item = task.item
    case = (
        Reading.objects.filter(pk=item.reading_id)
        .values("case__location", "case__clinical_history", "case__findings")
        .get()
    )
    counts = RatingTask.objects.filter(assignment_id=task.assignment_id).aggregate(
        total=Count("id"), submitted=Count("id", filter=Q(submitted_at__isnull=False))
    )
    neighbours = dict(
        RatingTask.objects.filter(
            assignment_id=task.assignment_id, position__in=[task.position - 1, task.position + 1]
        ).values_list("position", "item__public_id")
    )
    pairwise = session.instrument == RatingSession.Instrument.PAIRWISE
    if pairwise:
        options = PAIRWISE_OPTIONS
        left, right = (
            (item.display_text, item.display_text_b)
            if item.left != "b"
            else (item.display_text_b, item.display_text)
        )
    elif session.instrument == RatingSession.Instrument.ERRORS:
        options = [
            JudgmentOption(key, label, str(k) if k <= 9 else "")
            for k, (key, label) in enumerate(
                error_taxonomy(session.study).categories.items(), start=1
            )
        ]
        left = right = ""
    else:
        scale = acceptability_scale(session.study)
        options = [
            JudgmentOption(str(v), scale.labels[v], str(k))
            for k, v in enumerate(scale.values, start=1)
        ]
        left = right = ""
    return RaterJudgmentView(
        public_id=item.public_id,
        instrument=session.instrument,
        session_id=session.pk,
        session_name=session.name,
        session_open=session.status == RatingSession.Status.OPEN,
        number=task.position + 1,
        total=counts["total"],
        submitted_count=counts["submitted"],
        text="" if pairwise else item.display_text,
        left_text=left,
        right_text=right,
        location=case["case__location"] if session.show_location else "",
        clinical_history=case["case__clinical_history"] if session.show_clinical_history else "",
        findings=case["case__findings"] if session.show_findings else "",
        options=options,
        draft=dict(task.draft or {}),
        version=task.version,
        submitted=task.submitted_at is not None,
        allow_amend=session.allow_amend,
        previous_id=neighbours.get(task.position - 1),
        next_id=neighbours.get(task.position + 1),
    )


def rater_item_image(task: RatingTask, number: int) -> CaseImage:
    """Image ``number`` (from 1) of the item's case, if the session shows images; else 404."""
    session = task.assignment.session
    if not session.show_images or not 1 <= number <= MAX_IMAGE_NUMBER:
        raise Http404("No such image.")
    case_id = (
        Reading.objects.filter(pk=task.item.reading_id).values_list("case_id", flat=True).get()
    )
    image = (
        CaseImage.objects.filter(case_id=case_id, content_type__in=RATER_IMAGE_TYPES)
        .order_by("order", "id")[number - 1 : number]
        .first()
    )
    if image is None:
        raise Http404("No such image.")
    return image


# --------------------------------------------------------------------------------------
# Coordinator side


def study_sessions(study: Study) -> QuerySet[RatingSession]:
    """The study's rating sessions with item, rater and progress counts."""
    return (
        RatingSession.objects.filter(study=study)
        .annotate(
            n_items=Count("items", distinct=True),
            n_raters=Count("assignments", distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def session_task_counts(session: RatingSession) -> dict[str, int]:
    return RatingTask.objects.filter(assignment__session=session).aggregate(
        total=Count("id"), submitted=Count("id", filter=Q(submitted_at__isnull=False))
    )


@dataclass(frozen=True)
class RaterProgress:
    rater: str
    username: str
    total: int
    submitted: int
    drafts: int
    last_activity_at: datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / self.total) if self.total else 0


def session_progress(session: RatingSession) -> list[RaterProgress]:
    """Per rater: items assigned, submitted, started but not submitted, last activity."""
    rows = (
        RatingAssignment.objects.filter(session=session)
        .select_related("rater__user")
        .annotate(
            n_total=Count("tasks"),
            n_submitted=Count("tasks", filter=Q(tasks__submitted_at__isnull=False)),
            n_drafts=Count(
                "tasks", filter=Q(tasks__submitted_at__isnull=True) & ~Q(tasks__draft={})
            ),
        )
        .order_by("rater__code")
    )
    return [
        RaterProgress(
            rater=a.rater.code,
            username=a.rater.user.get_username() if a.rater.user else "",
            total=a.n_total,
            submitted=a.n_submitted,
            drafts=a.n_drafts,
            last_activity_at=a.last_activity_at,
        )
        for a in rows
    ]


@dataclass(frozen=True)
class FlaggedItem:
    public_id: str
    reader: str
    run: int
    case: str
    text: str
    flags: list[dict[str, Any]]
    dismissed: bool
    redacted: bool


def session_flagged_items(session: RatingSession) -> list[FlaggedItem]:
    """Items whose display text the leak detector flagged (resolved ones included)."""
    items = (
        RatingItem.objects.filter(session=session)
        .exclude(leak_flags=[])
        .select_related("reading__reader", "reading__case")
        .order_by("position")
    )
    return [
        FlaggedItem(
            public_id=i.public_id,
            reader=REFERENCE_READER if i.reference else i.reading.reader.code,
            run=0 if i.reference else i.reading.run,
            case=i.reading.case.code,
            text=i.display_text,
            flags=[{**f, "label": RULE_LABELS.get(f["rule"], f["rule"])} for f in i.leak_flags],
            dismissed=i.leak_dismissed_at is not None,
            redacted=i.redacted_at is not None,
        )
        for i in items
    ]


def session_redacted_items(session: RatingSession) -> QuerySet[RatingItem]:
    return RatingItem.objects.filter(session=session, redacted_at__isnull=False)


@dataclass(frozen=True)
class KeyRow:
    public_id: str
    position: int
    reader: str
    reader_kind: str
    reader_label: str
    run: int
    modality: int
    case: str
    redacted: bool
    #: Pairwise items: output B's reader (``reference`` for the reference impression) and
    #: which output was on the left; empty otherwise.
    reader_b: str = ""
    left: str = ""


#: The extra key columns of a pairwise session.
PAIRWISE_KEY_COLUMNS: tuple[str, ...] = ("reader_b_id", "left")

KEY_COLUMNS: tuple[str, ...] = (
    "item",
    "session_position",
    "reader_id",
    "kind",
    "label",
    "run",
    "modality",
    "case_id",
    "redacted",
)


def unblinding_key(session: RatingSession) -> list[KeyRow]:
    """Item public id -> reader, run, modality and case, in the session's order."""
    rows = (
        RatingItem.objects.filter(session=session)
        .order_by("position")
        .values_list(
            "public_id",
            "position",
            "reading__reader__code",
            "reading__reader__kind",
            "reading__reader__label",
            "reading__run",
            "reading__modality",
            "reading__case__code",
            "redacted_at",
            "reading_b__reader__code",
            "left",
            "reference",
        )
    )
    pairwise = session.instrument == RatingSession.Instrument.PAIRWISE
    # An item of the reference impression: the reading is only its link to the case.
    reference = (REFERENCE_READER, REFERENCE_READER, "reference impression", 0, 0)
    return [
        KeyRow(
            pid,
            pos + 1,
            *(reference if ref else (code, kind, label, run, modality)),
            case,
            redacted is not None,
            (code_b or REFERENCE_READER) if pairwise else "",
            left,
        )
        for pid, pos, code, kind, label, run, modality, case, redacted, code_b, left, ref in rows
    ]


RANDOMISATION_COLUMNS: tuple[str, ...] = ("rater_id", "position", "item")


def randomisation_rows(session: RatingSession) -> list[tuple[str, int, str]]:
    """``(rater code, position from 1, item public id)`` for every task, by rater then order."""
    return [
        (code, pos + 1, pid)
        for code, pos, pid in RatingTask.objects.filter(assignment__session=session)
        .order_by("assignment__rater__code", "position")
        .values_list("assignment__rater__code", "position", "item__public_id")
    ]


@dataclass(frozen=True)
class StudyLeak:
    reader: str
    run: int
    case: str
    text: str
    flags: list[dict[str, Any]]


def study_leak_report(study: Study) -> list[StudyLeak]:
    """Every output of the study whose normalised text the leak detector flags."""
    detector = study_leak_detector(study)
    out: list[StudyLeak] = []
    readings = (
        Reading.objects.filter(case__study=study)
        .exclude(impression="")
        .order_by("reader__position", "reader__code", "case__position", "run", "modality")
        .values_list("reader__code", "run", "case__code", "impression")
    )
    for code, run, case, impression in readings.iterator(chunk_size=2000):
        text = normalise_output(impression)
        flags = detector.detect(text, original=impression)
        if flags:
            out.append(
                StudyLeak(
                    reader=code,
                    run=run,
                    case=case,
                    text=text,
                    flags=[
                        {**f.as_dict(), "label": RULE_LABELS.get(f.rule, f.rule)} for f in flags
                    ],
                )
            )
    return out


def study_structure_warnings(study: Study) -> list[StructureWarning]:
    """Kinds of structure (tables, lists, HTML ...) that human and model outputs of the study
    use differently (:func:`evaluation.blinding.structure_by_source`, by reader kind)."""
    readings = (
        Reading.objects.filter(case__study=study)
        .exclude(impression="")
        .values_list("reader__kind", "impression")
    )
    return structure_by_source(readings.iterator(chunk_size=2000))


def session_structure_warnings(session: RatingSession) -> list[StructureWarning]:
    """:func:`study_structure_warnings` over a session's items: the original output of each,
    or the text raters will see where the coordinator redacted it."""
    rows = RatingItem.objects.filter(session=session).values_list(
        "reading__reader__kind",
        "reading__impression",
        "display_text",
        "redacted_at",
        "reference",
        "reading__case__reference_impression",
    )
    return structure_by_source(
        (
            REFERENCE_READER if ref else kind,
            shown if redacted is not None else (reference if ref else original),
        )
        for kind, original, shown, redacted, ref, reference in rows.iterator(chunk_size=2000)
    )


def task_amendments(task: RatingTask) -> QuerySet[ScoreAmendment]:
    return ScoreAmendment.objects.filter(task=task).select_related("score__domain").order_by("at")


def selectable_readers(study: Study) -> Sequence[Reader]:
    return list(Reader.objects.filter(study=study).order_by("position", "code"))


def session_task_counts_by_session(session_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """:func:`session_task_counts` of several sessions in one query."""
    rows = (
        RatingTask.objects.filter(assignment__session_id__in=list(session_ids))
        .values("assignment__session_id")
        .annotate(total=Count("id"), submitted=Count("id", filter=Q(submitted_at__isnull=False)))
        .order_by()
    )
    return {
        r["assignment__session_id"]: {"total": r["total"], "submitted": r["submitted"]}
        for r in rows
    }


# ----------------------------------------------------------------------------- judgments
#
# Long frames of the judgments for the analysis: one row per judgment, with the real reader,
# case and rater codes (for the analysis only: pseudonymise before showing a statistician).
# The reference impression is reader ``reference`` with kind ``reference`` and run and
# modality 0.

PREFERENCE_FRAME_COLUMNS = (
    "rater",
    "case",
    "reader_a",
    "kind_a",
    "run_a",
    "modality_a",
    "reader_b",
    "kind_b",
    "run_b",
    "modality_b",
    "choice",
    "left",
    "strength",
    "seconds",
    "source",
)
ACCEPTABILITY_FRAME_COLUMNS = (
    "rater",
    "case",
    "reader",
    "kind",
    "run",
    "modality",
    "grade",
    "acceptable",
    "seconds",
    "source",
)
ERROR_FRAME_COLUMNS = (
    "rater",
    "case",
    "reader",
    "kind",
    "run",
    "modality",
    "category",
    "no_errors",
    "significant",
    "start",
    "end",
    "source",
)


def _output_columns(frame: pd.DataFrame, prefix: str, suffix: str = "") -> None:
    """Rename ``<prefix>reader__code`` etc. to reader/kind/run/modality (+ ``suffix``), filling
    the reference impression's (NULL reading) values."""
    is_ref = frame[f"{prefix}id"].isna()
    frame[f"reader{suffix}"] = frame[f"{prefix}reader__code"].where(~is_ref, REFERENCE_READER)
    frame[f"kind{suffix}"] = frame[f"{prefix}reader__kind"].where(~is_ref, REFERENCE_READER)
    for name in ("run", "modality"):
        frame[f"{name}{suffix}"] = frame[f"{prefix}{name}"].fillna(0).astype("int64")


def _output_fields(prefix: str) -> list[str]:
    return [f"{prefix}{name}" for name in ("id", "reader__code", "reader__kind", "run", "modality")]


def preference_frame(study: Study) -> pd.DataFrame:
    """Every pairwise preference of ``study``: one row per comparison
    (``PREFERENCE_FRAME_COLUMNS``), ``strength`` and ``seconds`` NaN when missing."""
    rows = PairwisePreference.objects.filter(rater__study=study).values(
        "rater__code",
        "case__code",
        *_output_fields("reading_a__"),
        *_output_fields("reading_b__"),
        "choice",
        "left",
        "strength",
        "seconds",
        "source",
    )
    frame = pd.DataFrame.from_records(list(rows.order_by("id").iterator(chunk_size=20_000)))
    if frame.empty:
        return pd.DataFrame(columns=list(PREFERENCE_FRAME_COLUMNS))
    frame = frame.rename(columns={"rater__code": "rater", "case__code": "case"})
    _output_columns(frame, "reading_a__", "_a")
    _output_columns(frame, "reading_b__", "_b")
    frame["strength"] = frame["strength"].astype("float64")
    frame["seconds"] = frame["seconds"].astype("float64")
    return frame[list(PREFERENCE_FRAME_COLUMNS)].reset_index(drop=True)


def acceptability_frame(study: Study) -> pd.DataFrame:
    """Every acceptability grade of ``study`` (``ACCEPTABILITY_FRAME_COLUMNS``);
    ``acceptable`` applies the study's cut-off (``grade >= cutoff``)."""
    rows = AcceptabilityGrade.objects.filter(rater__study=study).values(
        "rater__code", "case__code", *_output_fields("reading__"), "grade", "seconds", "source"
    )
    frame = pd.DataFrame.from_records(list(rows.order_by("id").iterator(chunk_size=20_000)))
    if frame.empty:
        return pd.DataFrame(columns=list(ACCEPTABILITY_FRAME_COLUMNS))
    frame = frame.rename(columns={"rater__code": "rater", "case__code": "case"})
    _output_columns(frame, "reading__")
    frame["grade"] = frame["grade"].astype("int64")
    frame["acceptable"] = frame["grade"] >= acceptability_scale(study).cutoff
    frame["seconds"] = frame["seconds"].astype("float64")
    return frame[list(ACCEPTABILITY_FRAME_COLUMNS)].reset_index(drop=True)


def error_frame(study: Study) -> pd.DataFrame:
    """Every error annotation of ``study`` (``ERROR_FRAME_COLUMNS``), the "no errors" rows
    (``category == "none"``) included with ``no_errors`` true; ``start``/``end`` NaN when
    the error has no span."""
    rows = ErrorAnnotation.objects.filter(rater__study=study).values(
        "rater__code",
        "case__code",
        *_output_fields("reading__"),
        "category",
        "significant",
        "start",
        "end",
        "source",
    )
    frame = pd.DataFrame.from_records(list(rows.order_by("id").iterator(chunk_size=20_000)))
    if frame.empty:
        return pd.DataFrame(columns=list(ERROR_FRAME_COLUMNS))
    frame = frame.rename(columns={"rater__code": "rater", "case__code": "case"})
    _output_columns(frame, "reading__")
    frame["no_errors"] = frame["category"] == NO_ERRORS
    frame["significant"] = frame["significant"].astype(bool)
    for name in ("start", "end"):
        frame[name] = frame[name].astype("float64")
    return frame[list(ERROR_FRAME_COLUMNS)].reset_index(drop=True)


#: Columns of :func:`judge_answer_frame`.
JUDGE_ANSWER_COLUMNS = (
    "rater", "instrument", "judge_run", "order", "case", "reader_a", "kind_a", "run_a",
    "modality_a", "reader_b", "kind_b", "run_b", "modality_b", "key", "value",
)  # fmt: skip


def judge_answer_frame(study: Study) -> pd.DataFrame:
    """Every scored (``ok``) answer of the study's LLM judges, every run and order: one row
    per answer and key (a Likert domain key, ``choice`` or ``grade``). ``value`` is the score,
    the canonical choice (``a``/``b``/``tie``, :func:`evaluation.instruments.judge_choice`)
    or the grade; output B (``reader_b``...) is the pairwise comparator (``reference``: the
    case's reference impression). Real codes: pseudonymise before showing a statistician."""
    rows = JudgeAnswer.objects.filter(config__study=study, status=JudgeAnswer.Status.OK).values(
        "config__rater__code",
        "item__session__instrument",
        "run",
        "order",
        "item__reading__case__code",
        *_output_fields("item__reading__"),
        *_output_fields("item__reading_b__"),
        "parsed",
    )
    records = []
    for row in rows.order_by("id").iterator(chunk_size=20_000):
        parsed = row.pop("parsed") or {}
        instrument = row["item__session__instrument"]
        for key, value in parsed.items():
            if instrument == Instrument.PAIRWISE:
                value = judge_choice(row["order"], str(value))
            records.append(row | {"key": key, "value": value})
    if not records:
        return pd.DataFrame(columns=list(JUDGE_ANSWER_COLUMNS))
    frame = pd.DataFrame.from_records(records).rename(
        columns={
            "config__rater__code": "rater",
            "item__session__instrument": "instrument",
            "run": "judge_run",
            "item__reading__case__code": "case",
        }
    )
    _output_columns(frame, "item__reading__", "_a")
    # a Likert or acceptability item has no output B: the reading_b columns are all NULL
    pairwise = frame["instrument"] == Instrument.PAIRWISE
    _output_columns(frame, "item__reading_b__", "_b")
    for col in ("reader_b", "kind_b"):
        frame[col] = frame[col].where(pairwise, "")
    return frame[list(JUDGE_ANSWER_COLUMNS)].reset_index(drop=True)


def judge_problem_answers(*, config: JudgeConfig, run: int | None = None) -> QuerySet[JudgeAnswer]:
    """A judge's refused and unparseable answers (kept with their text), to be listed."""
    answers = JudgeAnswer.objects.filter(
        config=config, status__in=(JudgeAnswer.Status.REFUSED, JudgeAnswer.Status.UNPARSEABLE)
    )
    if run is not None:
        answers = answers.filter(run=run)
    return answers.select_related("item").order_by("run", "item__position")
