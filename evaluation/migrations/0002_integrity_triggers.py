from django.db import migrations

from readerstudy.migrations._frozen import Rule, create_rules, drop_rules

# The rules as they were on main at 80ee79ce9cef (readerstudy/db/triggers.py), frozen: see readerstudy/migrations/_frozen.py.
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


def forwards(apps, schema_editor):
    create_rules(schema_editor, LIKERT_RULES)


def backwards(apps, schema_editor):
    drop_rules(schema_editor, LIKERT_RULES)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial"), ("readerstudy", "0002_integrity_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
