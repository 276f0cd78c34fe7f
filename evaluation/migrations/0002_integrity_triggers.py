from django.db import migrations

from readerstudy.db.triggers import LIKERT_RULES, create_rules, drop_rules


def forwards(apps, schema_editor):
    create_rules(schema_editor, LIKERT_RULES)


def backwards(apps, schema_editor):
    drop_rules(schema_editor, LIKERT_RULES)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial"), ("readerstudy", "0002_integrity_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
