"""Finding labels extracted from the readers' impressions (the rule-based extractor).

``reading_findings_extract`` runs :func:`readerstudy.core.findings.extract_findings` over
the impression of every reading of modality 1 of a study and stores one
``ReadingFinding`` per reader, case, run and finding of the study's vocabulary with the
method ``extracted_rules``. Labels obtained otherwise (imported, entered in the form,
generated, or reviewed by a coordinator) are never overwritten; earlier extracted labels
are replaced, so running it again after a change of the vocabulary or the rules is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from readerstudy.audit.services import audit_record
from readerstudy.core.findings import UNCERTAIN_POLICIES, extract_findings, study_vocabulary
from readerstudy.studies.models import FindingMethod, Reading, ReadingFinding, Study


@dataclass(frozen=True)
class FindingExtraction:
    """What one extraction did."""

    readings: int  # impressions read
    created: int
    updated: int
    kept: int  # labels of another method left as they were
    positive: int  # extracted labels that are present (1)


def reading_findings_extract(
    *, study: Study, actor: Any = None, uncertain: str = "present"
) -> FindingExtraction:
    """Extract and store the finding labels of every impression of ``study``.

    Raises ``ValueError`` when the study has no ``[[findings]]`` vocabulary or
    ``uncertain`` is not one of ``UNCERTAIN_POLICIES``.
    """
    if uncertain not in UNCERTAIN_POLICIES:
        raise ValueError(f"uncertain: expected one of {', '.join(UNCERTAIN_POLICIES)}")
    terms = study_vocabulary(study.config)
    if not terms:
        raise ValueError(f"study {study.slug!r} has no [[findings]] vocabulary in study.toml")
    readings = (
        Reading.objects.filter(case__study=study, modality=1)
        .exclude(impression="")
        .values_list("reader_id", "case_id", "run", "impression")
    )
    existing = {
        (r, c, run, f): (pk, method)
        for pk, r, c, run, f, method in ReadingFinding.objects.filter(
            case__study=study
        ).values_list("pk", "reader_id", "case_id", "run", "finding", "method")
    }
    create: list[ReadingFinding] = []
    update: list[ReadingFinding] = []
    kept = positive = n = 0
    for reader, case, run, impression in readings.iterator(chunk_size=5000):
        n += 1
        for key, present in extract_findings(impression, terms, uncertain=uncertain).items():
            found = existing.get((reader, case, run, key))
            if found is not None and found[1] != FindingMethod.EXTRACTED_RULES:
                kept += 1
                continue
            positive += int(present)
            label = ReadingFinding(
                reader_id=reader,
                case_id=case,
                run=run,
                finding=key,
                present=present,
                method=FindingMethod.EXTRACTED_RULES,
            )
            if found is None:
                create.append(label)
            else:
                label.pk = found[0]
                update.append(label)
    with transaction.atomic():
        ReadingFinding.objects.bulk_create(create, batch_size=5000)
        ReadingFinding.objects.bulk_update(update, ["present"], batch_size=5000)
        result = FindingExtraction(n, len(create), len(update), kept, positive)
        audit_record(
            action="findings_extracted",
            actor=actor,
            study=study,
            target=f"study {study.slug}",
            details={"uncertain": uncertain, **result.__dict__},
        )
    return result
