"""SSRF (issue 11, finding 4): generation reaches only the servers the settings allow.

Each attack of the pass is replayed against real local listeners with the real ``openai``
client: host spellings of loopback and of the metadata address, other ports, other schemes,
redirects to other origins and out of the allowed path, public endpoints that resolve to
private addresses, link-local addresses, internal error pages relayed to the coordinator, and
the same checks behind an ``HTTP_PROXY``.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from django.test import Client

from readerstudy.core.llm.egress import (
    DestinationNotAllowedError,
    GuardedTransport,
    Origin,
    Route,
    address_problem,
    destination_parse,
    host_normalise,
    route_for,
)
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.runner import run_execute
from readerstudy.generation.services import RunOptions, run_create
from readerstudy.studies.models import Study
from tests.generation.conftest import config_create, form_data
from tests.openai_server import FakeOpenAIServer, page, redirect, status

BASE = "/studies/gen-study/generation/"


@pytest.fixture
def other() -> Iterator[FakeOpenAIServer]:
    """A second listener: where redirects try to send the client (it must see nothing)."""
    with FakeOpenAIServer() as server:
        yield server


# --------------------------------------------------------------------- host normalisation


@pytest.mark.parametrize(
    ("written", "compared"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[::ffff:169.254.169.254]", "169.254.169.254"),
        ("[64:ff9b::a9fe:a9fe]", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("LOCALHOST.", "localhost"),
        ("Api.OpenAI.com.", "api.openai.com"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_hosts_are_normalised_before_they_are_compared(written: str, compared: str) -> None:
    assert host_normalise(written) == compared


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3.99999", "[fe80::1%eth0]", "ⓛocalhost"])
def test_hosts_that_are_not_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        host_normalise(host)


def test_an_allowed_entry_matches_every_spelling_of_its_host_and_nothing_else() -> None:
    entry = destination_parse("http://127.0.0.1:8011")
    for url in ("http://127.0.0.1:8011/v1", "http://2130706433:8011/v1", "http://0x7f000001:8011"):
        assert entry.allows(Origin.of(url)), url
    for url in (
        "http://127.0.0.1:8012/v1",  # another port
        "https://127.0.0.1:8011/v1",  # another scheme
        "http://localhost:8011/v1",  # another name, even if it resolves to the same address
        "http://127.0.0.2:8011/v1",
    ):
        assert not entry.allows(Origin.of(url)), url
    azure = destination_parse("https://*.openai.azure.com")
    assert azure.allows(Origin.of("https://MyRes.openai.azure.com."))
    assert not azure.allows(Origin.of("https://openai.azure.com"))
    assert not azure.allows(Origin.of("https://evil-openai.azure.com.attacker.example"))
    scoped = destination_parse("http://gateway:8080/llm/")
    assert scoped.allows(Origin.of("http://gateway:8080/llm/v1"))
    assert not scoped.allows(Origin.of("http://gateway:8080/llm-admin/v1"))
    assert not scoped.allows(Origin.of("http://gateway:8080/"))


# --------------------------------------------------------------------- base URLs refused

SSRF_BASE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://localhost:{port}/v1",
    "http://LOCALHOST.:{port}/v1",
    "http://[::1]:{port}/v1",
    "http://0x7f000001:{port}/v1",
    "http://2130706433:{port}/v1",
    "http://127.1:{port}/v1",
    "http://0.0.0.0:{port}/v1",
    "http://127.0.0.1:{port}/v1",  # the listener's own address, on a port nobody allowed
    "https://api.openai.com.attacker.example/v1",
    "https://api.openai.com:8443/v1",
    "http://api.openai.com/v1",
    "ftp://127.0.0.1:{port}/v1",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_POST",
    "http://127.0.0.1:{port}\\@api.openai.com/v1",
]


@pytest.mark.django_db
@pytest.mark.parametrize("template", SSRF_BASE_URLS)
def test_ssrf_base_urls_are_refused_by_the_form_and_never_contacted(
    template: str,
    study: Study,
    coordinator: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOpenAIServer() as listener:
        url = template.format(port=listener.port)
        # Only another port of the listener's address is allowed (plus the public endpoints).
        settings.GENERATION_ALLOWED_BASE_URLS = [f"http://127.0.0.1:{listener.port + 1}"]
        client = Client()
        client.force_login(coordinator)
        response = client.post(f"{BASE}configs/new/", form_data(base_url=url))
        assert response.status_code == 200
        assert "not allowed" in response.content.decode() or "cannot be used" in (
            response.content.decode()
        )
        assert not GenerationConfig.objects.exists()

        # A configuration stored before the allow-list (or written to the database) stops
        # with the reason, and nothing is sent.
        monkeypatch.setenv("READERSTUDY_KEY_SSRF", "sk-ssrf-" + "x" * 30)
        config = config_create(study, url, api_key_env="READERSTUDY_KEY_SSRF")
        with pytest.raises(DestinationNotAllowedError, match="base URL"):
            run_create(config=config)
        run = GenerationRun.objects.create(config=config, n_runs=1, config_snapshot={})
        with pytest.raises(DestinationNotAllowedError):
            run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "failed" and "base URL" in run.message
        assert listener.requests == []


@pytest.mark.django_db
def test_the_allowed_loopback_port_works_and_another_port_is_refused(
    study: Study, llm: FakeOpenAIServer, other: FakeOpenAIServer
) -> None:
    """The test settings allow exactly the listener's origin (tests/.../conftest.py)."""
    allowed = config_create(study, llm.url)
    assert run_execute(run_id=run_create(config=allowed).pk).status == "finished"
    refused = config_create(study, other.url, code="M2")
    with pytest.raises(DestinationNotAllowedError, match=f"127.0.0.1:{other.port}"):
        run_create(config=refused)
    assert llm.chat_requests == 12 and other.requests == []


