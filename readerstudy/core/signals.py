"""Project-wide signals, sent by lower packages and received by higher ones."""

from __future__ import annotations

from django.dispatch import Signal

#: A study's data was loaded outside a request (``import_study``, a bundle upload's job):
#: ``study_id`` (int). The analysis precomputes the study's dashboard on it
#: (``analysis.receivers``), so that the first view after an import is served from the cache.
study_data_loaded = Signal()
