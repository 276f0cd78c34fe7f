"""Services of studies and their members (keyword-only).

Creating and editing a study, adding and removing members, inviting by email and adding
members in bulk from a CSV. Every change is in the audit log: membership rows and groups by
the model signals (as when they change in the admin), the rest by :func:`audit_record` here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from readerstudy.audit.context import AuditOrigin
from readerstudy.audit.services import audit_record
from readerstudy.core.choices import DEFAULT_LIKERT_DOMAINS
from readerstudy.studies.models import Reader, ScaleCategory, Study, StudyInvitation, StudyMember
from readerstudy.studies.signals import study_created

Actor = AbstractBaseUser | AnonymousUser | None


class StudyChangeError(Exception):
    """A change the service refuses (``field``: the form field it concerns)."""

    status = 409

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def study_member_add(
    *,
    study: Study,
    user: User,
    role: str,
    actor: Actor = None,
    reader: Reader | None = None,
) -> StudyMember:
    """Give ``user`` ``role`` in ``study``: the role's group and the membership (both audited
    by the model signals, as when they are added in the admin). A reader may be linked to a
    ``Reader`` of the study (its ``user``), the account that reads as it."""
    if role not in StudyMember.Role.values:
        raise ValueError(
            f"role: expected one of {', '.join(StudyMember.Role.values)}, got {role!r}"
        )
    if reader is not None:
        if reader.study_id != study.pk:
            raise StudyChangeError("That reader is not a reader of this study.", field="reader")
        if role != StudyMember.Role.READER:
            raise StudyChangeError("Only the reader role is linked to a reader.", field="reader")
        if reader.user_id is not None and reader.user_id != user.pk:
            raise StudyChangeError(
                f"Reader {reader.code} is already linked to another account.", field="reader"
            )
        other = Reader.objects.filter(study=study, user=user).exclude(pk=reader.pk).first()
        if other is not None:
            raise StudyChangeError(
                f"{user.get_username()} already reads as {other.code} in this study.",
                field="reader",
            )
    with transaction.atomic():
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        member, _ = StudyMember.objects.get_or_create(study=study, user=user, role=role)
        if reader is not None and reader.user_id != user.pk:
            reader.user = user
            reader.save(update_fields=["user"])
    return member


def study_member_remove(*, actor: Actor, member: StudyMember) -> None:
    """Remove a membership (audited by the model signal). A study keeps one coordinator at
    least; a removed reader's ``Reader`` keeps its readings but no longer its account."""
    if (
        member.role == StudyMember.Role.COORDINATOR
        and not StudyMember.objects.filter(study=member.study, role=member.role)
        .exclude(pk=member.pk)
        .exists()
    ):
        raise StudyChangeError("A study keeps at least one coordinator.", field="member")
    with transaction.atomic():
        if member.role == StudyMember.Role.READER:
            for reader in Reader.objects.filter(study=member.study, user=member.user):
                reader.user = None
                reader.save(update_fields=["user"])
        member.delete()


# --------------------------------------------------------------------------------------
# Studies


#: The fields of a study that stay editable once it holds data (cases, readings or scores):
#: what changes no answer already given and no result already computed from them.
SAFE_FIELDS: tuple[str, ...] = ("title", "description", "reference_reader")
#: Fields that lock once the study has cases: the scale and its threshold, the consensus rule
#: and the Likert range (changing them would change what existing answers mean).
LOCKED_FIELDS: tuple[str, ...] = (
    "slug",
    "scale_name",
    "categories",
    "positive_threshold",
    "consensus",
    "likert_min",
    "likert_max",
)


@dataclass(frozen=True)
class StudySpec:
    """What the study form describes. ``categories``: value -> label of the reading scale."""

    slug: str
    title: str
    positive_threshold: int
    categories: dict[int, str]
    scale_name: str = "BI-RADS"
    consensus: str = Study.Consensus.MAJORITY_MEDIAN
    description: str = ""
    likert_min: int = 1
    likert_max: int = 5
    reference_reader: Reader | None = None
    #: (key, label, group) of the Likert domains (created by the evaluation part; at creation
    #: only: later changes go through the administration site).
    domains: tuple[tuple[str, str, str], ...] = DEFAULT_LIKERT_DOMAINS
    extra: dict[str, Any] = field(default_factory=dict)


def study_has_data(*, study: Study) -> bool:
    """Whether the study holds cases (and so, possibly, readings and scores)."""
    return study.cases.exists()


def _spec_values(spec: StudySpec) -> dict[str, Any]:
    return {
        "slug": spec.slug,
        "title": spec.title,
        "description": spec.description,
        "scale_name": spec.scale_name,
        "positive_threshold": spec.positive_threshold,
        "consensus": spec.consensus,
        "likert_min": spec.likert_min,
        "likert_max": spec.likert_max,
    }


