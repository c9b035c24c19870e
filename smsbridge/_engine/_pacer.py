"""Spacing provider requests to a rate, shared by every worker of one send."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

__all__ = ["RequestPacer"]


class RequestPacer:
    """Lets requests start no faster than ``per_second``, evenly spaced (no bursts).

    Each caller reserves the next free start time; a lock keeps worker threads of a blocking
    send from reserving the same slot.
    """

    def __init__(
        self, per_second: float | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("a rate limit must be a positive number of requests per second")
        self.interval = 0.0 if per_second is None else 1.0 / per_second
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Seconds to wait before the caller's request may start."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
            return start - now

    def wait_blocking(self) -> None:
        """Blocking twin of :meth:`wait`, for worker threads."""
        if self.interval:
            delay = self._reserve()
            if delay > 0:
                time.sleep(delay)

    async def wait(self) -> None:
        """Return when this request may start."""
        if self.interval:
            delay = self._reserve()
            if delay > 0:
                await asyncio.sleep(delay)
