"""Frozen history: the trigger generator and the field callables the migrations use.

Copied on 2026-12-02 from main at 80ee79ce9cef (``readerstudy/db/triggers.py``,
``readerstudy.models.case_image_path``, ``readerstudy.models_generation.validate_base_url``,
``readerstudy.models_reading.assignment_token``, ``evaluation.models.new_public_id``) so that
changing or moving live code can never change what an old migration does. Never import this
module from live code and never edit it: a migration that needs other SQL gets its own copy
(``_frozen_<n>.py``). See docs/upgrading.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# --- readerstudy/db/triggers.py as of 80ee79ce9cef -------------------------------------------

@dataclass(frozen=True)
class Rule:
    """``violation`` is a SQL boolean over the new row ``n`` that is true when the rule fails."""

    name: str
    table: str
    columns: tuple[str, ...]  # an UPDATE of these re-checks the rule (SQLite)
    violation: str  # per-row condition over ``n`` (SQLite row triggers)
    message: str
    pg_violations: str  # set-based query over the transition table ``new_rows AS n``


def _sqlite_sql(table: str, rules: list[Rule]) -> list[str]:
    """One row trigger per table and event: the WHEN clause is cheap to evaluate, the body
    (run only on a violation) raises the message of the first rule that fails."""
    conditions = [r.violation.replace("n.", "NEW.") for r in rules]
    body = " ".join(
        f"SELECT RAISE(ABORT, '{r.name}: {r.message}') WHERE {cond};"
        for r, cond in zip(rules, conditions, strict=True)
    )
    statements = []
    columns = sorted({c for r in rules for c in r.columns})
    for event in ("INSERT", "UPDATE"):
        trigger = f"{table}_integrity_{event.lower()}"
        when = event if event == "INSERT" else f"UPDATE OF {', '.join(columns)}"
        statements.append(f"DROP TRIGGER IF EXISTS {trigger}")
        statements.append(
            f"CREATE TRIGGER {trigger} BEFORE {when} ON {table} FOR EACH ROW "
            f"WHEN {' OR '.join(f'({c})' for c in conditions)} BEGIN {body} END"
        )
    return statements


def _postgresql_sql(rule: Rule) -> list[str]:
    function = f"{rule.name}_fn"
    statements = [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS ({rule.pg_violations}) THEN
    RAISE EXCEPTION '{rule.name}: {rule.message}' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$""",
    ]
    for event in ("INSERT", "UPDATE"):
        trigger = f"{rule.name}_{event.lower()}"
        statements.append(f"DROP TRIGGER IF EXISTS {trigger} ON {rule.table}")
        statements.append(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {rule.table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def _drop_sql(rule: Rule, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {rule.name}_fn() CASCADE"]
    return [f"DROP TRIGGER IF EXISTS {rule.table}_integrity_{e}" for e in ("insert", "update")]


def create_rules(schema_editor: BaseDatabaseSchemaEditor, rules: list[Rule]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise RuntimeError(f"readerstudy supports SQLite and PostgreSQL, not {vendor}")
    if vendor == "postgresql":
        statements = [sql for rule in rules for sql in _postgresql_sql(rule)]
    else:
        tables = sorted({r.table for r in rules})
        statements = [
            sql for t in tables for sql in _sqlite_sql(t, [r for r in rules if r.table == t])
        ]
    for statement in statements:
        schema_editor.execute(statement)


def drop_rules(schema_editor: BaseDatabaseSchemaEditor, rules: list[Rule]) -> None:
    for rule in rules:
        for statement in _drop_sql(rule, schema_editor.connection.vendor):
            schema_editor.execute(statement)


# --- field callables ---------------------------------------------------------------------


class FrozenCallable:
    """A field callable (``upload_to``, ``default``, a validator) as history recorded it.

    It runs the frozen copy, and compares equal to any callable of the same ``__name__``: the
    migration autodetector compares a historical field with the live one by equality, so the
    live ``readerstudy.models.case_image_path`` (wherever it moves) matches the history's
    ``case_image_path`` and ``makemigrations`` sees no change. A live field that switches to a
    callable of another name does show up as a change, as it should.
    """

    def __init__(self, name: str, func: Callable[..., Any]) -> None:
        self.func = func
        self.__name__ = name
        self.__qualname__ = name
        self.__doc__ = func.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        return callable(other) and getattr(other, "__name__", None) == self.__name__

    def __hash__(self) -> int:
        return hash(self.__name__)

    def __repr__(self) -> str:
        return f"<frozen {self.__name__}>"


def _case_image_path(instance: Any, filename: str) -> str:
    """Storage name that reveals nothing about the case, its study or the original file."""
    suffix = ""
    if "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        if ext in {"png", "jpg", "jpeg", "dcm"}:
            suffix = "." + ("jpg" if ext == "jpeg" else ext)
    token = secrets.token_hex(16)
    return f"img/{token[:2]}/{token}{suffix}"


def _validate_base_url(value: str) -> None:
    """An http(s) URL with a host; internal host names without a domain (``http://vllm:8000/v1``)
    are fine, credentials in the URL are not (keys come from the environment only)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("enter an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise ValidationError("no user name or password in the URL: keys come from the environment")
    if parts.query or parts.fragment:
        raise ValidationError("the base URL takes no query string or fragment")


def _assignment_token() -> str:
    """An opaque, unguessable id for an assignment's URLs."""
    return secrets.token_urlsafe(16)


PUBLIC_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
PUBLIC_ID_LENGTH = 20


def _new_public_id() -> str:
    """An opaque random id for a rating item: 20 characters of [0-9a-z], about 103 bits."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


case_image_path = FrozenCallable("case_image_path", _case_image_path)
validate_base_url = FrozenCallable("validate_base_url", _validate_base_url)
assignment_token = FrozenCallable("assignment_token", _assignment_token)
new_public_id = FrozenCallable("new_public_id", _new_public_id)
