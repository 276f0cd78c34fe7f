"""Where an audit event comes from: the client's address and the signed-in user.

The view layer turns a request into an :class:`AuditOrigin` (:func:`audit_origin`) and hands
that to a service (``audit_record(origin=...)``, ``token_create(origin=...)``): services never
take the request (docs/architecture.md). ``AuditRequestMiddleware`` keeps the request being
handled in a context variable, so that the receivers of model signals (role changes, API
tokens, account links), which are called without one, still know who did it and from where
(:func:`current_origin`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AuditOrigin:
    """Who is signed in (``None``: nobody, e.g. a management command) and the client's address."""

    ip: str | None = None
    user: Any = None


_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_current_origin: ContextVar[AuditOrigin | None] = ContextVar("audit_origin", default=None)


def current_request() -> HttpRequest | None:
    """The request being handled in this context, if any (set by the middleware)."""
    return _current_request.get()


def current_origin() -> AuditOrigin:
    """The origin of events recorded now: the one of :func:`origin_context`, else the request
    being handled (:func:`current_request`), else nobody from nowhere."""
    explicit = _current_origin.get()
    if explicit is not None:
        return explicit
    request = current_request()
    return audit_origin(request) if request is not None else AuditOrigin()


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


@contextmanager
def origin_context(origin: AuditOrigin | None) -> Iterator[None]:
    """Audit events recorded inside (also by receivers) come from ``origin`` (no change when it
    is ``None``)."""
    if origin is None:
        yield
        return
    token = _current_origin.set(origin)
    try:
        yield
    finally:
        _current_origin.reset(token)


class AuditRequestMiddleware:
    """Makes the current request known to audit receivers (who did it, from where)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            return self.get_response(request)


def audit_origin(request: HttpRequest) -> AuditOrigin:
    """The origin of what ``request`` does: its signed-in user (if any) and :func:`client_ip`.

    For a REST framework view pass ``request._request`` (the framework sets the user it
    authenticated, by session or token, on it)."""
    user = getattr(request, "user", None)
    signed_in = user if user is not None and user.is_authenticated else None
    return AuditOrigin(ip=client_ip(request), user=signed_in)


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
