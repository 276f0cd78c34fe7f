"""A database created and filled by an earlier release migrates forward without data loss.

The snapshot (tests/upgrade/data/, written by make_snapshot.py from the commit in its
manifest) holds every row of a demo database of that release, the migration leaf nodes it was
at, and the ``results.json`` that ``analyze`` wrote from it. The test rebuilds that database in
the test database, at that migration state and through the *historical* models of that state,
then runs ``migrate`` as an upgrade would and checks that every row, content type and
permission is still there and that ``analyze`` gives the same results (a newer release may
add keys and notes, never change or drop what the snapshot has). See docs/upgrading.md.
"""

from __future__ import annotations

import graphlib
import io
import itertools
import json
import lzma
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as live_apps
from django.apps.registry import Apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers import base
from django.core.serializers.python import Deserializer
from django.db import connection, models, transaction
from django.db.migrations.executor import MigrationExecutor

DATA = Path(__file__).resolve().parent / "data"

#: Keys of results.json that may legitimately differ between the snapshot's run and the test's:
#: none today. results.json holds only numbers, labels and the analysis options; the run's
#: time, versions, paths and seeds are in manifest.json, which is not compared. Add a key
#: here only with the reason next to it.
RUN_SPECIFIC_RESULT_KEYS: frozenset[str] = frozenset()

#: Options whose default changed after the snapshot's release, given here as the snapshot's
#: release computed them, each with its reason. ``clustered``: Obuchowski's clustered AUC
#: variance became the default when a ``patient_id`` repeats (issue 18); the snapshot's demo
#: has four bilateral patients, and its release used DeLong's unclustered variance.
OLD_DEFAULTS: dict[str, Any] = {"clustered": "off"}


def _contains(new: Any, old: Any, where: str = "results") -> None:
    """Everything the snapshot's release wrote (``old``) is in ``new``, unchanged.

    A newer release may add keys to an object (new statistics, new fields of a row) and notes,
    but every key, row and value the snapshot has must be there with the same value; lists
    other than ``notes`` keep their length and order.
    """
    if isinstance(old, dict):
        assert isinstance(new, dict), f"{where}: not an object any more"
        for key, value in old.items():
            assert key in new, f"{where}.{key}: missing"
            _contains(new[key], value, f"{where}.{key}")
    elif isinstance(old, list) and where.endswith(".notes"):
        for note in old:
            assert note in new, f"{where}: lost {note}"
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), f"{where}: length changed"
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _contains(a, b, f"{where}[{i}]")
    else:
        assert new == old, f"{where}: {new!r} != {old!r}"


class HistoricalDeserializer(Deserializer):
    """Django's own deserializer (field conversion as ``loaddata``), on historical models."""

    def __init__(self, object_list: list[dict[str, Any]], *, state_apps: Apps) -> None:
        super().__init__(object_list)
        self.state_apps = state_apps

    def _get_model_from_node(self, model_identifier: str) -> type[models.Model]:
        try:
            return self.state_apps.get_model(model_identifier)
        except LookupError as exc:
            raise base.DeserializationError(
                f"snapshot model {model_identifier} is not in the snapshot's migration state"
            ) from exc


def _manifest() -> dict[str, Any]:
    return json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))


def _snapshot_rows() -> list[dict[str, Any]]:
    with lzma.open(DATA / "snapshot.json.xz", "rt", encoding="utf-8") as f:
        return json.load(f)


def _old_targets(executor: MigrationExecutor, leaves: list[list[str]]) -> list[tuple[str, Any]]:
    """The recorded leaf nodes, and "nothing" for an app that had no migrations then."""
    recorded = {app: name for app, name in leaves}
    for app, name in recorded.items():
        if (app, name) not in executor.loader.graph.nodes:
            raise AssertionError(
                f"migration {app}.{name} of the snapshot is gone: history was rewritten"
            )
    apps_now = {app for app, _ in executor.loader.graph.leaf_nodes()}
    return [(app, recorded.get(app)) for app in sorted(apps_now)]


def _clear_all_tables() -> None:
    tables = [t for t in connection.introspection.table_names() if t != "django_migrations"]
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(sql)


def _insert_order(state_apps: Apps, labels: set[str]) -> list[type[models.Model]]:
    """The snapshot's models, each after the models its foreign keys point to (the integrity
    triggers look the referenced rows up while the rows are inserted). A cycle is broken at a
    nullable key (``RatingAssignment.last_task``): foreign keys are checked at commit."""
    edges: dict[str, dict[str, bool]] = {}  # model -> {referenced model: key is nullable}
    for label in labels:
        model = state_apps.get_model(label)
        edges[label] = {}
        for f in model._meta.concrete_fields:
            target = f.related_model._meta.label_lower if f.is_relation else None
            if target in labels and target != label:
                edges[label][target] = edges[label].get(target, True) and f.null
    while True:
        try:
            order = list(graphlib.TopologicalSorter(edges).static_order())
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            pairs = [(a, b) for a, b in itertools.pairwise(cycle) if edges[a][b]]
            if not pairs:
                raise
            del edges[pairs[0][0]][pairs[0][1]]
        else:
            return [state_apps.get_model(label) for label in order]


