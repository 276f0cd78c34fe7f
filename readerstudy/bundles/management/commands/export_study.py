"""``manage.py export_study SLUG PATH``: write a study back as a bundle (folder or .zip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.audit.services import audit_record
from readerstudy.bundles.export import write_study_bundle
from readerstudy.bundles.names import UnsafeNameError
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = "Write a study as a bundle: a new folder, or a file name ending in .zip."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["slug"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['slug']!r}")
        try:
            counts = write_study_bundle(study, options["path"])
        except (FileExistsError, UnsafeNameError) as exc:
            raise CommandError(str(exc)) from exc
        audit_record(
            action="export",
            study=study,
            target=f"bundle {options['path']}",
            details={"kind": "bundle", "via": "export_study", **counts},
        )
        self.stdout.write(
            f"{options['path']}: " + ", ".join(f"{n} {what}" for what, n in counts.items())
        )
