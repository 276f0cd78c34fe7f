"""Migrations are frozen history: they import nothing of the live application.

A migration that imports live code (trigger SQL, a field's ``upload_to`` or default) changes
what it does when that code changes or moves, so a fresh database and an upgraded one drift
apart. Migrations may import Django, the standard library and modules inside a migrations
package (``readerstudy/migrations/_frozen.py``, the frozen copies). See docs/upgrading.md.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

from readerstudy.migrations import _frozen

ALLOWED_TOP_LEVEL = frozenset(sys.stdlib_module_names) | {"django"}


def _project_migration_packages() -> dict[str, Path]:
    """Dotted name -> folder of the migrations package of every app of this repository."""
    base = Path(settings.BASE_DIR).resolve()
    packages = {}
    for config in apps.get_app_configs():
        # MIGRATION_MODULES: the label readerstudy keeps its migrations in the project package
        name, _ = MigrationLoader.migrations_module(config.label)
        spec = importlib.util.find_spec(name) if name else None
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).resolve().parent
        if folder.is_relative_to(base):
            packages[name] = folder
    return packages


def forbidden_imports(source: str, filename: str, migration_packages: set[str]) -> list[str]:
    """``file:line: module`` for every import of ``source`` that is not Django, the standard
    library or a module inside one of ``migration_packages``."""
    problems = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the migrations package itself
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            inside_migrations = any(
                name == p or name.startswith(p + ".") for p in migration_packages
            )
            if name.split(".")[0] not in ALLOWED_TOP_LEVEL and not inside_migrations:
                problems.append(f"{filename}:{node.lineno}: imports {name}")
    return problems


def test_the_checker_catches_imports_of_live_code() -> None:
    packages = {"readerstudy.migrations"}
    source = (
        "import uuid\n"
        "import django.db.models.deletion\n"
        "from django.db import migrations\n"
        "import readerstudy.migrations._frozen\n"
        "from readerstudy.migrations._frozen import Rule\n"
        "from ._frozen import create_rules\n"
        "from readerstudy.core.db.triggers import READING_RULES\n"
        "import evaluation.models\n"
        "import readerstudy.reading.models\n"
        "import numpy\n"
        "def f():\n"
        "    from readerstudy import services\n"
    )
    assert forbidden_imports(source, "m.py", packages) == [
        "m.py:7: imports readerstudy.core.db.triggers",
        "m.py:8: imports evaluation.models",
        "m.py:9: imports readerstudy.reading.models",
        "m.py:10: imports numpy",
        "m.py:12: imports readerstudy",
    ]


def test_no_migration_imports_live_code() -> None:
    packages = _project_migration_packages()
    assert {"readerstudy.migrations", "evaluation.migrations"} <= set(packages)
    base = Path(settings.BASE_DIR).resolve()
    problems = []
    for folder in packages.values():
        for path in sorted(folder.glob("*.py")):
            source = path.read_text(encoding="utf-8")
            problems += forbidden_imports(source, str(path.relative_to(base)), set(packages))
    assert problems == []


@pytest.mark.django_db
def test_the_frozen_history_matches_the_models() -> None:
    """The frozen field callables compare equal to the live ones, so the models and the
    history agree (a frozen copy that did not would make makemigrations alter five fields)."""
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


def test_a_frozen_callable_matches_by_name_and_runs_its_own_copy() -> None:
    from readerstudy.studies.models import case_image_path

    frozen = _frozen.case_image_path
    assert frozen == case_image_path and case_image_path == frozen
    assert hash(frozen) == hash(_frozen.FrozenCallable("case_image_path", print))
    assert frozen != _frozen.assignment_token and frozen != "case_image_path"
    assert frozen.func is not case_image_path
    name = frozen(None, "scan.JPEG")
    assert name.startswith("img/") and name.endswith(".jpg") and len(name) == 4 + 3 + 32 + 4
    assert len(_frozen.new_public_id()) == 20
