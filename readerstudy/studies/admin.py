"""Admin for coordinators: studies, cases, readers, readings and memberships."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from readerstudy.audit.models import AuditEvent
from readerstudy.core.users import signed_in_user
from readerstudy.studies.admin_scoping import StudyScopedAdmin, scoped_filter
from readerstudy.studies.models import (
    Case,
    CaseImage,
    Reader,
    Reading,
    ScaleCategory,
    Study,
    StudyMember,
)


class ScaleCategoryInline(admin.TabularInline):
    model = ScaleCategory
    extra = 0


class StudyMemberInline(admin.TabularInline):
    model = StudyMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Study)
class StudyAdmin(StudyScopedAdmin):
    list_display = ["slug", "title", "scale_name", "positive_threshold", "consensus", "created_at"]
    search_fields = ["slug", "title"]
    inlines = [ScaleCategoryInline, StudyMemberInline]
    readonly_fields = ["created_at", "updated_at", "unblinded_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "reference_reader":
            study_id = (
                request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            )
            kwargs["queryset"] = Reader.objects.filter(study_id=study_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Study, form: object, change: bool) -> None:
        """A coordinator who adds a study coordinates it (else it would vanish from their list)."""
        super().save_model(request, obj, form, change)
        if not change and not request.user.is_superuser:
            StudyMember.objects.get_or_create(
                study=obj, user=signed_in_user(request), role="coordinator"
            )


class CaseImageInline(admin.TabularInline):
    model = CaseImage
    extra = 0
    fields = ["original_name", "series", "phase", "slice", "order", "content_type"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(StudyScopedAdmin):
    list_display = ["code", "study", "split", "truth", "patient_id", "location"]
    list_filter = [scoped_filter("study"), "split", "truth"]
    search_fields = ["code", "patient_id"]
    inlines = [CaseImageInline]


@admin.register(Reader)
class ReaderAdmin(StudyScopedAdmin):
    list_display = ["code", "study", "kind", "label", "group", "user"]
    list_filter = [scoped_filter("study"), "kind"]
    search_fields = ["code", "label"]
    autocomplete_fields = ["user"]


@admin.register(Reading)
class ReadingAdmin(StudyScopedAdmin):
    list_display = ["reader", "case", "run", "modality", "category", "score", "source"]
    list_filter = [scoped_filter("reader__study"), "source", "modality"]
    list_select_related = ["reader__study", "case__study"]
    raw_id_fields = ["reader", "case"]
    search_fields = ["case__code", "reader__code"]


@admin.register(AuditEvent)
class AuditEventAdmin(StudyScopedAdmin):
    list_display = ["at", "actor_name", "action", "study", "target", "ip"]
    list_filter = ["action", scoped_filter("study")]
    search_fields = ["actor_name", "target"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
