from django.db import migrations

from readerstudy.db.triggers import READING_RULES, create_rules, drop_rules


def forwards(apps, schema_editor):
    create_rules(schema_editor, READING_RULES)


def backwards(apps, schema_editor):
    drop_rules(schema_editor, READING_RULES)


class Migration(migrations.Migration):
    dependencies = [("readerstudy", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
