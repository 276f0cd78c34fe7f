"""OpenAI clients for a configuration, and requests with retries and backoff.

The official ``openai`` client is used for every call (OpenAI, Azure OpenAI, vLLM, Ollama and
any other OpenAI-compatible server). Its own retries are switched off (``max_retries=0``):
:func:`chat_completion_with_retries` retries instead, so that every attempt is counted and
logged on the item. It retries HTTP 408, 409, 429 and 5xx answers, timeouts and connection
errors, waiting what the server asks for (``retry-after-ms`` or ``Retry-After``, seconds or
an HTTP date, capped at ``RetryPolicy.max_wait``) or else an exponential backoff
``base × 2^(attempt−1)`` capped at ``cap``, with jitter (a uniform factor in [0.5, 1]).
Other 4xx answers are not retried.

Every client is built on a guarded HTTP client (:mod:`readerstudy.core.llm.egress`): the base
URL must be allowed by the settings, redirects leave neither its origin nor its allowed path,
and link-local and metadata addresses are refused when the connection is made. A request the
guard refuses (``DestinationNotAllowedError``, which the ``openai`` client lets through
unwrapped) is not retried. Error bodies are stored and shown only redacted and truncated
(:func:`readerstudy.core.llm.keys.server_text`).
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings

from readerstudy.core.llm.egress import (
    DestinationNotAllowedError,
    Route,
    async_http_client,
    base_url_problem,
    route_for,
    sync_http_client,
)
from readerstudy.core.llm.keys import (
    api_key_name_allowed,
    api_key_not_allowed_message,
    api_key_resolve,
    server_text,
)

RETRY_STATUSES = frozenset({408, 409, 429})
#: Answers longer than this are not parsed (a chat completion is a few kB).
MAX_BODY_CHARS = 2_000_000


@dataclass(frozen=True)
class Connection:
    """Where and how to reach a server (shared by generation configs and fine-tuning jobs)."""

    provider: str
    base_url: str
    api_key_env: str = ""
    api_version: str = ""
    timeout: float = 120.0

    @classmethod
    def of(cls, obj: Any, *, timeout: float | None = None) -> Connection:
        return cls(
            provider=obj.provider,
            base_url=obj.base_url,
            api_key_env=obj.api_key_env,
            api_version=getattr(obj, "api_version", "") or "",
            timeout=timeout if timeout is not None else getattr(obj, "timeout_seconds", 120.0),
        )

    def api_key(self) -> str:
        """The key (``ConnectionSettingsError`` when it is not allowed or not set)."""
        return api_key_resolve(self.api_key_env)

    def route(self) -> Route:
        """Where requests go (``DestinationNotAllowedError`` when the settings forbid it)."""
        return route_for(self.base_url)

    def check(self) -> None:
        """Raise ``ConnectionSettingsError`` now when this connection cannot be used."""
        self.route()
        self.api_key()

    def problems_by_field(self) -> dict[str, str]:
        """Why the settings forbid this connection, by field (``api_key_env``, ``base_url``)."""
        found = {}
        if not api_key_name_allowed(self.api_key_env):
            found["api_key_env"] = api_key_not_allowed_message(self.api_key_env)
        problem = base_url_problem(self.base_url)
        if problem:
            found["base_url"] = problem
        return found

    def problems(self) -> list[str]:
        """Why the settings forbid this connection (its key variable, its server); [] if not."""
        return list(self.problems_by_field().values())


def _timeout(seconds: float) -> openai.Timeout:
    return openai.Timeout(seconds, connect=min(10.0, seconds))


def async_client_create(conn: Connection) -> openai.AsyncOpenAI:
    """An async client for ``conn`` (create it inside the event loop that will use it)."""
    route, key = conn.route(), conn.api_key()
    timeout = _timeout(conn.timeout)
    http_client = async_http_client(route, timeout=timeout)
    if conn.provider == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=conn.base_url,
            api_version=conn.api_version or None,
            api_key=key,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )
    return openai.AsyncOpenAI(
        base_url=conn.base_url,
        api_key=key,
        timeout=timeout,
        max_retries=0,
        http_client=http_client,
    )


def sync_client_create(conn: Connection, *, max_retries: int = 2) -> openai.OpenAI:
    """A synchronous client for file, batch and fine-tuning calls (client retries kept)."""
    route, key = conn.route(), conn.api_key()
    timeout = _timeout(conn.timeout)
    http_client = sync_http_client(route, timeout=timeout)
    if conn.provider == "azure":
        return openai.AzureOpenAI(
            azure_endpoint=conn.base_url,
            api_version=conn.api_version or None,
            api_key=key,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )
    return openai.OpenAI(
        base_url=conn.base_url,
        api_key=key,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )


def refused_cause(exc: BaseException) -> DestinationNotAllowedError | None:
    """The guard's refusal behind an ``openai`` connection error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DestinationNotAllowedError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base: float = 1.0
    cap: float = 60.0
    max_wait: float = 120.0

    @classmethod
    def for_config(cls, max_attempts: int) -> RetryPolicy:
        return cls(
            max_attempts=max_attempts,
            base=float(getattr(settings, "GENERATION_RETRY_BASE_SECONDS", 1.0)),
            cap=float(getattr(settings, "GENERATION_RETRY_CAP_SECONDS", 60.0)),
        )

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Wait before attempt ``attempt + 1`` when the server did not say."""
        return min(self.cap, self.base * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.0)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a server asks for (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return max(0.0, email.utils.mktime_tz(parsed) - time.time())


@dataclass
class CallResult:
    """What came back for one item after all attempts."""

    ok: bool
    body: dict[str, Any] | None = None  # the completion JSON as the server sent it
    error: str = ""
    status_code: int | None = None
    latency_ms: int | None = None  # of the last attempt
    attempts: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


def error_text(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """What is stored and shown of a failed request: redacted, the server's body truncated."""
    refused = refused_cause(exc)
    if refused is not None:
        return f"refused: {refused}"
    if isinstance(exc, openai.APIStatusError):
        try:
            detail = exc.response.text
        except Exception:  # the body was not read (streaming); the message still helps
            detail = ""
        return f"HTTP {exc.status_code}: {server_text(detail or exc.message, secrets)}"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout: no answer within the configured timeout"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"connection error: {server_text(str(cause or exc), secrets)}"
    return f"{type(exc).__name__}: {server_text(str(exc), secrets)}"


