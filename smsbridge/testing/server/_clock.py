"""The time an emulator lives in: a source clock plus an offset that tests move forward."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = ["Clock", "ManualClock"]

_EPOCH: Final = 1_700_000_000.0


def _seconds(seconds: float) -> float:
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        msg = f"seconds must be a finite number >= 0, got {seconds!r}"
        raise ValueError(msg)
    return value


class Clock:
    """Seconds since the epoch as an emulator sees them: ``source()`` plus :attr:`offset`.

    Call it to read the time. :meth:`advance` moves it forward (deliveries complete, a daily
    limit resets) without sleeping; the source keeps ticking underneath.

    >>> clock = Clock(source=lambda: 100.0)
    >>> clock.advance(60)
    >>> clock()
    160.0
    """

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self.source = source
        """Where time comes from: ``time.time`` by default, a :class:`ManualClock` in tests."""
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current time."""
        return self.source() + self._offset

    def __repr__(self) -> str:
        return f"{type(self).__name__}(now={self():.3f}, offset={self._offset})"

    @property
    def offset(self) -> float:
        """Seconds :meth:`advance` has added so far."""
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` (finite, not negative)."""
        step = _seconds(seconds)
        with self._lock:
            self._offset += step


class ManualClock(Clock):
    """A clock that stands still until a test moves it: ``clock.now += 5`` or ``advance(5)``.

    >>> clock = ManualClock()
    >>> start = clock()
    >>> clock.now += 2.5
    >>> clock() - start
    2.5
    """

    def __init__(self, start: float = _EPOCH) -> None:
        start = float(start)
        super().__init__(source=lambda: start)

    @property
    def now(self) -> float:
        """The current time; assign to set it (also backwards, unlike :meth:`advance`)."""
        return self()

    @now.setter
    def now(self, value: float) -> None:
        with self._lock:
            self._offset = float(value) - self.source()
