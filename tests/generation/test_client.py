"""Requests with retries and backoff, through the real openai client and a real HTTP server."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from typing import Any

import pytest

from readerstudy.core.llm.client import (
    CallResult,
    Connection,
    RetryPolicy,
    async_client_create,
    chat_completion_with_retries,
    retry_after_seconds,
)
from tests.openai_server import FakeOpenAIServer, answer, slow, status

BODY: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "findings"}],
    "max_tokens": 50,
}
FAST = RetryPolicy(max_attempts=4, base=0.01, cap=0.05)


def call(
    server: FakeOpenAIServer | str, policy: RetryPolicy = FAST, timeout: float = 5.0
) -> tuple[CallResult, list[float]]:
    url = server if isinstance(server, str) else server.url
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))

    async def main() -> CallResult:
        client = async_client_create(Connection("openai", url, timeout=timeout))
        try:
            return await chat_completion_with_retries(
                client, BODY, policy, rng=random.Random(1), sleep=sleep
            )
        finally:
            await client.close()

    return asyncio.run(main()), waits


def test_a_normal_answer_is_returned_raw(llm: FakeOpenAIServer) -> None:
    llm.enqueue(answer(category=3))
    result, waits = call(llm)
    assert result.ok and result.attempts == 1 and waits == []
    assert result.body is not None and result.body["object"] == "chat.completion"
    assert '"category": 3' in result.body["choices"][0]["message"]["content"]
    assert result.latency_ms is not None and result.log == [
        {"attempt": 1, "status": 200, "latency_ms": result.latency_ms}
    ]


def test_a_429_is_retried_after_the_wait_the_server_asks_for(llm: FakeOpenAIServer) -> None:
    llm.enqueue(status(429, retry_after_ms=30), answer())
    result, waits = call(llm)
    assert result.ok and result.attempts == 2
    assert waits == [0.03]
    assert result.log[0]["status"] == 429 and result.log[0]["wait_s"] == 0.03
    assert llm.chat_requests == 2


def test_5xx_answers_are_retried_with_exponential_backoff(llm: FakeOpenAIServer) -> None:
    llm.enqueue(status(500), status(503), answer())
    result, waits = call(llm, RetryPolicy(max_attempts=5, base=1.0, cap=60))
    assert result.ok and result.attempts == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0  # base * 2^(n-1), jitter [0.5, 1]


def test_a_timeout_is_retried(llm: FakeOpenAIServer) -> None:
    llm.enqueue(slow(1.5), answer())
    started = time.perf_counter()
    result, _ = call(llm, timeout=0.4)
    assert result.ok and result.attempts == 2
    assert "timeout" in result.log[0]["error"]
    assert time.perf_counter() - started < 1.4


def test_a_400_is_not_retried(llm: FakeOpenAIServer) -> None:
    llm.enqueue(status(400, message="Invalid schema for response_format"))
    result, waits = call(llm)
    assert not result.ok and result.attempts == 1 and waits == []
    assert result.status_code == 400 and "Invalid schema" in result.error


def test_attempts_run_out(llm: FakeOpenAIServer) -> None:
    llm.enqueue(*[status(503)] * 4)
    result, waits = call(llm)
    assert not result.ok and result.attempts == 4 and len(waits) == 3
    assert result.error.startswith("HTTP 503")


def test_a_connection_error_is_retried_then_reported(settings: Any) -> None:
    with FakeOpenAIServer() as server:
        url = server.url  # nothing listens there any more
        settings.GENERATION_ALLOWED_BASE_URLS = [server.origin]
    result, waits = call(url, FAST)
    assert not result.ok and result.attempts == 4 and len(waits) == 3
    assert "connection error" in result.error


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after_seconds({"retry-after": future}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_a_wait_longer_than_the_cap_is_capped(llm: FakeOpenAIServer) -> None:
    llm.enqueue(status(429, retry_after="3600"), answer())
    result, waits = call(llm, RetryPolicy(max_attempts=2, base=0.01, cap=0.05, max_wait=0.1))
    assert result.ok and waits == [0.1]


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_clients_are_built_for_both_providers(provider: str, settings: Any) -> None:
    settings.GENERATION_ALLOWED_BASE_URLS = ["http://127.0.0.1:9"]
    client = async_client_create(
        Connection(provider, "http://127.0.0.1:9/v1", api_version="2024-10-21")
    )
    assert client.max_retries == 0
