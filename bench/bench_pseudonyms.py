"""Benchmark: what pseudonyms cost a blinded statistician (keyed order, look-ups).

On the large study of ``bench_analysis.py`` (20,000 cases x 20 readers x 3 runs = 1,200,000
readings), each step a separate ``manage.py`` child process:

1. ``export_data --format readings.csv``: real ids (storage order) and ``--pseudonymous``
   (sorted by reader, case in keyed order, run, modality, in the database). Goal: the
   pseudonymous export at most 2 x the real one.
2. ``GET /api/studies/<slug>/readings/?page_size=5000`` as a coordinator and as a blinded
   statistician, the first page and page 200 (of 240), best of three: the statistician's
   list is sorted in pseudonym and keyed order for every request; goal: at most 3 s more
   than the coordinator's page.

Prints the figures and exits non-zero when a goal is missed.

    python bench/bench_pseudonyms.py [--postgres] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_analysis import LARGE_SLUG, each_database, run_child  # noqa: E402

PG_DB = "rs_pseudonyms_bench"
GOAL_EXPORT_RATIO = 2.0
GOAL_EXTRA = 3.0
TRIES = 3
PAGES = (1, 200)


def child_pages() -> None:
    """Time API pages as a coordinator and as a blinded statistician (prints the figures)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from readerstudy.studies.models import Study, StudyMember

    study = Study.objects.get(slug=LARGE_SLUG)
    users = get_user_model().objects
    for role in ("coordinator", "statistician"):
        user, _ = users.get_or_create(username=f"bench-{role}")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        StudyMember.objects.get_or_create(study=study, user=user, role=role)
        token, _ = Token.objects.get_or_create(user=user)
        client = Client(headers={"Authorization": f"Token {token.key}"})
        for page in PAGES:
            url = f"/api/studies/{LARGE_SLUG}/readings/?page_size=5000&page={page}"
            times = []
            for _ in range(TRIES):
                start = time.perf_counter()
                response = client.get(url, secure=True, SERVER_NAME="localhost")
                times.append(time.perf_counter() - start)
                assert response.status_code == 200, response.content[:300]
            first = response.json()["results"][0]["reader"]
            print(f"{role} {page} {min(times):.3f} {first}")


def bench(label: str, env: dict[str, str], tmp: Path) -> bool:
    py = sys.executable
    manage = [py, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    start = time.perf_counter()
    subprocess.run(
        [py, str(ROOT / "bench" / "bench_analysis.py"), "--child", "build-large"],
        cwd=ROOT, env=env, check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"{label:<10} built the large study in {time.perf_counter() - start:.0f} s")
    ok = True
    export = [*manage, "export_data", LARGE_SLUG, "--format", "readings.csv", "--out"]
    s_real, p_real, c_real, err = run_child([*export, str(tmp / f"real-{label}.csv")], env)
    s_pseudo, p_pseudo, c_pseudo, err2 = run_child(
        [*export, str(tmp / f"pseudo-{label}.csv"), "--pseudonymous"], env
    )
    good = c_real == 0 and c_pseudo == 0 and s_pseudo <= GOAL_EXPORT_RATIO * s_real
    ok &= good
    print(
        f"{label:<10} export readings.csv of 1,200,000 readings: real ids {s_real:5.1f} s / "
        f"{p_real / 2**20:4.0f} MiB, pseudonymous {s_pseudo:5.1f} s / {p_pseudo / 2**20:4.0f} MiB "
        f"(ratio {s_pseudo / s_real:.2f}, goal <= {GOAL_EXPORT_RATIO:.1f}) "
        f"{'OK' if good else 'MISSED'}"
    )
    for code, text in ((c_real, err), (c_pseudo, err2)):
        if code != 0:
            print(text)
    done = subprocess.run(
        [py, __file__, "--child", "pages"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        print(done.stderr[-2000:])
        return False
    seconds: dict[tuple[str, str], float] = {}
    for line in done.stdout.split("\n"):
        if line.strip():
            role, page, value, first = line.split()
            seconds[role, page] = float(value)
            print(
                f"{label:<10} API readings page {page:>3} (5,000 rows) as {role:<12}: "
                f"{float(value):6.2f} s (best of {TRIES}), first reader {first}"
            )
    for page in map(str, PAGES):
        extra = seconds["statistician", page] - seconds["coordinator", page]
        good = extra <= GOAL_EXTRA
        ok &= good
        print(
            f"{label:<10} API readings page {page:>3}: the blinded order costs {extra:+.2f} s "
            f"(goal <= {GOAL_EXTRA:.0f} s) {'OK' if good else 'MISSED'}"
        )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child", choices=["pages"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "pages":
        child_pages()
        return
    ok = each_database(bench, pg_db=PG_DB, postgres=args.postgres, sqlite=not args.skip_sqlite)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
