"""``manage.py import_study PATH [--replace]``: load a study bundle (folder or .zip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.bundle.problems import BundleError
from readerstudy.services import StudyExistsError, study_import


class Command(BaseCommand):
    help = (
        "Validate a study bundle completely and import it in one transaction. Prints the "
        "study slug. On any problem nothing is written and every problem is listed as "
        "file:line: column: message."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="bundle folder or .zip")
        parser.add_argument(
            "--replace", action="store_true", help="replace a study with the same slug"
        )
        parser.add_argument(
            "--max-errors",
            type=int,
            default=500,
            help="list at most this many problems (0: all); a summary counts the rest",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such folder or file")
        try:
            summary = study_import(path=path, replace=options["replace"])
        except BundleError as exc:
            n = len(exc.problems)
            raise CommandError(
                f"{path}: the bundle has {n} problem{'s' if n != 1 else ''}; nothing was imported.\n"
                + exc.summary(limit=options["max_errors"] or None)
            ) from exc
        except StudyExistsError as exc:
            raise CommandError(str(exc)) from exc
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] >= 2:
            self.stderr.write(
                f"{'replaced' if summary.replaced else 'imported'}: {summary.cases} cases, "
                f"{summary.readers} readers, {summary.readings} readings, {summary.scores} Likert "
                f"scores, {summary.images} images"
            )
        self.stdout.write(summary.study.slug)
