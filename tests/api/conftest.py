"""Fixtures of the API tests: users in each role of one study, and an API client per user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from readerstudy.core import roles
from readerstudy.studies.models import Study, StudyMember
from tests.factories import StudyFactory, UserFactory


def member(study: Study, role: str, username: str | None = None):
    """A user holding ``role`` on the platform and in ``study``."""
    user = UserFactory(username=username) if username else UserFactory()
    user.groups.add(Group.objects.get(name=role))
    StudyMember.objects.create(study=study, user=user, role=role)
    return user


@pytest.fixture
def api_study(db: None) -> Study:
    return StudyFactory(slug="api-study")


@pytest.fixture
def other_study(db: None) -> Study:
    return StudyFactory(slug="other-study")


@pytest.fixture
def people(api_study: Study) -> dict[str, object]:
    """One user per role in ``api_study``."""
    return {role: member(api_study, role, f"{role}1") for role in roles.ROLES}


@pytest.fixture
def api_as() -> Callable[[object], APIClient]:
    """An API client authenticated with a real token of ``user`` (``None``: anonymous)."""

    def make(user: object | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def world(api_study: Study, other_study: Study, people: dict[str, object]) -> object:
    """Cases, readers, readings and reading sessions in ``api_study`` and ``other_study``
    (tests/api/world_core.py)."""
    from tests.api.world_core import make_world

    return make_world(api_study, other_study, people)
