"""Background precomputation of the dashboard after a change to a study's data.

The dashboard's results are cached per data version (:func:`analysis.services.analysis_key`),
so only the first request after a change computes them (about 6 s for the demo). To make that
first request fast too, a change made while serving a request (a reader's reading, a rater's
score or judgment, a coordinator's edit) schedules a recomputation of the dashboard's default
view, for pseudonymous and real identifiers, ``ANALYSIS_PRECOMPUTE_DELAY`` seconds later; changes
within that window are coalesced into one run. The next dashboard request finds it cached.

Where it runs (setting ``ANALYSIS_PRECOMPUTE``): ``thread`` — a daemon thread of the web process,
whose per-process cache it fills (the default without a broker); ``celery`` — the Celery task
:func:`analysis.tasks.dashboard_precompute_task` (needs a cache shared with the worker,
``CACHE_URL``; the default when both ``CELERY_BROKER_URL`` and ``CACHE_URL`` are set);
``inline`` — at the end of the request (tests); ``off`` — never (the test suite's default).
Changes outside requests (generation workers, scripts) schedule nothing. A whole study loaded
outside a request — ``import_study``, a bundle upload's background job (the signal
:data:`readerstudy.core.signals.study_data_loaded`) and ``manage.py demo`` — is precomputed at
once in that process (:func:`dashboard_precompute_loaded`; by the worker with ``celery``), into
the cache the web processes share (``CACHE_URL``, or the file cache of one machine), so the
first view after an import or ``make demo`` is served from the cache too. Studies whose
analysis is too large to be cached (``analysis.services.CACHE_MAX_ROWS``) are not precomputed.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import close_old_connections, connection, transaction

from readerstudy.studies.models import Study

log = logging.getLogger(__name__)

_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "analysis_precompute_in_request", default=False
)
_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def precompute_mode() -> str:
    """The configured mode, one of ``settings.ANALYSIS_PRECOMPUTE_MODES``."""
    return str(getattr(settings, "ANALYSIS_PRECOMPUTE", "off"))


def request_started() -> None:
    """Mark the current context as serving a request (``request_started`` receiver)."""
    _in_request.set(True)


def request_finished() -> None:
    """The request is over (``request_finished`` receiver): later changes are not its."""
    _in_request.set(False)


@contextmanager
def serving_request() -> Iterator[None]:
    """Treat changes made inside the block as made while serving a request (tests, benches)."""
    token = _in_request.set(True)
    try:
        yield
    finally:
        _in_request.reset(token)


def dashboard_precompute(*, study_id: int) -> int:
    """Compute and cache the dashboard's default view of the study; the number of views.

    The default view is the unfiltered dashboard (the filter form unbound), once with
    pseudonyms and once with real identifiers (coordinators and, after unblinding,
    statisticians); both go into the same cache entries that the dashboard reads.
    """
    # imported here: the receivers load this module at start-up, the analysis only when used
    from analysis.forms import AnalysisFilterForm
    from analysis.services import dashboard_payload

    study = Study.objects.filter(pk=study_id).first()
    if study is None or not dashboard_cacheable(study=study):
        return 0
    done = 0
    for pseudonymous in (True, False):
        form = AnalysisFilterForm(None, study=study, allow_real_ids=not pseudonymous)
        try:
            dashboard_payload(
                study=study,
                options=form.options(),
                pseudonymous=pseudonymous,
                likert_range=form.likert_range(),
            )
        except ValueError:
            # the dashboard shows this error itself on the next request
            log.info("dashboard precompute of study %s: not computable", study_id)
            continue
        done += 1
    return done


def dashboard_cacheable(*, study: Study) -> bool:
    """Whether the study's analysis is small enough to be kept in the cache (two counts)."""
    from analysis.services import CACHE_MAX_ROWS
    from evaluation.models import LikertScore
    from readerstudy.studies.models import Reading

    readings = Reading.objects.filter(reader__study=study).count()
    if readings > CACHE_MAX_ROWS:
        return False
    scores = LikertScore.objects.filter(reading__reader__study=study).count()
    return readings + scores <= CACHE_MAX_ROWS


def dashboard_precompute_loaded(*, study_id: int) -> int:
    """Precompute a study just loaded outside a request; the number of views computed.

    ``off``: nothing; ``celery``: scheduled for the worker (0 here); ``inline`` and ``thread``:
    computed now, in the calling process (a management command or a background job, which
    can wait), into the shared cache.
    """
    mode = precompute_mode()
    if mode == "off":
        return 0
    if mode == "celery":
        dashboard_precompute_schedule(study_id=study_id)
        return 0
    try:
        return dashboard_precompute(study_id=study_id)
    except Exception:  # the import itself succeeded: never fail it for its dashboard
        log.exception("dashboard precompute of study %s failed", study_id)
        return 0


def _pending_key(study_id: int) -> str:
    return f"analysis:precompute-pending:{study_id}"


def dashboard_precompute_schedule(*, study_id: int) -> bool:
    """Schedule a precomputation of the study's dashboard; False when one is already pending.

    Coalesced through the cache: the first change of a window of
    ``ANALYSIS_PRECOMPUTE_DELAY`` seconds schedules the run at its end; later changes in the
    window are included, since the run reads the data then.
    """
    mode = precompute_mode()
    if mode == "off":
        return False
    if mode == "inline":
        dashboard_precompute(study_id=study_id)
        return True
    delay = float(getattr(settings, "ANALYSIS_PRECOMPUTE_DELAY", 2.0))
    if not cache.add(_pending_key(study_id), 1, timeout=max(1, int(delay))):
        return False
    if mode == "celery":
        from analysis.tasks import dashboard_precompute_task

        dashboard_precompute_task.apply_async(kwargs={"study_id": study_id}, countdown=delay)
        return True
    thread = threading.Thread(
        target=_run_later,
        kwargs={"study_id": study_id, "delay": delay},
        name=f"dashboard-precompute-{study_id}",
        daemon=True,
    )
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return True


def _run_later(*, study_id: int, delay: float) -> None:
    try:
        time.sleep(delay)
        cache.delete(_pending_key(study_id))
        close_old_connections()
        dashboard_precompute(study_id=study_id)
    except Exception:  # a background run must not take the web process down
        log.exception("dashboard precompute of study %s failed", study_id)
    finally:
        connection.close()
        with _threads_lock:
            _threads.discard(threading.current_thread())


def precompute_wait(timeout: float = 120.0) -> bool:
    """Wait for the running precompute threads (tests, benches); True when all finished."""
    end = time.monotonic() + timeout
    while True:
        with _threads_lock:
            running = list(_threads)
        if not running:
            return True
        for thread in running:
            thread.join(max(0.0, end - time.monotonic()))
        if time.monotonic() >= end:
            with _threads_lock:
                return not _threads


def data_changed(*, study_id: int | None) -> None:
    """A change to a study's analysed data: schedule a precompute after the commit, in requests."""
    if study_id is None or not _in_request.get() or precompute_mode() == "off":
        return
    transaction.on_commit(lambda: dashboard_precompute_schedule(study_id=study_id))


def study_id_of(instance: Any) -> int | None:
    """The study of a changed row of the analysed tables (None when it cannot be told)."""
    if isinstance(instance, Study):
        return int(instance.pk)
    for path in ("study_id", "reader.study_id", "rater.study_id", "reading.reader.study_id"):
        obj: Any = instance
        for part in path.split("."):
            try:
                obj = getattr(obj, part, None)
            except ObjectDoesNotExist:  # a cascade deleted the parent first
                obj = None
            if obj is None:
                break
        if isinstance(obj, int):
            return obj
    return None
