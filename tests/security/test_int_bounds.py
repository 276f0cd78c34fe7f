"""Out-of-range integers in URLs, query strings and bodies are 404 or 400, never 500
(issue 11, finding 12; docs/security.md). Runs on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from readerstudy.core.converters import INT64_MAX
from tests.security.conftest import COORD, RATER, READER, SUPER, World

pytestmark = pytest.mark.django_db

#: Past every column (404 from the URL converter), and past a 32-bit column only.
TOO_BIG = (str(INT64_MAX + 1), "99999999999999999999")
PAST_INT32 = (str(2**31), str(2**32))
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def int_routes() -> list[str]:
    return sorted(
        {r for r in patterns(get_resolver()) if any(c == "int64" for c, _ in CONVERTER.findall(r))}
    )


def test_no_url_pattern_takes_an_unbounded_int() -> None:
    routes = list(patterns(get_resolver()))
    unbounded = [r for r in routes if re.search(r"<int:", r)]
    assert unbounded == [], "use <int64:…> (readerstudy/core/converters.py)"
    assert len(int_routes()) >= 30


def fill(route: str, world: World, number: str) -> str:
    m = world.main
    values = {
        "slug": m.study.slug,
        "token": str(m.own_token),
        "public_id": m.own_item,
        "action": "open",
    }
    return "/" + CONVERTER.sub(
        lambda mo: number if mo.group(1) == "int64" else values.get(mo.group(2), "x"), route
    )


def owner(route: str) -> str:
    """Who can reach the route's view: the reader for reading pages, the rater for rating."""
    if route.startswith(("reading/", "api/reading/")):
        return READER
    if route.startswith(("rating/", "api/rating/")):
        return RATER
    return SUPER


@pytest.mark.parametrize("route", int_routes())
def test_huge_ids_in_every_url_pattern_are_404_never_500(world: World, route: str) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.user(owner(route)))
    for number in TOO_BIG:
        for method in ("get", "post"):
            response = getattr(client, method)(fill(route, world, number))
            assert response.status_code == 404, (method, number, response.status_code)
    for number in PAST_INT32:  # a valid id that no 32-bit column holds: not found either
        for method in ("get", "post"):
            response = getattr(client, method)(fill(route, world, number))
            assert response.status_code < 500, (method, number, response.status_code)


def _body(response: Any) -> str:
    return response.content.decode()


def test_huge_integers_in_bodies_are_400_naming_the_field(world: World) -> None:
    m = world.main
    t, item = m.own_token, m.own_item
    clients = {role: Client(raise_request_exception=False) for role in (READER, RATER, COORD)}
    for role, client in clients.items():
        client.force_login(world.user(role))
    api = {
        role: APIClient(
            raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {world.tokens[role]}"
        )
        for role in (READER, RATER, COORD)
    }
    for number in (INT64_MAX + 1, 10**20, 2**31):
        answer = {"category": 4, "impression": "x", "version": number}
        # JSON endpoints: 400 and the field named.
        json_cases = [
            (clients[RATER], f"/rating/items/{item}/draft.json", {"version": number, "scores": {}}),
            (
                clients[RATER],
                f"/rating/items/{item}/submit.json",
                {"version": number, "token": str(uuid.uuid4())},
            ),
            (clients[READER], f"/reading/{t}/1/draft.json", {"version": number, "category": 4}),
        ]
        for client, url, body in json_cases:
            response = client.post(url, json.dumps(body), content_type="application/json")
            assert response.status_code == 400, (url, number, response.status_code)
            assert "version" in _body(response), url
        api_cases = [
            (
                api[READER],
                "post",
                f"/api/reading/assignments/{t}/cases/1/",
                {**answer, "token": str(uuid.uuid4())},
                "version",
            ),
            (
                api[RATER],
                "put",
                f"/api/rating/items/{item}/draft/",
                {"version": number, "scores": {}},
                "version",
            ),
            (
                api[RATER],
                "post",
                f"/api/rating/items/{item}/submit/",
                {"version": number, "token": str(uuid.uuid4())},
                "version",
            ),
            (
                api[COORD],
                "post",
                f"/api/studies/{m.study.slug}/generation/runs/",
                {"reader": "M9", "limit": number},
                "limit",
            ),
        ]
        for client, method, url, body, field in api_cases:
            response = getattr(client, method)(url, body, format="json")
            assert response.status_code == 400, (url, number, response.status_code)
            assert field in response.json()["errors"], (url, response.json())
        # Pages: the form again with the field's error (reading), or a message (rating).
        reading = clients[READER].post(f"/reading/{t}/1/", {**answer, "token": str(uuid.uuid4())})
        assert reading.status_code == 400 or "less than or equal to" in _body(reading), reading
        rating = clients[RATER].post(f"/rating/items/{item}/", {"version": number}, follow=True)
        assert rating.status_code == 200 and "version: missing or out of range" in _body(rating)
        start = clients[COORD].post(
            f"/studies/{m.study.slug}/generation/configs/{m.config_id}/start/",
            {"action": "start", "n_runs": 1, "mode": "direct", "split": "test", "limit": number},
        )
        assert start.status_code < 500 and "less than or equal to" in _body(start)
