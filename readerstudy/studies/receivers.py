"""Audit of the changes to studies and their members, and of which account a reader is
(connected when the studies app is ready; the events are recorded by :mod:`readerstudy.audit`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from readerstudy.audit.services import (
    audit_record,
    changed_fields,
    remember_fields,
    track_account_links,
)
from readerstudy.studies.models import Reader, Study, StudyMember

MEMBER_FIELDS = ("study_id", "user_id", "role")


@receiver(pre_save, sender=StudyMember)
def _member_before(sender: Any, instance: StudyMember, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        remember_fields(instance, MEMBER_FIELDS, kwargs.get("update_fields"))


@receiver(post_save, sender=StudyMember)
def _member_saved(
    sender: Any, instance: StudyMember, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    details: dict[str, object]
    if created:
        instance.__dict__.pop("_audit_old", None)
        action, details = "study_member_added", {"role": instance.role}
    else:
        changed = changed_fields(instance, MEMBER_FIELDS)
        if not changed:
            return
        action, details = "study_member_changed", {"role": instance.role, "changed": changed}
    audit_record(
        action=action, study=instance.study, target=instance.user.get_username(), details=details
    )


def _deleting_a_study(origin: Any) -> bool:
    """Whether a deletion cascades from a study (its events cannot point at it)."""
    model = getattr(origin, "model", type(origin))
    return model is Study


@receiver(post_delete, sender=StudyMember)
def _member_deleted(sender: Any, instance: StudyMember, origin: Any = None, **kwargs: Any) -> None:
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    details: dict[str, Any] = {"role": instance.role}
    study = None
    if _deleting_a_study(origin):
        details["study_deleted"] = True
    else:
        study = Study.objects.filter(pk=instance.study_id).first()
    audit_record(
        action="study_member_removed",
        study=study,
        target=user.get_username() if user else f"user {instance.user_id}",
        details=details,
    )


@receiver(post_delete, sender=Study)
def _study_deleted(sender: Any, instance: Study, **kwargs: Any) -> None:
    audit_record(action="study_deleted", target=instance.slug, details={"title": instance.title})


track_account_links(Reader)
