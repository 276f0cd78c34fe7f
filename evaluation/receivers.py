"""Audit of which account a rater is (connected when the evaluation app is ready)."""

from __future__ import annotations

from evaluation.models import Rater
from readerstudy.audit.services import track_account_links

track_account_links(Rater)
