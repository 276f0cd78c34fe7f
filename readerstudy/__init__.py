"""readerstudy: blinded reader studies comparing human readers with AI models."""

from readerstudy.celery import app as celery_app

__all__ = ("celery_app",)
