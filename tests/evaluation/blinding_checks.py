"""What must never reach a rater, as patterns built from the study itself, and a crawler.

Used by the test-client crawl, the URL sweep and the browser crawl: every page, JSON answer,
header and image a rater can reach is checked against :func:`forbidden_patterns`.
"""

from __future__ import annotations

import json
import re
import struct
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath

from readerstudy.core.images import PNG_KEEP, PNG_SIGNATURE
from readerstudy.studies.models import CaseImage, Reader, Study

MODEL_WORDS = (
    r"gpt(?:-?4o?)?",
    r"chatgpt",
    r"openai",
    r"fine-?tun(?:ed|ing)",
    r"zero-?shot",
    r"llm",
    r"language\s+model",
    r"runs?",
)


@dataclass(frozen=True)
class Forbidden:
    """Named patterns, and texts (the study's own title and description) removed first."""

    patterns: dict[str, re.Pattern[str]]
    allowed_texts: tuple[str, ...]

    def leaks(self, text: str) -> list[str]:
        for allowed in self.allowed_texts:
            if allowed:
                text = text.replace(allowed, " ")
        return [
            f"{name}: {m.group(0)!r}"
            for name, pattern in self.patterns.items()
            for m in [pattern.search(text)]
            if m
        ]


def forbidden_patterns(study: Study, *, other_usernames: Iterable[str] = ()) -> Forbidden:
    """Reader codes, labels and groups, model words, "run", case ids, image names, other raters."""
    patterns: dict[str, re.Pattern[str]] = {}
    for reader in Reader.objects.filter(study=study):
        code = re.escape(reader.code)
        if len(reader.code) <= 2 and not any(ch.isdigit() for ch in reader.code):
            # A bare letter is ordinary text; look for it where an id would be.
            patterns[f"code {reader.code}"] = re.compile(
                r"(?:[=/\"'_-]" + code + r"(?=[\"'/&?#]))"
                r"|(?:(?i:model|reader|config(?:uration)?)s?\s*[:#-]?\s*" + code + r"(?![\w-]))"
            )
        else:
            patterns[f"code {reader.code}"] = re.compile(r"(?<![\w-])" + code + r"(?![\w-])")
        for text in (reader.label, reader.group):
            words = text.split()
            if len(words) >= 2 or "-" in text:
                patterns[f"label {text}"] = re.compile(
                    r"(?<![\w-])" + r"\s+".join(map(re.escape, words)) + r"(?![\w-])", re.I
                )
    patterns["model words"] = re.compile(
        r"(?<![\w-])(?:" + "|".join(MODEL_WORDS) + r")(?![\w-])", re.I
    )
    codes = sorted(study.cases.values_list("code", flat=True), key=len, reverse=True)
    patterns["case id"] = re.compile(
        r"(?<![\w-])(?:" + "|".join(map(re.escape, codes)) + r")(?![\w-])"
    )
    names = {
        PurePosixPath(n).name
        for n in CaseImage.objects.filter(case__study=study).values_list("original_name", flat=True)
    }
    if names:
        patterns["image name"] = re.compile("|".join(map(re.escape, sorted(names))))
    others = sorted(other_usernames)
    if others:
        patterns["other person"] = re.compile(
            r"(?<![\w-])(?:" + "|".join(map(re.escape, others)) + r")(?![\w-])"
        )
    return Forbidden(patterns, (study.title, study.description))


def png_chunks(data: bytes) -> list[bytes]:
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    pos, kinds = len(PNG_SIGNATURE), []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def image_problems(data: bytes, content_type: str) -> list[str]:
    """Metadata found in an image response (only PNG and JPEG may be sent to raters)."""
    if content_type == "image/png":
        extra = [k for k in png_chunks(data) if k not in PNG_KEEP]
        return [f"PNG chunks {extra}"] if extra else []
    if content_type == "image/jpeg":
        markers = re.findall(rb"\xff([\xe1-\xed\xef\xfe])", data.split(b"\xff\xda", 1)[0])
        return [f"JPEG metadata markers {markers}"] if markers else []
    return [f"content type {content_type} must not be sent to raters"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "data-draft-url", "action"):
                self.links.append(value)


def links_of(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.links


#: Paths a crawl as a rater does not follow (signing out, the admin, static assets).
SKIP = ("/accounts/logout", "/admin/", "/static/", "/api/")
#: What an API crawl does not follow (the token endpoint would sign the client out).
API_SKIP = ("/api/auth/", "/api/schema", "/api/docs")


def json_links(data: object, origin: str = "http://testserver") -> list[str]:
    """Every same-site URL in a JSON document (``/path`` strings and absolute URLs of
    ``origin``, such as the ``next`` page of a list)."""
    if isinstance(data, dict):
        return [link for value in data.values() for link in json_links(value, origin)]
    if isinstance(data, list):
        return [link for value in data for link in json_links(value, origin)]
    if isinstance(data, str):
        if data.startswith(origin + "/"):
            return [data[len(origin) :]]
        if data.startswith("/") and not data.startswith("//"):
            return [data]
    return []


@dataclass
class CrawlResult:
    visited: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    n_images: int = 0
    n_json: int = 0
    n_html: int = 0


Fetch = Callable[[str], tuple[int, dict[str, str], bytes]]


def crawl(
    fetch: Fetch,
    starts: Iterable[str],
    forbidden: Forbidden,
    limit: int = 2000,
    skip: tuple[str, ...] = SKIP,
) -> CrawlResult:
    """Breadth-first GET of every same-site link reachable from ``starts`` (links of HTML pages
    and URLs in JSON answers), checking each answer."""
    result = CrawlResult()
    queue = deque(starts)
    while queue and len(result.visited) < limit:
        url = queue.popleft().split("#", 1)[0]
        if not url.startswith("/") or url in result.visited or url.startswith(skip):
            continue
        status, headers, body = fetch(url)
        result.visited[url] = status
        content_type = headers.get("content-type", "").split(";")[0]
        for name in ("content-disposition", "etag", "last-modified"):
            if name in headers:
                result.problems.append(f"{url}: header {name}")
        header_text = " ".join(f"{k}: {v}" for k, v in headers.items() if k != "set-cookie")
        for leak in forbidden.leaks(header_text + " " + url):
            result.problems.append(f"{url} (headers or URL): {leak}")
        if status in (301, 302, 303) and "location" in headers:
            queue.append(headers["location"])
            continue
        if content_type.startswith("image/"):
            result.n_images += 1
            # Pixels are compressed bytes, not text: what matters is that no metadata block
            # (where names, dates or software strings live) is left.
            result.problems += [f"{url}: {p}" for p in image_problems(body, content_type)]
            continue
        text = body.decode("utf-8", errors="replace")
        result.problems += [f"{url}: {leak}" for leak in forbidden.leaks(text)]
        if content_type == "application/json":
            result.n_json += 1
            try:
                queue.extend(json_links(json.loads(text)))
            except ValueError:
                result.problems.append(f"{url}: not valid JSON")
        elif content_type == "text/html":
            result.n_html += 1
            queue.extend(links_of(text))
    return result
