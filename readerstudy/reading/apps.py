"""Reading sessions: assignments, the viewer, submissions, amendments."""

from django.apps import AppConfig


class ReadingConfig(AppConfig):
    name = "readerstudy.reading"
    label = "reading"
    verbose_name = "Reading sessions"
