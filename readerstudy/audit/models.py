"""The audit log: security-relevant events, only ever added (``audit_record``).

The model keeps the historical app label ``readerstudy`` (table ``readerstudy_auditevent``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """A security-relevant event (sign-in, unblinding, export, role change, amendment...).

    Rows are only ever added (``audit_record``); nothing in the application updates or
    deletes them.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Username at the time")
    action = models.CharField(max_length=60, db_index=True)
    study = models.ForeignKey(
        "readerstudy.Study",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.target}"
