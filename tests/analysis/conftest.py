"""Fixtures of the analysis tests: the demo study, small synthetic studies, members."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import Group

from fixtures.demo import STUDY_SLUG, write_demo_bundle
from readerstudy.bundles.services import study_delete, study_import
from readerstudy.studies.models import Study, StudyMember
from tests.conftest import SqliteSnapshots
from tests.factories import UserFactory

SMALL_TOML = """\
slug = "{slug}"
title = "Small synthetic study"
reference_reader = "R1"

[scale]
name = "BI-RADS"
categories = [0, 1, 2, 3, 4, 5, 6]
positive_threshold = 4

[scale.labels]
2 = "Benign"
4 = "Suspicious"

[repeats]
consensus = "majority-median"

[likert]
min = 1
max = 5

[[likert.domains]]
key = "correctness"
label = "Correctness"
group = "Knowledge accuracy"

[[likert.domains]]
key = "coherence"
label = "Coherence"
group = "Report structure"
"""


@pytest.fixture(scope="session")
def demo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo bundle without images, written once per test session."""
    return write_demo_bundle(tmp_path_factory.mktemp("demo") / "bundle", images=False)


def _study_delete(slug: str) -> None:
    existing = Study.objects.filter(slug=slug).first()
    if existing is not None:
        study_delete(study=existing, delete_files=False)


@pytest.fixture(scope="module")
def demo_study(
    sqlite_snapshots: SqliteSnapshots,
    demo_bundle: Path,
) -> Iterator[Study]:
    """The demo study for a module, deleted after it. Imported once per worker on SQLite and
    restored from a copy of the database for the next modules (``SqliteSnapshots``); imported
    and deleted for every module on PostgreSQL."""
    with sqlite_snapshots.shared(
        "demo",
        build=lambda: study_import(path=demo_bundle, replace=True).study,
        find=lambda: Study.objects.get(slug=STUDY_SLUG),
        destroy=lambda: _study_delete(STUDY_SLUG),
    ) as study:
        yield study


