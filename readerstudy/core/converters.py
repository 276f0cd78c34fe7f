"""Integer bounds of the database columns, and the URL converter that keeps ids inside them.

Django's ``<int64:…>`` accepts any number of digits; an id past what a column holds reached
the database and failed there (``OverflowError`` on SQLite, a 500). ``<int64:…>`` answers
404 instead, as for any id that does not exist. Forms and serializers bound their integer
fields with the same constants, so an out-of-range value is a 400 naming the field.
"""

from __future__ import annotations

from django.urls.converters import IntConverter

#: The largest value of an ``IntegerField`` / ``PositiveIntegerField`` column (PostgreSQL).
INT32_MAX = 2**31 - 1
#: The largest value of a ``BigIntegerField`` / ``BigAutoField`` column (every id).
INT64_MAX = 2**63 - 1


class Int64Converter(IntConverter):
    """``<int64:name>``: a non-negative integer that fits a 64-bit column (else no match)."""

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > INT64_MAX:
            raise ValueError(f"{value}: larger than any id")
        return number
