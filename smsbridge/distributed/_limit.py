"""One rate limit for every worker of every machine: a moving window in Redis (``limits``).

Celery's ``rate_limit`` is per worker, so four workers send four times the rate. This limit
is kept in Redis, keyed by the line it protects — ``(provider, account, sender)`` — and costs
what the provider counts: recipients × SMS parts. A worker takes its permit *before* it claims
any row, and waits without holding rows when none is free.

Built on ``limits`` (alisaifee/limits: maintained, typed, the moving-window strategy with a
Redis storage whose check-and-take is one Lua script) with one change, made by subclassing its
``RedisStorage``: the script that takes a permit reads the time on the Redis server instead of
each worker's clock (so clock skew between machines cannot widen the window), and counts a
window of ``window + margin`` seconds. The margin absorbs the time between a permit and the
request's arrival at the provider (a journal commit and a socket write, a few milliseconds that
vary): a provider counting arrivals in any ``window`` seconds sees no more than ``limit``.
"""

from __future__ import annotations

import math
import random
import time
from typing import TYPE_CHECKING, Any, Final

from smsbridge.exceptions import ConfigurationError, SmsBridgeError

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine
    from smsbridge._models import Message, Template

__all__ = ["GlobalRateLimit", "RateLimitUnavailableError"]

_ACQUIRE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
if amount > limit then
    return false
end
local entry = redis.call('lindex', KEYS[1], limit - amount)
if entry and tonumber(entry) >= now - window then
    return false
end
local entries = {}
for i = 1, amount do
    entries[i] = now
