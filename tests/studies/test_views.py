"""Home page: sign-in required, one section per role of the user."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from readerstudy.studies.models import StudyMember
from tests.factories import StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_requires_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_renders(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_home_shows_each_role_of_the_user_with_its_studies(client: Client) -> None:
    user = UserFactory()
    user.groups.add(Group.objects.get(name="reader"), Group.objects.get(name="statistician"))
    mine = StudyFactory(title="My NME study")
    StudyFactory(title="Someone else's study")
    StudyMember.objects.create(study=mine, user=user, role="reader")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "As reader" in html and "As statistician" in html
    assert "As coordinator" not in html and "As rater" not in html
    assert "My NME study" in html
    assert "Someone else" not in html


def test_a_user_without_a_role_is_told_what_to_do(client: Client) -> None:
    client.force_login(UserFactory())
    assert "has no role yet" in client.get("/").content.decode()


def test_admin_is_reachable_for_staff_coordinators(client: Client) -> None:
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    assert client.get("/admin/readerstudy/study/").status_code == 200


def test_the_study_page_is_404_for_a_user_who_is_not_a_member(client: Client) -> None:
    user = UserFactory()
    user.groups.add(Group.objects.get(name="coordinator"))
    study = StudyFactory()
    client.force_login(user)
    assert client.get(f"/studies/{study.slug}/").status_code == 404
    assert client.get("/studies/no-such-study/").status_code == 404


def test_the_study_page_needs_the_group_as_well_as_the_membership(client: Client) -> None:
    user = UserFactory()
    study = StudyFactory()
    StudyMember.objects.create(study=study, user=user, role="coordinator")
    client.force_login(user)
    assert client.get(f"/studies/{study.slug}/").status_code == 404
    user.groups.add(Group.objects.get(name="coordinator"))
    response = client.get(f"/studies/{study.slug}/")
    assert response.status_code == 200
    assert study.title in response.content.decode()


def test_a_reader_member_sees_the_study_but_not_its_people(client: Client) -> None:
    user = UserFactory()
    user.groups.add(Group.objects.get(name="reader"))
    study = StudyFactory()
    StudyMember.objects.create(study=study, user=user, role="reader")
    client.force_login(user)
    html = client.get(f"/studies/{study.slug}/").content.decode()
    assert "People" not in html and "Overview" not in html


def test_every_page_links_a_favicon_that_is_served(client: Client) -> None:
    user = UserFactory()
    signed_in = Client()
    signed_in.force_login(user)
    for page in (client.get("/accounts/login/"), signed_in.get("/")):
        icons = re.findall(r'<link rel="icon" href="([^"]+)"', page.content.decode())
        assert icons, "no icon linked"
        for href in icons:
            response = client.get(href)
            assert response.status_code == 200, href
            assert response["Content-Type"] in (
                "image/svg+xml",
                "image/x-icon",
                "image/vnd.microsoft.icon",
            )
            if hasattr(response, "close"):
                response.close()
    # pages that link no icon (the admin) make browsers ask for /favicon.ico
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
