"""Reading sessions share the session base (``readerstudy.core.sessions``): the shared fields
have the shared help texts and order labels (no change in the database)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("readerstudy", "0010_study_consensus_mode_lowest"),
    ]

    operations = [
        migrations.AlterField(
            model_name="readingsession",
            name="allow_amend",
            field=models.BooleanField(
                default=False, help_text="Submitted answers may be changed (every change is kept)."
            ),
        ),
        migrations.AlterField(
            model_name="readingsession",
            name="order",
            field=models.CharField(
                choices=[
                    ("random", "A different seeded random order for each person"),
                    ("fixed", "The same order for everyone"),
                ],
                default="random",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="readingsession",
            name="seed",
            field=models.BigIntegerField(
                help_text="Seed of the session's random choices (exported)."
            ),
        ),
    ]
