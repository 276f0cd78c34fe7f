"""Sign-in throttling: an atomic counter per username and per client address.

Every sign-in path (the sign-in page, the admin sign-in, ``POST /api/auth/token/``) calls
:func:`login_attempt_reserve` before it checks a password. The reservation counts the attempt
as a failure at once, under a row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers), so N concurrent wrong passwords can never get more
password checks than the limits allow: there is no gap between the check and the count.
A successful sign-in calls :func:`login_attempt_succeeded`, which takes the attempt back.

After ``LOGIN_FAILURE_LIMIT`` failures of one username (``LOGIN_FAILURE_LIMIT_IP`` of one
client address) each further attempt must wait: ``LOGIN_BACKOFF_BASE`` seconds, doubling with
every failure, at most ``LOGIN_BACKOFF_MAX``. An account is slowed down, never locked: once the
wait has passed, the right password signs in. A key's count is forgotten
``LOGIN_FAILURE_WINDOW`` seconds after its last failure. Refused attempts are not counted
(their password is not checked). The client address comes from ``client_ip`` (the configured
``TRUSTED_PROXIES``), so behind a proxy one client's failures do not slow everyone down.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from readerstudy.core.models import LoginThrottle


def _keys(*, username: str, ip: str | None) -> dict[str, int]:
    """The counters an attempt uses, with their limits."""
    keys = {f"user:{username[:150]}": settings.LOGIN_FAILURE_LIMIT}
    if ip:
        keys[f"ip:{ip}"] = settings.LOGIN_FAILURE_LIMIT_IP
    return keys


def backoff_seconds(*, failures: int, limit: int) -> int:
    """The wait after ``failures`` failures (0 below ``limit``): base, doubling, capped."""
    if failures < limit:
        return 0
    doublings = min(failures - limit, 62)  # the cap is reached long before
    return int(min(settings.LOGIN_BACKOFF_BASE * 2**doublings, settings.LOGIN_BACKOFF_MAX))


def _forgotten(row: LoginThrottle, now: datetime) -> bool:
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    return row.last_failure is None or now - row.last_failure >= window


def login_attempt_reserve(*, username: str, ip: str | None, now: datetime | None = None) -> int:
    """Count one sign-in attempt of ``username`` from ``ip`` before its password is checked.

    Returns 0 when the attempt may go ahead (it is counted as a failure until
    :func:`login_attempt_succeeded` takes it back), else the seconds to wait (nothing counted).
    """
    now = now or timezone.now()
    keys = _keys(username=username, ip=ip)
    with transaction.atomic():
        # Create the missing rows (INSERT … ON CONFLICT DO NOTHING), then lock all of them in
        # one order, so that two attempts never wait for each other's rows crosswise.
        LoginThrottle.objects.bulk_create(
            [LoginThrottle(key=key) for key in keys], ignore_conflicts=True
        )
        rows = list(LoginThrottle.objects.select_for_update().filter(key__in=keys).order_by("key"))
        for row in rows:
            if _forgotten(row, now):
                row.failures, row.next_allowed = 0, None
        waits = [
            row.next_allowed - now for row in rows if row.next_allowed and row.next_allowed > now
        ]
        if waits:
            return max(1, math.ceil(max(waits).total_seconds()))
        for row in rows:
            row.failures += 1
            row.last_failure = now
            wait = backoff_seconds(failures=row.failures, limit=keys[row.key])
            row.next_allowed = now + timedelta(seconds=wait) if wait else None
        LoginThrottle.objects.bulk_update(rows, ["failures", "last_failure", "next_allowed"])
    return 0


def login_attempt_succeeded(*, username: str, ip: str | None) -> None:
    """The reserved attempt signed in: the username starts afresh; the address's count loses
    this attempt (its other failures stay: one good account does not clear an address)."""
    keys = list(_keys(username=username, ip=ip))
    LoginThrottle.objects.filter(key=keys[0]).delete()
    if len(keys) > 1:
        LoginThrottle.objects.filter(key=keys[1], failures__gt=0).update(failures=F("failures") - 1)


def wait_text(seconds: int) -> str:
    """``seconds`` for people: "3 seconds", "2 minutes"."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
