"""``manage.py demo``: load the demo study and, in development, the demo accounts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluation.services import rating_session_demo_create
from fixtures.demo import STUDY_SLUG, write_demo_bundle
from readerstudy.generation.services import DEMO_READER, generation_demo_setup
from readerstudy.models import Reader, Study
from readerstudy.selectors import study_counts
from readerstudy.services import DEMO_PASSWORD, demo_accounts_create, study_import
from readerstudy.services_reading import reading_session_demo_create


class Command(BaseCommand):
    help = (
        "Load the deterministic demo study (shaped like the breast-MRI worked example). In "
        "development (DJANGO_DEBUG=1) also create the demo accounts with password 'demo'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="reload the demo study even if it exists (drops what was entered in it)",
        )
        parser.add_argument("--no-images", action="store_true", help="skip the synthetic images")

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=STUDY_SLUG).first()
        if study is None or options["reset"]:
            with tempfile.TemporaryDirectory() as tmp:
                bundle = write_demo_bundle(Path(tmp) / "demo", images=not options["no_images"])
                summary = study_import(path=bundle, replace=True)
            study = summary.study
            self.stdout.write(
                f"Loaded demo study {study.slug!r}: {summary.cases} cases, {summary.readers} "
                f"imported readers, {summary.readings} readings, {summary.scores} Likert "
                f"scores, {summary.images} images."
            )
        else:
            self.stdout.write(
                f"Demo study {study.slug!r} is already loaded (use --reset to reload it)."
            )

        if not settings.DEV_MODE:
            self.stdout.write(self.study_line(study))
            raise CommandError(
                "Demo accounts are only created in development (DJANGO_DEBUG=1); the demo study is loaded."
            )
        accounts = demo_accounts_create(study=study)
        reading = reading_session_demo_create(study=study)
        self.stdout.write(
            f"Reading session {reading.name!r} is open for r3, r4 and r5 "
            f"({reading.cases.count()} test cases each, stored as modality {reading.modality})."
        )
        rating = rating_session_demo_create(study=study)
        self.stdout.write(
            f"Rating session {rating.name!r} is open for its raters "
            f"({rating.assignments.count()} raters, {rating.items.count()} outputs)."
        )
        generation_demo_setup(study=study)  # model reader A1-live, see docs/generation.md
        self.stdout.write(self.study_line(study))
        port = os.environ.get("PORT", "8000")
        self.stdout.write("")
        self.stdout.write(
            f"Open http://127.0.0.1:{port}/ and sign in with (password '{DEMO_PASSWORD}'):"
        )
        for username, role in accounts:
            self.stdout.write(f"  {username:<13} {role}")

    @staticmethod
    def study_line(study: Study) -> str:
        """The study's size as the home page shows it, with every reader set up by now."""
        counts = study_counts(study=study)
        live = Reader.objects.filter(study=study, code=DEMO_READER).exists()
        return f"The study has {counts['n_cases']} cases and {counts['n_readers']} readers" + (
            f" (with {DEMO_READER}, a model reader to generate live)." if live else "."
        )
