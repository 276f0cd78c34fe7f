from django.db import migrations

from evaluation.db_rules import RATING_RULES
from readerstudy.db.triggers import create_rules, drop_rules


def forwards(apps, schema_editor):
    create_rules(schema_editor, RATING_RULES)


def backwards(apps, schema_editor):
    drop_rules(schema_editor, RATING_RULES)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0003_rating_sessions")]
    operations = [migrations.RunPython(forwards, backwards)]
