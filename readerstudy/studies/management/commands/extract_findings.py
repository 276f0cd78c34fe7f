"""``manage.py extract_findings SLUG``: finding labels from the readers' impressions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.core.findings import UNCERTAIN_POLICIES
from readerstudy.studies.findings import reading_findings_extract
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Label every finding of the study's [[findings]] vocabulary in each impression with "
        "the rule-based extractor (negation and uncertainty, English and Chinese); stored "
        "with the method extracted_rules, never over labels of another method."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the study's slug")
        parser.add_argument(
            "--uncertain",
            choices=UNCERTAIN_POLICIES,
            default="present",
            help="label of an uncertain mention ('possible mass'): present (default) or absent",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["slug"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['slug']!r}")
        try:
            result = reading_findings_extract(study=study, uncertain=options["uncertain"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{study.slug}: {result.readings} impressions, {result.created} labels created, "
            f"{result.updated} updated, {result.kept} of another method kept; "
            f"{result.positive} present"
        )
