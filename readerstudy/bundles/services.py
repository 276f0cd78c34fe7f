"""Writes that touch several models of the core domain (keyword-only, ``<entity>_<action>``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from evaluation.models import (
    REFERENCE_READER,
    AcceptabilityGrade,
    ErrorAnnotation,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    Rater,
)
from readerstudy.bundles.findings import write_findings
from readerstudy.bundles.judgments import ParsedJudgments
from readerstudy.bundles.limits import BundleLimits, zip_directory_problems
from readerstudy.bundles.marks import marks_write
from readerstudy.bundles.parse import ImageStore, ParsedBundle, Progress, _toml_line, parse_bundle
from readerstudy.bundles.problems import BundleError, Problem
from readerstudy.bundles.source import BundleSource, open_bundle
from readerstudy.core.db.bulk import bulk_insert
from readerstudy.reading.models import ReadingSession
from readerstudy.studies.models import (
    Case,
    CaseImage,
    Reader,
    Reading,
    ScaleCategory,
    Study,
    StudyMember,
    case_image_path,
)
from readerstudy.studies.services import study_has_data, study_member_add


class StudyExistsError(Exception):
    """A study with the bundle's slug exists (or the study imported into holds data) and
    ``replace`` was not asked for; ``line`` is the line of ``slug`` in study.toml."""

    def __init__(self, message: str, *, slug: str = "", line: int = 1) -> None:
        super().__init__(message)
        self.slug = slug
        self.line = line

    def problem(self) -> Problem:
        """The refusal as a problem of the bundle (``study.toml:LINE: slug: ...``)."""
        return Problem("study.toml", self.line, "slug", str(self))


@dataclass(frozen=True)
class ImportSummary:
    study: Study
    cases: int
    readers: int
    readings: int
    scores: int
    images: int
    replaced: bool
    preferences: int = 0
    acceptability: int = 0
    errors: int = 0
    findings: int = 0  # rows of findings.csv
    reading_findings: int = 0  # rows of reading_findings.csv
    marks: int = 0  # marks.csv rows: truth lesions and readers' marks
    seconds: float = 0.0  # the whole import
    write_seconds: float = 0.0  # the database transaction (SQLite's write lock is held)


class _StorageImageStore(ImageStore):
    """Writes each checked image of a bundle to storage (both versions) while the bundle is
    parsed, before the database transaction; ``names`` maps a bundle path to its storage
    names and the stored file's SHA-256."""

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, str, str, str]] = {}
        self.saved: list[str] = []

    def add(self, path: str, stored: bytes, display: bytes, content_type: str) -> None:
        stored_name = self._save(PurePosixPath(path).name, stored)
        display_name = self._save("display.png", display)
        self.names[path] = (stored_name, display_name, _sha256(stored), content_type)

    def _save(self, filename: str, data: bytes) -> str:
        name = default_storage.save(case_image_path(CaseImage(), filename), ContentFile(data))
        self.saved.append(name)  # recorded at once: deleted again if the import fails
        return name


