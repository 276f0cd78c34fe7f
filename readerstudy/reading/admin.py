"""Read-only admin views of reading sessions and their history.

Sessions are created, opened and closed on the coordinator pages; the admin only lets staff
inspect them, including every submit attempt and amendment. Nothing here can be added,
changed or deleted, so no answer or history row is lost through the admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from readerstudy.reading.models import ReadingAmendment, ReadingSession, ReadingSubmission
from readerstudy.studies.admin_scoping import StudyScopedAdmin, scoped_filter


class ReadOnlyAdmin(StudyScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ReadingSession)
class ReadingSessionAdmin(ReadOnlyAdmin):
    list_display = ["name", "study", "status", "split", "run", "modality", "order", "created_at"]
    list_filter = [scoped_filter("study"), "status"]
    search_fields = ["name"]


@admin.register(ReadingSubmission)
class ReadingSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "outcome", "base_version", "version", "work"]
    list_filter = ["outcome", scoped_filter("work__assignment__session__study")]
    list_select_related = ["user", "work__assignment__reader__study", "work__assignment__session"]


@admin.register(ReadingAmendment)
class ReadingAmendmentAdmin(ReadOnlyAdmin):
    list_display = ["at", "username", "version", "reading", "work"]
    list_filter = [scoped_filter("work__assignment__session__study")]
    list_select_related = [
        "reading__reader__study",
        "reading__case__study",
        "work__assignment__reader__study",
        "work__assignment__session",
    ]