end
for i = 1, #entries, 5000 do
    redis.call('lpush', KEYS[1], unpack(entries, i, math.min(i + 4999, #entries)))
end
redis.call('ltrim', KEYS[1], 0, limit - 1)
redis.call('expire', KEYS[1], math.ceil(window))
return true
"""
"""limits' ``acquire_moving_window.lua`` with the server's clock and a fractional window."""


class RateLimitUnavailableError(SmsBridgeError):
    """The rate limit's Redis cannot be reached; no permit was taken and nothing was sent."""

    retryable = True


def _storage_class() -> Any:
    try:
        from limits.storage import RedisStorage
    except ImportError:  # pragma: no cover - the extra is missing
        raise ConfigurationError(
            "a global rate limit needs limits and redis: pip install 'smsbridge[redis]'"
        ) from None

    class _ServerClockStorage(RedisStorage):
        """``RedisStorage`` whose moving window is taken on the server's clock, widened by
        ``margin`` seconds."""

        margin = 0.0

        def initialize_storage(self, uri: str) -> None:
            super().initialize_storage(uri)
            self.lua_acquire_margin = self.get_connection().register_script(_ACQUIRE.encode())

        def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
            window = expiry + self.margin
            return bool(self.lua_acquire_margin([self.prefixed_key(key)], [limit, window, amount]))

        def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
            # A fractional window works: the script only subtracts it from a timestamp.
            window: Any = expiry + self.margin
            found: tuple[float, int] = super().get_moving_window(key, limit, window)
            return found

    return _ServerClockStorage


class GlobalRateLimit:
    """At most ``rate`` messages per line, counted over every worker that shares ``storage``.

    >>> limit = GlobalRateLimit("redis://127.0.0.1:6379/0", "100/second")  # doctest: +SKIP

    :param storage: the Redis URL (``redis://``, ``rediss://``, ``redis+unix://``).
    :param rate: ``limits`` notation: ``"100/second"``, ``"3000 per minute"``, ``"50/2 seconds"``.
    :param margin: seconds added to the window when permits are counted (see the module
        docstring); the default covers a few tens of milliseconds of jitter between workers.
    :param namespace: prefix of the Redis keys (separate limits on one Redis).
    :param max_wait: seconds :meth:`acquire` waits in all before it gives up (None: forever).
    :raises ConfigurationError: for a rate ``limits`` cannot read.
    """

    def __init__(
        self,
        storage: str,
        rate: str,
        *,
        margin: float = 0.1,
        namespace: str = "smsbridge",
        max_wait: float | None = None,
    ) -> None:
        try:
            from limits import parse
            from limits.strategies import MovingWindowRateLimiter
        except ImportError:
            raise ConfigurationError(
                "a global rate limit needs limits and redis: pip install 'smsbridge[redis]'"
            ) from None
        try:
            self.item = parse(rate)
        except ValueError as error:
            raise ConfigurationError(f"cannot read the rate {rate!r}: {error}") from None
        if not math.isfinite(margin) or margin < 0:
            raise ConfigurationError("the margin must be a number of seconds >= 0")
        self.rate = rate
        self.storage_url = storage
        self.margin = margin
        self.max_wait = max_wait
        self.storage = _storage_class()(storage, key_prefix=namespace)
        self.storage.margin = margin
        self.limiter = MovingWindowRateLimiter(self.storage)

    def __repr__(self) -> str:
        return f"<GlobalRateLimit {self.rate} margin={self.margin}>"

    @property
    def limit(self) -> int:
        """Messages allowed per window."""
        return int(self.item.amount)

    @property
    def window(self) -> float:
        """The window, in seconds (without the margin)."""
        return float(self.item.get_expiry())

    @staticmethod
    def key_for(engine: Engine, message: Message | Template) -> tuple[str, str, str]:
        """The line a send's first request uses: ``(provider, account, sender)`` (a retry or a
        failover takes its permit on its own provider's line)."""
        route = engine.routes[0]
        provider = route.provider
        return (route.label, provider.account(), provider.sender_for(message) or "-")

    def _errors(self) -> tuple[type[BaseException], ...]:
        from limits.errors import StorageError

        found = self.storage.base_exceptions
        return (StorageError, OSError, *(found if isinstance(found, tuple) else (found,)))

    def try_acquire(self, key: tuple[str, ...], cost: int) -> bool:
        """Take ``cost`` messages of the window now, or return False (nothing taken)."""
        if cost > self.limit:
            raise ConfigurationError(
                f"one request costs {cost} messages, more than the rate limit allows in a "
                f"window ({self.rate}); raise the limit or send smaller batches"
            )
        try:
            return bool(self.limiter.hit(self.item, *key, cost=max(cost, 1)))
        except self._errors() as error:
            raise RateLimitUnavailableError(
                f"the rate limit's Redis is unavailable ({type(error).__name__}: {error}); "
                "no permit was taken"
            ) from error

    def wait_time(self, key: tuple[str, ...]) -> float:
        """Seconds until the oldest permit of the window expires (0 when one is free)."""
        try:
            stats = self.limiter.get_window_stats(self.item, *key)
        except self._errors() as error:
            raise RateLimitUnavailableError(
                f"the rate limit's Redis is unavailable ({type(error).__name__}: {error})"
            ) from error
        return max(float(stats.reset_time) + self.margin - time.time(), 0.0)

    def acquire(self, key: tuple[str, ...], cost: int) -> float:
        """Wait until ``cost`` messages may go, and take them; returns the seconds waited.

        :raises RateLimitUnavailableError: when Redis cannot be reached (nothing taken), or
            when ``max_wait`` passed without a permit.
        """
        started = time.monotonic()
        while not self.try_acquire(key, cost):
            # Until the oldest permit expires (a bit of jitter keeps waiting workers from
            # all asking at the same instant), never longer than a window.
            delay = min(self.wait_time(key) + random.uniform(0.0, 0.005), self.window)  # noqa: S311
            delay = max(delay, 0.002)
            if self.max_wait is not None and time.monotonic() - started + delay > self.max_wait:
                raise RateLimitUnavailableError(
                    f"no permit for {cost} messages within {self.max_wait} s ({self.rate})"
                )
            time.sleep(delay)
        return time.monotonic() - started

    def clear(self, key: tuple[str, ...]) -> None:
        """Forget every permit taken on ``key``."""
        self.limiter.clear(self.item, *key)
