"""A crawler that reads everything a user reaches, the way an attacker would, for markers.

:class:`Crawler` starts from some URLs and follows every link it finds: ``href``, ``src`` and
``action`` of HTML pages (and one submission of each GET form, every box ticked), redirects,
``next`` / ``previous`` and URL strings of JSON, and the detail URL of every object an API
list names. HTML pages are requested with the signed-in session, ``/api/`` with the API token.
Every answer is decoded before it is searched: headers (``Content-Disposition`` and the rest),
text, JSON, every member of a .zip or .xlsx, the cells, names and metadata of Parquet
files, the values, names and labels of SPSS files, and the raw bytes of anything else.

:class:`Markers` holds the forbidden (or expected) strings. Text markers are searched
case-insensitively anywhere; number markers as whole numbers (no digit or point next to them).
A hit is a :class:`Finding` naming the URL, where in the answer, and the marker.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve

HOST = "testserver"


@dataclass(frozen=True)
class Markers:
    """Strings that must not (or must) appear: ``text`` and ``numbers`` map a marker to what
    it stands for (e.g. ``"reader code R3"``)."""

    text: dict[str, str]
    numbers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for marker in self.text:
            if len(marker) < 8:
                raise ValueError(f"marker {marker!r}: too short to be found only where it is")

    @property
    def every(self) -> dict[str, str]:
        return {**self.text, **self.numbers}

    def finder(self) -> Callable[[str], set[str]]:
        """A function giving the markers that occur in a text.

        Text markers are grouped by their first four letters, found with ``str.find`` and
        then compared in full (fast on megabytes of inlined JavaScript, unlike one regular
        expression of hundreds of alternatives); numbers by a regular expression each.
        """
        groups: dict[str, list[tuple[str, str]]] = {}
        for marker in self.text:
            groups.setdefault(marker[:4].lower(), []).append((marker.lower(), marker))
        numbers = [(re.compile(rf"(?<![0-9.]){re.escape(n)}(?![0-9])"), n) for n in self.numbers]

        def find(text: str) -> set[str]:
            low = text.lower()
            out: set[str] = set()
            for prefix, members in groups.items():
                at = low.find(prefix)
                while at != -1:
                    out.update(m for lowered, m in members if low.startswith(lowered, at))
                    at = low.find(prefix, at + 1)
            out.update(n for rx, n in numbers if rx.search(text))
            return out

        return find


@dataclass(frozen=True)
class Finding:
    url: str
    where: str
    marker: str
    what: str

    def __str__(self) -> str:
        return f"{self.url} [{self.where}]: {self.marker} ({self.what})"


@dataclass
class Visit:
    url: str
    status: int
    content_type: str
    route: str | None
    size: int
    seconds: float


@dataclass
class CrawlResult:
    visits: list[Visit]
    findings: list[Finding]

    @property
    def found(self) -> set[str]:
        return {f.marker for f in self.findings}

    @property
    def routes(self) -> set[str]:
        return {v.route for v in self.visits if v.route and v.status == 200}

    def urls(self, route: str) -> list[str]:
        return [v.url for v in self.visits if v.route == route and v.status == 200]

    def report(self, limit: int = 40) -> str:
        lines = [str(f) for f in self.findings[:limit]]
        more = len(self.findings) - limit
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


# ---------------------------------------------------------------------------------------
# Decoding an answer into (where, text) pieces
# ---------------------------------------------------------------------------------------

Piece = tuple[str, str]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parquet(data: bytes, where: str) -> Iterator[Piece]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(data))
    metadata = parquet.metadata.metadata or {}
    for key, value in metadata.items():
        yield f"{where} metadata {_text(key)}", _text(value)
    table = parquet.read()
    yield f"{where} columns", " ".join(table.column_names)
    for name in table.column_names:
        values = table.column(name).to_pylist()
        yield f"{where} column {name}", "\n".join("" if v is None else str(v) for v in values)


def _sav(data: bytes, where: str) -> Iterator[Piece]:
    import pyreadstat

    yield f"{where} bytes", data.decode("latin-1")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.sav"
        path.write_bytes(data)
        frame, meta = pyreadstat.read_sav(str(path))
    yield f"{where} columns", " ".join(frame.columns)
    yield (
        f"{where} labels",
        json.dumps(
            {
                "file_label": meta.file_label,
                "notes": meta.notes,
                "column_labels": meta.column_labels,
                "value_labels": {
                    k: {str(a): b for a, b in v.items()} for k, v in meta.value_labels.items()
                },
            },
            ensure_ascii=False,
        ),
    )
    for name in frame.columns:
        yield f"{where} column {name}", "\n".join(str(v) for v in frame[name].tolist())


def _zip(data: bytes, where: str) -> Iterator[Piece]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            yield f"{where} member name", info.filename
            yield f"{where} member comment", _text(info.comment)
            yield from decode(archive.read(info), f"{where}/{info.filename}", "")


def decode(data: bytes, where: str, content_type: str) -> Iterator[Piece]:
    """The text pieces of one answer (or one member of an archive), by type or file name."""
    name = where.rsplit("/", 1)[-1].lower()
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/vnd.apache.parquet" or name.endswith(".parquet"):
        yield from _parquet(data, where)
    elif kind == "application/x-spss-sav" or name.endswith(".sav"):
        yield from _sav(data, where)
    elif data[:4] == b"PK\x03\x04":
        yield from _zip(data, where)  # .zip, .xlsx (every XML part, properties included)
    else:
        yield where, _text(data)


# ---------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(a[key])
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower()}
            self._form["fields"] = []
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio", "hidden", "text", "number"):
                if kind in ("text", "number") and not a.get("value"):
                    return
                self._form["fields"].append((a["name"], a.get("value", "on")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _json_urls(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _json_urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_urls(v)
    elif isinstance(value, str) and (
        value.startswith(f"http://{HOST}/") or (value.startswith("/") and " " not in value)
    ):
        yield value


# ---------------------------------------------------------------------------------------
# The crawler
# ---------------------------------------------------------------------------------------

#: Paths never requested: static assets (not study data) and sign-out.
SKIP_PREFIXES: tuple[str, ...] = ("/static/", "/accounts/logout/")
#: Downloads fetched once per path and ``ids`` value, whatever their other filters (the
#: dashboard links each of them with its current filters).
ONCE_PER_PATH: tuple[str, ...] = ("/analysis/tables/", "/analysis/figures/", "/analysis/results")


def _dedupe_key(path: str) -> str:
    parts = urlsplit(path)
    return parts.path if any(m in parts.path for m in ONCE_PER_PATH) else path


Expand = Callable[[str, str, Any], Iterable[str]]


def route_name(path: str) -> str | None:
    """The view name of ``path`` (``namespace:name`` in a namespace), or ``None``."""
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


class Crawler:
    """GET everything reachable from the start URLs and search every answer for ``markers``.

    ``expand(route, path, json_body)`` may add URLs an API answer implies (the detail URL of
    each object of a list); ``skip(path)`` leaves out URLs on purpose. ``limit`` bounds the
    number of requests.
    """

    def __init__(
        self,
        *,
        html: Client,
        api: Client,
        markers: Markers,
        expand: Expand | None = None,
        skip: Callable[[str], bool] | None = None,
        limit: int = 2000,
    ) -> None:
        self.html, self.api, self.markers = html, api, markers
        self.expand = expand or (lambda route, path, body: ())
        self.skip = skip or (lambda path: False)
        self.limit = limit
        self.find = markers.finder()

    def search(self, url: str, pieces: Iterable[Piece]) -> list[Finding]:
        every = self.markers.every
        return [
            Finding(url, where, marker, every[marker])
            for where, text in pieces
            for marker in sorted(self.find(text))
        ]

    def run(self, start: Iterable[str]) -> CrawlResult:
        queue: deque[str] = deque()
        queued: set[str] = set()
        visits: list[Visit] = []
        findings: list[Finding] = []

        def push(link: str, base: str) -> None:
            absolute = urljoin(f"http://{HOST}{base}", link)
            parts = urlsplit(absolute)
            if parts.scheme not in ("http", "") or parts.netloc not in (HOST, ""):
                return
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            key = _dedupe_key(path)
            if path.startswith(SKIP_PREFIXES) or key in queued or self.skip(path):
                return
            queued.add(key)
            queue.append(path)

        for url in start:
            push(url, "/")
        while queue:
            if len(visits) >= self.limit:
                raise AssertionError(f"crawl limit of {self.limit} requests reached")
            url = queue.popleft()
            path = urlsplit(url).path
            client = self.api if path.startswith("/api/") else self.html
            began = time.perf_counter()
            response = client.get(url)
            # The test client closes the response itself (for a stream, once it is read).
            body = (
                b"".join(response.streaming_content)
                if getattr(response, "streaming", False)
                else response.content
            )
            content_type = response.get("Content-Type", "")
            route = route_name(path)
            headers = "\n".join(f"{k}: {v}" for k, v in response.items())
            pieces = [("headers", headers), *decode(body, f"body {path}", content_type)]
            findings += self.search(url, pieces)
            elapsed = time.perf_counter() - began
            visits.append(Visit(url, response.status_code, content_type, route, len(body), elapsed))
            if response.status_code in (301, 302, 303, 307, 308) and response.get("Location"):
                push(response["Location"], url)
            if content_type.startswith("text/html"):
                self._follow_html(_text(body), url, push)
            elif content_type.startswith("application/json") and route:
                try:
                    doc = json.loads(body)
                except ValueError:
                    continue
                for link in _json_urls(doc):
                    push(link, url)
                for link in self.expand(route, path, doc):
                    push(link, url)
        return CrawlResult(visits, findings)

    def _follow_html(self, text: str, url: str, push: Callable[[str, str], None]) -> None:
        parser = _Links()
        parser.feed(text)
        for link in parser.links:
            push(link, url)
        for form in parser.forms:
            if form["method"] == "get":  # one submission, every box ticked, selects as they are
                action = form["action"] or urlsplit(url).path
                push(f"{action}?{urlencode(form['fields'])}", url)


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing those of) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in params]
    return parts.path + "?" + urlencode([*query, *params.items()])
