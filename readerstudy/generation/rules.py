"""Cross-table rules of the generation tables, as database triggers (see readerstudy.core.db.triggers)."""

from __future__ import annotations

from readerstudy.core.db.triggers import Rule

GENERATION_RULES = [
    Rule(
        name="generationconfig_reader_is_model",
        table="readerstudy_generationconfig",
        columns=("reader_id",),
        violation="(SELECT kind FROM readerstudy_reader WHERE id = n.reader_id) <> 'model'",
        message="a generation configuration belongs to a reader of kind model",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n JOIN readerstudy_reader AS r ON r.id = n.reader_id "
            "WHERE r.kind <> 'model'"
        ),
    ),
    Rule(
        name="generationitem_same_study",
        table="readerstudy_generationitem",
        columns=("run_id", "case_id"),
        violation=(
            "(SELECT study_id FROM readerstudy_case WHERE id = n.case_id) <> "
            "(SELECT r.study_id FROM readerstudy_generationrun AS gr "
            "JOIN readerstudy_generationconfig AS gc ON gc.id = gr.config_id "
            "JOIN readerstudy_reader AS r ON r.id = gc.reader_id WHERE gr.id = n.run_id)"
        ),
        message="the case of a generation item must belong to the study of its run",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_case AS c ON c.id = n.case_id "
            "JOIN readerstudy_generationrun AS gr ON gr.id = n.run_id "
            "JOIN readerstudy_generationconfig AS gc ON gc.id = gr.config_id "
            "JOIN readerstudy_reader AS r ON r.id = gc.reader_id "
            "WHERE c.study_id <> r.study_id"
        ),
    ),
]
