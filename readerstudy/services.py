"""Writes that touch several models of the core domain (keyword-only, ``<entity>_<action>``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.bundle.parse import ParsedBundle, parse_bundle
from readerstudy.bundle.source import BundleSource, open_bundle
from readerstudy.db.bulk import bulk_insert
from readerstudy.images import sniff_content_type, strip_metadata
from readerstudy.models import Case, CaseImage, Reader, Reading, ScaleCategory, Study


class StudyExistsError(Exception):
    """A study with the bundle's slug exists and ``replace`` was not asked for."""


@dataclass(frozen=True)
class ImportSummary:
    study: Study
    cases: int
    readers: int
    readings: int
    scores: int
    images: int
    replaced: bool


def study_import(*, path: str | Path, replace: bool = False) -> ImportSummary:
    """Validate the bundle at ``path`` (folder or .zip) completely, then write it in one transaction.

    Raises ``BundleError`` (nothing written) when the bundle has problems and
    ``StudyExistsError`` when its slug is taken and ``replace`` is false. With ``replace``
    the old study is deleted in the same transaction, so a failed import keeps it intact.
    """
    with open_bundle(path) as source:
        bundle = parse_bundle(source)
        existing = Study.objects.filter(slug=bundle.study.slug).first()
        if existing is not None and not replace:
            raise StudyExistsError(
                f"a study with slug {bundle.study.slug!r} exists; pass --replace to overwrite it"
            )
        old_files = (
            list(CaseImage.objects.filter(case__study=existing).values_list("file", flat=True))
            if existing is not None
            else []
        )
        saved: list[str] = []
        try:
            with transaction.atomic():
                if existing is not None:
                    study_delete(study=existing, delete_files=False)
                summary = _write_bundle(bundle, source, saved, replaced=existing is not None)
        except BaseException:
            for name in saved:
                default_storage.delete(name)
            raise
    for name in old_files:
        default_storage.delete(name)
    return summary


def study_delete(*, study: Study, delete_files: bool = True) -> None:
    """Delete a study with everything in it; its image files go once the deletion commits."""
    files = (
        list(CaseImage.objects.filter(case__study=study).values_list("file", flat=True))
        if delete_files
        else []
    )
    with transaction.atomic():
        # Scores are the largest table and nothing depends on them: one DELETE statement.
        LikertScore.objects.filter(domain__study=study).delete()
        study.delete()
    if files:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in files])


def _opt(value: float) -> float | None:
    return None if value != value else value


