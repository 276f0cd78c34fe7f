"""LLM judges (issue 21): ``Rater.kind``, the ``judged`` score source, ``JudgeConfig`` and
``JudgeAnswer``.

Adding the column and changing the check constraints makes SQLite rebuild ``evaluation_rater``
and ``evaluation_likertscore``; a rebuild drops the triggers on the table and fails on the
triggers of other tables that name it. So the integrity triggers of migrations 0002, 0004
and 0006 (frozen there) are dropped first and created again at the end, on both databases.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from readerstudy.migrations._frozen import create_rules, drop_rules

_RULES = [
    *importlib.import_module("evaluation.migrations.0002_integrity_triggers").LIKERT_RULES,
    *importlib.import_module("evaluation.migrations.0004_rating_integrity_triggers").RATING_RULES,
    *importlib.import_module("evaluation.migrations.0006_judgments").JUDGMENT_RULES,
]


def _drop(apps, schema_editor):
    drop_rules(schema_editor, _RULES)


def _create(apps, schema_editor):
    create_rules(schema_editor, _RULES)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0006_judgments"),
        ("readerstudy", "0011_readingsession_session_base"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_drop, _create),
        migrations.CreateModel(
            name="JudgeAnswer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("run", models.PositiveSmallIntegerField(default=1)),
                ("raw_response", models.JSONField(blank=True, null=True)),
                ("raw_text", models.TextField(blank=True)),
                ("parsed", models.JSONField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("ok", "Scored"),
                            ("refused", "Refused"),
                            ("unparseable", "Unparseable"),
                            ("error", "Error (no answer after retries; sent again on resume)"),
                        ],
                        max_length=12,
                    ),
                ),
                ("error", models.TextField(blank=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("prompt_tokens", models.PositiveIntegerField(blank=True, null=True)),
                ("completion_tokens", models.PositiveIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["config", "run", "item__position"],
            },
        ),
        migrations.CreateModel(
            name="JudgeConfig",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("base_url", models.CharField(max_length=500, verbose_name="API base URL")),
                (
                    "api_key_env",
                    models.CharField(blank=True, max_length=100, verbose_name="API key variable"),
                ),
                ("model_name", models.CharField(max_length=200)),
                (
                    "prompt_template",
                    models.TextField(
                        default='You are one of several expert raters in a blinded study. Rate the output below on each domain, on the scale from $low to $high:\n$anchors\n\nDomains:\n$domains\n$context\nOutput to rate:\n"""\n$output\n"""\n\nAnswer with one JSON object only, whose keys are the domain keys and whose values are integers from $low to $high.'
                    ),
                ),
                ("temperature", models.FloatField(default=0.0)),
                (
                    "runs",
                    models.PositiveSmallIntegerField(
                        default=1, help_text="Answers per item (run 1 scores)"
                    ),
                ),
                ("concurrency", models.PositiveSmallIntegerField(default=4)),
                ("max_attempts", models.PositiveSmallIntegerField(default=5)),
                ("max_tokens", models.PositiveIntegerField(default=400)),
                ("timeout_seconds", models.FloatField(default=120.0)),
                (
                    "price_input_per_1k",
                    models.DecimalField(decimal_places=6, default=0, max_digits=12),
                ),
                (
                    "price_output_per_1k",
                    models.DecimalField(decimal_places=6, default=0, max_digits=12),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["study", "rater"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="likertscore",
            name="likertscore_source_valid",
        ),
        migrations.AddField(
            model_name="rater",
            name="kind",
            field=models.CharField(
                choices=[("human", "Human"), ("model", "Model (LLM judge)")],
                default="human",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="likertscore",
            name="source",
            field=models.CharField(
                choices=[
                    ("imported", "Imported"),
                    ("entered", "Entered in the rating page"),
                    ("judged", "Given by an LLM judge"),
                ],
                default="imported",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="likertscore",
            constraint=models.CheckConstraint(
                condition=models.Q(("source__in", ["imported", "entered", "judged"])),
                name="likertscore_source_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="rater",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["human", "model"])), name="rater_kind_valid"
            ),
        ),
        migrations.AddField(
            model_name="judgeanswer",
            name="item",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="judge_answers",
                to="evaluation.ratingitem",
            ),
        ),
        migrations.AddField(
            model_name="judgeconfig",
            name="rater",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="judge_config",
                to="evaluation.rater",
            ),
        ),
        migrations.AddField(
            model_name="judgeconfig",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="judge_configs",
                to="readerstudy.study",
            ),
        ),
        migrations.AddField(
            model_name="judgeanswer",
            name="config",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="answers",
                to="evaluation.judgeconfig",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeconfig",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("api_key_env", ""),
                    ("api_key_env__regex", "^[A-Z_][A-Z0-9_]{0,99}$"),
                    _connector="OR",
                ),
                name="judgeconfig_api_key_env_is_a_name",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeconfig",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("runs__gte", 1), ("concurrency__gte", 1), ("max_attempts__gte", 1)
                ),
                name="judgeconfig_counts_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeconfig",
            constraint=models.CheckConstraint(
                condition=models.Q(("temperature__gte", 0), ("temperature__lte", 2)),
                name="judgeconfig_temperature_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeconfig",
            constraint=models.CheckConstraint(
                condition=models.Q(("price_input_per_1k__gte", 0), ("price_output_per_1k__gte", 0)),
                name="judgeconfig_prices_nonnegative",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeanswer",
            constraint=models.UniqueConstraint(
                fields=("config", "run", "item"), name="judgeanswer_unique_per_run"
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeanswer",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["ok", "refused", "unparseable", "error"])),
                name="judgeanswer_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeanswer",
            constraint=models.CheckConstraint(
                condition=models.Q(("run__gte", 1)), name="judgeanswer_run_positive"
            ),
        ),
        # the judgment tables (0006) accept the new score source too
        migrations.RemoveConstraint(
            model_name="acceptabilitygrade",
            name="acceptability_source_valid",
        ),
        migrations.RemoveConstraint(
            model_name="errorannotation",
            name="errorannotation_source_valid",
        ),
        migrations.RemoveConstraint(
            model_name="pairwisepreference",
            name="preference_source_valid",
        ),
        migrations.AlterField(
            model_name="acceptabilitygrade",
            name="source",
            field=models.CharField(
                choices=[
                    ("imported", "Imported"),
                    ("entered", "Entered in the rating page"),
                    ("judged", "Given by an LLM judge"),
                ],
                default="imported",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="errorannotation",
            name="source",
            field=models.CharField(
                choices=[
                    ("imported", "Imported"),
                    ("entered", "Entered in the rating page"),
                    ("judged", "Given by an LLM judge"),
                ],
                default="imported",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="pairwisepreference",
            name="source",
            field=models.CharField(
                choices=[
                    ("imported", "Imported"),
                    ("entered", "Entered in the rating page"),
                    ("judged", "Given by an LLM judge"),
                ],
                default="imported",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="acceptabilitygrade",
            constraint=models.CheckConstraint(
                condition=models.Q(("source__in", ["imported", "entered", "judged"])),
                name="acceptability_source_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="errorannotation",
            constraint=models.CheckConstraint(
                condition=models.Q(("source__in", ["imported", "entered", "judged"])),
                name="errorannotation_source_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="pairwisepreference",
            constraint=models.CheckConstraint(
                condition=models.Q(("source__in", ["imported", "entered", "judged"])),
                name="preference_source_valid",
            ),
        ),
        migrations.RunPython(_create, _drop),
    ]
