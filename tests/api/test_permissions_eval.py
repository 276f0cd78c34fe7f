"""Who may call each rating, analysis and audit endpoint of the API: one row per endpoint and
object, one expected status per caller.

``ROWS`` is the table (the lead merges it into the global matrix). Each :class:`Row` has a
method, a path factory and an optional body factory taking a :class:`Ctx`, and the expected
status for each caller:

* ``anonymous``: no credentials;
* ``coordinator``, ``reader``, ``rater``, ``statistician``: members of ``api-study`` in that role
  (the rater has items in its open rating session);
* ``outsider``: a user holding every role in ``other-study`` only (with items of its own there);
* ``norole``: a signed-in user with no role at all.

Object ids cover the caller's own item, another rater's item of the same session, and a session
and item of the other study.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from evaluation.models import LikertDomain, RatingSession, RatingTask
from evaluation.services import (
    RatingSessionOptions,
    rating_session_create_for_users,
    rating_session_open,
)
from readerstudy.core import roles
from readerstudy.studies.models import CaseImage, Reader, Reading, Study, StudyMember
from tests.api.conftest import member
from tests.conftest import png_bytes
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

CALLERS: tuple[str, ...] = (
    "anonymous",
    "coordinator",
    "reader",
    "rater",
    "statistician",
    "outsider",
    "norole",
)


@dataclass
class Ctx:
    """The ids the rows need, and one user per caller."""

    slug: str
    other_slug: str
    session: int
    other_session: int
    mine: str  # an item of the rater
    theirs: str  # an item of another rater of the same session
    other_item: str  # an item of the other study
    users: dict[str, Any]


@dataclass(frozen=True)
class Row:
    method: str
    path: Callable[[Ctx], str]
    expected: dict[str, int]
    body: Callable[[Ctx], Any] | None = None
    name: str = ""


def _expect(default: int, **overrides: int) -> dict[str, int]:
    out = dict.fromkeys(CALLERS, default)
    out["anonymous"] = 401
    out.update(overrides)
    return out


#: Endpoints of the rater: any platform role may ask, only the rater's own items answer.
RATER_LIST = _expect(200, norole=403)
OWN_ITEM = _expect(404, rater=200, norole=403)
NOBODYS_ITEM = _expect(404, norole=403)
OUTSIDERS_ITEM = _expect(404, outsider=200, norole=403)
#: Endpoints of the study's coordinators (other roles 403, other studies 404).
COORDINATORS = _expect(403, coordinator=200, outsider=404, norole=404)
COORDINATORS_OBJECT_OF_OTHER_STUDY = _expect(403, coordinator=404, outsider=404, norole=404)
ANALYSTS = _expect(403, coordinator=200, statistician=200, outsider=404, norole=404)


def _submit(ctx: Ctx) -> dict[str, Any]:
    return {"token": str(uuid.uuid4()), "version": 0, "scores": {"correctness": 4}}


def _new_session(ctx: Ctx) -> dict[str, Any]:
    return {"name": "New", "readers": ["M1"], "runs": [1], "raters": ["rater1", "rater-two"]}


def _import(ctx: Ctx) -> dict[str, Any]:
    return {
        "rows": [
            {
                "rater_id": "panel1",
                "reader_id": "M1",
                "case_id": "C1",
                "run": 1,
                "domain": "correctness",
                "score": 3,
            }
        ]
    }


ROWS: list[Row] = [
    Row("GET", lambda c: "/api/rating/sessions/", RATER_LIST, name="rater sessions"),
    Row("GET", lambda c: "/api/rating/items/", RATER_LIST, name="rater items"),
    Row("GET", lambda c: f"/api/rating/items/{c.mine}/", OWN_ITEM, name="own item"),
    Row("GET", lambda c: f"/api/rating/items/{c.theirs}/", NOBODYS_ITEM, name="other rater's item"),
    Row("GET", lambda c: f"/api/rating/items/{c.other_item}/", OUTSIDERS_ITEM, name="other study's item"),
    Row("GET", lambda c: f"/api/rating/items/{c.mine}/draft/", OWN_ITEM, name="own draft"),
    Row("PUT", lambda c: f"/api/rating/items/{c.mine}/draft/", OWN_ITEM,
        body=lambda c: {"version": 0, "scores": {"correctness": 2}}, name="save own draft"),
    Row("PUT", lambda c: f"/api/rating/items/{c.theirs}/draft/", NOBODYS_ITEM,
        body=lambda c: {"version": 0, "scores": {"correctness": 2}}, name="save other's draft"),
    Row("POST", lambda c: f"/api/rating/items/{c.mine}/submit/", OWN_ITEM, body=_submit,
        name="submit own item"),
    Row("POST", lambda c: f"/api/rating/items/{c.theirs}/submit/", NOBODYS_ITEM, body=_submit,
        name="submit other's item"),
    Row("POST", lambda c: f"/api/rating/items/{c.other_item}/submit/", OUTSIDERS_ITEM,
        body=_submit, name="submit other study's item"),
    Row("GET", lambda c: f"/api/rating/items/{c.mine}/images/1/", OWN_ITEM, name="own image"),
    Row("GET", lambda c: f"/api/rating/items/{c.theirs}/images/1/", NOBODYS_ITEM,
        name="other's image"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/rating-sessions/", COORDINATORS,
        name="sessions"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.session}/", COORDINATORS,
        name="session"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.other_session}/",
        COORDINATORS_OBJECT_OF_OTHER_STUDY, name="other study's session"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.session}/key/",
        COORDINATORS, name="unblinding key"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.other_session}/key/",
        COORDINATORS_OBJECT_OF_OTHER_STUDY, name="other study's key"),
    Row("GET", lambda c: f"/api/studies/{c.other_slug}/rating-sessions/{c.other_session}/key/",
        _expect(404, outsider=200), name="key of the other study"),
    # Past the permission check the coordinator's new session is refused (400): both raters
    # have these outputs pending in the open session (tests/security has the 201).
    Row("POST", lambda c: f"/api/studies/{c.slug}/rating-sessions/", {**COORDINATORS,
        "coordinator": 400}, body=_new_session, name="create a session"),
    Row("POST", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.session}/open/",
        {**COORDINATORS, "coordinator": 409}, body=lambda c: {}, name="open (already open)"),
    Row("POST", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.session}/close/",
        COORDINATORS, name="close"),
    Row("POST", lambda c: f"/api/studies/{c.slug}/rating-sessions/{c.other_session}/close/",
        COORDINATORS_OBJECT_OF_OTHER_STUDY, name="close the other study's session"),
    Row("POST", lambda c: f"/api/studies/{c.slug}/scores/import/",
        {**COORDINATORS, "coordinator": 201}, body=_import, name="scores import"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/analysis/results/", ANALYSTS, name="results"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/exports/readings.csv/", ANALYSTS,
        name="readings export"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/exports/likert.csv/", ANALYSTS,
        name="likert export"),
    Row("GET", lambda c: f"/api/studies/{c.slug}/audit/", COORDINATORS, name="audit log"),
    Row("GET", lambda c: f"/api/studies/{c.other_slug}/audit/", _expect(404, outsider=200),
        name="other study's audit log"),
]  # fmt: skip


def _study_with_session(study: Study, rater_users: list[Any], coordinator: Any) -> RatingSession:
    """Two readers' outputs on four cases with images, one domain, an open session."""
    readers = [
        Reader.objects.create(study=study, code="R1", kind="human"),
        Reader.objects.create(study=study, code="M1", kind="model", label="Model one"),
    ]
    for i in range(1, 5):
        case = CaseFactory(study=study, code=f"C{i}", truth=i % 2, position=i)
        image = CaseImage(
            case=case, original_name=f"C{i}.png", sha256="x", content_type="image/png"
        )
        image.file.save(f"C{i}.png", ContentFile(png_bytes(60)))
        for reader in readers:
            Reading.objects.create(
                reader=reader, case=case, category=2 + 2 * (i % 2), impression=f"Finding {i}."
            )
    domain = LikertDomain.objects.create(study=study, key="correctness", label="Correctness")
    session = rating_session_create_for_users(
        study=study,
        options=RatingSessionOptions(
            name="Permissions",
            readers=readers,
            runs=[1],
            domains=[domain],
            raters_per_item=1,
            seed=7,
            show_images=True,
        ),
        users=rater_users,
    )
    return rating_session_open(session=session, actor=coordinator, confirm_unresolved_leaks=True)