def _write_bundle(
    bundle: ParsedBundle, source: BundleSource, saved: list[str], *, replaced: bool
) -> ImportSummary:
    spec = bundle.study
    study = Study.objects.create(
        slug=spec.slug,
        title=spec.title,
        description=spec.description,
        scale_name=spec.scale_name,
        positive_threshold=spec.positive_threshold,
        consensus=spec.consensus,
        likert_min=spec.likert_min,
        likert_max=spec.likert_max,
        config=spec.config,
        case_attributes=bundle.case_attributes,
    )
    ScaleCategory.objects.bulk_create(
        ScaleCategory(study=study, value=v, label=spec.category_labels.get(v, ""))
        for v in spec.categories
    )
    domains = LikertDomain.objects.bulk_create(
        LikertDomain(
            study=study,
            key=d.key,
            label=d.label,
            group=d.group,
            description=d.description,
            extra=d.extra,
            position=i,
        )
        for i, d in enumerate(spec.domains)
    )

    readers = bundle.readers
    reader_objs = Reader.objects.bulk_create(
        Reader(
            study=study,
            code=row.reader_id,
            kind=row.kind,
            label=row.label,
            group=row.group,
            years_experience=_opt(row.years_experience),
            interpretations=None
            if row.interpretations != row.interpretations
            else int(row.interpretations),
            description=row.description,
            position=i,
        )
        for i, row in enumerate(readers.itertuples(index=False))
    )
    reader_pk = {r.code: r.pk for r in reader_objs}
    if spec.reference_reader:
        study.reference_reader_id = reader_pk[spec.reference_reader]
        study.save(update_fields=["reference_reader"])

    cases = bundle.cases
    attr_cols = ["attr:" + a for a in bundle.case_attributes]
    attributes = (
        [
            json.dumps(dict(zip(bundle.case_attributes, values, strict=True)), ensure_ascii=False)
            for values in cases[attr_cols].itertuples(index=False, name=None)
        ]
        if attr_cols
        else ["{}"] * len(cases)
    )
    bulk_insert(
        Case._meta.db_table,
        {
            "study_id": np.full(len(cases), study.pk, dtype=np.int64),
            "code": cases["case_id"].tolist(),
            "patient_id": cases["patient_id"].tolist(),
            "split": cases["split"].tolist(),
            "truth": cases["truth"].to_numpy(dtype=np.int64),
            "location": cases["location"].tolist(),
            "clinical_history": cases["clinical_history"].tolist(),
            "findings": cases["findings"].tolist(),
            "reference_impression": cases["reference_impression"].tolist(),
            "truth_detail": cases["truth_detail"].tolist(),
            "attributes": attributes,
            "position": np.arange(len(cases), dtype=np.int64),
        },
    )
    del attributes
    case_pk = dict(Case.objects.filter(study=study).values_list("code", "pk"))

    now = _db_now()
    readings = bundle.readings
    n = _insert_readings(readings, reader_pk, case_pk, now)

    n_scores = 0
    if bundle.ratings is not None and len(bundle.ratings):
        n_scores = _write_scores(study, bundle.ratings, reader_pk, case_pk, domains, now)

    n_images = _write_images(bundle, source, case_pk, saved)
    return ImportSummary(
        study=study,
        cases=len(cases),
        readers=len(readers),
        readings=n,
        scores=n_scores,
        images=n_images,
        replaced=replaced,
    )


def _db_now() -> str:
    return str(connection.ops.adapt_datetimefield_value(timezone.now()))


def _insert_readings(
    readings: pd.DataFrame, reader_pk: dict[str, int], case_pk: dict[str, int], now: str
) -> int:
    """Insert parsed readings (codes mapped to primary keys) as imported readings."""
    n = len(readings)
    return bulk_insert(
        Reading._meta.db_table,
        {
            "reader_id": readings["reader_id"].map(reader_pk).to_numpy(dtype=np.int64),
            "case_id": readings["case_id"].map(case_pk).to_numpy(dtype=np.int64),
            "run": readings["run"].to_numpy(dtype=np.int64),
            "modality": readings["modality"].to_numpy(dtype=np.int64),
            "category": readings["category"].to_numpy(dtype=np.int64),
            "score": readings["score"].to_numpy(dtype=np.float64),
            "impression": readings["impression"].tolist(),
            "seconds": readings["seconds"].to_numpy(dtype=np.float64),
            "source": ["imported"] * n,
            "created_at": [now] * n,
            "updated_at": [now] * n,
        },
    )


