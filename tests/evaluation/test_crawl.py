"""What a demo rater can reach is blind: every page, JSON answer and header.

The demo study is loaded once for the module (committed, without its synthetic images, and
removed at the end): a demo rater crawls from their worklist following every link, and a URL
sweep tries every route of the whole project with ids of things that are not theirs. Images
are crawled in ``test_blind_mixed.py``, whose stored image carries metadata on purpose.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from evaluation.models import (
    REFERENCE_READER,
    Instrument,
    LikertScore,
    Rater,
    RatingSession,
    RatingTask,
)
from evaluation.services import RatingSessionOptions, rating_session_create, rating_session_open
from fixtures.accounts import DEMO_ACCOUNTS
from fixtures.demo import STUDY_SLUG
from fixtures.demo_cxr import CXR_SLUG
from fixtures.demo_cxr import RATERS as CXR_RATERS
from fixtures.demo_judges import JUDGES as DEMO_JUDGES
from fixtures.demo_sessions import (
    ACCEPTABILITY_SESSION_NAME,
    ERRORS_SESSION_NAME,
    PAIRWISE_SESSION_NAME,
)
from fixtures.demo_sessions import RATING_SESSION_NAME as DEMO_SESSION_NAME
from readerstudy.audit.models import AuditEvent
from readerstudy.bundles.services import study_delete
from readerstudy.studies.models import Reading, Study
from tests.evaluation.blinding_checks import (
    API_SKIP,
    CrawlResult,
    Forbidden,
    crawl,
    forbidden_patterns,
)

pytestmark = pytest.mark.django_db

RATERS = ("rater1", "rater2", "rater3")


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-media")


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any, demo_media: Path) -> Iterator[Study]:
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], MEDIA_ROOT=demo_media
    )
    with django_db_blocker.unblock(), fast:
        call_command("demo", "--no-images", stdout=StringIO())
        study = Study.objects.get(slug=STUDY_SLUG)
        try:
            yield study
        finally:
            # both demo studies: the second one (chest radiographs) would outlive the module
            for loaded in Study.objects.filter(slug__in=[STUDY_SLUG, CXR_SLUG]):
                study_delete(study=loaded, delete_files=False)
            get_user_model().objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).delete()
            AuditEvent.objects.all().delete()


@pytest.fixture(autouse=True)
def _demo_media(settings: Any, demo_media: Path) -> None:
    settings.MEDIA_ROOT = demo_media


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="demo")
    return client


def fetcher(client: Client) -> Any:
    def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
        response = client.get(url)
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status_code, headers, response.content

    return fetch


def token_client(user: Any) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def assert_api_crawl_blind(api: APIClient, own: list[RatingTask], forbidden: Any) -> None:
    """The rater's API crawl (sessions, items, drafts and every URL in the answers) carries
    nothing ``forbidden`` and reaches each of ``own`` tasks' items."""
    result: CrawlResult = crawl(
        fetcher(api),
        ["/api/rating/sessions/", "/api/rating/items/?page_size=5000"],
        forbidden,
        skip=API_SKIP,
    )
    assert not result.problems, "\n".join(result.problems[:40])
    for task in own:
        assert result.visited[f"/api/rating/items/{task.item.public_id}/"] == 200


def test_the_demo_opens_a_ready_session_for_the_three_raters(demo: Study) -> None:
    session = RatingSession.objects.get(study=demo, name=DEMO_SESSION_NAME)
    assert session.status == "open" and session.raters_per_item == 2
    assert sorted(session.assignments.values_list("rater__user__username", flat=True)) == list(
        RATERS
    )
    assert set(session.items.values_list("reading__reader__kind", flat=True)) == {"human"}
    assert session.items.count() == 36
    assert RatingTask.objects.filter(assignment__session=session).count() == 72
    # No demo rater is given an output they already scored in the imported ratings.
    for task in RatingTask.objects.filter(assignment__session=session).select_related(
        "assignment__rater", "item"
    ):
        assert not LikertScore.objects.filter(
            rater=task.assignment.rater, reading_id=task.item.reading_id
        ).exists()
    for username in RATERS:
        html = login(username).get("/rating/").content.decode()
        assert DEMO_SESSION_NAME in html and "0 of 24 submitted" in html


