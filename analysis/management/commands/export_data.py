"""``manage.py export_data SLUG --format KIND --out FILE``: a tidy dataset of a study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.exports import EXPORT_KINDS, write_export
from analysis.selectors import Pseudonyms
from readerstudy.audit.services import audit_record
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Write one dataset export of a study: readings, likert or wide as .csv, .parquet or "
        ".sav; data.xlsx; dictionary.csv or dictionary.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the study's slug")
        parser.add_argument(
            "--format",
            required=True,
            choices=sorted(EXPORT_KINDS),
            dest="kind",
            help="what to write",
        )
        parser.add_argument("--out", type=Path, required=True, help="file to write")
        parser.add_argument(
            "--pseudonymous",
            action="store_true",
            help="replace reader, case, patient and rater ids by their pseudonyms",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["slug"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['slug']!r}")
        out: Path = options["out"]
        if out.is_dir():
            raise CommandError(f"--out: {out} is a folder; give a file name")
        out.parent.mkdir(parents=True, exist_ok=True)
        kind = options["kind"]
        pseudonymous = options["pseudonymous"]
        write_export(study, kind, Pseudonyms(study.slug, pseudonymous), out)
        audit_record(
            action="export",
            study=study,
            target=kind,
            details={"kind": kind, "pseudonymous": pseudonymous, "via": "export_data"},
        )
        self.stdout.write(f"{out}: {out.stat().st_size} bytes")
