"""Lesion marks (issue 20): ``LesionMark`` (a reader's mark on a reading) and ``TruthMark``
(a lesion of a positive case, from the truth), both from and to ``marks.csv``.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('readerstudy', '0015_findings'),
    ]

    operations = [
        migrations.CreateModel(
            name='LesionMark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('series', models.CharField(blank=True, max_length=100)),
                ('slice', models.PositiveIntegerField(blank=True, help_text='0-based, in its series', null=True)),
                ('x', models.FloatField()),
                ('y', models.FloatField()),
                ('radius', models.FloatField(blank=True, null=True)),
                ('confidence', models.FloatField()),
                ('position', models.PositiveIntegerField(default=0, help_text="Order of the reading's marks")),
                ('reading', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='marks', to='readerstudy.reading')),
            ],
            options={
                'ordering': ['reading', 'position'],
                'constraints': [models.CheckConstraint(condition=models.Q(('x__gte', 0), ('y__gte', 0)), name='lesionmark_point_nonnegative'), models.CheckConstraint(condition=models.Q(('radius__isnull', True), ('radius__gt', 0), _connector='OR'), name='lesionmark_radius_positive')],
            },
        ),
        migrations.CreateModel(
            name='TruthMark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('lesion', models.PositiveSmallIntegerField()),
                ('series', models.CharField(blank=True, max_length=100)),
                ('slice', models.PositiveIntegerField(blank=True, help_text='0-based, in its series', null=True)),
                ('x', models.FloatField()),
                ('y', models.FloatField()),
                ('radius', models.FloatField(blank=True, null=True)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='truth_marks', to='readerstudy.case')),
            ],
            options={
                'ordering': ['case', 'lesion'],
                'constraints': [models.UniqueConstraint(fields=('case', 'lesion'), name='truthmark_unique_lesion'), models.CheckConstraint(condition=models.Q(('lesion__gte', 1)), name='truthmark_lesion_positive'), models.CheckConstraint(condition=models.Q(('x__gte', 0), ('y__gte', 0)), name='truthmark_point_nonnegative'), models.CheckConstraint(condition=models.Q(('radius__isnull', True), ('radius__gt', 0), _connector='OR'), name='truthmark_radius_positive')],
            },
        ),
    ]
