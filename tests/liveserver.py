"""A real gunicorn serving readerstudy against its own database, with a seeded study.

Shared by the rating load test (``bench/load_rating.py``) and the fault tests
(``tests/faults``). The server runs with production settings (DEBUG off, persistent database
connections with health checks) in its own process group, so it can be killed whole.

Django work on the server's database (migrate, seed, read back what is stored) runs in a child
process, so it never touches the test process's own database settings:

    python -m tests.liveserver prepare --raters 8 --readers 2 --cases 10   # migrate + seed
    python -m tests.liveserver stored                                      # what is stored

both with ``DATABASE_URL`` (and the rest of :func:`server_env`) in the environment; each prints
one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load-test-password"
DOMAINS = (
    ("specific_diagnosis", "Specific diagnosis", "Professional judgment"),
    ("differential_diagnosis", "Differential diagnosis", "Professional judgment"),
    ("scientific_terminology", "Scientific terminology", "Knowledge accuracy"),
    ("correctness", "Correctness", "Knowledge accuracy"),
    ("coherence", "Coherence", "Report structure"),
    ("comprehensiveness", "Comprehensiveness", "Report structure"),
    ("management_recommendations", "Management recommendations", "Report structure"),
    ("harmlessness", "Harmlessness", "Safety and ethics"),
    ("lack_of_bias", "Lack of bias", "Safety and ethics"),
)
READERS = ("R3", "R4", "R5", "A1", "A2", "B", "C", "D", "E")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The environment of a production-like server (and of its ``manage.py`` children)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="600",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        READERSTUDY_VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        STATIC_ROOT=str(var_dir / "static"),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="readerstudy.settings",
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(env: dict[str, str], *command: str, timeout: float = 300) -> str:
    """Run ``python -m tests.liveserver <command>`` in ``env``; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.liveserver", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tests.liveserver {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Gunicorn:
    """gunicorn (gthread workers) on 127.0.0.1:``port``, in a process group of its own."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        *,
        workers: int = 2,
        threads: int = 8,
        worker_class: str = "gthread",
        preload: bool = False,
        log: Path | None = None,
    ) -> None:
        self.env = env
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.workers = workers
        self.threads = threads
        self.worker_class = worker_class
        self.preload = preload
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, timeout: float = 120.0) -> float:
        """Start and wait until the sign-in page answers; the seconds it took."""
        t0 = time.monotonic()
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115 (the child keeps it)
        try:
            self.process = subprocess.Popen(
                [
                    gunicorn,
                    "readerstudy.wsgi:application",
                    f"--bind=127.0.0.1:{self.port}",
                    f"--workers={self.workers}",
                    f"--worker-class={self.worker_class}",
                    f"--threads={self.threads}",
                    "--keep-alive=30",  # the clients keep their connections between requests
                    "--log-level=warning",
                    *(["--preload"] if self.preload else []),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,  # its own process group: kill() reaches every worker
            )
        finally:
            if out:
                out.close()
        while time.monotonic() - t0 < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if requests.get(f"{self.base}/accounts/login/", timeout=5).status_code == 200:
                    return time.monotonic() - t0
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (a crash, no graceful shutdown)."""
        if self.process is None:
            return
        group = [self.process.pid]
        with contextlib.suppress(psutil.NoSuchProcess):
            group += [p.pid for p in psutil.Process(self.process.pid).children(recursive=True)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in group[1:]):
            time.sleep(0.05)  # the workers are reaped by init
        self.process = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then kill whatever is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self.kill()


def sign_in(http: requests.Session, base: str, username: str, *, timeout: float = 60) -> None:
    http.get(f"{base}/accounts/login/", timeout=timeout)
    response = http.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=timeout,
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed: {response.status_code}")


# ---------------------------------------------------------------------------------------
# Django side (in a child process with the server's environment, or after django.setup())


