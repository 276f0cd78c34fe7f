"""What evaluation plugs into the parts below it when it is ready: the audit of which account
a rater is, the rater codes of the pseudonyms, the rating counts of the study hub, and the
Likert domains of a study created on the web."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.audit.services import track_account_links
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import register_codes
from readerstudy.studies.selectors import register_overview
from readerstudy.studies.signals import study_created


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


@receiver(study_created)
def _create_domains(
    sender: Any, study: Study, domains: tuple[tuple[str, str, str], ...], **kwargs: Any
) -> None:
    """The Likert domains of a study created on the web (``study_create``), in form order."""
    LikertDomain.objects.bulk_create(
        LikertDomain(study=study, key=key, label=label, group=group, position=i)
        for i, (key, label, group) in enumerate(domains)
    )
