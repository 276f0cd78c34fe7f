"""Model instances from hand-written SELECTs, and query parameters for hand-written writes,
for the few statements on a hot path.

Building a query with the ORM costs about a millisecond of Python per query on a small
server (filters, joins and ``select_related`` are compiled on every call), several times
what PostgreSQL spends answering it. The rater's autosave and submit endpoints run a handful
of fixed-shape queries per request, so :mod:`evaluation.selectors` writes those in SQL
and turns the rows back into ordinary model instances here, with the same conversions
(JSON, UUID, dates on SQLite, booleans) the ORM applies.

Usage::

    TASK = Columns(RatingTask, "t")
    sql = f"SELECT {TASK.sql} FROM {TASK.table} AS t WHERE t.id = %s"
    row = cursor.fetchone()
    task = TASK.load(row, 0)  # the instance, built from row[0 : len(TASK)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


class Columns(Generic[M]):
    """Every concrete column of ``model`` under the table alias ``alias``."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields: tuple[Field[Any, Any], ...] = tuple(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[tuple[str, str], list[tuple[int, list[Converter], Any]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    @cached_property
    def table(self) -> str:
        """The quoted table name."""
        return connection.ops.quote_name(self.model._meta.db_table)

    @property
    def sql(self) -> str:
        """``alias."column", ...`` for a SELECT list, in field order."""
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    def _converters_for_connection(self) -> list[tuple[int, list[Converter], Any]]:
        # As SQLCompiler.get_converters: the backend's converters, then the field's.
        key = (connection.alias, connection.vendor)
        found = self._converters.get(key)
        if found is None:
            found = []
            for i, f in enumerate(self.fields):
                col = f.get_col(self.alias)
                funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if funcs:
                    found.append((i, funcs, col))
            self._converters[key] = found
        return found

    def load(self, row: Sequence[Any], start: int) -> M:
        """The instance whose columns are ``row[start : start + len(self)]``."""
        values = list(row[start : start + len(self.fields)])
        for i, funcs, col in self._converters_for_connection():
            for func in funcs:
                values[i] = func(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def db_value(model: type[Model], name: str, value: Any) -> Any:
    """``value`` of field ``name`` as a query parameter, adapted as the ORM would (JSON,
    UUID, aware datetimes on SQLite)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a concrete field")
    return field.get_db_prep_value(value, connection, prepared=False)


def quoted_table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)
