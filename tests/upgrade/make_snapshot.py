"""Write the data snapshot of the forward-migration test (tests/upgrade/test_forward_migration.py).

Run it from a checkout of the release whose schema the snapshot should capture (docs/upgrading.md):

    .venv/bin/python tests/upgrade/make_snapshot.py

It migrates a fresh SQLite database in a temporary folder, loads the demo study without images
(``manage.py demo --no-images``), submits a few answers through the reading and rating sessions
(so that the session tables hold submitted work, not only the demo's imported readings and
scores), runs ``manage.py analyze`` and writes into ``tests/upgrade/data/``:

- ``snapshot.json.xz``: ``dumpdata`` of every app (auth, contenttypes, readerstudy,
  evaluation, ...), natural keys off, so every row keeps its primary key;
- ``results.json``: the ``results.json`` that ``analyze`` wrote (options in ``manifest.json``);
- ``manifest.json``: the commit and the migration state the rows belong to (leaf nodes and the
  full ``showmigrations --plan``), the analyze options, and the rows per model.

Nothing outside the temporary folder and ``tests/upgrade/data/`` is touched.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from readerstudy.reading.services import ReadingAnswer

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"

#: ``analyze`` options of the snapshot and of the test (figures and bootstraps off: the test
#: compares numbers, and the resampling loops would only make it slower).
ANALYZE_OPTIONS: dict[str, Any] = {
    "no_figures": True,
    "fleiss_boot": 0,
    "alpha_boot": 0,
    "seed": 1,
    "no_progress": True,
}
#: Answers submitted through the demo sessions on top of the demo's imported data.
READING_SUBMITS_PER_READER = 4
RATING_SUBMITS_PER_RATER = 2


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def _setup(tmp: Path) -> None:
    os.environ["DJANGO_DEBUG"] = "1"  # the demo accounts and sessions are development-only
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'snapshot.sqlite3'}"
    os.environ["READERSTUDY_VAR_DIR"] = str(tmp / "var")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _submit_some() -> None:
    """A few submitted reading-session cases and rating-session items, through the services."""
    from evaluation.models import RatingSession, RatingTask
    from evaluation.selectors import session_domains_cached
    from evaluation.services import rating_submit
    from readerstudy.reading.models import ReadingAssignment, ReadingWork
    from readerstudy.reading.services import reading_submit, reading_work_open

    for assignment in ReadingAssignment.objects.order_by("pk"):
        works = ReadingWork.objects.filter(assignment=assignment).order_by("pk")
        for n, work in enumerate(works[:READING_SUBMITS_PER_READER]):
            work = reading_work_open(work=work)
            result = reading_submit(
                work=work,
                answer=ReadingAnswer(
                    category=(2, 4, 5, 3)[n % 4],
                    probability=(10, 60, 90, 40)[n % 4],
                    impression=f"Snapshot answer {n + 1}.",
                    active_seconds=5.0,
                ),
                actor=assignment.reader.user,
                token=uuid.uuid4(),
                base_version=0,
            )
            if not result.accepted:
                raise RuntimeError(f"reading submit of work {work.pk}: {result.outcome}")
    for session in RatingSession.objects.order_by("pk"):
        domains = session_domains_cached(session)
        study = session.study
        for assignment in session.assignments.order_by("pk"):
            tasks = RatingTask.objects.filter(assignment=assignment).order_by("pk")
            for n, task in enumerate(tasks[:RATING_SUBMITS_PER_RATER]):
                scores = {
                    d.key: study.likert_min + (i + n) % (study.likert_max - study.likert_min + 1)
                    for i, d in enumerate(domains)
                }
                rating_submit(
                    task=task,
                    token=uuid.uuid4(),
                    version=0,
                    scores=scores,
                    actor=assignment.rater.user,
                )


def main() -> None:
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _setup(tmp)
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.loader import MigrationLoader

        from fixtures.demo import STUDY_SLUG

        call_command("migrate", verbosity=0, interactive=False)
        call_command("demo", no_images=True, stdout=io.StringIO())
        _submit_some()
        out = tmp / "analysis"
        call_command("analyze", STUDY_SLUG, out=out, stdout=io.StringIO(), **ANALYZE_OPTIONS)
        dump = io.StringIO()
        call_command("dumpdata", format="json", indent=None, stdout=dump)
        plan = io.StringIO()
        call_command("showmigrations", format="plan", stdout=plan)
        rows = json.loads(dump.getvalue())
        loader = MigrationLoader(connection)
        leaves = sorted(list(node) for node in loader.graph.leaf_nodes())
        results = (out / "results.json").read_bytes()

    DATA.mkdir(parents=True, exist_ok=True)
    with lzma.open(DATA / "snapshot.json.xz", "wt", encoding="utf-8", preset=9) as f:
        f.write(dump.getvalue())
    (DATA / "results.json").write_bytes(results)
    manifest = {
        "commit": commit,
        "dirty": dirty,
        "study": STUDY_SLUG,
        "analyze_options": ANALYZE_OPTIONS,
        "leaf_nodes": leaves,
        "plan": [line.strip() for line in plan.getvalue().splitlines() if line.strip()],
        "rows": dict(sorted(Counter(r["model"] for r in rows).items())),
    }
    (DATA / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"snapshot of {commit[:12]}{' (dirty)' if dirty else ''}: {len(rows)} rows -> {DATA}")


if __name__ == "__main__":
    main()
