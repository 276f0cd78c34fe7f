"""Benchmark: ``manage.py analyze`` and the dataset export.

Goals (each timed as a separate ``manage.py`` child process, so start-up is included):

1. ``analyze`` of the demo study with every figure (HTML, PNG, SVG): at most 10 s;
2. ``analyze --no-figures`` of a study of 20,000 cases x 20 readers x 3 runs (1,200,000
   readings) with 200,000 Likert scores: at most 60 s;
3. ``export_data --format likert.csv`` of 1,000,000 scores: at most 15 s, with flat memory
   (peak RSS at most 1.25 x that of exporting 200,000 scores).

The large study is written straight into the database with ``bulk_insert``. Prints the
figures and exits non-zero when a goal is missed.

    python bench/bench_analysis.py [--postgres] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
PG_DB = "rs_analysis_bench"
GOAL_DEMO = 10.0
GOAL_LARGE = 60.0
GOAL_EXPORT = 15.0
GOAL_FLAT = 1.25
LARGE_SLUG = "bench-large"


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """Run a child process; return (seconds, peak RSS bytes, exit code, stderr tail)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status), stderr[-2000:]


# ---------------------------------------------------------------------------------------
# Building the large study (runs in a child with Django set up)
# ---------------------------------------------------------------------------------------


def build_large(n_cases: int, n_readers: int, runs: int, n_scores: int, seed: int = 1) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from evaluation.models import LikertDomain, Rater
    from fixtures.demo_ratings import LIKERT_DOMAINS
    from readerstudy.core.db.bulk import bulk_insert
    from readerstudy.studies.models import Case, Reader, Reading, ScaleCategory, Study

    rng = np.random.default_rng(seed)
    now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    with transaction.atomic():
        study = Study.objects.create(
            slug=LARGE_SLUG,
            title="Analysis benchmark",
            positive_threshold=4,
            case_attributes=["tic_type", "age"],
        )
        ScaleCategory.objects.bulk_create(ScaleCategory(study=study, value=v) for v in range(7))
        domains = LikertDomain.objects.bulk_create(
            LikertDomain(study=study, key=k, label=label, group=g, position=i)
            for i, (k, label, g) in enumerate(LIKERT_DOMAINS)
        )
        readers = Reader.objects.bulk_create(
            Reader(
                study=study,
                code=f"R{i:02d}" if i < 5 else f"M{i:02d}",
                kind="human" if i < 5 else "model",
                position=i,
            )
            for i in range(n_readers)
        )
        study.reference_reader = readers[0]
        study.save(update_fields=["reference_reader"])
        truth = rng.integers(0, 2, n_cases)
        tic = rng.choice(["persistent", "plateau", "washout"], n_cases)
        age = rng.integers(25, 81, n_cases)
        bulk_insert(
            Case._meta.db_table,
            {
                "study_id": np.full(n_cases, study.pk, dtype=np.int64),
                "code": [f"C{i:06d}" for i in range(n_cases)],
                "patient_id": [f"P{i:06d}" for i in range(n_cases)],
                "split": ["test"] * n_cases,
                "truth": truth.astype(np.int64),
                "location": [""] * n_cases,
                "clinical_history": [""] * n_cases,
                "findings": [""] * n_cases,
                "reference_impression": [""] * n_cases,
                "truth_detail": [""] * n_cases,
                "attributes": [
                    json.dumps({"tic_type": str(t), "age": str(a)})
                    for t, a in zip(tic, age, strict=True)
                ],
                "position": np.arange(n_cases, dtype=np.int64),
            },
        )
        case_pks = np.array(
            Case.objects.filter(study=study).order_by("position").values_list("pk", flat=True),
            dtype=np.int64,
        )
        n = n_readers * runs * n_cases
        reader_pk = np.repeat([r.pk for r in readers], runs * n_cases)
        run = np.tile(np.repeat(np.arange(1, runs + 1), n_cases), n_readers)
        case_pk = np.tile(case_pks, n_readers * runs)
        latent = np.tile(truth * 1.6, n_readers * runs) + rng.normal(0, 1, n)
        category = np.clip(np.round(2.2 + latent), 0, 6).astype(np.int64)
        bulk_insert(
            Reading._meta.db_table,
            {
                "reader_id": reader_pk.astype(np.int64),
                "case_id": case_pk,
                "run": run.astype(np.int64),
                "modality": np.ones(n, dtype=np.int64),
                "category": category,
                "score": np.full(n, np.nan),
                "impression": [""] * n,
                "seconds": np.full(n, np.nan),
                "source": ["imported"] * n,
                "created_at": [now] * n,
                "updated_at": [now] * n,
            },
        )
        raters = Rater.objects.bulk_create(Rater(study=study, code=f"rater{i}") for i in (1, 2, 3))
    add_scores(study.pk, n_scores, [r.pk for r in raters], [d.pk for d in domains], seed)
    analyze_tables()
    print(f"built {LARGE_SLUG}: {n_cases} cases, {n} readings", file=sys.stderr)


