"""Sign-in throttling from the audit log (shared by every process, no extra service).

After ``LOGIN_FAILURE_LIMIT`` failed sign-ins for one username (or ``LOGIN_FAILURE_LIMIT_IP``
from one address) within ``LOGIN_FAILURE_WINDOW`` seconds, further attempts are refused
without checking the password until the window since the last failure has passed.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from readerstudy.models import AuditEvent


def login_retry_after(*, username: str, ip: str | None) -> int:
    """Seconds until ``username`` from ``ip`` may try again (0: allowed now)."""
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    since = timezone.now() - window
    failures = AuditEvent.objects.filter(action="login_failed", at__gte=since)
    waits = []
    by_user = failures.filter(target=username[:150])
    if by_user.count() >= settings.LOGIN_FAILURE_LIMIT:
        waits.append(by_user.latest("at").at)
    if ip:
        by_ip = failures.filter(ip=ip)
        if by_ip.count() >= settings.LOGIN_FAILURE_LIMIT_IP:
            waits.append(by_ip.latest("at").at)
    if not waits:
        return 0
    remaining = max(waits) + window - timezone.now()
    return max(1, int(remaining.total_seconds()))
