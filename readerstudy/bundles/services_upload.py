"""Bundles uploaded on the web: store the .zip, run the import in the background, record it.

``bundle_upload_create`` keeps the uploaded file in storage (a worker on another machine
reads it there) and records the upload; ``bundle_upload_dispatch`` starts
``bundle_upload_run`` where model generation runs (``GENERATION_DISPATCH``: a Celery worker
with a broker, else a background thread of the web process, or inline in tests);
``bundle_upload_run`` is the job: the same ``study_import`` as ``manage.py import_study``,
its progress written to the row as it goes, every problem recorded when the bundle is
refused (nothing is written then), the file deleted at the end either way.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from readerstudy.audit.services import audit_record
from readerstudy.bundles.models import BundleUpload
from readerstudy.bundles.problems import BundleError
from readerstudy.bundles.services import ImportSummary, StudyExistsError, study_import
from readerstudy.core.signals import study_data_loaded
from readerstudy.generation.services import dispatch_mode
from readerstudy.studies.models import Study

logger = logging.getLogger(__name__)

UPLOAD_FOLDER = "bundle_uploads"
#: The share of the progress bar that checking takes; writing the rows takes the rest.
CHECK_SHARE = 90
#: Write the progress at most this often (seconds), unless the stage changes.
PROGRESS_EVERY = 0.5


def bundle_upload_create(
    *, actor: Any, study: Study | None, file: File, replace: bool = False
) -> BundleUpload:
    """Store an uploaded bundle and record it (audited); ``study`` None: a new study.

    Does not start the job: ``bundle_upload_dispatch`` does, once this is committed."""
    name = default_storage.save(f"{UPLOAD_FOLDER}/{uuid.uuid4().hex}.zip", file)
    original = Path(file.name or "bundle.zip").name[:255]
    upload = BundleUpload.objects.create(
        study=study,
        new_study=study is None,
        replace=replace and study is not None,
        file=name,
        original_name=original,
        size=file.size or 0,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        action="bundle_uploaded",
        actor=actor,
        study=study,
        target=f"upload {upload.pk}",
        details={
            "file": original,
            "bytes": upload.size,
            "new_study": upload.new_study,
            "replace": upload.replace,
        },
    )
    return upload


def _thread_main(upload_id: int) -> None:
    close_old_connections()
    try:
        bundle_upload_run(upload_id=upload_id)
    finally:
        connection.close()


def bundle_upload_dispatch(*, upload: BundleUpload) -> str:
    """Start the upload's job (see the module docstring); returns the mode."""
    from readerstudy.bundles.tasks import bundle_upload_task  # the task module imports this one

    mode = dispatch_mode()
    if mode == "celery":
        transaction.on_commit(lambda: bundle_upload_task.delay(upload.pk))
    elif mode == "thread":
        transaction.on_commit(
            lambda: threading.Thread(
                target=_thread_main, args=(upload.pk,), name=f"bundle-upload-{upload.pk}"
            ).start()
        )
    else:
        bundle_upload_run(upload_id=upload.pk)
    return mode


class _Progress:
    """Writes the job's stage and percentage to its row, at most every ``PROGRESS_EVERY`` s."""

    def __init__(self, upload_id: int) -> None:
        self.upload_id = upload_id
        self.last = (0.0, "", -1)

    def __call__(self, stage: str, fraction: float) -> None:
        percent = min(CHECK_SHARE, int(CHECK_SHARE * fraction))
        if stage == "writing to the database":
            percent = CHECK_SHARE
        when, last_stage, last_percent = self.last
        now = time.monotonic()
        same_kind = stage.split(" (")[0] == last_stage.split(" (")[0]
        if percent == last_percent and same_kind:
            return
        if same_kind and now - when < PROGRESS_EVERY:
            return
        self.last = (now, stage, percent)
        BundleUpload.objects.filter(pk=self.upload_id).update(stage=stage, progress=percent)


