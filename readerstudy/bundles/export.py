"""Write a study back as a bundle (folder or .zip), streaming the large tables.

Import → export → import is lossless: every value the import stored comes back, numbers are
written so that they parse to the same float, and a second export is byte-identical. Text
that a spreadsheet would run as a formula gets a leading ``'`` (readerstudy/core/spreadsheet.py),
which the import removes again.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import tomli_w
from django.core.files.storage import default_storage

from evaluation.models import (
    REFERENCE_READER,
    AcceptabilityGrade,
    ErrorAnnotation,
    LikertDomain,
    LikertScore,
    PairwisePreference,
)
from readerstudy.bundles.findings import export_findings
from readerstudy.bundles.names import UnsafeNameError, safe_relative_path, unsafe_path_reason
from readerstudy.bundles.parse import CASE_COLUMNS, READER_COLUMNS, READING_COLUMNS
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, Study

#: Timestamp of every .zip member (the earliest a zip can hold): two exports are identical.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class BundleWriter:
    """Files of a bundle being written into a folder or a .zip archive.

    Every name is checked (``safe_relative_path``) and, in a folder, the resolved path must
    stay inside it, whatever the database holds: nothing is ever written outside the target.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.suffix.lower() == ".zip":
            if path.exists():
                raise FileExistsError(f"{path} exists; choose a new file name")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        else:
            if path.exists() and any(path.iterdir()):
                raise FileExistsError(f"{path} is not empty; choose a new or empty folder")
            path.mkdir(parents=True, exist_ok=True)
        self._root = path.resolve()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def _member(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(str(safe_relative_path(name)), date_time=ZIP_DATE_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    def _target(self, name: str) -> Path:
        target = (self._root / safe_relative_path(name)).resolve()
        if not target.is_relative_to(self._root):
            raise UnsafeNameError(f"{name!r}: would be written outside {self.path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @contextmanager
    def text(self, name: str) -> Iterator[IO[str]]:
        if self._zip is not None:
            with (
                self._zip.open(self._member(name), "w") as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as stream,
            ):
                yield stream
            return
        with self._target(name).open("w", encoding="utf-8", newline="") as stream:
            yield stream

    def write_bytes(self, name: str, data: bytes) -> None:
        if self._zip is not None:
            self._zip.writestr(self._member(name), data)
            return
        self._target(name).write_bytes(data)


def image_member_name(case_code: str, original_name: str) -> str:
    return f"images/{case_code}/{original_name}"


def unsafe_image_names(study: Study) -> list[str]:
    """Images of ``study`` whose names cannot be written below a bundle folder (imported
    before names were checked, or edited since), each as ``case C1: '../x.png': reason``."""
    out = []
    for code, name in (
        CaseImage.objects.filter(case__study=study)
        .order_by("case__position", "case__code", "order", "original_name")
        .values_list("case__code", "original_name")
    ):
        reason = unsafe_path_reason(image_member_name(code, name))
        if reason is None and code in (".", ".."):
            reason = "the case id is '.' or '..'"
        if reason is not None:
            out.append(f"case {code!r}: image {name!r}: {reason}")
    return out


def fmt_number(value: float | int | None) -> str:
    """Shortest text that parses back to the same number ("" for missing)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def study_toml(study: Study) -> str:
    doc: dict[str, Any] = {"slug": study.slug, "title": study.title}
    if study.description:
        doc["description"] = study.description
    if study.reference_reader_id:
        doc["reference_reader"] = study.reference_reader.code  # type: ignore[union-attr]
    categories = list(study.scale_categories.order_by("value"))
    scale: dict[str, Any] = {
        "name": study.scale_name,
        "categories": [c.value for c in categories],
        "positive_threshold": study.positive_threshold,
    }
    labels = {str(c.value): c.label for c in categories if c.label}
    if labels:
        scale["labels"] = labels
    doc["scale"] = scale
    doc["repeats"] = {"consensus": study.consensus}
    domains = []
    for d in LikertDomain.objects.filter(study=study).order_by("position", "key"):
        entry: dict[str, Any] = {"key": d.key, "label": d.label}
        if d.group:
            entry["group"] = d.group
        if d.description:
            entry["description"] = d.description
        entry.update(d.extra)
        domains.append(entry)
    likert: dict[str, Any] = {"min": study.likert_min, "max": study.likert_max}
    if domains:
        likert["domains"] = domains
    doc["likert"] = likert
    return tomli_w.dumps(_deep_merge(doc, study.config))


def write_study_bundle(study: Study, path: Path) -> dict[str, int]:
    """Write ``study`` as a bundle at ``path`` (a new folder, or a file ending in .zip).

    Raises ``UnsafeNameError`` before writing anything when an image name is unsafe.
    """
    unsafe = unsafe_image_names(study)
    if unsafe:
        raise UnsafeNameError(
            f"{len(unsafe)} image name{'s' if len(unsafe) != 1 else ''} cannot be exported "
            "safely (nothing was written; re-import the study from a bundle with safe names, "
            "import_study --replace, or delete these images in the admin):\n" + "\n".join(unsafe)
        )
    writer = BundleWriter(path)
    counts: dict[str, int] = {}
    try:
        with writer.text("study.toml") as out:
            out.write(study_toml(study))

        attributes = list(study.case_attributes)
        with writer.text("cases.csv") as out:
            w = csv_writer(out, lineterminator="\n")
            w.writerow([*CASE_COLUMNS, *attributes])
            n = 0
            for case in (
                Case.objects.filter(study=study).order_by("position", "code").iterator(2000)
            ):
                w.writerow(
                    [
                        case.code,
                        case.patient_id,
                        case.split,
                        case.truth,
                        case.location,
                        case.clinical_history,
                        case.findings,
                        case.reference_impression,
                        case.truth_detail,
                        *[case.attributes.get(a, "") for a in attributes],
                    ]
                )
                n += 1
            counts["cases"] = n

        with writer.text("readers.csv") as out:
            w = csv_writer(out, lineterminator="\n")
            w.writerow(READER_COLUMNS)
            readers = list(Reader.objects.filter(study=study).order_by("position", "code"))
            for r in readers:
                w.writerow(
                    [
                        r.code,
                        r.kind,
                        r.label,
                        r.group,
                        fmt_number(r.years_experience),
                        fmt_number(r.interpretations),
                        r.description,
                    ]
                )
            counts["readers"] = len(readers)

        with writer.text("readings.csv") as out:
            w = csv_writer(out, lineterminator="\n")
            w.writerow(READING_COLUMNS)
            rows = (
                Reading.objects.filter(case__study=study)
                .order_by(
                    "reader__position",
                    "reader__code",
                    "case__position",
                    "case__code",
                    "run",
                    "modality",
                )
                .values_list(
                    "reader__code",
                    "case__code",
                    "run",
                    "modality",
                    "category",
                    "score",
                    "impression",
                    "seconds",
                )
                .iterator(chunk_size=20_000)
            )
            n = 0
            for reader, case_code, run, modality, category, score, impression, seconds in rows:
                w.writerow(
                    [
                        reader,
                        case_code,
                        run,
                        modality,
                        category,
                        fmt_number(score),
                        impression,
                        fmt_number(seconds),
                    ]
                )
                n += 1
            counts["readings"] = n

        # The panel's scores: an LLM judge's (source judged) are not a rater's in the bundle
        # format, which has no kind of rater; they stay with the judge's answers.
        scores = LikertScore.objects.filter(domain__study=study).exclude(
            source=LikertScore.Source.JUDGED
        )
        if scores.exists():
            multi_modality = Reading.objects.filter(case__study=study).exclude(modality=1).exists()
            with writer.text("ratings.csv") as out:
                w = csv_writer(out, lineterminator="\n")
                header = ["rater_id", "reader_id", "case_id", "run", "domain", "score"]
                if multi_modality:
                    header.insert(4, "modality")
                w.writerow(header)
                score_rows = (
                    scores.order_by(
                        "rater__code",
                        "reading__reader__position",
                        "reading__reader__code",
                        "reading__case__position",
                        "reading__case__code",
                        "reading__run",
                        "reading__modality",
                        "domain__position",
                        "domain__key",
                    )
                    .values_list(
                        "rater__code",
                        "reading__reader__code",
                        "reading__case__code",
                        "reading__run",
                        "reading__modality",
                        "domain__key",
                        "score",
                    )
                    .iterator(chunk_size=20_000)
                )
                n = 0
                for rater, reader, case_code, run, modality, domain, score in score_rows:
                    row = [rater, reader, case_code, run, domain, score]
                    if multi_modality:
                        row.insert(4, modality)
                    w.writerow(row)
                    n += 1
                counts["scores"] = n

        counts.update(write_judgments(writer, study))
        counts.update(export_findings(writer, study))
        from readerstudy.bundles.marks import marks_rows  # (cycle: marks uses fmt_number)

        mark_rows = marks_rows(study)
        header = next(mark_rows, None)
        if header is not None:
            counts["marks"] = 0
            with writer.text("marks.csv") as out:
                w = csv_writer(out, lineterminator="\n")
                w.writerow(header)
                for row in mark_rows:
                    w.writerow(row)
                    counts["marks"] += 1

        images = (
            CaseImage.objects.filter(case__study=study)
            .select_related("case")
            .order_by("case__position", "case__code", "order", "original_name")
        )
        rows_images = []
        for image in images.iterator(500):
            with default_storage.open(image.file.name, "rb") as fh:
                writer.write_bytes(
                    image_member_name(image.case.code, image.original_name), fh.read()
                )
            rows_images.append(
                [
                    image.case.code,
                    image.original_name,
                    image.series,
                    image.phase,
                    image.slice,
                    image.order,
                ]
            )
        if rows_images:
            # Written after the image files: a zip archive takes one open member at a time.
            with writer.text("images.csv") as out:
                w = csv_writer(out, lineterminator="\n")
                w.writerow(["case_id", "file", "series", "phase", "slice", "order"])
                w.writerows(rows_images)
        n = len(rows_images)
        counts["images"] = n
    finally:
        writer.close()
    return counts


def _outputs(study: Study) -> dict[int, tuple[str, int, int, tuple[int, str, int, int]]]:
    """reading pk → (reader code, run, modality, sort key) of the readings judged in ``study``."""
    rows = Reading.objects.filter(case__study=study).values_list(
        "pk", "reader__code", "reader__position", "run", "modality"
    )
    return {
        pk: (code, run, modality, (position, code, run, modality))
        for pk, code, position, run, modality in rows.iterator(chunk_size=20_000)
    }


#: Sort key of the reference impression: after every reader.
REFERENCE_SORT = (2**31, "", 0, 0)


def _side(
    outputs: dict[int, tuple[str, int, int, tuple[int, str, int, int]]], reading: int | None
) -> tuple[str, str, str, tuple[int, str, int, int]]:
    """(reader id, run, modality, sort key) of one side; ``reference`` and empty run for NULL."""
    if reading is None:
        return REFERENCE_READER, "", "", REFERENCE_SORT
    code, run, modality, key = outputs[reading]
    return code, str(run), str(modality), key


def write_judgments(writer: BundleWriter, study: Study) -> dict[str, int]:
    """preferences.csv, acceptability.csv and errors.csv (each only when it has rows).

    Rows are sorted by rater, case, the outputs and then every other column, so a second
    export is byte-identical; the modality columns are written only when the study has
    readings of more than one modality (as in ratings.csv).
    """
    counts: dict[str, int] = {}
    # The panel's judgments only: an LLM judge's (source judged) stay with its answers, as
    # its Likert scores do (the format has no kind of rater).
    prefs = PairwisePreference.objects.filter(rater__study=study).exclude(
        source=LikertScore.Source.JUDGED
    )
    grades = AcceptabilityGrade.objects.filter(rater__study=study).exclude(
        source=LikertScore.Source.JUDGED
    )
    errors = ErrorAnnotation.objects.filter(rater__study=study)
    if not (prefs.exists() or grades.exists() or errors.exists()):
        return counts
    outputs = _outputs(study)
    multi = Reading.objects.filter(case__study=study).exclude(modality=1).exists()
    cases = dict(
        Case.objects.filter(study=study).values_list("pk", "code").iterator(chunk_size=20_000)
    )
    case_order = {
        pk: (position, code)
        for pk, position, code in Case.objects.filter(study=study)
        .values_list("pk", "position", "code")
        .iterator(chunk_size=20_000)
    }

    if prefs.exists():
        rows = []
        for rater, case, a, b, choice, left, strength, seconds, comment in prefs.values_list(
            "rater__code",
            "case_id",
            "reading_a_id",
            "reading_b_id",
            "choice",
            "left",
            "strength",
            "seconds",
            "comment",
        ).iterator(chunk_size=20_000):
            ra, run_a, mod_a, key_a = _side(outputs, a)
            rb, run_b, mod_b, key_b = _side(outputs, b)
            row = [rater, cases[case], ra, run_a, rb, run_b, choice, left]
            row += [fmt_number(strength), fmt_number(seconds), comment]
            if multi:
                row += [mod_a, mod_b]
            rows.append(((rater, case_order[case], key_a, key_b, row), row))
        rows.sort(key=lambda item: item[0])
        with writer.text("preferences.csv") as out:
            w = csv_writer(out, lineterminator="\n")
            header = [
                "rater_id",
                "case_id",
                "reader_a",
                "run_a",
                "reader_b",
                "run_b",
                "choice",
                "left",
                "strength",
                "seconds",
                "comment",
            ]
            w.writerow([*header, "modality_a", "modality_b"] if multi else header)
            w.writerows(row for _, row in rows)
        counts["preferences"] = len(rows)

    if grades.exists():
        rows_g = []
        for rater, case, reading, grade, seconds in grades.values_list(
            "rater__code", "case_id", "reading_id", "grade", "seconds"
        ).iterator(chunk_size=20_000):
            reader, run, modality, key = _side(outputs, reading)
            row = [rater, reader, cases[case], run, str(grade), fmt_number(seconds)]
            if multi:
                row.append(modality)
            rows_g.append(((rater, case_order[case], key, row), row))
        rows_g.sort(key=lambda item: item[0])
        with writer.text("acceptability.csv") as out:
            w = csv_writer(out, lineterminator="\n")
            header = ["rater_id", "reader_id", "case_id", "run", "grade", "seconds"]
            w.writerow([*header, "modality"] if multi else header)
            w.writerows(row for _, row in rows_g)
        counts["acceptability"] = len(rows_g)

    if errors.exists():
        rows_e = []
        for rater, case, reading, category, significant, start, end, comment in errors.values_list(
            "rater__code",
            "case_id",
            "reading_id",
            "category",
            "significant",
            "start",
            "end",
            "comment",
        ).iterator(chunk_size=20_000):
            reader, run, modality, key = _side(outputs, reading)
            row = [rater, reader, cases[case], run, category, str(int(significant))]
            row += [fmt_number(start), fmt_number(end), comment]
            if multi:
                row.append(modality)
            span = (-1 if start is None else start, -1 if end is None else end)
            rows_e.append(((rater, case_order[case], key, span, [str(c) for c in row]), row))
        rows_e.sort(key=lambda item: item[0])
        with writer.text("errors.csv") as out:
            w = csv_writer(out, lineterminator="\n")
            header = [
                "rater_id",
                "reader_id",
                "case_id",
                "run",
                "category",
                "significant",
                "start",
                "end",
                "comment",
            ]
            w.writerow([*header, "modality"] if multi else header)
            w.writerows(row for _, row in rows_e)
        counts["errors"] = len(rows_e)
    return counts