def write_small_bundle(
    root: Path,
    *,
    slug: str = "small",
    n_cases: int = 40,
    readers: dict[str, int] | None = None,
    modalities: int = 1,
    scores: bool = False,
    likert: bool = True,
    skip: dict[str, list[int]] | None = None,
    seed: int = 7,
) -> Path:
    """A synthetic bundle: ``readers`` maps reader id -> number of runs (R1 is human).

    Categories follow the truth with noise; ``skip`` leaves out cases (by index) of a
    reader; ``scores`` adds a probability to every reading; ``likert`` adds ratings of
    every reading by two raters on both domains.
    """
    rng = np.random.default_rng(seed)
    readers = readers or {"R1": 1, "M1": 3, "M2": 3}
    root.mkdir(parents=True)
    (root / "study.toml").write_text(SMALL_TOML.format(slug=slug))
    truth = np.array([1, 0] * (n_cases // 2))
    case_ids = [f"C{i:03d}" for i in range(n_cases)]
    pd.DataFrame(
        {
            "case_id": case_ids,
            "truth": truth,
            "patient_id": [f"P{i:03d}" for i in range(n_cases)],
            "split": ["test"] * (n_cases - 4) + ["train"] * 4,
            "tic_type": rng.choice(["persistent", "plateau", "washout"], n_cases),
            "age": rng.integers(25, 80, n_cases),
        }
    ).to_csv(root / "cases.csv", index=False)
    pd.DataFrame(
        {
            "reader_id": list(readers),
            "kind": ["human" if r.startswith("R") else "model" for r in readers],
        }
    ).to_csv(root / "readers.csv", index=False)
    rows = []
    for reader, runs in readers.items():
        skipped = set((skip or {}).get(reader, []))
        for modality in range(1, modalities + 1):
            latent = truth * (1.5 + 0.5 * modality) + rng.normal(0, 1, n_cases)
            for run in range(1, runs + 1):
                noisy = latent + rng.normal(0, 0.6, n_cases)
                category = np.clip(np.round(2 + noisy), 1, 5).astype(int)
                for i, case in enumerate(case_ids):
                    if i in skipped:
                        continue
                    rows.append(
                        {
                            "reader_id": reader,
                            "case_id": case,
                            "run": run,
                            "modality": modality,
                            "category": int(category[i]),
                            "score": round(float(1 / (1 + np.exp(-noisy[i]))), 4) if scores else "",
                            "impression": f"{reader} impression of {case}",
                        }
                    )
    readings = pd.DataFrame(rows)
    readings.to_csv(root / "readings.csv", index=False)
    if likert:
        ratings = []
        for row in readings.itertuples():
            for rater in ("rA", "rB"):
                for domain in ("correctness", "coherence"):
                    ratings.append(
                        {
                            "rater_id": rater,
                            "reader_id": row.reader_id,
                            "case_id": row.case_id,
                            "run": row.run,
                            "modality": row.modality,
                            "domain": domain,
                            "score": int(rng.integers(3, 6)),
                        }
                    )
        pd.DataFrame(ratings).to_csv(root / "ratings.csv", index=False)
    return root


@pytest.fixture(scope="module")
def shared_small_study(
    sqlite_snapshots: SqliteSnapshots,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Study]:
    """A synthetic study (three readers, Likert scores) shared by a module, then deleted."""
    root = write_small_bundle(tmp_path_factory.mktemp("shared") / "bundle", slug="shared-small")
    with sqlite_snapshots.shared(
        "shared-small",
        build=lambda: study_import(path=root, replace=True).study,
        find=lambda: Study.objects.get(slug="shared-small"),
        destroy=lambda: _study_delete("shared-small"),
    ) as study:
        yield study


SmallStudy = Callable[..., Study]


@pytest.fixture
def small_study(tmp_path: Path) -> SmallStudy:
    """Import a synthetic study (see :func:`write_small_bundle`) inside the test."""
    counter = iter(range(100))

    def make(**kwargs: object) -> Study:
        root = write_small_bundle(tmp_path / f"small{next(counter)}", **kwargs)  # type: ignore[arg-type]
        return study_import(path=root).study

    return make


def write_bundle(
    root: Path,
    *,
    slug: str,
    cases: pd.DataFrame,
    readers: pd.DataFrame,
    readings: pd.DataFrame,
    reference: str,
    ratings: pd.DataFrame | None = None,
) -> Path:
    """A bundle from given tables, with the scale and domains of the small study."""
    root.mkdir(parents=True)
    toml = SMALL_TOML.format(slug=slug).replace(
        'reference_reader = "R1"', f'reference_reader = "{reference}"'
    )
    (root / "study.toml").write_text(toml)
    cases.to_csv(root / "cases.csv", index=False)
    readers.to_csv(root / "readers.csv", index=False)
    readings.to_csv(root / "readings.csv", index=False)
    if ratings is not None:
        ratings.to_csv(root / "ratings.csv", index=False)
    return root


CustomStudy = Callable[..., Study]


@pytest.fixture
def custom_study(tmp_path: Path) -> CustomStudy:
    """Import a study from given cases, readers and readings (see :func:`write_bundle`)."""
    counter = iter(range(100))

    def make(**kwargs: object) -> Study:
        n = next(counter)
        kwargs.setdefault("slug", f"custom-{n}")
        root = write_bundle(tmp_path / f"custom{n}", **kwargs)  # type: ignore[arg-type]
        return study_import(path=root).study

    return make


Member = Callable[[Study, str], object]


@pytest.fixture
def member() -> Member:
    """A user holding ``role`` in ``study`` (group and membership)."""

    def make(study: Study, role: str) -> object:
        user = UserFactory()
        user.groups.add(Group.objects.get(name=role))
        StudyMember.objects.create(study=study, user=user, role=role)
        return user

    return make
