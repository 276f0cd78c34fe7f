"""Models of the shared plumbing: the sign-in throttle.

The model keeps the historical app label ``readerstudy`` (table ``readerstudy_loginthrottle``).
"""

from __future__ import annotations

from django.db import models


class LoginThrottle(models.Model):
    """Failed sign-ins counted per key (``user:<username>`` or ``ip:<address>``), updated under
    a row lock so that concurrent attempts can never pass the limit (readerstudy/core/throttle.py).

    Each attempt is counted *before* its password is checked; a successful sign-in takes it
    back. ``next_allowed`` is when the key may try again (the back-off after the limit).
    """

    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure = models.DateTimeField(null=True, blank=True)
    next_allowed = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "readerstudy"

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