@pytest.mark.django_db
def test_another_spelling_of_an_allowed_address_reaches_the_same_listener(
    study: Study, llm: FakeOpenAIServer
) -> None:
    config = config_create(study, f"http://2130706433:{llm.port}/v1")
    assert (
        run_execute(run_id=run_create(config=config, options=RunOptions(limit=1)).pk).status
        == "finished"
    )
    assert llm.chat_requests == 3
    # The connection went to the checked address; the Host header is the one written.
    assert {r.headers.get("Host") for r in llm.requests} == {f"2130706433:{llm.port}"}


# ---------------------------------------------------------------------------- redirects


def _items(study: Study, url: str, *, code: str = "R1", cases: int = 1) -> list[GenerationItem]:
    """Generate once for the first ``cases`` test cases; their items in case order."""
    config = config_create(study, url, code=code, n_runs=1, max_attempts=3)
    run = run_create(config=config, options=RunOptions(limit=cases))
    run_execute(run_id=run.pk)
    return list(GenerationItem.objects.filter(run=run).order_by("case__position"))


def _one_item(study: Study, url: str, *, code: str = "R1") -> GenerationItem:
    return _items(study, url, code=code)[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    [
        "{other}/chat/completions",  # another port (even one the settings allow)
        "http://localhost:{port}/v1/chat/completions",  # another host name, same listener
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://api.openai.com/v1/chat/completions",  # another (allowed) origin
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_another_origin_is_not_followed(
    target: str, study: Study, llm: FakeOpenAIServer, other: FakeOpenAIServer, settings: Any
) -> None:
    settings.GENERATION_ALLOWED_BASE_URLS = [llm.origin, other.origin]
    llm.enqueue(redirect(target.format(other=other.url, port=llm.port)))
    item = _one_item(study, llm.url)
    assert item.status == "error" and item.error.startswith("refused: "), item.error
    assert item.attempts == 1  # a refusal is not retried
    assert other.requests == [] and len(llm.requests) == 1


@pytest.mark.django_db
def test_a_redirect_within_the_allowed_origin_and_path_is_followed(
    study: Study, llm: FakeOpenAIServer
) -> None:
    llm.enqueue(redirect(llm.url + "/chat/completions?moved=1", code=308))
    item = _one_item(study, llm.url)
    assert item.status == "done" and len(llm.requests) == 2


@pytest.mark.django_db
def test_a_redirect_out_of_the_allowed_path_is_refused(
    study: Study, llm: FakeOpenAIServer, settings: Any
) -> None:
    settings.GENERATION_ALLOWED_BASE_URLS = [llm.origin + "/v1"]
    llm.enqueue(redirect(llm.origin + "/internal/admin"))
    item = _one_item(study, llm.url)
    assert item.status == "error" and "outside the allowed base URL" in item.error
    assert [r.path for r in llm.requests] == ["/v1/chat/completions"]


# ---------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.170.2",
        "fe80::1",
        "::ffff:169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
    ],
)
def test_link_local_and_metadata_addresses_are_refused_unless_explicitly_allowed(
    address: str, settings: Any
) -> None:
    assert "link-local or cloud metadata" in (address_problem(address, public=False) or "")
    settings.GENERATION_ALLOW_LINK_LOCAL = True
    assert address_problem(address, public=False) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1"])