def study_import(
    *,
    path: str | Path,
    replace: bool = False,
    coordinators: Sequence[User] = (),
    into: Study | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate the bundle at ``path`` (folder or .zip) completely, then write it in one transaction.

    Raises ``BundleError`` (nothing written) when the bundle has problems and
    ``StudyExistsError`` when its slug is taken and ``replace`` is false. With ``replace``
    the old study is deleted in the same transaction, so a failed import keeps it intact.
    Images are decoded, stripped and stored while the bundle is checked, before the
    transaction starts, so the transaction (which holds SQLite's write lock) only inserts
    rows. ``coordinators`` become the new study's coordinators (membership and group).

    ``into`` (the web upload to an existing study) keeps that study's row, its members,
    invitations and audit log: the bundle's slug must be the study's, its data (cases,
    readers, sessions, ...) is replaced, which needs ``replace`` when it has any, and the
    accounts linked to readers and raters stay linked to the readers and raters of the same
    id. ``progress`` is told how the checking goes (``parse_bundle``), then
    ``("writing to the database", 1.0)``.
    """
    store = _StorageImageStore()
    started = time.monotonic()
    limits = BundleLimits.from_settings()
    too_many = zip_directory_problems(Path(path), limits)
    if too_many:
        raise BundleError(too_many)
    try:
        with open_bundle(path) as source:
            bundle = parse_bundle(source, limits=limits, store=store, progress=progress)
            slug_line = _slug_line(source)
        existing = _target(bundle.study.slug, into, replace, slug_line)
        old_files = _image_files(existing) if existing is not None else []
        replaced = existing is not None and (into is None or study_has_data(study=into))
        if progress is not None:
            progress("writing to the database", 1.0)
        write_started = time.monotonic()
        with transaction.atomic():
            if into is not None:
                links = _account_links(into)
                _clear_study(into)
                summary = _write_bundle(bundle, store, replaced=replaced, into=into)
                _restore_account_links(into, links)
            elif existing is not None:
                study_delete(study=existing, delete_files=False)
                summary = _write_bundle(bundle, store, replaced=True)
            else:
                summary = _write_bundle(bundle, store, replaced=False)
            for user in coordinators:
                study_member_add(study=summary.study, user=user, role=StudyMember.Role.COORDINATOR)
        finished = time.monotonic()
    except BaseException:
        for name in store.saved:
            default_storage.delete(name)
        raise
    for name in old_files:
        default_storage.delete(name)
    return dataclasses.replace(
        summary, seconds=finished - started, write_seconds=finished - write_started
    )


def _slug_line(source: BundleSource) -> int:
    """The line of ``slug`` in the (valid) study.toml of ``source``."""
    return _toml_line(source.read_bytes("study.toml").decode("utf-8"), "slug")


def _target(slug: str, into: Study | None, replace: bool, line: int) -> Study | None:
    """The study the bundle replaces (None: it creates one); ``StudyExistsError`` or
    ``BundleError`` when it may not be written there."""
    if into is not None:
        if slug != into.slug:
            raise BundleError(
                [
                    Problem(
                        "study.toml",
                        line,
                        "slug",
                        f"the bundle is for the study {slug!r}, not {into.slug!r}: set "
                        f'slug = "{into.slug}" to import it into this study',
                    )
                ]
            )
        if study_has_data(study=into) and not replace:
            raise StudyExistsError(
                f"the study {slug!r} holds cases; choose to replace its data to import this bundle",
                slug=slug,
                line=line,
            )
        return into
    existing = Study.objects.filter(slug=slug).first()
    if existing is not None and not replace:
        raise StudyExistsError(
            f"a study with slug {slug!r} exists; pass --replace to overwrite it",
            slug=slug,
            line=line,
        )
    return existing


#: What a study keeps when the web upload replaces its data (related names).
_KEPT_ON_REPLACE = frozenset({"members", "invitations", "bundle_uploads"})


def _clear_study(study: Study) -> None:
    """Delete everything of ``study`` but the row itself, its members, invitations, uploads
    and audit log (the image files go after the import, as with ``study_delete``)."""
    Study.objects.filter(pk=study.pk).update(reference_reader=None)
    study.reference_reader_id = None
    LikertScore.objects.filter(domain__study=study).delete()
    pending = [
        relation
        for relation in Study._meta.related_objects
        if not relation.many_to_many
        and relation.get_accessor_name() not in _KEPT_ON_REPLACE
        and relation.on_delete is models.CASCADE
    ]
    # A protected reference (a session's assisting model reader) goes first: retry the rest.
    while pending:
        blocked = []
        for relation in pending:
            try:
                with transaction.atomic():
                    relation.related_model._base_manager.filter(
                        **{relation.field.name: study}
                    ).delete()
            except ProtectedError:
                blocked.append(relation)
        if len(blocked) == len(pending):
            raise RuntimeError(f"cannot clear study {study.slug}: protected rows remain")
        pending = blocked


def _account_links(study: Study) -> dict[tuple[str, str], int]:
    """(``reader``/``rater``, code) → the account linked to it, before a replacement."""
    links = {
        ("reader", code): user
        for code, user in study.readers.filter(user__isnull=False).values_list("code", "user_id")
    }
    links.update(
        {
            ("rater", code): user
            for code, user in Rater.objects.filter(study=study, user__isnull=False).values_list(
                "code", "user_id"
            )
        }
    )
    return links


def _restore_account_links(study: Study, links: dict[tuple[str, str], int]) -> None:
    """Link the new readers and raters to the accounts of the old ones of the same id
    (one save each, so the audit log records the link)."""
    for reader in study.readers.filter(code__in=[c for k, c in links if k == "reader"]):
        if reader.kind == Reader.Kind.HUMAN:
            reader.user_id = links[("reader", reader.code)]
            reader.save(update_fields=["user"])
    for rater in Rater.objects.filter(study=study, code__in=[c for k, c in links if k == "rater"]):
        rater.user_id = links[("rater", rater.code)]
        rater.save(update_fields=["user"])


def _image_files(study: Study) -> list[str]:
    """Storage names of a study's images: stored files and display renderings."""
    pairs = CaseImage.objects.filter(case__study=study).values_list("file", "display")
    return [name for pair in pairs for name in pair if name]


def study_delete(*, study: Study, delete_files: bool = True) -> None:
    """Delete a study with everything in it; its image files go once the deletion commits."""
    files = _image_files(study) if delete_files else []
    with transaction.atomic():
        # Scores are the largest table and nothing depends on them: one DELETE statement.
        LikertScore.objects.filter(domain__study=study).delete()
        # AI-assisted sessions protect their assisting model reader (assist_reader PROTECT):
        # delete the sessions (and crossover designs) before the readers go with the study.
        ReadingSession.objects.filter(study=study).delete()
        study.delete()
    if files:

        def delete_stored_files() -> None:
            for name in files:
                default_storage.delete(name)

        transaction.on_commit(delete_stored_files)


def _opt(value: float) -> float | None:
    return None if value != value else value


def _write_bundle(
    bundle: ParsedBundle, store: _StorageImageStore, *, replaced: bool, into: Study | None = None
) -> ImportSummary:
    spec = bundle.study
    values = {
        "slug": spec.slug,
        "title": spec.title,
        "description": spec.description,
        "scale_name": spec.scale_name,
        "positive_threshold": spec.positive_threshold,
        "consensus": spec.consensus,
        "likert_min": spec.likert_min,
        "likert_max": spec.likert_max,
        "config": spec.config,
        "case_attributes": bundle.case_attributes,
    }
    if into is None:
        study = Study.objects.create(**values)
    else:
        study = into
        for name, value in values.items():
            setattr(study, name, value)
        study.save()
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

    judgments = bundle.judgments
    rater_codes = set(judgments.rater_ids()) if judgments is not None else set()
    if bundle.ratings is not None:
        rater_codes.update(bundle.ratings["rater_id"].unique().tolist())
    raters = Rater.objects.bulk_create(
        Rater(study=study, code=code) for code in sorted(rater_codes)
    )
    rater_pk = {r.code: r.pk for r in raters}

    n_scores = 0
    if bundle.ratings is not None and len(bundle.ratings):
        n_scores = _write_scores(study, bundle.ratings, reader_pk, case_pk, rater_pk, domains, now)
    counts = (
        _write_judgments(study, judgments, reader_pk, case_pk, rater_pk)
        if judgments is not None
        else {}
    )

    finding_counts = (
        write_findings(bundle.findings, case_pk, reader_pk) if bundle.findings is not None else {}
    )
    n_marks = 0
    if bundle.marks is not None:
        n_marks = marks_write(study=study, marks=bundle.marks, reader_pk=reader_pk, case_pk=case_pk)
    n_images = _write_images(bundle, store, case_pk)
    return ImportSummary(
        study=study,
        cases=len(cases),
        readers=len(readers),
        readings=n,
        scores=n_scores,
        images=n_images,
        replaced=replaced,
        preferences=counts.get("preferences", 0),
        acceptability=counts.get("acceptability", 0),
        errors=counts.get("errors", 0),
        findings=finding_counts.get("findings", 0),
        reading_findings=finding_counts.get("reading_findings", 0),
        marks=n_marks,
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
    rater_pk: dict[str, int],
    domains: list[LikertDomain],
    now: str,
) -> int:
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


def _reading_pks(study: Study) -> dict[tuple[int, int, int, int], int]:
    """(reader pk, case pk, run, modality) → reading pk of every reading of ``study``."""
    rows = Reading.objects.filter(case__study=study).values_list(
        "reader_id", "case_id", "run", "modality", "pk"
    )
    return {(r, c, run, m): pk for r, c, run, m, pk in rows.iterator(chunk_size=20_000)}


def _reading_of(
    pks: dict[tuple[int, int, int, int], int],
    reader_pk: dict[str, int],
    case: int,
    reader: str,
    run: int,
    modality: int,
) -> int | None:
    """The reading a judgment names; None for the case's reference impression."""
    if reader == REFERENCE_READER:
        return None
    return pks[(reader_pk[reader], case, run, modality)]


def _none_if_nan(value: float) -> float | None:
    return None if value != value else float(value)


def _write_judgments(
    study: Study,
    judgments: ParsedJudgments,
    reader_pk: dict[str, int],
    case_pk: dict[str, int],
    rater_pk: dict[str, int],
) -> dict[str, int]:
    """Insert the rows of preferences.csv, acceptability.csv and errors.csv."""
    frames = (judgments.preferences, judgments.acceptability, judgments.errors)
    if all(f is None or not len(f) for f in frames):
        return {}
    pks = _reading_pks(study)
    counts: dict[str, int] = {}
    if judgments.preferences is not None:
        prefs = judgments.preferences
        objects = []
        for row in prefs.itertuples(index=False):
            case = case_pk[row.case_id]
            strength = _none_if_nan(row.strength)
            objects.append(
                PairwisePreference(
                    rater_id=rater_pk[row.rater_id],
                    case_id=case,
                    reading_a_id=_reading_of(
                        pks, reader_pk, case, row.reader_a, row.run_a, row.modality_a
                    ),
                    reading_b_id=_reading_of(
                        pks, reader_pk, case, row.reader_b, row.run_b, row.modality_b
                    ),
                    choice=row.choice,
                    left=row.left,
                    strength=None if strength is None else int(strength),
                    seconds=_none_if_nan(row.seconds),
                    comment=row.comment,
                )
            )
        PairwisePreference.objects.bulk_create(objects, batch_size=2000)
        counts["preferences"] = len(objects)
    if judgments.acceptability is not None:
        grades = []
        for row in judgments.acceptability.itertuples(index=False):
            case = case_pk[row.case_id]
            grades.append(
                AcceptabilityGrade(
                    rater_id=rater_pk[row.rater_id],
                    case_id=case,
                    reading_id=_reading_of(
                        pks, reader_pk, case, row.reader_id, row.run, row.modality
                    ),
                    grade=int(row.grade),
                    seconds=_none_if_nan(row.seconds),
                )
            )
        AcceptabilityGrade.objects.bulk_create(grades, batch_size=2000)
        counts["acceptability"] = len(grades)
    if judgments.errors is not None:
        errors = []
        for row in judgments.errors.itertuples(index=False):
            case = case_pk[row.case_id]
            start, end = _none_if_nan(row.start), _none_if_nan(row.end)
            errors.append(
                ErrorAnnotation(
                    rater_id=rater_pk[row.rater_id],
                    case_id=case,
                    reading_id=_reading_of(
                        pks, reader_pk, case, row.reader_id, row.run, row.modality
                    ),
                    category=row.category,
                    significant=bool(row.significant),
                    start=None if start is None else int(start),
                    end=None if end is None else int(end),
                    comment=row.comment,
                )
            )
        ErrorAnnotation.objects.bulk_create(errors, batch_size=2000)
        counts["errors"] = len(errors)
    return counts


def _write_images(bundle: ParsedBundle, store: _StorageImageStore, case_pk: dict[str, int]) -> int:
    """Rows of the images ``store`` already wrote (no file is read or written here)."""
    objects = []
    for spec in bundle.images:
        stored_name, display_name, sha256, content_type = store.names[spec.path]
        objects.append(
            CaseImage(
                case_id=case_pk[spec.case_id],
                file=stored_name,
                display=display_name,
                original_name=spec.name,
                series=spec.series,
                phase=spec.phase,
                slice=spec.slice,
                order=spec.order,
                content_type=content_type,
                sha256=sha256,
                dicom_series=spec.dicom_series,
                dicom_series_index=spec.dicom_series_index,
                dicom_slice=spec.dicom_slice,
            )
        )
    CaseImage.objects.bulk_create(objects, batch_size=1000)
    return len(objects)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