def test_every_page_and_json_answer_a_demo_rater_reaches_is_blind(demo: Study) -> None:
    username = "rater1"
    client = login(username)
    # Work a little first so that drafts, submitted items and review pages are crawled too.
    session = RatingSession.objects.get(study=demo, name=DEMO_SESSION_NAME)
    tasks = list(
        RatingTask.objects.filter(
            assignment__session=session, assignment__rater__user__username=username
        )
        .order_by("position")
        .select_related("item")[:2]
    )
    scores = {d.key: 4 for d in session.domains.all()}
    first, second = (t.item.public_id for t in tasks)
    submitted = client.post(
        f"/rating/items/{first}/submit.json",
        data=json.dumps({"token": str(uuid.uuid4()), "version": 0, "scores": scores}),
        content_type="application/json",
    )
    saved = client.post(
        f"/rating/items/{second}/draft.json",
        data=json.dumps({"version": 0, "scores": {"coherence": 2}}),
        content_type="application/json",
    )
    others = [u for u in RATERS if u != username] + [
        "r3",
        "r4",
        "r5",
        "coordinator",
        "statistician",
    ]
    forbidden = forbidden_patterns(demo, other_usernames=others)
    # The second demo study's judgment sessions (pairwise, acceptability) are open for the
    # same raters and answered by two LLM judges: its sources, cases and judges are secret too.
    cxr = forbidden_patterns(Study.objects.get(slug=CXR_SLUG), other_usernames=others)
    judges = [code for code, _, _ in DEMO_JUDGES] + [model for _, model, _ in DEMO_JUDGES]
    forbidden = Forbidden(
        forbidden.patterns
        | {f"cxr {name}": pattern for name, pattern in cxr.patterns.items()}
        | {"judge": re.compile(r"(?<![\w-])(?:" + "|".join(judges) + r")(?![\w-])")},
        forbidden.allowed_texts + cxr.allowed_texts,
    )
    for response in (submitted, saved):
        assert response.status_code == 200
        assert forbidden.leaks(response.content.decode()) == []
    own = RatingTask.objects.filter(
        assignment__session=session, assignment__rater__user__username=username
    ).select_related("item")
    # Review pages are reached by submitting the item form; add them to the crawl's start.
    reviews = [f"/rating/items/{t.item.public_id}/review/" for t in own]
    result: CrawlResult = crawl(fetcher(client), ["/rating/", "/", *reviews], forbidden)
    assert not result.problems, "\n".join(result.problems[:40])
    for task in own:
        assert result.visited[f"/rating/items/{task.item.public_id}/"] == 200
        assert result.visited[f"/rating/items/{task.item.public_id}/review/"] == 200
        assert result.visited[f"/rating/items/{task.item.public_id}/draft.json"] == 200
    every_task = RatingTask.objects.filter(assignment__rater__user__username=username)
    assert every_task.filter(assignment__session__study__slug=CXR_SLUG).count() > 20
    assert result.n_json == every_task.count() and result.n_html > 50
    assert all(status in (200, 302, 405) for status in result.visited.values()), result.visited


