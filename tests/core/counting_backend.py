"""The real ``ModelBackend``, counting its password checks (for the throttle race tests).

Each check also takes ``DELAY`` seconds longer, as a real password hash does (the suite hashes
with MD5 for speed): that is the window in which concurrent attempts used to slip past a
check-then-count throttle.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

DELAY = 0.2
_lock = threading.Lock()
_checks: list[str] = []


def checks() -> list[str]:
    """The usernames whose password was checked since :func:`reset`."""
    with _lock:
        return list(_checks)


def reset() -> None:
    with _lock:
        _checks.clear()


class CountingModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        with _lock:
            _checks.append(username or "")
        time.sleep(DELAY)
        return super().authenticate(request, username=username, password=password, **kwargs)
