"""The audit log: one function to record an event, and receivers for the events that happen
wherever they are caused (role and membership changes, API tokens; sign-ins, whose signals
carry the request, in :mod:`readerstudy.audit.receivers`).

The receivers work from model signals, so a change made in the admin, by a service, by a
management command or in the shell is recorded alike. Under a request,
``readerstudy.audit.context.AuditRequestMiddleware`` makes the request available to them
(actor and address); outside one (commands) the actor is empty. Nothing here takes the
request: a view passes ``origin=audit_origin(request)``. See docs/security.md for the list of
events.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token, TokenProxy

from readerstudy.audit.context import AuditOrigin, current_origin
from readerstudy.audit.models import AuditEvent

#: What each action code of the audit log means, for people. Defined once: the audit page
#: shows these labels; the CSV download and the API keep the codes (stable for scripts).
AUDIT_ACTIONS: dict[str, str] = {
    # sign-in
    "login": "Signed in",
    "logout": "Signed out",
    "login_failed": "Failed sign-in",
    "login_throttled": "Sign-in refused (too many failures)",
    # accounts and roles
    "user_created": "Account created",
    "user_flags_changed": "Account access changed",
    "role_group_added": "Platform role added",
    "role_group_removed": "Platform role removed",
    "study_member_added": "Added to the study",
    "study_member_changed": "Study membership changed",
    "study_member_removed": "Removed from the study",
    "reader_account_changed": "Reader linked to an account",
    "rater_account_changed": "Rater linked to an account",
    "api_token_created": "API token created",
    "api_token_revoked": "API token revoked",
    # studies, cases and readings
    "study_created": "Study created",
    "study_updated": "Study settings changed",
    "study_invitation_sent": "Invitation sent",
    "study_invitation_accepted": "Invitation accepted",
    "study_members_bulk_added": "Members added from a CSV",
    "study_deleted": "Study deleted",
    "case_created": "Case added",
    "case_updated": "Case changed",
    "readings_imported": "Readings imported",
    "likert_scores_imported": "Likert scores imported",
    "bundle_uploaded": "Bundle uploaded",
    "bundle_imported": "Bundle imported",
    "bundle_refused": "Bundle refused (nothing written)",
    # blinding and exports
    "study_unblinded": "Study unblinded",
    "unblinding_key_viewed": "Unblinding key viewed",
    "unblinding_key_exported": "Unblinding key downloaded",
    "export": "Export downloaded",
    "reading_randomisation_exported": "Reading randomisation downloaded",
    "rating_randomisation_exported": "Rating randomisation downloaded",
    # amendments
    "reading_amended": "Reading amended",
    "likert_scores_amended": "Likert scores amended",
    # sessions and generation
    "reading_session_created": "Reading session created",
    "reading_session_opened": "Reading session opened",
    "reading_session_closed": "Reading session closed",
    "reading_session_deleted": "Reading session deleted",
    "reading_session_updated": "Reading session changed",
    "reading_session_readers_added": "Readers added to a reading session",
    "reading_session_cloned": "Reading session cloned",
    "rating_session_created": "Rating session created",
    "rating_session_started": "Rating session started",
    "rating_session_closed": "Rating session closed",
    "rating_session_raters_added": "Raters added to a rating session",
    "rating_item_redacted": "Rating item redacted",
    "rating_item_flags_dismissed": "Rating item leak flags dismissed",
    "generation_config_create": "Model configuration created",
    "generation_config_update": "Model configuration changed",
    "generation_run_create": "Generation run started",
    "generation_run_stop": "Generation run stopped",
    "generation_run_resume": "Generation run resumed",
    "finetune_job_create": "Fine-tuning job created",
    "judge_config_create": "LLM judge created",
    "judge_run": "LLM judge run",
    "reading_design_created": "Crossover reading design created",
    "findings_extracted": "Finding labels extracted from the impressions",
}


def audit_action_label(action: str) -> str:
    """The label of an action code (an unknown code reads as words, never as nothing)."""
    return AUDIT_ACTIONS.get(action) or action.replace("_", " ").capitalize()


def audit_record(
    *,
    action: str,
    actor: Any = None,
    origin: AuditOrigin | None = None,
    study: Model | None = None,  # a readerstudy.Study (audit sits below studies)
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the audit log. ``origin`` (the client's address and the signed-in
    user; ``audit_origin(request)`` in a view) defaults to the one in effect
    (:func:`~readerstudy.audit.context.current_origin`: the request being handled, if any);
    ``actor`` to that origin's signed-in user."""
    if origin is None:
        origin = current_origin()
    if actor is None:
        actor = origin.user
    return AuditEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        study=study,  # type: ignore[misc]  # a Study: audit sits below studies, so typed Model
        target=target[:300],
        details=details or {},
        ip=origin.ip,
    )


