"""Pairwise and acceptability judges (issue 21): ``JudgeAnswer.order`` (each pairwise item
is asked in both orders, ``ab`` and ``ba``; empty for the other instruments, now part of the
unique answer per config, run and item) and the judge's pairwise and acceptability prompt
templates."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0009_error_annotation"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="judgeanswer",
            options={"ordering": ["config", "run", "item__position", "order"]},
        ),
        migrations.RemoveConstraint(
            model_name="judgeanswer",
            name="judgeanswer_unique_per_run",
        ),
        migrations.AddField(
            model_name="judgeanswer",
            name="order",
            field=models.CharField(
                blank=True,
                choices=[("", "Not pairwise"), ("ab", "A first"), ("ba", "B first")],
                default="",
                max_length=2,
            ),
        ),
        migrations.AddField(
            model_name="judgeconfig",
            name="acceptability_template",
            field=models.TextField(
                default='You are one of several expert raters in a blinded study. Grade the output below on this acceptability scale:\n$grades\n$context\nOutput to grade:\n"""\n$output\n"""\n\nAnswer with one JSON object only: {"grade": N} with N one of the grades above.'
            ),
        ),
        migrations.AddField(
            model_name="judgeconfig",
            name="pairwise_template",
            field=models.TextField(
                default='You are one of several expert raters in a blinded study. Compare the two outputs below, written for the same case, and say which one is better overall.\n$context\nOutput 1:\n"""\n$first\n"""\n\nOutput 2:\n"""\n$second\n"""\n\nAnswer with one JSON object only: {"choice": "first"} if output 1 is better, {"choice": "second"} if output 2 is better, {"choice": "tie"} if they are equivalent.'
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeanswer",
            constraint=models.UniqueConstraint(
                fields=("config", "run", "item", "order"), name="judgeanswer_unique_per_run"
            ),
        ),
        migrations.AddConstraint(
            model_name="judgeanswer",
            constraint=models.CheckConstraint(
                condition=models.Q(("order__in", ["", "ab", "ba"])), name="judgeanswer_order_valid"
            ),
        ),
    ]