def _retryable(exc: BaseException) -> bool:
    if refused_cause(exc) is not None:
        return False
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUSES or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)  # includes timeouts


async def chat_completion_with_retries(
    client: openai.AsyncOpenAI,
    body: dict[str, Any],
    policy: RetryPolicy,
    *,
    secrets: tuple[str, ...] = (),
    rng: random.Random | None = None,
    sleep: Any = None,
) -> CallResult:
    """POST ``body`` to /chat/completions until it succeeds, fails for good or attempts run out.

    The raw JSON of the answer is kept as sent (not the client's parsed model), so that what
    is stored is what the server said.
    """
    import asyncio

    rng = rng or random.Random()
    sleep = sleep or asyncio.sleep
    result = CallResult(ok=False)
    for attempt in range(1, policy.max_attempts + 1):
        started = time.perf_counter()
        entry: dict[str, Any] = {"attempt": attempt}
        try:
            raw = await client.chat.completions.with_raw_response.create(**body)
            latency = int((time.perf_counter() - started) * 1000)
            text = raw.http_response.text
            try:
                payload = json.loads(text) if len(text) <= MAX_BODY_CHARS else None
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                payload = {"_unparsed_body": server_text(text, secrets)}
            result.ok = True
            result.body = payload
            result.status_code = raw.status_code
            result.latency_ms = latency
            result.attempts = attempt
            entry.update(status=raw.status_code, latency_ms=latency)
            result.log.append(entry)
            return result
        except (openai.APIError, DestinationNotAllowedError) as exc:
            latency = int((time.perf_counter() - started) * 1000)
            message = error_text(exc, secrets)
            status = getattr(exc, "status_code", None)
            entry.update(status=status, latency_ms=latency, error=message[:500])
            result.error = message
            result.status_code = status
            result.latency_ms = latency
            result.attempts = attempt
            if not _retryable(exc) or attempt == policy.max_attempts:
                result.log.append(entry)
                return result
            response = getattr(exc, "response", None)
            asked = retry_after_seconds(response.headers if response is not None else None)
            wait = (
                min(asked, policy.max_wait) if asked is not None else policy.backoff(attempt, rng)
            )
            entry["wait_s"] = round(wait, 3)
            result.log.append(entry)
            await sleep(wait)
    return result
