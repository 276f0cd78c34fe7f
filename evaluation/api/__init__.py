"""The rating API under ``/api/``: raters' own items and scores, coordinators' sessions,
unblinding key and bulk score import (see docs/api-rating-analysis.md)."""