def test_unspecified_and_multicast_addresses_are_always_refused(
    address: str, settings: Any
) -> None:
    settings.GENERATION_ALLOW_LINK_LOCAL = True
    assert address_problem(address, public=False)


def test_a_link_local_base_url_needs_the_list_and_the_switch(settings: Any) -> None:
    settings.GENERATION_ALLOWED_BASE_URLS = ["http://169.254.169.254"]
    with pytest.raises(DestinationNotAllowedError, match="GENERATION_ALLOW_LINK_LOCAL"):
        route_for("http://169.254.169.254/v1")
    settings.GENERATION_ALLOW_LINK_LOCAL = True
    assert route_for("http://169.254.169.254/v1").base.host == "169.254.169.254"


def test_a_name_that_resolves_to_a_link_local_address_is_refused_when_connecting() -> None:
    route = Route(
        base=Origin.of("http://model-server:8000/v1"),
        destination=destination_parse("http://model-server:8000"),
    )
    with pytest.raises(DestinationNotAllowedError, match=r"169\.254\.169\.254"):
        route.addresses_check("model-server", ["10.0.0.5", "169.254.169.254"])
    assert route.addresses_check("model-server", ["10.0.0.5"]) == "10.0.0.5"


def test_a_public_endpoint_that_resolves_to_a_private_address_is_refused(
    llm: FakeOpenAIServer,
) -> None:
    """Resolved by the system resolver at request time: localhost is 127.0.0.1 here."""
    url = f"http://localhost:{llm.port}/v1"
    public = Route(
        base=Origin.of(url),
        destination=destination_parse(f"http://localhost:{llm.port}", public=True),
    )
    with (
        httpx2.Client(transport=GuardedTransport(public)) as client,
        pytest.raises(DestinationNotAllowedError, match="not a public address"),
    ):
        client.get(url + "/models")
    assert llm.requests == []
    private = Route(base=public.base, destination=destination_parse(f"http://localhost:{llm.port}"))
    with httpx2.Client(transport=GuardedTransport(private)) as client:
        assert client.get(url + "/files/none").status_code == 404  # reached: allowed, resolved
    assert [r.headers.get("Host") for r in llm.requests] == [f"localhost:{llm.port}"]


# ----------------------------------------------------------------------- what is shown


@pytest.mark.django_db
def test_error_bodies_are_redacted_and_truncated_before_they_are_stored_or_shown(
    study: Study, llm: FakeOpenAIServer, coordinator: Any, settings: Any
) -> None:
    secret_key = settings.SECRET_KEY
    internal = (
        f"<h1>Internal admin</h1> SECRET_KEY={secret_key} password=hunter2-internal "
        "DATABASE_URL=postgres://app:db-pass-9876@db.internal:5432/app "
        "Authorization: Bearer internal-token-abcdef123456 " + "filler " * 3000
    )
    llm.when("[T1]", status(400, message=internal))
    llm.when("[T2]", page("<html>" + internal + "</html>"))
    error, unparsed = _items(study, llm.url, cases=2)
    assert error.status == "error" and error.error.startswith("HTTP 400: ")
    assert unparsed.status == "unparseable"
    client = Client()
    client.force_login(coordinator)
    html = "".join(client.get(f"{BASE}items/{i.pk}/").content.decode() for i in (error, unparsed))
    stored = [error.error, error.attempt_log[0]["error"], unparsed.raw_response["_unparsed_body"]]
    for text in [*stored, html]:
        for secret in (secret_key, "hunter2-internal", "db-pass-9876", "internal-token-abcdef"):
            assert secret not in text
    assert all(len(text) < 2100 for text in stored)
    assert "[truncated to 2000 characters]" in unparsed.raw_response["_unparsed_body"]
    assert "[truncated to 2000 characters]" in error.error


# ------------------------------------------------------------------------------ proxies


class _ForwardProxy(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy that records what it forwards."""

    seen: list[str]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _forward(self) -> None:
        self.seen.append(self.path)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    handler = type("Handler", (_ForwardProxy,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    yield seen
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_the_environment_proxy_is_used_and_redirects_are_still_checked(
    study: Study, llm: FakeOpenAIServer, other: FakeOpenAIServer, proxy: list[str]
) -> None:
    item = _one_item(study, llm.url)
    assert item.status == "done" and proxy == [llm.url + "/chat/completions"]
    llm.enqueue(redirect(other.url + "/chat/completions"))
    item = _one_item(study, llm.url, code="R2")
    assert item.status == "error" and item.error.startswith("refused: ")
    assert other.requests == [] and len(proxy) == 2
