"""``manage.py import_study PATH [--replace] [--coordinator USERNAME ...]``: load a study bundle
(folder or .zip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from readerstudy.bundles.problems import BundleError
from readerstudy.bundles.services import StudyExistsError, study_import
from readerstudy.core.signals import study_data_loaded


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
            "--coordinator",
            action="append",
            default=[],
            metavar="USERNAME",
            help=(
                "make this existing user a coordinator of the study (membership and the "
                "coordinator group, both audited); repeat for several"
            ),
        )
        parser.add_argument(
            "--no-precompute",
            action="store_true",
            help="do not compute the study's dashboard after the import (it is computed on "
            "its first view instead)",
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
        coordinators = self._users(options["coordinator"])
        try:
            summary = study_import(path=path, replace=options["replace"], coordinators=coordinators)
        except BundleError as exc:
            n = exc.total
            raise CommandError(
                f"{path}: the bundle has {n:,} problem{'s' if n != 1 else ''}; nothing was imported.\n"
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
                f"scores, {summary.preferences} preferences, {summary.acceptability} "
                f"acceptability grades, {summary.errors} error annotations, {summary.findings} "
                f"finding truths, {summary.reading_findings} finding labels, {summary.marks} marks, "
                f"{summary.images} images in {summary.seconds:.1f} s (database writes "
                f"{summary.write_seconds:.1f} s)"
            )
        self._sqlite_note(summary.write_seconds)
        for user in coordinators:
            self.stderr.write(f"{user.get_username()} coordinates {summary.study.slug}")
        if not options["no_precompute"]:
            # the analysis computes the dashboard now, so its first view is served from the cache
            study_data_loaded.send(sender=type(self), study_id=summary.study.pk)
        self.stdout.write(summary.study.slug)

    def _users(self, usernames: list[str]) -> list[Any]:
        """The users named by ``--coordinator``; all must exist (checked before importing)."""
        model = get_user_model()
        found = {
            u.get_username(): u
            for u in model._default_manager.filter(**{f"{model.USERNAME_FIELD}__in": usernames})
        }
        missing = [name for name in dict.fromkeys(usernames) if name not in found]
        if missing:
            raise CommandError(
                "no user named "
                + ", ".join(repr(name) for name in missing)
                + " (create the account first, e.g. with createsuperuser or in the admin); "
                "nothing was imported"
            )
        return [found[name] for name in dict.fromkeys(usernames)]

    def _sqlite_note(self, write_seconds: float) -> None:
        """On SQLite, say when other writers may have failed while the import held the lock."""
        if connection.vendor != "sqlite":
            return
        timeout = settings.DATABASES["default"].get("OPTIONS", {}).get("timeout", 5)
        if write_seconds > timeout:
            self.stderr.write(
                f"warning: the import held SQLite's write lock for {write_seconds:.0f} s, longer "
                f"than the {timeout} s other writers wait (READERSTUDY_SQLITE_BUSY_TIMEOUT); "
                "saves made meanwhile may have failed with 'database is locked'. Import large "
                "studies when nobody is working, raise the timeout, or use PostgreSQL."
            )
