"""The audit log: one function to record an event, and receivers for the events that happen
wherever they are caused (sign-ins, role and membership changes, API tokens).

The receivers work from model signals, so a change made in the admin, by a service, by a
management command or in the shell is recorded alike. Under a request,
``AuditRequestMiddleware`` makes the request available to them (actor and address); outside
one (commands) the actor is empty. See docs/security.md for the list of events.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.models import Token, TokenProxy

from readerstudy.audit.models import AuditEvent

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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
    "study_deleted": "Study deleted",
    "case_created": "Case added",
    "case_updated": "Case changed",
    "readings_imported": "Readings imported",
    "likert_scores_imported": "Likert scores imported",
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
    "rating_session_created": "Rating session created",
    "rating_session_started": "Rating session started",
    "rating_session_closed": "Rating session closed",
    "rating_item_redacted": "Rating item redacted",
    "rating_item_flags_dismissed": "Rating item leak flags dismissed",
    "generation_config_create": "Model configuration created",
    "generation_config_update": "Model configuration changed",
    "generation_run_create": "Generation run started",
    "generation_run_stop": "Generation run stopped",
    "generation_run_resume": "Generation run resumed",
    "finetune_job_create": "Fine-tuning job created",
}


def audit_action_label(action: str) -> str:
    """The label of an action code (an unknown code reads as words, never as nothing)."""
    return AUDIT_ACTIONS.get(action) or action.replace("_", " ").capitalize()


_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    """The request being handled in this context, if any (set by the middleware)."""
    return _current_request.get()


@contextmanager
def request_context(request: HttpRequest | None) -> Iterator[None]:
    """Audit events recorded inside come from ``request`` (no change when it is ``None``)."""
    if request is None:
        yield
        return
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


class AuditRequestMiddleware:
    """Makes the current request known to audit receivers (who did it, from where)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            return self.get_response(request)


def _address(text: str) -> IPAddress | None:
    """An address of ``X-Forwarded-For`` or ``REMOTE_ADDR`` (a port or brackets allowed)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51234
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return any(
        address in network or (mapped is not None and mapped in network)
        for network in settings.TRUSTED_PROXIES
    )


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: ``REMOTE_ADDR``, unless that is one of ``TRUSTED_PROXIES``; then
    the right-most address of ``X-Forwarded-For`` that is not a trusted proxy (the one the
    first trusted proxy saw). Addresses further left were written by the client and are
    ignored, as is the header of a peer that is not a trusted proxy."""
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    if not _trusted(peer):
        return str(peer)
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # not an address: stop at the last proxy that vouched for one
            break
        client = address
        if not _trusted(address):
            break
    return str(client)


def audit_record(
    *,
    action: str,
    actor: Any = None,
    request: HttpRequest | None = None,
    study: Model | None = None,  # a readerstudy.Study (audit sits below studies)
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the audit log. ``request`` defaults to the request being handled (if
    any), ``actor`` to that request's signed-in user."""
    if request is None:
        request = current_request()
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    return AuditEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        study=study,  # type: ignore[misc]  # a Study: audit sits below studies, so typed Model
        target=target[:300],
        details=details or {},
        ip=client_ip(request),
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit_record(action="login", actor=user, request=request)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action="logout", actor=user, request=request)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    audit_record(
        action="login_failed",
        request=request,
        target=str(credentials.get("username", ""))[:150],
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
    request = current_request()
    signed_in = getattr(request, "user", None)
    # The owner acts unless someone else is signed in (e.g. a superuser in the admin).
    actor = signed_in if signed_in is not None and signed_in.is_authenticated else owner
    audit_record(
        action=action,
        actor=actor,
        target=owner.get_username() if owner else f"user {token.user_id}",
    )
