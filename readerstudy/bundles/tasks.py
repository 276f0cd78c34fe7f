"""Celery task of the web's bundle upload (the same code runs in a worker, a thread or inline)."""

from __future__ import annotations

from celery import shared_task

from readerstudy.bundles.services_upload import bundle_upload_run


@shared_task(name="readerstudy.bundles.upload", ignore_result=True)
def bundle_upload_task(upload_id: int) -> str:
    """Validate and import an uploaded bundle; returns the upload's status."""
    return bundle_upload_run(upload_id=upload_id)
