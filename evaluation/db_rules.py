"""Cross-table rules of rating sessions and judgments, enforced by database triggers
(migrations 0004 and 0006).

An item's output, and an assignment's rater, must belong to the session's study; a task's
item must belong to the session of its assignment; a judgment's rater belongs to its case's
study and its outputs are readings of its case. Written as :class:`readerstudy.core.db.triggers.Rule`
objects so that SQLite and PostgreSQL get equivalent triggers.
"""

from __future__ import annotations

from readerstudy.core.db.triggers import Rule

RATING_RULES = [
    Rule(
        name="ratingitem_same_study",
        table="evaluation_ratingitem",
        columns=("session_id", "reading_id"),
        violation=(
            "(SELECT study_id FROM evaluation_ratingsession WHERE id = n.session_id) <> "
            "(SELECT c.study_id FROM readerstudy_reading AS r JOIN readerstudy_case AS c "
            "ON c.id = r.case_id WHERE r.id = n.reading_id)"
        ),
        message="the output of a rating item must belong to the study of its session",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN evaluation_ratingsession AS s ON s.id = n.session_id "
            "JOIN readerstudy_reading AS r ON r.id = n.reading_id "
            "JOIN readerstudy_case AS c ON c.id = r.case_id "
            "WHERE c.study_id <> s.study_id"
        ),
    ),
    Rule(
        name="ratingassignment_same_study",
        table="evaluation_ratingassignment",
        columns=("session_id", "rater_id"),
        violation=(
            "(SELECT study_id FROM evaluation_ratingsession WHERE id = n.session_id) <> "
            "(SELECT study_id FROM evaluation_rater WHERE id = n.rater_id)"
        ),
        message="the rater of an assignment must belong to the study of its session",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN evaluation_ratingsession AS s ON s.id = n.session_id "
            "JOIN evaluation_rater AS ra ON ra.id = n.rater_id "
            "WHERE ra.study_id <> s.study_id"
        ),
    ),
    Rule(
        name="ratingtask_same_session",
        table="evaluation_ratingtask",
        columns=("assignment_id", "item_id"),
        violation=(
            "(SELECT session_id FROM evaluation_ratingassignment WHERE id = n.assignment_id) <> "
            "(SELECT session_id FROM evaluation_ratingitem WHERE id = n.item_id)"
        ),
        message="the item of a rating task must belong to the session of its assignment",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN evaluation_ratingassignment AS a ON a.id = n.assignment_id "
            "JOIN evaluation_ratingitem AS i ON i.id = n.item_id "
            "WHERE a.session_id <> i.session_id"
        ),
    ),
]


def _judgment_rules(table: str, short: str, readings: tuple[str, ...]) -> list[Rule]:
    """A judgment's rater belongs to its case's study; each output (reading) is of its case."""
    rules = [
        Rule(
            name=f"{short}_same_study",
            table=table,
            columns=("rater_id", "case_id"),
            violation=(
                "(SELECT study_id FROM evaluation_rater WHERE id = n.rater_id) <> "
                "(SELECT study_id FROM readerstudy_case WHERE id = n.case_id)"
            ),
            message="the rater of a judgment must belong to the study of its case",
            pg_violations=(
                "SELECT 1 FROM new_rows AS n "
                "JOIN evaluation_rater AS ra ON ra.id = n.rater_id "
                "JOIN readerstudy_case AS c ON c.id = n.case_id "
                "WHERE ra.study_id <> c.study_id"
            ),
        )
    ]
    for column in readings:
        rules.append(
            Rule(
                name=f"{short}_{column.removesuffix('_id')}_of_case",
                table=table,
                columns=(column, "case_id"),
                violation=(
                    f"n.{column} IS NOT NULL AND "
                    f"(SELECT case_id FROM readerstudy_reading WHERE id = n.{column}) <> n.case_id"
                ),
                message="the output of a judgment must be a reading of its case",
                pg_violations=(
                    "SELECT 1 FROM new_rows AS n "
                    f"JOIN readerstudy_reading AS r ON r.id = n.{column} "
                    "WHERE r.case_id <> n.case_id"
                ),
            )
        )
    return rules


JUDGMENT_RULES = [
    *_judgment_rules(
        "evaluation_pairwisepreference", "preference", ("reading_a_id", "reading_b_id")
    ),
    *_judgment_rules("evaluation_acceptabilitygrade", "acceptability", ("reading_id",)),
    *_judgment_rules("evaluation_errorannotation", "errorannotation", ("reading_id",)),
]