def _check_spec(spec: StudySpec) -> None:
    if not spec.categories:
        raise StudyChangeError("The scale needs at least one category.", field="categories")
    if spec.positive_threshold not in spec.categories:
        raise StudyChangeError(
            f"The threshold {spec.positive_threshold} is not a category of the scale.",
            field="positive_threshold",
        )
    if spec.likert_min >= spec.likert_max:
        raise StudyChangeError("The Likert minimum must be below its maximum.", field="likert_min")


def study_create(*, actor: User, spec: StudySpec, origin: AuditOrigin | None = None) -> Study:
    """A new, empty study whose coordinator is ``actor`` (audited with its settings)."""
    _check_spec(spec)
    if Study.objects.filter(slug=spec.slug).exists():
        raise StudyChangeError(f"A study with slug {spec.slug!r} exists.", field="slug")
    with transaction.atomic():
        study = Study.objects.create(**_spec_values(spec), config=dict(spec.extra))
        ScaleCategory.objects.bulk_create(
            ScaleCategory(study=study, value=v, label=label)
            for v, label in sorted(spec.categories.items())
        )
        study_member_add(study=study, user=actor, role=StudyMember.Role.COORDINATOR, actor=actor)
        study_created.send(sender=Study, study=study, actor=actor, domains=spec.domains)
        audit_record(
            action="study_created",
            actor=actor,
            origin=origin,
            study=study,
            target=study.slug,
            details={
                **{k: v for k, v in _spec_values(spec).items()},
                "categories": {str(k): v for k, v in sorted(spec.categories.items())},
                "domains": [key for key, _, _ in spec.domains],
            },
        )
    return study


def _current(study: Study) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(study, name)
        for name in (
            "slug",
            "title",
            "description",
            "scale_name",
            "positive_threshold",
            "consensus",
            "likert_min",
            "likert_max",
        )
    }
    values["categories"] = {str(c.value): c.label for c in study.scale_categories.all()}
    values["reference_reader"] = study.reference_reader.code if study.reference_reader else None
    return values


def study_update(
    *, actor: User, study: Study, spec: StudySpec, origin: AuditOrigin | None = None
) -> dict[str, list[Any]]:
    """Change a study's settings; once it holds cases only :data:`SAFE_FIELDS` may change
    (a change to a :data:`LOCKED_FIELDS` field is refused, naming it). Returns what changed
    (field -> [old, new]), which the audit log records."""
    _check_spec(spec)
    if spec.reference_reader is not None and spec.reference_reader.study_id != study.pk:
        raise StudyChangeError("Not a reader of this study.", field="reference_reader")
    before = _current(study)
    after = {
        **_spec_values(spec),
        "categories": {str(k): v for k, v in sorted(spec.categories.items())},
        "reference_reader": spec.reference_reader.code if spec.reference_reader else None,
    }
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changed:
        return {}
    if study_has_data(study=study):
        locked = [k for k in changed if k in LOCKED_FIELDS]
        if locked:
            raise StudyChangeError(
                "The study holds cases: these settings are locked: " + ", ".join(locked) + ".",
                field=locked[0],
            )
    if "slug" in changed and Study.objects.filter(slug=spec.slug).exclude(pk=study.pk).exists():
        raise StudyChangeError(f"A study with slug {spec.slug!r} exists.", field="slug")
    with transaction.atomic():
        for name, value in _spec_values(spec).items():
            setattr(study, name, value)
        study.reference_reader = spec.reference_reader
        study.save()
        if "categories" in changed:
            study.scale_categories.all().delete()
            ScaleCategory.objects.bulk_create(
                ScaleCategory(study=study, value=v, label=label)
                for v, label in sorted(spec.categories.items())
            )
        audit_record(
            action="study_updated",
            actor=actor,
            origin=origin,
            study=study,
            target=study.slug,
            details={"changed": changed},
        )
    return changed


# --------------------------------------------------------------------------------------
# Invitations


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Invitation:
    """A sent invitation and its token (the token exists here and in the email only)."""

    invitation: StudyInvitation
    token: str


