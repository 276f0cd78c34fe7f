"""``manifest.json``: what is needed to reproduce and check an analysis.

* the versions of Python and of every package that computes or draws something, and of
  the Chromium that rendered the static figures;
* the study configuration (its ``study.toml`` exactly as ``export_study`` writes it);
* the analysis options and every randomisation seed (the analysis' own resampling seed and
  the seeds of any session stored for the study, found by :func:`study_seed_records`);
* a SHA-256 of each input table and of all of them, over a canonical serialisation that
  anyone can recompute (:func:`input_digests`);
* the command line, the time, and the SHA-256 of every file written.

The manifest of a pseudonymous analysis names readers and raters by pseudonym only (its
``study.toml``, the command line), and its seed records do not name what they belong to
(:class:`readerstudy.studies.pseudonyms.Blinding`).
"""

from __future__ import annotations

import hashlib
import io
import platform
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w
from django.conf import settings

from analysis.selectors import StudyData, study_seed_records
from readerstudy.bundles.export import study_toml
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import Blinding

PACKAGES: tuple[str, ...] = (
    "django", "numpy", "pandas", "scipy", "statsmodels", "plotly", "kaleido", "choreographer",
    "openpyxl", "pyreadstat", "pyarrow", "tqdm",
)  # fmt: skip

#: Columns of each input table in the canonical serialisation, and its sort keys.
CANONICAL: dict[str, tuple[list[str], list[str]]] = {
    "readings": (
        ["reader_id", "case_id", "run", "modality", "category", "score"],
        ["reader_id", "case_id", "run", "modality"],
    ),
    "scores": (
        ["rater_id", "reader_id", "case_id", "run", "modality", "domain", "score"],
        ["reader_id", "case_id", "run", "modality", "domain", "rater_id"],
    ),
    # the judgments (issue 14): in the digest only when the study has them
    "preferences": (
        ["rater_id", "case_id", "reader", "run_a", "comparator", "run_b", "choice", "left"],
        ["rater_id", "case_id", "reader", "run_a", "comparator", "run_b"],
    ),
    "acceptability": (
        ["rater_id", "case_id", "reader_id", "run", "grade"],
        ["rater_id", "case_id", "reader_id", "run"],
    ),
    "errors": (
        ["rater_id", "case_id", "reader_id", "run", "category", "significant"],
        ["rater_id", "case_id", "reader_id", "run", "category", "significant"],
    ),
}
#: The judgment tables, added to the digest when they have rows.
JUDGMENT_TABLES: tuple[str, ...] = ("preferences", "acceptability", "errors")

SERIALISATION = (
    "Each table as CSV written by pyarrow.csv.write_csv (UTF-8, header row, text quoted, "
    "missing values empty, numbers in their shortest round-trip form), rows sorted by the "
    "key columns; cases: case_id, patient_id, split, truth and the case attributes "
    "(attr:<name>), sorted by case_id; readings: reader_id, case_id, run, modality, "
    "category, score; scores: rater_id, reader_id, case_id, run, modality, domain, score. "
    "'sha256' is the SHA-256 of the lines '<table> <sha256>\\n' for cases, readings, scores "
    "and, when the study has them, the judgments (preferences: rater_id, case_id, reader, "
    "run_a, comparator, run_b, choice, left; acceptability: rater_id, case_id, reader_id, run, "
    "grade; errors: rater_id, case_id, reader_id, run, category, significant)."
)


def _canonical_csv(frame: pd.DataFrame, columns: list[str], keys: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    ordered = frame[columns].sort_values(keys, kind="stable") if len(frame) else frame[columns]
    buffer = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(ordered, preserve_index=False), buffer)
    return buffer.getvalue()