def add_scores(
    study_pk: int, n_scores: int, raters: list[int], domains: list[int], seed: int
) -> None:
    """Add about ``n_scores`` scores: every rater and domain on readings not yet scored."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from evaluation.models import LikertScore
    from readerstudy.core.db.bulk import bulk_insert
    from readerstudy.studies.models import Reading

    per_reading = len(raters) * len(domains)
    scored = set(
        LikertScore.objects.filter(domain__study_id=study_pk).values_list("reading_id", flat=True)
    )
    candidates = Reading.objects.filter(reader__study_id=study_pk, reader__kind="model").order_by(
        "id"
    )
    wanted = -(-n_scores // per_reading)
    chosen = []
    for pk in candidates.values_list("pk", flat=True).iterator(chunk_size=50_000):
        if pk not in scored:
            chosen.append(pk)
            if len(chosen) == wanted:
                break
    chosen_arr = np.array(chosen, dtype=np.int64)
    n = len(chosen_arr) * per_reading
    rng = np.random.default_rng(seed + len(scored))
    now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    with transaction.atomic():
        bulk_insert(
            LikertScore._meta.db_table,
            {
                "rater_id": np.tile(np.repeat(raters, len(domains)), len(chosen_arr)).astype(
                    np.int64
                ),
                "reading_id": np.repeat(chosen_arr, per_reading),
                "domain_id": np.tile(domains, len(chosen_arr) * len(raters)).astype(np.int64),
                "score": rng.choice([3, 4, 5], n, p=[0.05, 0.35, 0.6]).astype(np.int64),
                "source": ["imported"] * n,
                "created_at": [now] * n,
                "updated_at": [now] * n,
            },
        )


def analyze_tables() -> None:
    """Refresh the planner statistics, as autovacuum soon does after a large import."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def child_add_scores(total: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from evaluation.models import LikertDomain, LikertScore, Rater
    from readerstudy.studies.models import Study

    study = Study.objects.get(slug=LARGE_SLUG)
    have = LikertScore.objects.filter(domain__study=study).count()
    add_scores(
        study.pk,
        total - have,
        list(Rater.objects.filter(study=study).values_list("pk", flat=True)),
        list(
            LikertDomain.objects.filter(study=study)
            .order_by("position")
            .values_list("pk", flat=True)
        ),
        seed=2,
    )
    analyze_tables()


# ---------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------


