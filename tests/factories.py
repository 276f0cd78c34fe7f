"""factory_boy factories for the core and evaluation models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from evaluation.models import (
    AcceptabilityGrade,
    ErrorAnnotation,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    Rater,
)
from readerstudy.studies.models import Case, Reader, Reading, ScaleCategory, Study


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-not-secret-123")


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"study-{n}")
    title = factory.Sequence(lambda n: f"Study {n}")
    positive_threshold = 4

    @factory.post_generation
    def categories(self, create: bool, extracted: list[int] | None, **kwargs: object) -> None:
        if not create:
            return
        values = extracted if extracted is not None else list(range(7))
        ScaleCategory.objects.bulk_create(ScaleCategory(study=self, value=v) for v in values)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"C{n}")
    truth = 1


class ReaderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reader

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"R{n}")
    kind = Reader.Kind.HUMAN


class ReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reading

    reader = factory.SubFactory(ReaderFactory)
    case = factory.SubFactory(CaseFactory, study=factory.SelfAttribute("..reader.study"))
    category = 4


class LikertDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LikertDomain

    study = factory.SubFactory(StudyFactory)
    key = factory.Sequence(lambda n: f"domain_{n}")
    label = factory.Sequence(lambda n: f"Domain {n}")


class RaterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rater

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"rater{n}")


class LikertScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LikertScore

    reading = factory.SubFactory(ReadingFactory)
    rater = factory.SubFactory(RaterFactory, study=factory.SelfAttribute("..reading.case.study"))
    domain = factory.SubFactory(
        LikertDomainFactory, study=factory.SelfAttribute("..reading.case.study")
    )
    score = 4


class PairwisePreferenceFactory(factory.django.DjangoModelFactory):
    """A comparison of ``reading_a`` with another reading of its case (``reading_b=None``:
    with the case's reference impression)."""

    class Meta:
        model = PairwisePreference

    reading_a = factory.SubFactory(ReadingFactory)
    case = factory.LazyAttribute(lambda o: (o.reading_a or o.reading_b).case)
    reading_b = factory.SubFactory(
        ReadingFactory,
        case=factory.SelfAttribute("..reading_a.case"),
        reader__study=factory.SelfAttribute("...reading_a.case.study"),
    )
    rater = factory.SubFactory(RaterFactory, study=factory.SelfAttribute("..case.study"))
    choice = PairwisePreference.Choice.A
    left = PairwisePreference.Side.A


class AcceptabilityGradeFactory(factory.django.DjangoModelFactory):
    """A grade of ``reading`` (``reading=None`` and ``case=...``: of the reference)."""

    class Meta:
        model = AcceptabilityGrade

    reading = factory.SubFactory(ReadingFactory)
    case = factory.LazyAttribute(lambda o: o.reading.case)
    rater = factory.SubFactory(RaterFactory, study=factory.SelfAttribute("..case.study"))
    grade = 3


class ErrorAnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ErrorAnnotation

    reading = factory.SubFactory(ReadingFactory)
    case = factory.LazyAttribute(lambda o: o.reading.case)
    rater = factory.SubFactory(RaterFactory, study=factory.SelfAttribute("..case.study"))
    category = "false_finding"
    significant = True