def input_digests(data: StudyData) -> dict[str, Any]:
    """SHA-256 of each input table of ``data`` and of all of them (see :data:`SERIALISATION`)."""
    case_cols = ["case_id", "patient_id", "split", "truth", *[f"attr:{a}" for a in data.attributes]]
    blobs = {
        "cases": _canonical_csv(data.cases, case_cols, ["case_id"]),
        "readings": _canonical_csv(data.readings, *CANONICAL["readings"]),
        "scores": _canonical_csv(data.scores, *CANONICAL["scores"]),
    }
    rows = {"cases": len(data.cases), "readings": len(data.readings), "scores": len(data.scores)}
    for name in JUDGMENT_TABLES:
        frame = getattr(data, name)
        if len(frame):
            blobs[name] = _canonical_csv(frame, *CANONICAL[name])
            rows[name] = len(frame)
    tables = {
        name: {"rows": rows[name], "sha256": hashlib.sha256(blob).hexdigest()}
        for name, blob in blobs.items()
    }
    combined = "".join(f"{name} {tables[name]['sha256']}\n" for name in tables)
    return {
        "sha256": hashlib.sha256(combined.encode()).hexdigest(),
        "tables": tables,
        "serialisation": SERIALISATION,
    }


def package_versions() -> dict[str, str | None]:
    """Versions of Python, readerstudy and the packages in :data:`PACKAGES`."""
    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "readerstudy": _project_version(),
    }
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _project_version() -> str | None:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _chromium_version() -> str | None:
    from analysis.render import browser_path, browser_version

    path = browser_path()
    return None if path is None else browser_version(path)


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _study_toml(study: Study, blinding: Blinding) -> str:
    """The study's ``study.toml``; with pseudonyms, its reference reader's pseudonym and no
    other reader or rater code."""
    text = study_toml(study)
    if not blinding.pseudonymous:
        return text

    def redact(value: Any) -> Any:
        if isinstance(value, str):
            return blinding.redact(value)
        if isinstance(value, dict):
            return {k: redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [redact(v) for v in value]
        return value

    doc = redact(tomllib.loads(text))
    if study.reference_reader_id is not None:
        doc["reference_reader"] = blinding.reader(study.reference_reader.code)  # type: ignore[union-attr]
    return tomli_w.dumps(doc)


def build_manifest(
    *,
    study: Study,
    data: StudyData,
    options: dict[str, Any],
    outputs: list[Path],
    root: Path,
    warnings: list[str],
    notes: list[str],
    static_figures: bool,
) -> dict[str, Any]:
    """The manifest of one run of the analysis (see the module docstring)."""
    blinding = Blinding(study=study, pseudonymous=data.pseudonymous)
    seeds = study_seed_records(study)
    if blinding.pseudonymous:
        # str() of a record names its reader or model; the pseudonymous manifest does not.
        seeds = [{**r, "name": f"{r['model']} {r['pk']}"} for r in seeds]
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": blinding.redact(" ".join(sys.argv)),
        "readerstudy": {"version": _project_version(), "git_commit": _git_commit()},
        "packages": package_versions(),
        "chromium": _chromium_version() if static_figures else None,
        "study": {
            "slug": study.slug,
            "title": study.title,
            "unblinded_at": study.unblinded_at.isoformat() if study.unblinded_at else None,
            "study_toml": _study_toml(study, blinding),
        },
        "options": options,
        "population": {
            "split": data.split,
            "pseudonymous": data.pseudonymous,
            "readers": data.reader_order,
            "runs": sorted(int(r) for r in data.readings["run"].unique())
            if len(data.readings)
            else [],
            "modalities": sorted(int(m) for m in data.readings["modality"].unique())
            if len(data.readings)
            else [],
        },
        "seeds": {"analysis": options.get("seed"), "sessions": seeds},
        "input": input_digests(data),
        "outputs": [
            {"path": str(p.relative_to(root)), "bytes": p.stat().st_size, "sha256": file_digest(p)}
            for p in sorted(outputs)
        ],
        "warnings": warnings,
        "notes": notes,
    }