def seed(n_raters: int, n_cases: int, n_readers: int = 0) -> dict[str, Any]:
    """A study with nine outputs per case, ``n_raters`` raters in one open rating session
    (every rater scores every output) and ``n_readers`` human readers in one open reading
    session of every case. Returns the rating session's id and the accounts."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from evaluation.models import LikertDomain, Rater
    from evaluation.services import (
        RatingSessionOptions,
        rating_session_create,
        rating_session_open,
    )
    from readerstudy.reading.services import (
        ReadingSessionOptions,
        reading_session_create,
        reading_session_open,
    )
    from readerstudy.studies.models import Case, Reader, Reading, ScaleCategory, Study, StudyMember

    study = Study.objects.create(slug="loadtest", title="Load test", positive_threshold=4)
    ScaleCategory.objects.bulk_create(ScaleCategory(study=study, value=v) for v in range(7))
    domains = LikertDomain.objects.bulk_create(
        LikertDomain(study=study, key=k, label=label, group=g, position=i)
        for i, (k, label, g) in enumerate(DOMAINS)
    )
    readers = Reader.objects.bulk_create(
        Reader(study=study, code=c, kind="human" if c.startswith("R") else "model", position=i)
        for i, c in enumerate(READERS)
    )
    cases = Case.objects.bulk_create(
        Case(study=study, code=f"L{i:03d}", truth=i % 2, findings=f"Findings {i}.", position=i)
        for i in range(n_cases)
    )
    Reading.objects.bulk_create(
        Reading(
            reader=r,
            case=c,
            category=4,
            impression=f"Non-mass enhancement, pattern {c.position}. BI-RADS {2 + (c.position + j) % 4}.",
        )
        for c in cases
        for j, r in enumerate(readers)
    )
    password = make_password(PASSWORD)
    User = get_user_model()

    def accounts(prefix: str, n: int, role: str) -> list[Any]:
        users = User.objects.bulk_create(
            User(username=f"{prefix}{i:02d}", password=password) for i in range(n)
        )
        Group.objects.get(name=role).user_set.add(*users)
        StudyMember.objects.bulk_create(StudyMember(study=study, user=u, role=role) for u in users)
        return users

    rater_users = accounts("loadrater", n_raters, "rater")
    raters = Rater.objects.bulk_create(
        Rater(study=study, code=u.username, user=u) for u in rater_users
    )
    session = rating_session_create(
        study=study,
        options=RatingSessionOptions(
            name="Load test",
            readers=readers,
            runs=[1],
            domains=domains,
            raters_per_item=len(raters),
            seed=1,
        ),
        raters=raters,
    )
    rating_session_open(session=session, actor=None)
    reader_tokens: dict[str, str] = {}
    if n_readers:
        reader_users = accounts("loadreader", n_readers, "reader")
        humans = Reader.objects.bulk_create(
            Reader(study=study, code=f"H{i}", kind="human", user=u, position=len(READERS) + i)
            for i, u in enumerate(reader_users)
        )
        reading = reading_session_create(
            study=study,
            options=ReadingSessionOptions(
                name="Load test reading", readers=humans, cases=cases, seed=1
            ),
        )
        reading_session_open(session=reading)
        reader_tokens = {
            a.reader.user.username: a.token
            for a in reading.assignments.select_related("reader__user")
        }
    return {
        "rating_session": session.pk,
        "raters": [u.username for u in rater_users],
        "readers": reader_tokens,
        "cases": n_cases,
    }


def stored() -> dict[str, Any]:
    """Everything the raters and readers stored, for comparison with what was acknowledged."""
    import django

    django.setup()
    from django.db.models import Count

    from evaluation.models import LikertScore, RatingTask
    from readerstudy.reading.models import ReadingSubmission, ReadingWork
    from readerstudy.studies.models import Reading

    reading_of = dict(
        RatingTask.objects.values_list("item__public_id", "item__reading_id").distinct()
    )
    submitted = list(
        RatingTask.objects.filter(submitted_at__isnull=False).values_list(
            "assignment__rater__user__username", "item__public_id", "last_token"
        )
    )
    scores: dict[tuple[str, int], dict[str, int]] = {}
    for username, reading_id, key, value in LikertScore.objects.filter(
        source="entered"
    ).values_list("rater__user__username", "reading_id", "domain__key", "score"):
        scores.setdefault((username, reading_id), {})[key] = value
    rating = [
        {
            "rater": username,
            "item": public_id,
            "token": str(token),
            "scores": scores.get((username, reading_of[public_id]), {}),
        }
        for username, public_id, token in submitted
    ]
    work_rows = ReadingWork.objects.filter(reading__isnull=False).values_list(
        "assignment__reader__user__username",
        "position",
        "reading__category",
        "reading__score",
        "reading__impression",
    )
    submissions = {
        str(token): (username, position, outcome)
        for token, username, position, outcome in ReadingSubmission.objects.values_list(
            "token", "work__assignment__reader__user__username", "work__position", "outcome"
        )
    }
    return {
        "rating": rating,
        "scores_without_task": len(set(scores) - {(u, reading_of[p]) for u, p, _ in submitted}),
        "score_duplicates": LikertScore.objects.values("rater_id", "reading_id", "domain_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        "reading": [
            {
                "reader": u,
                "position": p,
                "category": c,
                "score": s,
                "impression": i,
            }
            for u, p, c, s, i in work_rows
        ],
        "submissions": submissions,
        "entered_readings": Reading.objects.filter(source=Reading.Source.ENTERED).count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Django work on a live server's database.")
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser(
        "prepare", help="migrate, collect static files and seed; prints the seeded accounts"
    )
    prepare.add_argument("--raters", type=int, default=8)
    prepare.add_argument("--readers", type=int, default=0)
    prepare.add_argument("--cases", type=int, default=10)
    sub.add_parser("stored", help="print what is stored")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.command == "prepare":
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        print(json.dumps(seed(args.raters, args.cases, args.readers)))
    else:
        print(json.dumps(stored()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
