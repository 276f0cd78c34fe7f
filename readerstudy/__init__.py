"""readerstudy: blinded reader studies comparing human readers with AI models.

Importing this package has no side effects: the pure vocabulary at the bottom of the layers
(``readerstudy.core.choices``) is imported by the Django-free statistics (``analysis.stats``),
and importing Celery here would load Django (``kombu.utils.json`` imports it when installed).
The Celery app (``readerstudy.celery``) is loaded by the settings, so every Django process has
it before a shared task is sent; ``celery -A readerstudy`` finds it as ``readerstudy.celery``.
``readerstudy.celery_app`` still works (imported on first use).
"""

from __future__ import annotations

from typing import Any

__all__ = ("celery_app",)


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from readerstudy.celery import app

        return app
    raise AttributeError(f"module 'readerstudy' has no attribute {name!r}")