def _load(rows: list[dict[str, Any]], state_apps: Apps) -> None:
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_model[row["model"]].append(row)
    inserted: list[type[models.Model]] = []
    m2m: list[base.DeserializedObject] = []
    for model in _insert_order(state_apps, set(by_model)):
        objects = list(
            HistoricalDeserializer(by_model[model._meta.label_lower], state_apps=state_apps)
        )
        model._base_manager.bulk_create([o.object for o in objects], batch_size=2000)
        m2m.extend(o for o in objects if o.m2m_data)
        inserted.append(model)
    for obj in m2m:
        for name, values in obj.m2m_data.items():
            getattr(obj.object, name).set(values)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), inserted):
            cursor.execute(statement)


def _table_keys(state_apps: Apps, rows: list[dict[str, Any]]) -> dict[str, set[tuple[Any, ...]]]:
    """Per table (models and many-to-many tables): the keys of the snapshot's rows."""
    keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for row in rows:
        model = state_apps.get_model(row["model"])
        pk = model._meta.pk.to_python(row["pk"])
        keys[model._meta.db_table].add((pk,))
        for field in model._meta.many_to_many:
            for other in row["fields"].get(field.name, []):
                keys[field.m2m_db_table()].add((pk, other))
    return keys


def _keys_in_database(state_apps: Apps, tables: set[str]) -> dict[str, set[tuple[Any, ...]]]:
    columns: dict[str, tuple[str, ...]] = {}
    for model in state_apps.get_models():
        columns[model._meta.db_table] = (model._meta.pk.column,)
        for field in model._meta.many_to_many:
            columns[field.m2m_db_table()] = (field.m2m_column_name(), field.m2m_reverse_name())
    found: dict[str, set[tuple[Any, ...]]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(
                f"SELECT {', '.join(quote(c) for c in columns[table])} FROM {quote(table)}"
            )
            found[table] = {tuple(r) for r in cursor.fetchall()}
    return found


def _results(path: Path) -> dict[str, Any]:
    results = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in results.items() if k not in RUN_SPECIFIC_RESULT_KEYS}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_snapshot_release_migrates_forward_without_data_loss(
    tmp_path: Path,
) -> None:
    manifest = _manifest()
    rows = _snapshot_rows()
    executor = MigrationExecutor(connection)
    targets = _old_targets(executor, manifest["leaf_nodes"])
    try:
        executor.migrate(targets)  # back to the snapshot's release (a no-op while it is today's)
        executor.loader.build_graph()
        state_apps = executor.loader.project_state([t for t in targets if t[1] is not None]).apps
        _clear_all_tables()
        with transaction.atomic():  # foreign keys are checked at commit, as with loaddata
            _load(rows, state_apps)
        ContentType.objects.clear_cache()
        expected = _table_keys(state_apps, rows)

        call_command("migrate", verbosity=0, interactive=False)  # what an upgrade runs
        ContentType.objects.clear_cache()

        # No table renamed or lost, no row lost or added. Content types and permissions may
        # gain rows (the models a newer release adds) but keep every row they had.
        found = _keys_in_database(state_apps, set(expected))
        growing = {"django_content_type", "auth_permission"}
        kept = {t: k for t, k in found.items() if t not in growing}
        assert {t: len(k) for t, k in kept.items()} == {
            t: len(k) for t, k in expected.items() if t not in growing
        }
        assert kept == {t: k for t, k in expected.items() if t not in growing}
        for table in growing & set(expected):
            assert expected[table] <= found[table], f"{table} lost rows"
        assert sum(Counter(manifest["rows"]).values()) == len(rows)

        # Content types and permissions keep their ids and still name live models.
        for row in rows:
            if row["model"] == "contenttypes.contenttype":
                ct = ContentType.objects.get(pk=row["pk"])
                assert (ct.app_label, ct.model) == (
                    row["fields"]["app_label"],
                    row["fields"]["model"],
                )
                assert ct.model_class() is not None, f"content type {ct} names no live model"
            elif row["model"] == "auth.permission":
                perm = Permission.objects.get(pk=row["pk"])
                assert perm.codename == row["fields"]["codename"]
                assert perm.content_type_id == row["fields"]["content_type"]
        for model in live_apps.get_models():
            ct = ContentType.objects.get(
                app_label=model._meta.app_label, model=model._meta.model_name
            )
            assert ct.model_class() is model
            for action in model._meta.default_permissions:
                assert Permission.objects.filter(
                    content_type=ct, codename=f"{action}_{model._meta.model_name}"
                ).exists(), f"no {action} permission for {model._meta.label}"

        # The same analysis.
        out = tmp_path / "analysis"
        call_command(
            "analyze",
            manifest["study"],
            out=out,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            **{**OLD_DEFAULTS, **manifest["analyze_options"]},
        )
        _contains(_results(out / "results.json"), _results(DATA / "results.json"))
    finally:
        call_command("migrate", verbosity=0, interactive=False)  # leave the latest schema
        ContentType.objects.clear_cache()
