"""What evaluation plugs into the parts below it when it is ready: the audit of which account
a rater is, the rater codes of the pseudonyms, the rating counts of the study hub."""

from __future__ import annotations

from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.audit.services import track_account_links
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import register_codes
from readerstudy.studies.selectors import register_overview


def rater_codes(study: Study) -> list[str]:
    """The codes of the raters of ``study`` (pseudonymised like readers and cases)."""
    return list(Rater.objects.filter(study=study).values_list("code", flat=True))


def rating_overview(study: Study) -> dict[str, object]:
    """What the study hub shows about Likert rating: scores and domains."""
    return {
        "n_scores": LikertScore.objects.filter(domain__study=study).count(),
        "domains": list(LikertDomain.objects.filter(study=study).order_by("position")),
    }


track_account_links(Rater)
register_codes("rater", rater_codes)
register_overview(rating_overview)