def _write_scores(
    study: Study,
    ratings: pd.DataFrame,
    reader_pk: dict[str, int],
    case_pk: dict[str, int],
    domains: list[LikertDomain],
    now: str,
) -> int:
    raters = Rater.objects.bulk_create(
        Rater(study=study, code=code) for code in sorted(ratings["rater_id"].unique())
    )
    rater_pk = {r.code: r.pk for r in raters}
    domain_pk = {d.key: d.pk for d in domains}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id, r.reader_id, r.case_id, r.run, r.modality FROM {Reading._meta.db_table} r "
            f"JOIN {Case._meta.db_table} c ON c.id = r.case_id WHERE c.study_id = %s",
            [study.pk],
        )
        known = pd.DataFrame(
            cursor.fetchall(), columns=["reading_pk", "reader_pk", "case_pk", "run", "modality"]
        )
    frame = pd.DataFrame(
        {
            "reader_pk": ratings["reader_id"].map(reader_pk).astype(np.int64),
            "case_pk": ratings["case_id"].map(case_pk).astype(np.int64),
            "run": ratings["run"].astype(np.int64),
            "modality": ratings["modality"].astype(np.int64),
        }
    )
    merged = frame.merge(
        known.astype(np.int64), on=["reader_pk", "case_pk", "run", "modality"], how="left"
    )
    n = len(ratings)
    return bulk_insert(
        LikertScore._meta.db_table,
        {
            "rater_id": ratings["rater_id"].map(rater_pk).to_numpy(dtype=np.int64),
            "reading_id": merged["reading_pk"].to_numpy(dtype=np.int64),
            "domain_id": ratings["domain"].map(domain_pk).to_numpy(dtype=np.int64),
            "score": ratings["score"].to_numpy(dtype=np.int64),
            "source": ["imported"] * n,
            "created_at": [now] * n,
            "updated_at": [now] * n,
        },
    )


def _write_images(
    bundle: ParsedBundle, source: BundleSource, case_pk: dict[str, int], saved: list[str]
) -> int:
    objects = []
    for spec in bundle.images:
        data = source.read_bytes(spec.path)
        content_type = sniff_content_type(data) or "application/octet-stream"
        clean = strip_metadata(data, content_type)
        image = CaseImage(
            case_id=case_pk[spec.case_id],
            original_name=spec.name,
            series=spec.series,
            phase=spec.phase,
            slice=spec.slice,
            order=spec.order,
            content_type=content_type,
            sha256=_sha256(clean),
        )
        image.file.save(spec.name, ContentFile(clean), save=False)
        saved.append(image.file.name)
        objects.append(image)
    CaseImage.objects.bulk_create(objects, batch_size=1000)
    return len(objects)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


DEMO_PASSWORD = "demo"
DEMO_ACCOUNTS: tuple[tuple[str, str, str | None], ...] = (
    # username, role, reader or rater code it is linked to
    ("coordinator", "coordinator", None),
    ("statistician", "statistician", None),
    ("r3", "reader", "R3"),
    ("r4", "reader", "R4"),
    ("r5", "reader", "R5"),
    ("rater1", "rater", "rater1"),
    ("rater2", "rater", "rater2"),
    ("rater3", "rater", "rater3"),
)


def demo_accounts_create(*, study: Study, password: str = DEMO_PASSWORD) -> list[tuple[str, str]]:
    """Create (or reset) the demo accounts, give them their role in ``study`` and link readers.

    Only for development and demonstration: callers must check ``settings.DEV_MODE``.
    Returns ``(username, role)`` pairs.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from readerstudy.models import StudyMember

    user_model = get_user_model()
    created = []
    with transaction.atomic():
        for username, role, code in DEMO_ACCOUNTS:
            user, _ = user_model.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = role == "coordinator"
            user.save()
            user.groups.add(Group.objects.get(name=role))
            StudyMember.objects.get_or_create(study=study, user=user, role=role)
            if role == "coordinator":
                # Coordinators manage their studies through the admin too.
                from django.contrib.auth.models import Permission

                perms = Permission.objects.filter(
                    content_type__app_label__in=["readerstudy", "evaluation"]
                )
                user.user_permissions.add(*perms)
            if role == "reader" and code:
                # saved one by one (not update()) so that the audit log records the link
                for reader in Reader.objects.filter(study=study, code=code).exclude(user=user):
                    reader.user = user
                    reader.save(update_fields=["user"])
            if role == "rater" and code:
                rater, _ = Rater.objects.get_or_create(study=study, code=code)
                if rater.user_id != user.pk:
                    rater.user = user
                    rater.save(update_fields=["user"])
            created.append((username, role))
    return created