def _item_of(user: Any, session: RatingSession) -> str:
    return (
        RatingTask.objects.filter(assignment__session=session, assignment__rater__user=user)
        .order_by("position")
        .values_list("item__public_id", flat=True)[0]
    )


@pytest.fixture
def ctx(
    people: dict[str, Any], api_study: Study, other_study: Study, settings: Any, tmp_path: Any
) -> Ctx:
    settings.MEDIA_ROOT = tmp_path
    second_rater = member(api_study, roles.RATER, "rater-two")
    session = _study_with_session(
        api_study, [people[roles.RATER], second_rater], people[roles.COORDINATOR]
    )
    outsider = UserFactory(username="outsider")
    for role in roles.ROLES:
        outsider.groups.add(Group.objects.get(name=role))
        StudyMember.objects.create(study=other_study, user=outsider, role=role)
    other_session = _study_with_session(other_study, [outsider], outsider)
    return Ctx(
        slug=api_study.slug,
        other_slug=other_study.slug,
        session=session.pk,
        other_session=other_session.pk,
        mine=_item_of(people[roles.RATER], session),
        theirs=_item_of(second_rater, session),
        other_item=_item_of(outsider, other_session),
        users={**people, "anonymous": None, "outsider": outsider, "norole": UserFactory()},
    )


@pytest.mark.parametrize(
    ("row", "caller"),
    [(row, caller) for row in ROWS for caller in CALLERS],
    ids=[f"{row.method} {row.name} as {caller}" for row in ROWS for caller in CALLERS],
)
def test_the_caller_gets_the_expected_status(row: Row, caller: str, ctx: Ctx, api_as) -> None:
    client = api_as(ctx.users[caller])
    data = row.body(ctx) if row.body else None
    response = getattr(client, row.method.lower())(row.path(ctx), data, format="json")
    assert response.status_code == row.expected[caller], getattr(response, "content", b"")[:300]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json")


def test_every_route_of_this_area_has_a_row() -> None:
    from django.urls import get_resolver

    from analysis import api_urls
    from evaluation.api import urls as rating_urls
    from readerstudy.bundles.api import urls as bundle_urls
    from readerstudy.studies.api import audit

    modules = (rating_urls, bundle_urls, api_urls, audit)
    names = {p.name for module in modules for p in module.urlpatterns}
    covered = {get_resolver().resolve(row.path(_SAMPLE)).url_name for row in ROWS}
    assert names == covered


_SAMPLE = Ctx("a", "b", 1, 2, "x1", "x2", "x3", {})
