"""Cross-table integrity rules as database triggers (SQLite and PostgreSQL).

Check constraints cannot look at other tables, so the rules below are triggers. On
PostgreSQL they are statement-level triggers over transition tables, so a bulk ``COPY`` of a
million readings is checked with one set-based query instead of one query per row.

Each rule raises with a message that starts with the rule's name, as a CheckViolation
(SQLSTATE 23514) on PostgreSQL and a constraint error on SQLite; Django turns both into
``IntegrityError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.backends.base.schema import BaseDatabaseSchemaEditor


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


READING_RULES = [
    Rule(
        name="reading_same_study",
        table="readerstudy_reading",
        columns=("reader_id", "case_id"),
        violation=(
            "(SELECT study_id FROM readerstudy_case WHERE id = n.case_id) <> "
            "(SELECT study_id FROM readerstudy_reader WHERE id = n.reader_id)"
        ),
        message="the reader and the case of a reading must belong to the same study",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_case AS c ON c.id = n.case_id "
            "JOIN readerstudy_reader AS r ON r.id = n.reader_id "
            "WHERE c.study_id <> r.study_id"
        ),
    ),
    Rule(
        name="reading_category_on_scale",
        table="readerstudy_reading",
        columns=("case_id", "category"),
        violation=(
            "NOT EXISTS (SELECT 1 FROM readerstudy_scalecategory AS s "
            "JOIN readerstudy_case AS c ON c.study_id = s.study_id "
            "WHERE c.id = n.case_id AND s.value = n.category)"
        ),
        message="the category of a reading must be on its study scale",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_case AS c ON c.id = n.case_id "
            "LEFT JOIN readerstudy_scalecategory AS s "
            "ON s.study_id = c.study_id AND s.value = n.category "
            "WHERE s.id IS NULL"
        ),
    ),
]

LIKERT_RULES = [
    Rule(
        name="likertscore_in_range",
        table="evaluation_likertscore",
        columns=("domain_id", "score"),
        violation=(
            "NOT EXISTS (SELECT 1 FROM evaluation_likertdomain AS d "
            "JOIN readerstudy_study AS st ON st.id = d.study_id "
            "WHERE d.id = n.domain_id AND n.score BETWEEN st.likert_min AND st.likert_max)"
        ),
        message="a Likert score must lie inside its study Likert range",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN evaluation_likertdomain AS d ON d.id = n.domain_id "
            "JOIN readerstudy_study AS st ON st.id = d.study_id "
            "WHERE n.score NOT BETWEEN st.likert_min AND st.likert_max"
        ),
    ),
    Rule(
        name="likertscore_same_study",
        table="evaluation_likertscore",
        columns=("domain_id", "rater_id", "reading_id"),
        violation=(
            "(SELECT study_id FROM evaluation_likertdomain WHERE id = n.domain_id) <> "
            "(SELECT study_id FROM evaluation_rater WHERE id = n.rater_id) OR "
            "(SELECT study_id FROM evaluation_likertdomain WHERE id = n.domain_id) <> "
            "(SELECT c.study_id FROM readerstudy_reading AS r JOIN readerstudy_case AS c "
            "ON c.id = r.case_id WHERE r.id = n.reading_id)"
        ),
        message="the rater, the output and the domain of a score must belong to the same study",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN evaluation_likertdomain AS d ON d.id = n.domain_id "
            "JOIN evaluation_rater AS ra ON ra.id = n.rater_id "
            "JOIN readerstudy_reading AS r ON r.id = n.reading_id "
            "JOIN readerstudy_case AS c ON c.id = r.case_id "
            "WHERE d.study_id <> ra.study_id OR d.study_id <> c.study_id"
        ),
    ),
]
