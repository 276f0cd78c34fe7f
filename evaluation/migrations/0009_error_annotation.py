# Error-annotation sessions and the reference impression as a blinded item (issue 14).

import importlib

from django.db import migrations, models

from readerstudy.migrations._frozen import create_rules, drop_rules

# The rating rules of 0004 (frozen there): SQLite rebuilds evaluation_ratingitem for the new
# column and constraints, which its triggers would block, so they are dropped around it.
RATING_RULES = importlib.import_module(
    "evaluation.migrations.0004_rating_integrity_triggers"
).RATING_RULES


def _drop(apps, schema_editor):
    drop_rules(schema_editor, RATING_RULES)


def _create(apps, schema_editor):
    create_rules(schema_editor, RATING_RULES)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0008_instruments"),
    ]

    operations = [
        migrations.RunPython(_drop, _create),
        migrations.RemoveConstraint(
            model_name="ratingitem",
            name="ratingitem_unique_reading",
        ),
        migrations.AddField(
            model_name="ratingitem",
            name="reference",
            field=models.BooleanField(
                default=False,
                help_text="Shows the case's reference impression (reading: the case)",
            ),
        ),
        migrations.AddConstraint(
            model_name="ratingitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reading_b__isnull", True), ("reference", False)),
                fields=("session", "reading"),
                name="ratingitem_unique_reading",
            ),
        ),
        migrations.AddConstraint(
            model_name="ratingitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reference", True)),
                fields=("session", "reading"),
                name="ratingitem_unique_reference",
            ),
        ),
        migrations.AddConstraint(
            model_name="ratingitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("reference", False),
                    models.Q(("left", ""), ("reading_b__isnull", True)),
                    _connector="OR",
                ),
                name="ratingitem_reference_single",
            ),
        ),
        migrations.RunPython(_create, _drop),
    ]