def study_invitation_send(
    *,
    actor: User,
    study: Study,
    email: str,
    role: str,
    reader: Reader | None = None,
    link: str,
) -> Invitation:
    """Invite ``email`` to ``study`` as ``role``: store the hash of a random token, email the
    sign-up link (``link`` with ``{token}`` in it) through Django's email backend, audit it."""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise StudyChangeError(f"Not an email address: {email!r}.", field="email") from exc
    if role not in StudyMember.Role.values:
        raise StudyChangeError(f"Not a role: {role!r}.", field="role")
    if reader is not None and (reader.study_id != study.pk or role != StudyMember.Role.READER):
        raise StudyChangeError("Link a reader of this study, with the reader role.", field="reader")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = StudyInvitation.objects.create(
            study=study,
            email=email,
            role=role,
            reader=reader,
            token_hash=_token_hash(token),
            created_by=actor,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        audit_record(
            action="study_invitation_sent",
            actor=actor,
            study=study,
            target=email,
            details={"role": role, "reader": reader.code if reader else None},
        )
    url = link.replace("{token}", token)
    send_mail(
        subject=f"You are invited to the reader study {study.title}",
        message=(
            f"{actor.get_username()} invites you to the study {study.title!r} as {role}.\n\n"
            f"Choose a username and a password here (the link works once, until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{url}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    return Invitation(invitation=invitation, token=token)


def study_invitation_find(*, token: str) -> StudyInvitation | None:
    """The pending, unexpired invitation of ``token`` (``None`` if used, expired or unknown)."""
    return (
        StudyInvitation.objects.select_related("study", "reader")
        .filter(
            token_hash=_token_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .first()
    )


def study_invitation_accept(
    *, actor: Actor, token: str, username: str, password: str
) -> StudyMember:
    """Create the invitee's account with ``username`` and ``password`` and give it the
    invitation's role (and reader); the link then no longer works."""
    with transaction.atomic():
        invitation = study_invitation_find(token=token)
        if invitation is None:
            raise StudyChangeError("This invitation link is used, expired or unknown.")
        invitation = StudyInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise StudyChangeError("This invitation link is used, expired or unknown.")
        users = get_user_model()
        if users.objects.filter(username=username).exists():
            raise StudyChangeError(f"The username {username!r} is taken.", field="username")
        user = users.objects.create_user(
            username=username, email=invitation.email, password=password
        )
        member = study_member_add(
            study=invitation.study,
            user=user,
            role=invitation.role,
            actor=user,
            reader=invitation.reader,
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            action="study_invitation_accepted",
            actor=user,
            study=invitation.study,
            target=invitation.email,
            details={"role": invitation.role, "username": username},
        )
    return member


# --------------------------------------------------------------------------------------
# Bulk add from a CSV


@dataclass(frozen=True)
class BulkRow:
    line: int
    user: User
    role: str
    reader: Reader | None


def _parse_members_csv(study: Study, text: str, filename: str) -> tuple[list[BulkRow], list[str]]:
    problems: list[str] = []
    rows: list[BulkRow] = []
    reader_data = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader_data.fieldnames or [])]
    if "role" not in header or not ({"username", "email", "user"} & set(header)):
        return [], [f"{filename}:1: header: expected columns user (a username or an email), role"]
    users = get_user_model()
    seen: dict[tuple[int, str], int] = {}
    for row in reader_data:
        line = reader_data.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        who = row.get("user") or row.get("username") or row.get("email") or ""
        role = row.get("role", "")
        if not who:
            problems.append(f"{filename}:{line}: user: empty")
            continue
        matches = list(
            users.objects.filter(username=who)
            if "@" not in who
            else users.objects.filter(email__iexact=who)
        )
        ok = True
        if len(matches) != 1:
            what = "no account" if not matches else "more than one account"
            problems.append(f"{filename}:{line}: user: {what} with {who!r}")
            ok = False
        if role not in StudyMember.Role.values:
            problems.append(
                f"{filename}:{line}: role: {role!r} is not one of {', '.join(StudyMember.Role.values)}"
            )
            ok = False
        linked: Reader | None = None
        code = row.get("reader", "")
        if code:
            linked = Reader.objects.filter(study=study, code=code).first()
            if linked is None:
                problems.append(
                    f"{filename}:{line}: reader: {code!r} is not a reader of this study"
                )
                ok = False
            elif role != StudyMember.Role.READER:
                problems.append(f"{filename}:{line}: reader: only the reader role links a reader")
                ok = False
            elif ok and linked.user_id not in (None, matches[0].pk):
                problems.append(f"{filename}:{line}: reader: {code} is linked to another account")
                ok = False
        if not ok:
            continue
        key = (matches[0].pk, role)
        if key in seen:
            problems.append(
                f"{filename}:{line}: user: {who!r} as {role} already on line {seen[key]}"
            )
            continue
        seen[key] = line
        rows.append(BulkRow(line=line, user=matches[0], role=role, reader=linked))
    return rows, problems


def study_members_bulk_add(
    *, actor: User, study: Study, text: str, filename: str = "members.csv"
) -> tuple[int, list[str]]:
    """Add the members a CSV lists (columns ``user`` — a username or an email — and ``role``;
    optional ``reader``, the reader id a reader signs in as). Every problem is listed as
    ``file:line: column: message`` and, if there is one, nothing is written. Returns the
    number of memberships added and the problems."""
    rows, problems = _parse_members_csv(study, text, filename)
    if problems:
        return 0, problems
    added = 0
    try:
        with transaction.atomic():
            for row in rows:
                existed = StudyMember.objects.filter(
                    study=study, user=row.user, role=row.role
                ).exists()
                study_member_add(
                    study=study, user=row.user, role=row.role, actor=actor, reader=row.reader
                )
                added += 0 if existed else 1
            audit_record(
                action="study_members_bulk_added",
                actor=actor,
                study=study,
                target=filename,
                details={"rows": len(rows), "added": added},
            )
    except StudyChangeError as exc:
        return 0, [f"{filename}: {exc.field}: {exc.message}"]
    return added, []