def test_every_api_answer_a_demo_rater_reaches_is_blind(demo: Study) -> None:
    """The same checks over the JSON API, with a token: every list page, item, draft, worklist
    entry and link found in the answers (after submitting one item and saving a draft)."""
    username = "rater2"
    user = get_user_model().objects.get(username=username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    items = client.get("/api/rating/items/", {"page_size": 5000}).json()["results"]
    first, second = items[0]["id"], items[1]["id"]
    session = RatingSession.objects.get(study=demo, name=DEMO_SESSION_NAME)
    scores = {d.key: 3 for d in session.domains.all()}
    submitted = client.post(
        f"/api/rating/items/{first}/submit/",
        {"token": str(uuid.uuid4()), "version": 0, "scores": scores},
        format="json",
    )
    saved = client.put(
        f"/api/rating/items/{second}/draft/",
        {"version": 0, "scores": {"coherence": 2}},
        format="json",
    )
    others = [u for u in RATERS if u != username] + [
        "r3",
        "r4",
        "r5",
        "coordinator",
        "statistician",
    ]
    forbidden = forbidden_patterns(demo, other_usernames=others)
    # The second demo study's judgment sessions (pairwise, acceptability) are open for the
    # same raters and answered by two LLM judges: its sources, cases and judges are secret too.
    cxr = forbidden_patterns(Study.objects.get(slug=CXR_SLUG), other_usernames=others)
    judges = [code for code, _, _ in DEMO_JUDGES] + [model for _, model, _ in DEMO_JUDGES]
    forbidden = Forbidden(
        forbidden.patterns
        | {f"cxr {name}": pattern for name, pattern in cxr.patterns.items()}
        | {"judge": re.compile(r"(?<![\w-])(?:" + "|".join(judges) + r")(?![\w-])")},
        forbidden.allowed_texts + cxr.allowed_texts,
    )
    for response in (submitted, saved):
        assert response.status_code == 200
        assert forbidden.leaks(response.content.decode()) == []

    def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
        response = client.get(url)
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    starts = [
        "/api/me/",
        "/api/studies/",
        f"/api/studies/{demo.slug}/",
        "/api/rating/sessions/",
        "/api/rating/items/?page_size=5",
        "/api/rating/items/?state=submitted",
        "/api/rating/items/?state=draft",
    ]
    result: CrawlResult = crawl(fetch, starts, forbidden, skip=API_SKIP)
    assert not result.problems, "\n".join(result.problems[:40])
    own = RatingTask.objects.filter(
        assignment__session=session, assignment__rater__user__username=username
    ).select_related("item")
    for task in own:
        item = f"/api/rating/items/{task.item.public_id}/"
        assert result.visited[item] == 200
        assert result.visited[f"{item}draft/"] == 200
        assert result.visited[f"{item}submit/"] == 405
    # Every page of the list was followed (24 items, 5 a page).
    assert result.visited["/api/rating/items/?page=5&page_size=5"] == 200
    assert all(status in (200, 405) for status in result.visited.values()), result.visited
    assert result.n_json >= 2 * own.count() + 7


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _fill(route: str, values: dict[str, list[str]]) -> list[str]:
    """Concrete URLs for a route: each ``<conv:name>`` replaced by candidate values."""
    urls = [route]
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", route):
        converter, name = match.group(1) or "str", match.group(2)
        options = values.get(name) or values.get(converter) or ["1"]
        urls = [u.replace(match.group(0), v, 1) for u in urls for v in options]
    return ["/" + u.lstrip("^").rstrip("$") for u in urls if "(?" not in u and "\\" not in u]


@pytest.mark.slow
def test_a_rater_who_tries_every_route_of_the_project_with_foreign_ids_learns_nothing(
    demo: Study,
) -> None:
    client = login("rater1")
    session = RatingSession.objects.get(study=demo, name=DEMO_SESSION_NAME)
    mine = RatingTask.objects.filter(
        assignment__session=session, assignment__rater__user__username="rater1"
    )
    foreign = list(
        session.items.exclude(pk__in=mine.values("item_id")).values_list("public_id", flat=True)[:2]
    )
    readings = Reading.objects.filter(case__study=demo)
    ints = sorted(
        {
            str(session.pk),
            *map(str, readings.values_list("pk", flat=True)[:3]),
            *map(str, readings.filter(reader__kind="model").values_list("pk", flat=True)[:3]),
            *map(str, demo.readers.values_list("pk", flat=True)[:3]),
            *map(str, demo.cases.values_list("pk", flat=True)[:2]),
            "1",
            "2",
        }
    )
    values = {
        "slug": [demo.slug],
        "public_id": foreign,
        "int": ints,
        "str": [demo.slug, "R3", "A2", foreign[0]],
        "path": ["x"],
        "uuid": [str(uuid.uuid4())],
    }
    forbidden = forbidden_patterns(demo, other_usernames=["rater2", "rater3", "r3", "r4", "r5"])
    checked = 0
    for route in _routes(get_resolver().url_patterns):
        if route.startswith(("admin/", "accounts/", "api/schema", "api/docs", "static/")):
            continue
        for url in _fill(route, values):
            response = client.get(url)
            checked += 1
            body = response.content.decode("utf-8", errors="replace")
            if response.status_code in (403, 404, 405) or (
                response.status_code == 302 and "/accounts/login/" in response["Location"]
            ):
                continue
            assert response.status_code in (200, 302), (url, response.status_code)
            assert forbidden.leaks(body) == [], url
    assert checked > 20
    for public_id in foreign:
        assert client.get(f"/rating/items/{public_id}/").status_code == 404
    key = f"/studies/{demo.slug}/rating/sessions/{session.pk}/key/"
    assert client.get(key).status_code == 404


def test_every_pairwise_and_acceptability_page_and_api_answer_a_demo_rater_reaches_is_blind(
    demo: Study,
) -> None:
    """Pairwise (two models, and a model vs the reference impression) and acceptability
    (humans and models mixed) sessions for rater3: after an answer and a draft in each, the
    pages and the JSON API the rater reaches carry no reader code, label or case id."""
    username = "rater3"
    user = get_user_model().objects.get(username=username)
    rater = Rater.objects.get(study=demo, user=user)
    models = list(demo.readers.filter(code__in=["A1", "E"]).order_by("code"))
    humans = list(demo.readers.filter(kind="human").order_by("code")[:1])
    for case in demo.cases.all()[:6]:
        case.reference_impression = "Benign-appearing enhancement; routine follow-up advised."
        case.save()
    runs = sorted(set(Reading.objects.filter(reader=models[0]).values_list("run", flat=True)))[:1]
    sessions = []
    for name, instrument, readers, pairs in (
        (
            "Crawl pairwise",
            Instrument.PAIRWISE,
            models,
            [(models[0].code, models[1].code), (models[1].code, REFERENCE_READER)],
        ),
        ("Crawl acceptability", Instrument.ACCEPTABILITY, models + humans, []),
    ):
        session = rating_session_create(
            study=demo,
            raters=[rater],
            options=RatingSessionOptions(
                name=name,
                instrument=instrument,
                readers=readers,
                runs=runs,
                domains=[],
                pairs=pairs,
                raters_per_item=1,
                case_sample=6,
                seed=99,
            ),
        )
        sessions.append(
            rating_session_open(session=session, actor=None, confirm_unresolved_leaks=True)
        )
    client = login(username)
    answers = {Instrument.PAIRWISE: {"choice": "left"}, Instrument.ACCEPTABILITY: {"grade": 3}}
    for session in sessions:
        first, second = (
            t.item.public_id
            for t in RatingTask.objects.filter(assignment__session=session)
            .order_by("position")
            .select_related("item")[:2]
        )
        answer = answers[session.instrument]
        assert (
            client.post(
                f"/rating/items/{first}/submit.json",
                data=json.dumps({"token": str(uuid.uuid4()), "version": 0, "scores": answer}),
                content_type="application/json",
            ).status_code
            == 200
        )
        assert (
            client.post(
                f"/rating/items/{second}/draft.json",
                data=json.dumps({"version": 0, "scores": answer}),
                content_type="application/json",
            ).status_code
            == 200
        )
    others = [u for u in RATERS if u != username] + [
        "r3",
        "r4",
        "r5",
        "coordinator",
        "statistician",
    ]
    forbidden = forbidden_patterns(demo, other_usernames=others)
    starts = ["/rating/", *(f"/rating/sessions/{s.pk}/resume/" for s in sessions)]
    result: CrawlResult = crawl(fetcher(client), starts, forbidden)
    assert not result.problems, "\n".join(result.problems[:40])
    own = list(RatingTask.objects.filter(assignment__session__in=sessions).select_related("item"))
    assert len(own) > 12
    for task in own:
        assert result.visited[f"/rating/items/{task.item.public_id}/"] == 200
        assert result.visited[f"/rating/items/{task.item.public_id}/draft.json"] == 200

    api = token_client(user)
    assert_api_crawl_blind(api, own, forbidden)
    pairwise_item = api.get(f"/api/rating/items/{own[0].item.public_id}/").json()
    assert set(pairwise_item) >= {"a_text", "b_text", "options", "draft"}


def test_the_second_demo_opens_judgment_sessions_for_the_three_raters(demo: Study) -> None:
    cxr = Study.objects.get(slug=CXR_SLUG)
    sessions = {s.instrument: s for s in RatingSession.objects.filter(study=cxr)}
    assert set(sessions) == {Instrument.PAIRWISE, Instrument.ACCEPTABILITY, Instrument.ERRORS}
    for session in sessions.values():
        assert session.status == "open" and session.allow_amend
        assert sorted(session.assignments.values_list("rater__user__username", flat=True)) == list(
            RATERS
        )
    pairwise = sessions[Instrument.PAIRWISE]
    assert pairwise.items.count() == 16  # 8 cases x (CXR-A vs CXR-B, CXR-A vs reference)
    assert pairwise.items.filter(reading_b__isnull=True).count() == 8
    for instrument in (Instrument.ACCEPTABILITY, Instrument.ERRORS):
        items = sessions[instrument].items
        assert items.count() == 24 and items.filter(reference=True).count() == 8
    for username in RATERS:
        html = login(username).get("/rating/").content.decode()
        assert "Demo pairwise" in html and "0 of 16 submitted" in html
        assert "Demo error annotation" in html and "0 of 24 submitted" in html


def test_the_judgment_sessions_of_the_second_demo_are_blind_to_the_reference(
    demo: Study,
) -> None:
    """rater2 answers one item and drafts another of each judgment session of the second demo
    (pairwise with the reference impression, acceptability and error annotation mixing it
    blind with both models), then crawls pages and API: no reader code (CXR-A, CXR-B), case
    id, other rater, and no "reference" anywhere."""
    cxr = Study.objects.get(slug=CXR_SLUG)
    username = "rater2"
    user = get_user_model().objects.get(username=username)
    client = login(username)
    answers = {
        Instrument.PAIRWISE: {"choice": "tie"},
        Instrument.ACCEPTABILITY: {"grade": 2},
        Instrument.ERRORS: {"errors": [{"category": "missed_finding", "significant": True}]},
    }
    sessions = list(RatingSession.objects.filter(study=cxr))
    for session in sessions:
        mine = (
            RatingTask.objects.filter(assignment__session=session, assignment__rater__user=user)
            .order_by("-item__reference", "position")
            .select_related("item")
        )
        first, second = (t.item.public_id for t in mine[:2])
        for url, body in (
            (f"/rating/items/{first}/submit.json", {"token": str(uuid.uuid4()), "version": 0}),
            (f"/rating/items/{second}/draft.json", {"version": 0}),
        ):
            response = client.post(
                url,
                data=json.dumps({**body, "scores": answers[session.instrument]}),
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
    others = [u for u in RATERS if u != username] + ["coordinator", "statistician"]
    forbidden = forbidden_patterns(cxr, other_usernames=[*others, *CXR_RATERS])
    forbidden.patterns["reference"] = re.compile(r"(?<![\w-])reference(?![\w-])", re.I)
    # The worklist and home page also name the first demo study, whose title names its model.
    forbidden = dataclasses.replace(
        forbidden, allowed_texts=(*forbidden.allowed_texts, demo.title, demo.description)
    )
    assert forbidden.leaks("CXR-A vs reference") == [
        "code CXR-A: 'CXR-A'",
        "reference: 'reference'",
    ]
    starts = ["/rating/", *(f"/rating/sessions/{s.pk}/" for s in sessions)]
    result: CrawlResult = crawl(fetcher(client), starts, forbidden)
    assert not result.problems, "\n".join(result.problems[:40])
    own = list(
        RatingTask.objects.filter(
            assignment__session__in=sessions, assignment__rater__user=user
        ).select_related("item", "assignment__session")
    )
    # the three sessions of the demo raters (the judges' two sessions are crawled too)
    names = (PAIRWISE_SESSION_NAME, ACCEPTABILITY_SESSION_NAME, ERRORS_SESSION_NAME)
    of_demo = [t for t in own if t.assignment.session.name in names]
    assert len(of_demo) == 64 and sum(t.item.reference for t in of_demo) == 16
    for task in own:
        assert result.visited[f"/rating/items/{task.item.public_id}/"] == 200
        assert result.visited[f"/rating/items/{task.item.public_id}/draft.json"] == 200
    api = token_client(user)
    assert_api_crawl_blind(api, own, forbidden)
