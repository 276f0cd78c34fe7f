"""The audit part: events, recording, the receivers of sign-in and account changes."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "readerstudy.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from readerstudy.audit import receivers, services  # noqa: F401  (connect the receivers)