@contextmanager
def _local_path(name: str) -> Iterator[Path]:
    """A path of the stored upload on this machine (a temporary copy for remote storage)."""
    try:
        yield Path(default_storage.path(name))
        return
    except NotImplementedError:
        pass
    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
        with default_storage.open(name, "rb") as stored:
            for chunk in iter(lambda: stored.read(1024 * 1024), b""):
                tmp.write(chunk)
        tmp.flush()
        yield Path(tmp.name)


def bundle_upload_run(*, upload_id: int) -> str:
    """The job of an upload: validate and import the bundle; returns the final status.

    Claims the queued upload (a second delivery of the task does nothing), then imports it
    exactly as ``import_study`` does; refusals and failures are recorded on the row and in
    the audit log. The stored file is deleted at the end."""
    claimed = BundleUpload.objects.filter(pk=upload_id, status=BundleUpload.Status.QUEUED).update(
        status=BundleUpload.Status.RUNNING, started_at=timezone.now(), stage="starting"
    )
    upload = BundleUpload.objects.select_related("study", "created_by").filter(pk=upload_id).first()
    if upload is None:
        return "gone"
    if not claimed:
        return upload.status
    try:
        with _local_path(upload.file) as path:
            summary = study_import(
                path=path,
                replace=upload.replace,
                coordinators=[upload.created_by] if upload.new_study and upload.created_by else (),
                into=upload.study,
                progress=_Progress(upload.pk),
            )
    except BundleError as exc:
        return _refuse(upload, [str(p) for p in exc.problems], exc.total)
    except StudyExistsError as exc:
        problem = exc.problem()
        message = str(problem)
        if upload.new_study:
            message = message.replace(
                "pass --replace to overwrite it",
                "upload it from that study's page (as its coordinator) to replace its data",
            )
        return _refuse(upload, [message], 1)
    except FileNotFoundError:
        return _refuse(upload, [f"{upload.original_name}: not a readable .zip file"], 1)
    except Exception:
        logger.exception("bundle upload %s failed", upload.pk)
        return _refuse(
            upload,
            [
                f"{upload.original_name}: the import failed (an internal error, logged on the server)"
            ],
            1,
        )
    finally:
        default_storage.delete(upload.file)
    status = _done(upload, summary)
    # the dashboard is computed now, in this background job, not on the coordinator's first view
    study_data_loaded.send(sender=BundleUpload, study_id=summary.study.pk)
    return status


def _counts(summary: ImportSummary) -> dict[str, Any]:
    return {
        "cases": summary.cases,
        "readers": summary.readers,
        "readings": summary.readings,
        "scores": summary.scores,
        "preferences": summary.preferences,
        "acceptability": summary.acceptability,
        "errors": summary.errors,
        "images": summary.images,
        "replaced": summary.replaced,
        "seconds": round(summary.seconds, 1),
    }


def _done(upload: BundleUpload, summary: ImportSummary) -> str:
    counts = _counts(summary)
    BundleUpload.objects.filter(pk=upload.pk).update(
        status=BundleUpload.Status.DONE,
        study=summary.study,
        stage="imported",
        progress=100,
        summary=counts,
        file="",
        finished_at=timezone.now(),
    )
    audit_record(
        action="bundle_imported",
        actor=upload.created_by,
        study=summary.study,
        target=f"upload {upload.pk}",
        details={"file": upload.original_name, **counts},
    )
    return BundleUpload.Status.DONE


def _refuse(upload: BundleUpload, problems: list[str], total: int) -> str:
    BundleUpload.objects.filter(pk=upload.pk).update(
        status=BundleUpload.Status.FAILED,
        stage="refused",
        problems=problems,
        n_problems=total,
        file="",
        finished_at=timezone.now(),
    )
    audit_record(
        action="bundle_refused",
        actor=upload.created_by,
        study=upload.study,
        target=f"upload {upload.pk}",
        details={"file": upload.original_name, "problems": total, "first": problems[:3]},
    )
    return BundleUpload.Status.FAILED
