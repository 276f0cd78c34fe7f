"""The Celery application: background work (model generation runs started from the page).

Production: set ``CELERY_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/0``) and run a worker
next to the web server::

    celery -A readerstudy worker --loglevel=INFO

Without a broker (development, the demo, the tests) ``CELERY_TASK_ALWAYS_EAGER`` is on and the
same task code runs in-process. Settings are read from Django's settings, prefix ``CELERY_``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

app = Celery("readerstudy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["readerstudy.generation", "evaluation", "readerstudy.bundles", "analysis"])
