"""factory_boy factories for the core and evaluation models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from evaluation.models import LikertDomain, LikertScore, Rater
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