# --------------------------------------------------------------------------------------
# Roles: group membership, study membership, account flags and linked reader/rater profiles


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _groups_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    model: Any,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """``user.groups.add/remove/set/clear`` and ``group.user_set...``, in either direction."""
    if action == "pre_clear":
        # clear() does not say what it removed: remember it before it happens.
        related = instance.user_set if reverse else instance.groups
        instance._audit_cleared = set(related.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pks = pk_set if action != "post_clear" else getattr(instance, "_audit_cleared", set())
    if not pks:
        return
    verb = "role_group_added" if action == "post_add" else "role_group_removed"
    if reverse:  # instance is a Group, pks are users
        pairs = [(u, instance.name) for u in get_user_model().objects.filter(pk__in=pks)]
    else:
        pairs = [(instance, g.name) for g in Group.objects.filter(pk__in=pks)]
    for user, group in sorted(pairs, key=lambda p: (p[0].pk, p[1])):
        audit_record(action=verb, target=user.get_username(), details={"group": group})


def remember_fields(instance: Any, fields: tuple[str, ...], update_fields: Any = None) -> None:
    """Keep the stored values of ``fields`` on the instance, to compare after the save (not
    when the save cannot change them, e.g. ``last_login`` on each sign-in)."""
    names = {f.removesuffix("_id") for f in fields}
    if update_fields is not None and not names & {f.removesuffix("_id") for f in update_fields}:
        instance.__dict__.pop("_audit_old", None)
        return
    old = None
    if instance.pk is not None:
        old = type(instance)._default_manager.filter(pk=instance.pk).values(*fields).first()
    instance._audit_old = old or {}


def changed_fields(instance: Any, fields: tuple[str, ...]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` of the fields the save changed (nothing when not tracked)."""
    if "_audit_old" not in instance.__dict__:
        return {}
    old = instance.__dict__.pop("_audit_old")
    return {
        f: [old.get(f), getattr(instance, f)] for f in fields if old.get(f) != getattr(instance, f)
    }


USER_FLAGS = ("is_active", "is_staff", "is_superuser")


@receiver(pre_save, sender=get_user_model())
def _user_before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        remember_fields(instance, USER_FLAGS, kwargs.get("update_fields"))


@receiver(post_save, sender=get_user_model())
def _user_saved(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """New accounts, and changes of the flags that give access (active, staff, superuser)."""
    if raw:
        return
    if created:
        instance.__dict__.pop("_audit_old", None)
        flags = {f: getattr(instance, f) for f in USER_FLAGS}
        audit_record(action="user_created", target=instance.get_username(), details=flags)
        return
    changed = changed_fields(instance, USER_FLAGS)
    if changed:
        audit_record(action="user_flags_changed", target=instance.get_username(), details=changed)


def _profile_before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        remember_fields(instance, ("user_id",), kwargs.get("update_fields"))


def _profile_saved(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A reader or rater profile linked to (or unlinked from) an account: that account now
    reads or rates as it."""
    if raw:
        return
    changed = changed_fields(instance, ("user_id",))
    if not changed:
        return
    old = changed["user_id"][0]
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[pk for pk in (old, instance.user_id) if pk])
        .values_list("pk", get_user_model().USERNAME_FIELD)
    )
    kind = sender._meta.model_name
    audit_record(
        action=f"{kind}_account_changed",
        study=instance.study,
        target=f"{kind} {instance.code}",
        details={"from": names.get(old), "to": names.get(instance.user_id)},
    )


def track_account_links(profile: type[Model]) -> None:
    """Audit every change of which account a profile model (a reader, a rater) is linked to:
    the part that owns the model calls this when it is ready."""
    pre_save.connect(_profile_before, sender=profile, dispatch_uid=f"audit-pre-{profile}")
    post_save.connect(_profile_saved, sender=profile, dispatch_uid=f"audit-post-{profile}")


# --------------------------------------------------------------------------------------
# API tokens, however they are created or removed (API, token page, admin, shell)


@receiver(post_save, sender=Token)
@receiver(post_save, sender=TokenProxy)  # the admin's
def _token_saved(sender: Any, instance: Token, created: bool, **kwargs: Any) -> None:
    if created:
        _token_event("api_token_created", instance)


@receiver(post_delete, sender=Token)
@receiver(post_delete, sender=TokenProxy)
def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    _token_event("api_token_revoked", instance)


def _token_event(action: str, token: Token) -> None:
    owner = get_user_model().objects.filter(pk=token.user_id).first()
    # The owner acts unless someone else is signed in (e.g. a superuser in the admin).
    actor = current_origin().user or owner
    audit_record(
        action=action,
        actor=actor,
        target=owner.get_username() if owner else f"user {token.user_id}",
    )
