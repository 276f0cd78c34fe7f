"""An asyncio event loop in a helper thread, so that synchronous code (a Celery task, a
management command, a test) can keep a bounded number of async requests in flight while it
does its database work in its own thread and connection."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoopThread:
    """An asyncio event loop running in a daemon thread, for the duration of a ``with``."""

    def __init__(self, name: str = "generation-loop") -> None:
        self.name = name

    def __enter__(self) -> EventLoopThread:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
