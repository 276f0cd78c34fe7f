"""Writes of single cases and of uploaded readings (keyword-only, ``<entity>_<action>``).

These are the API's way of adding to an imported study: one case at a time (validated as a
row of ``cases.csv`` would be) and batches of readings (validated exactly as ``readings.csv``
by ``readerstudy.bundles.upload``). Both write everything or nothing and are audited.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from readerstudy.audit.services import audit_record
from readerstudy.bundles.names import forbidden_message
from readerstudy.bundles.parse import CASE_COLUMNS, MAX_ID_LENGTH
from readerstudy.bundles.services import _db_now, _insert_readings
from readerstudy.bundles.upload import UploadError, UploadProblem, parse_readings_upload
from readerstudy.studies.models import Case, Reader, Study

#: Fields of a case that the API may set (``code`` only on creation): cases.csv's columns.
CASE_FIELDS = (*CASE_COLUMNS[1:], "attributes")


#: The characters refused in each text field, as in cases.csv (readerstudy/bundles/names.py).
CASE_CHARACTERS = {
    "code": "id",
    "patient_id": "id",
    "location": "label",
    "clinical_history": "text",
    "findings": "text",
    "reference_impression": "text",
    "truth_detail": "text",
}


def _case_clean(case: Case) -> None:
    """The checks of a ``cases.csv`` row, with the model's own (lengths, choices, uniqueness)."""
    errors: dict[str, list[str]] = {}
    case.code = (case.code or "").strip()
    case.patient_id = (case.patient_id or "").strip()
    case.split = (case.split or "test").strip().lower()
    if not case.code:
        errors["code"] = ["must not be empty"]
    elif len(case.code) > MAX_ID_LENGTH:
        errors["code"] = [f"is longer than {MAX_ID_LENGTH} characters"]
    if case.truth not in (0, 1) or isinstance(case.truth, bool):
        errors["truth"] = [f"must be 0 or 1, got {case.truth!r}"]
    if case.split not in Case.Split.values:
        errors["split"] = [f"must be train or test, got {case.split!r}"]
    if not isinstance(case.attributes, dict) or not all(
        isinstance(v, str) for v in case.attributes.values()
    ):
        errors["attributes"] = ["must be an object of text values"]
    else:
        attributes = [m for k in case.attributes if (m := forbidden_message(str(k), "id"))]
        attributes += [m for v in case.attributes.values() if (m := forbidden_message(v, "text"))]
        if attributes:
            errors["attributes"] = attributes[:1]
    for name, kind in CASE_CHARACTERS.items():
        value = getattr(case, name)
        message = forbidden_message(value, kind) if isinstance(value, str) else None
        if message and name not in errors:
            errors[name] = [message]
    if errors:
        raise ValidationError(errors)
    case.full_clean()


def case_create(*, study: Study, code: str, values: dict[str, Any], actor: Any) -> Case:
    """Add a case at the end of the study's case order; audited. ``ValidationError`` if invalid."""
    unknown = set(values) - set(CASE_FIELDS)
    if unknown:
        raise ValidationError({k: ["cannot be set"] for k in sorted(unknown)})
    with transaction.atomic():
        top = Case.objects.filter(study=study).aggregate(m=Max("position"))["m"]
        case = Case(study=study, code=code, position=0 if top is None else top + 1, **values)
        _case_clean(case)
        case.save()
        audit_record(
            action="case_created",
            actor=actor,
            study=study,
            target=f"case {case.code}",
            details={"fields": sorted(values)},
        )
    return case


def case_update(*, case: Case, values: dict[str, Any], actor: Any) -> Case:
    """Change fields of a case (not its code); audited with the fields changed.

    A change of truth is recorded with its before and after values.
    """
    unknown = set(values) - set(CASE_FIELDS)
    if unknown:
        raise ValidationError({k: ["cannot be changed"] for k in sorted(unknown)})
    before = {k: getattr(case, k) for k in values}
    with transaction.atomic():
        for key, value in values.items():
            setattr(case, key, value)
        _case_clean(case)
        changed = sorted(k for k in values if getattr(case, k) != before[k])
        if changed:
            case.save(update_fields=changed)
            details: dict[str, Any] = {"fields": changed}
            if "truth" in changed:
                details["truth"] = {"before": before["truth"], "after": case.truth}
            audit_record(
                action="case_updated",
                actor=actor,
                study=case.study,
                target=f"case {case.code}",
                details=details,
            )
    return case


def readings_import(
    *,
    study: Study,
    csv_bytes: bytes,
    line_to_row: dict[int, int] | None = None,
    actor: Any,
    origin: str = "csv",
) -> int:
    """Validate uploaded readings completely, then insert all of them in one transaction.

    Raises ``UploadError`` (nothing written) with every problem. Imported readings get
    ``source="imported"``, like those of a bundle. Returns the number of readings written.
    """
    frame = parse_readings_upload(study=study, csv_bytes=csv_bytes, line_to_row=line_to_row)
    if frame.empty:
        raise UploadError([UploadProblem("body", 0, "-", "the upload holds no readings")])
    with transaction.atomic():
        reader_pk = dict(
            Reader.objects.filter(
                study=study, code__in=frame["reader_id"].unique().tolist()
            ).values_list("code", "pk")
        )
        case_pk = dict(
            Case.objects.filter(
                study=study, code__in=frame["case_id"].unique().tolist()
            ).values_list("code", "pk")
        )
        n = _insert_readings(frame, reader_pk, case_pk, _db_now())
        audit_record(
            action="readings_imported",
            actor=actor,
            study=study,
            target=f"{n} readings",
            details={
                "readings": n,
                "format": origin,
                "readers": sorted(reader_pk),
                "cases": len(case_pk),
            },
        )
    return n
