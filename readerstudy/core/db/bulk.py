"""Fast bulk inserts: PostgreSQL ``COPY`` fed by Arrow's CSV writer, SQLite ``executemany``.

The ORM's ``bulk_create`` builds one model instance per row, which for a million readings
costs more than the database work. These helpers take whole columns instead. Check and
unique constraints and the integrity triggers still apply to every row.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection

CHUNK_ROWS = 100_000


def bulk_insert(table: str, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> int:
    """Insert the rows given column-wise (equal lengths) into ``table``; return the count.

    ``None`` (and NaN in float columns) is NULL; strings are stored as given, "" included.
    """
    names = list(columns)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns: all columns must have the same length, got {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    if n == 0:
        return 0
    quoted = ", ".join(connection.ops.quote_name(c) for c in names)
    target = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrow = pa.table({c: _arrow(v) for c, v in columns.items()})
            options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
            with cursor.cursor.copy(
                f"COPY {target} ({quoted}) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                for start in range(0, n, CHUNK_ROWS):
                    buffer = io.BytesIO()
                    pacsv.write_csv(arrow.slice(start, CHUNK_ROWS), buffer, write_options=options)
                    copy.write(buffer.getvalue())
            return n
        sql = f"INSERT INTO {target} ({quoted}) VALUES ({', '.join(['%s'] * len(names))})"
        rows = zip(*(_python(v) for v in columns.values()), strict=True)
        while chunk := list(islice(rows, CHUNK_ROWS)):
            cursor.executemany(sql, chunk)
    return n


def _arrow(values: Sequence[Any] | np.ndarray) -> pa.Array:
    if isinstance(values, np.ndarray):
        return pa.array(values, from_pandas=True)
    return pa.array(values)


def _python(values: Sequence[Any] | np.ndarray) -> list[Any]:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            return [None if x != x else x for x in values.tolist()]
        return values.tolist()
    return list(values)
