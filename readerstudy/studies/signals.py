"""Signals the study services send for the parts above them (which this part never imports).

``study_created``: sent inside the transaction of ``study_create`` with ``study``, ``actor``
and ``domains`` (the (key, label, group) Likert domains of the form); the evaluation part
creates its ``LikertDomain`` rows from it."""

from __future__ import annotations

from django.dispatch import Signal

study_created = Signal()
