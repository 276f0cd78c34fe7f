"""The core API: JSON errors, tokens, who-am-I, studies scoped to the caller's roles."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.core import roles
from readerstudy.studies.pseudonyms import pseudonym
from tests.api.conftest import member
from tests.factories import ReaderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_unknown_api_paths_answer_json_404(api_as, people) -> None:
    response = api_as(people[roles.COORDINATOR]).get("/api/no/such/thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


def test_anonymous_callers_get_401_json(api_study) -> None:
    response = APIClient().get("/api/studies/")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_a_token_is_exchanged_for_username_and_password_and_audited(db) -> None:
    user = UserFactory(username="alice")
    response = APIClient().post(
        "/api/auth/token/", {"username": "alice", "password": "pw-not-secret-123"}, format="json"
    )
    assert response.status_code == 201
    key = response.json()["token"]
    assert Token.objects.get(user=user).key == key
    assert AuditEvent.objects.filter(action="api_token_created", actor=user).exists()
    me = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/me/")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_a_new_token_replaces_the_old_one(db) -> None:
    UserFactory(username="alice")
    client = APIClient()
    body = {"username": "alice", "password": "pw-not-secret-123"}
    first = client.post("/api/auth/token/", body, format="json").json()["token"]
    second = client.post("/api/auth/token/", body, format="json").json()["token"]
    assert first != second
    assert APIClient(HTTP_AUTHORIZATION=f"Token {first}").get("/api/me/").status_code == 401
    assert APIClient(HTTP_AUTHORIZATION=f"Token {second}").get("/api/me/").status_code == 200


def test_wrong_passwords_are_refused_audited_and_throttled(db, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory(username="alice")
    client = APIClient()
    for _ in range(3):
        response = client.post(
            "/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json"
        )
        assert response.status_code == 401
    assert AuditEvent.objects.filter(action="login_failed", target="alice").count() == 3
    # Even the right password is refused now, without being checked.
    response = client.post(
        "/api/auth/token/", {"username": "alice", "password": "pw-not-secret-123"}, format="json"
    )
    assert response.status_code == 429
    assert not Token.objects.exists()


def test_token_requests_name_the_missing_fields(db) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "alice"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_revoking_a_token_stops_it_working_and_is_audited(api_as, people) -> None:
    user = people[roles.RATER]
    client = api_as(user)
    assert client.delete("/api/auth/token/").status_code == 204
    assert client.get("/api/me/").status_code == 401
    assert AuditEvent.objects.filter(action="api_token_revoked", actor=user).exists()


def test_studies_list_only_the_callers_studies_with_their_roles(
    api_as, people, api_study, other_study
) -> None:
    body = api_as(people[roles.READER]).get("/api/studies/").json()
    assert body["count"] == 1
    [study] = body["results"]
    assert study["slug"] == "api-study"
    assert study["your_roles"] == ["reader"]
    assert [c["value"] for c in study["categories"]] == list(range(7))


def test_a_user_without_a_platform_role_gets_403(api_as, api_study) -> None:
    assert api_as(UserFactory()).get("/api/studies/").status_code == 403


@pytest.mark.parametrize("role", roles.ROLES)
def test_other_studies_are_404_for_every_role(api_as, people, other_study, role) -> None:
    response = api_as(people[role]).get(f"/api/studies/{other_study.slug}/")
    assert response.status_code == 404
    assert "other-study" not in response.content.decode()


def test_only_coordinators_and_statisticians_see_the_reference_reader(
    api_as, people, api_study
) -> None:
    api_study.reference_reader = ReaderFactory(study=api_study, code="R3")
    api_study.save()
    blinded = pseudonym(api_study.slug, "reader", "R3")
    for role, expected in (
        (roles.COORDINATOR, "R3"),
        (roles.STATISTICIAN, blinded),  # its pseudonym until unblinding, as in results.json
        (roles.READER, None),
        (roles.RATER, None),
    ):
        body = api_as(people[role]).get(f"/api/studies/{api_study.slug}/").json()
        assert body["reference_reader"] == expected, role
        assert ("R3" in str(body)) == (role == roles.COORDINATOR), role
    listed = api_as(people[roles.STATISTICIAN]).get("/api/studies/").json()["results"]
    assert [s["reference_reader"] for s in listed if s["slug"] == api_study.slug] == [blinded]
    api_study.unblinded_at = timezone.now()
    api_study.save()
    body = api_as(people[roles.STATISTICIAN]).get(f"/api/studies/{api_study.slug}/").json()
    assert body["reference_reader"] == "R3"


def test_a_member_whose_group_was_removed_loses_access(api_as, api_study) -> None:
    user = member(api_study, roles.RATER)
    user.groups.clear()
    assert api_as(user).get(f"/api/studies/{api_study.slug}/").status_code in (403, 404)


def test_the_token_page_creates_shows_once_and_revokes(client, db) -> None:
    user = UserFactory(username="bob")
    client.force_login(user)
    page = client.post("/accounts/token/", {"action": "create"})
    key = Token.objects.get(user=user).key
    assert key in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    assert key not in client.get("/accounts/token/").content.decode()
    client.post("/accounts/token/", {"action": "revoke"})
    assert not Token.objects.filter(user=user).exists()
    actions = list(AuditEvent.objects.filter(actor=user).values_list("action", flat=True))
    assert "api_token_created" in actions and "api_token_revoked" in actions


def test_the_schema_and_swagger_ui_are_served_locally(client, db) -> None:
    client.force_login(UserFactory())
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "unpkg" not in docs.lower()


def test_the_openapi_schema_validates_without_warnings(tmp_path) -> None:
    from django.core.management import call_command

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/studies/api-study/readings/import/"),  # POST only, no role may read
        ("get", "/api/studies/api-study/generation/runs/1/stop/"),
        ("delete", "/api/studies/api-study/cases/C1/"),  # GET and PATCH only
    ],
)
def test_a_method_an_endpoint_lacks_is_405_for_members_and_404_for_others(
    api_as, people, other_study, role, method, path
) -> None:
    member_response = getattr(api_as(people[role]), method)(path)
    assert member_response.status_code == 405, member_response.content
    outsider = member(other_study, role)
    assert getattr(api_as(outsider), method)(path).status_code == 404
