"""Crossover designs (``ReadingDesign``), the AI-draft option and the draft's edit distances.

SQLite rebuilds the reading-session and assignment tables for these fields, which its
cross-table triggers (0005) would block: they are dropped first and re-created last.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from readerstudy.migrations._frozen import create_rules, drop_rules


READING_SESSION_RULES = importlib.import_module(
    "readerstudy.migrations.0005_reading_sessions"
).READING_SESSION_RULES


def drop_triggers(apps, schema_editor):
    drop_rules(schema_editor, READING_SESSION_RULES)


def create_triggers(apps, schema_editor):
    create_rules(schema_editor, READING_SESSION_RULES)


class Migration(migrations.Migration):

    dependencies = [
        ('readerstudy', '0013_studyinvitation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_triggers, create_triggers),
        migrations.CreateModel(
            name='ReadingDesign',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('washout_days', models.PositiveSmallIntegerField(default=28)),
                ('counterbalance', models.BooleanField(default=True, help_text='Half the readers start aided (seeded); else all start unaided.')),
                ('seed', models.BigIntegerField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['study', '-created_at', '-id'],
            },
        ),
        migrations.AddField(
            model_name='readingassignment',
            name='period',
            field=models.PositiveSmallIntegerField(blank=True, help_text='In a crossover design: 1 or 2, when this reader reads it.', null=True),
        ),
        migrations.AddField(
            model_name='readingsession',
            name='ai_draft',
            field=models.BooleanField(default=False, help_text="AI output as editable draft: the impression starts as the model's impression."),
        ),
        migrations.AddField(
            model_name='readingwork',
            name='draft_shown',
            field=models.TextField(blank=True, help_text="AI draft session: the model's impression pre-filled in the form."),
        ),
        migrations.AddField(
            model_name='readingwork',
            name='edit_chars',
            field=models.PositiveIntegerField(blank=True, help_text='Character Levenshtein distance, draft to final text.', null=True),
        ),
        migrations.AddField(
            model_name='readingwork',
            name='edit_words',
            field=models.PositiveIntegerField(blank=True, help_text='Word Levenshtein distance, draft to final text.', null=True),
        ),
        migrations.AddConstraint(
            model_name='readingassignment',
            constraint=models.CheckConstraint(condition=models.Q(('period__isnull', True), ('period__in', [1, 2]), _connector='OR'), name='readingassignment_period_valid'),
        ),
        migrations.AddField(
            model_name='readingdesign',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='readingdesign',
            name='study',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reading_designs', to='readerstudy.study'),
        ),
        migrations.AddField(
            model_name='readingsession',
            name='design',
            field=models.ForeignKey(blank=True, help_text='The crossover design this session is a condition of.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='sessions', to='readerstudy.readingdesign'),
        ),
        migrations.AddConstraint(
            model_name='readingdesign',
            constraint=models.UniqueConstraint(fields=('study', 'name'), name='readingdesign_unique_name'),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
]
