"""The Celery task: eager in-process (demo, tests) and in a real worker over Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from readerstudy.celery import app as celery_app
from readerstudy.generation.models import GenerationConfig, GenerationRun
from readerstudy.generation.services import run_create, run_dispatch
from readerstudy.generation.tasks import generation_run_task
from readerstudy.studies.models import Reading
from tests.generation.conftest import config_create, study_create
from tests.openai_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("READERSTUDY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.django_db
def test_without_a_broker_the_celery_path_runs_eagerly_in_process(
    config: GenerationConfig, llm: FakeOpenAIServer, settings: Any
) -> None:
    settings.GENERATION_DISPATCH = "celery"
    assert celery_app.conf.task_always_eager is True  # no CELERY_BROKER_URL in the tests
    run = run_create(config=config)
    assert run_dispatch(run=run) == "celery"
    run.refresh_from_db()
    assert run.status == "finished" and run.celery_task_id
    assert Reading.objects.filter(reader=config.reader).count() == 12


@pytest.mark.django_db
def test_the_task_reports_what_it_could_not_do(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    assert generation_run_task.apply(args=(999_999,)).get() == "gone"
    run = run_create(config=config)
    assert generation_run_task.apply(args=(run.pk,)).get() == "finished"
    assert generation_run_task.apply(args=(run.pk,)).get() == "finished"  # delivered twice: no-op
    config.api_key_env = "READERSTUDY_KEY_NOT_SET_ANYWHERE"
    config.save()
    GenerationRun.objects.filter(pk=run.pk).update(status="queued")
    assert generation_run_task.apply(args=(run.pk,)).get() == "failed"
    run.refresh_from_db()
    assert "READERSTUDY_KEY_NOT_SET_ANYWHERE is not set" in run.message


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_sent_over_redis_executes_in_a_celery_worker() -> None:
    """A real worker (``celery -A readerstudy worker``) on the local Redis and the test DB.

    The task is sent by name from a separate producer app bound to Redis (this process's
    app is configured without a broker, i.e. eager), to a queue only this test uses.
    """
    from celery import Celery
    from redis import Redis

    queue = f"readerstudy-test-{uuid.uuid4().hex[:8]}"
    llm = FakeOpenAIServer().start()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "GENERATION_ALLOWED_BASE_URLS": llm.origin,  # the worker may reach the local server
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "readerstudy",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    producer = Celery("readerstudy-test-producer", broker=REDIS_URL)
    try:
        study = study_create()
        with override_settings(GENERATION_ALLOWED_BASE_URLS=[llm.origin]):
            config = config_create(study, llm.url)
            run = run_create(config=config)
            producer.send_task("readerstudy.generation.run", args=(run.pk,), queue=queue)
            deadline = time.monotonic() + 60
            while GenerationRun.objects.get(pk=run.pk).status not in ("finished", "failed"):
                assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
                assert time.monotonic() < deadline, "the worker did not finish the run"
                time.sleep(0.1)
            assert llm.chat_requests == 12
        assert GenerationRun.objects.get(pk=run.pk).status == "finished"
        assert Reading.objects.filter(reader=config.reader, source="generated").count() == 12
    finally:
        llm.stop()
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        producer.close()
        redis = Redis.from_url(REDIS_URL)
        for key in redis.scan_iter(f"*{queue}*"):
            redis.delete(key)
        redis.close()