def bench(label: str, env: dict[str, str], tmp: Path) -> bool:
    py = sys.executable
    manage = [py, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    ok = True

    # 1. the demo study with every figure
    bundle = tmp / f"demo-{label}"
    subprocess.run(
        [py, "-m", "fixtures.demo", str(bundle), "--no-images"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(
        [*manage, "import_study", str(bundle), "--replace"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds, peak, code, err = run_child(
        [
            *manage,
            "analyze",
            "nme-gpt4o-demo",
            "--out",
            str(tmp / f"out-demo-{label}"),
            "--no-progress",
        ],
        env,
    )
    figures = sorted(p.name for p in (tmp / f"out-demo-{label}" / "figures").glob("*.png"))
    good = code == 0 and seconds <= GOAL_DEMO and len(figures) >= 7
    ok &= good
    print(
        f"{label:<10} analyze demo, all figures ({len(figures)} PNG + SVG + HTML): {seconds:6.1f} s, "
        f"peak RSS {peak / 2**20:5.0f} MiB (goal <= {GOAL_DEMO:.0f} s) {'OK' if good else 'MISSED'}"
    )
    if code != 0:
        print(err)

    # 2. 20,000 cases x 20 readers x 3 runs, 200,000 scores, no figures
    start = time.perf_counter()
    subprocess.run(
        [py, __file__, "--child", "build-large"], cwd=ROOT, env=env, check=True,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"{label:<10} built the large study in {time.perf_counter() - start:.0f} s")
    seconds, peak, code, err = run_child(
        [
            *manage,
            "analyze",
            LARGE_SLUG,
            "--out",
            str(tmp / f"out-large-{label}"),
            "--no-figures",
            "--no-progress",
        ],
        env,
    )
    good = code == 0 and seconds <= GOAL_LARGE
    ok &= good
    print(
        f"{label:<10} analyze 20,000 cases x 20 readers x 3 runs + 200,000 scores, no figures: "
        f"{seconds:6.1f} s, peak RSS {peak / 2**20:5.0f} MiB (goal <= {GOAL_LARGE:.0f} s) "
        f"{'OK' if good else 'MISSED'}"
    )
    if code != 0:
        print(err)

    # 3. likert.csv of 200,000 then 1,000,000 scores
    export = [*manage, "export_data", LARGE_SLUG, "--format", "likert.csv", "--out"]
    s_small, p_small, code_small, err = run_child([*export, str(tmp / f"small-{label}.csv")], env)
    subprocess.run([py, __file__, "--child", "add-scores"], cwd=ROOT, env=env, check=True)
    s_big, p_big, code_big, err_big = run_child([*export, str(tmp / f"big-{label}.csv")], env)
    with open(tmp / f"big-{label}.csv", "rb") as fh:
        rows = sum(1 for _ in fh) - 1
    flat = p_big <= GOAL_FLAT * p_small
    good = code_small == 0 and code_big == 0 and s_big <= GOAL_EXPORT and flat and rows >= 1_000_000
    ok &= good
    print(
        f"{label:<10} export likert.csv: 200,000 scores {s_small:5.1f} s / {p_small / 2**20:4.0f} MiB; "
        f"{rows:,} scores {s_big:5.1f} s / {p_big / 2**20:4.0f} MiB (goal <= {GOAL_EXPORT:.0f} s, "
        f"peak <= {GOAL_FLAT} x) {'OK' if good else 'MISSED'}"
    )
    if code_big != 0:
        print(err_big)
    return ok


def each_database(
    bench: Callable[[str, dict[str, str], Path], bool], *, pg_db: str, postgres: bool, sqlite: bool
) -> bool:
    """Run ``bench(label, env, tmp)`` on a fresh SQLite file and (``postgres``) a fresh
    PostgreSQL database ``pg_db``, in production settings; whether every goal was met."""
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        base = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DATABASE_URL"}}
        base.update(
            {
                "DJANGO_DEBUG": "0",
                "SECRET_KEY": "bench-only-" + "x" * 50,
                "ALLOWED_HOSTS": "localhost",
                "MEDIA_ROOT": str(tmp / "media"),
                "PYTHONPATH": str(ROOT),
            }
        )
        if sqlite:
            ok &= bench("SQLite", {**base, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}, tmp)
        if postgres:
            psql = ["psql", f"{PG_URL}/postgres", "-qc"]
            subprocess.run([*psql, f"DROP DATABASE IF EXISTS {pg_db}"], check=True)
            subprocess.run([*psql, f"CREATE DATABASE {pg_db}"], check=True)
            try:
                ok &= bench("PostgreSQL", {**base, "DATABASE_URL": f"{PG_URL}/{pg_db}"}, tmp)
            finally:
                subprocess.run([*psql, f"DROP DATABASE IF EXISTS {pg_db}"], check=False)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child", choices=["build-large", "add-scores"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build-large":
        build_large(20_000, 20, 3, 200_000)
        return 0
    if args.child == "add-scores":
        child_add_scores(1_000_000)
        return 0

    ok = each_database(bench, pg_db=PG_DB, postgres=args.postgres, sqlite=not args.skip_sqlite)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
