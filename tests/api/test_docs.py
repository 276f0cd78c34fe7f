"""``GET /api/`` lists the API's entry points; ``/api/docs/`` (Swagger UI) runs under the
app's strict Content-Security-Policy: no inline script, everything served by the app, and in
Chromium the operations list appears with no CSP violation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.core import roles
from tests.browser import PageMaker

pytestmark = pytest.mark.django_db


def test_the_api_root_is_an_index_of_absolute_links_that_all_answer(api_as, people) -> None:
    response = APIClient().get("/api/")
    assert response.status_code == 200
    body = response.json()
    links = body["links"]
    assert {"auth_token", "me", "schema", "docs", "studies"} <= set(links)
    assert set(body["descriptions"]) == set(links)
    assert links["studies"] == "http://testserver/api/studies/"
    client = api_as(people[roles.STATISTICIAN])
    for key, url in links.items():
        status = client.get(url).status_code
        # the token endpoint answers GET with 405 (POST a username and password)
        assert status == (405 if key == "auth_token" else 200), (key, url, status)


def test_the_swagger_page_has_no_inline_script_and_loads_only_local_assets() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)  # type: ignore[union-attr]
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 3
    for attrs, body in scripts:
        assert 'src="/static/' in attrs and body.strip() == "", attrs
    assert "readerstudy/api_docs.js" in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not urlsplit(url).netloc, url  # nothing from another host (works offline)
    assert 'data-schema-url="/api/schema/"' in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_shows_the_operations_in_chromium_without_csp_violations(
    live_server: object, new_page: PageMaker
) -> None:
    base = str(live_server)
    page = new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    response = page.goto(f"{base}/api/docs/")
    assert response is not None and response.status == 200
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/studies/" in [p.replace("\u200b", "") for p in paths]
    assert page.locator(".info .title").inner_text().startswith("readerstudy API")
    assert page.js_errors == []  # type: ignore[attr-defined]
    violations = [m for m in page.console if "Content Security Policy" in m]  # type: ignore[attr-defined]
    assert violations == []
    assert hosts == {urlsplit(base).netloc}
