"""Rating sessions share the session base (``readerstudy.core.sessions``): ``started_at`` is
``opened_at`` like a reading session's, and the shared fields have the shared help texts
and order labels. The check constraint keeps its name; its condition names the new column."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0004_rating_integrity_triggers"),
    ]

    operations = [
        # The database only renames the column: PostgreSQL and SQLite (3.25+) keep the check
        # constraint on the renamed column, and re-creating the constraint would make SQLite
        # rebuild the table under the triggers of migration 0004.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RenameField(
                    model_name="ratingsession",
                    old_name="started_at",
                    new_name="opened_at",
                ),
            ],
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="ratingsession",
                    name="ratingsession_started_when_open",
                ),
                migrations.RenameField(
                    model_name="ratingsession",
                    old_name="started_at",
                    new_name="opened_at",
                ),
                migrations.AddConstraint(
                    model_name="ratingsession",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("status", "draft"), ("opened_at__isnull", False), _connector="OR"
                        ),
                        name="ratingsession_started_when_open",
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="ratingsession",
            name="allow_amend",
            field=models.BooleanField(
                default=False, help_text="Submitted answers may be changed (every change is kept)."
            ),
        ),
        migrations.AlterField(
            model_name="ratingsession",
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
            model_name="ratingsession",
            name="seed",
            field=models.BigIntegerField(
                help_text="Seed of the session's random choices (exported)."
            ),
        ),
    ]
