from django.db import migrations

from readerstudy.migrations._frozen import Rule, create_rules, drop_rules

# The rules as they were on main at 80ee79ce9cef (readerstudy/db/triggers.py), frozen: see readerstudy/migrations/_frozen.py.
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


def forwards(apps, schema_editor):
    create_rules(schema_editor, READING_RULES)


def backwards(apps, schema_editor):
    drop_rules(schema_editor, READING_RULES)


class Migration(migrations.Migration):
    dependencies = [("readerstudy", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
