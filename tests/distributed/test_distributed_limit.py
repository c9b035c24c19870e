"""The global rate limit against a real Redis: one window for every worker, cost in messages."""

from __future__ import annotations

import threading
import time

import pytest
from distributed_services import RedisServer, free_port
from distributed_support import busiest_window, redis_db

import smsbridge
from smsbridge.distributed import GlobalRateLimit, RateLimitUnavailableError
from smsbridge.exceptions import ConfigurationError


@pytest.fixture
def storage(redis_server: RedisServer) -> str:
    import redis

    url = redis_server.url(redis_db())
    redis.Redis.from_url(url).flushdb()
    return url


KEY = ("fake", "account", "5000")


class TestPermits:
    """Permits cost messages and come back when the window moves on."""

    def test_cost_is_counted_in_messages(self, storage: str) -> None:
        limit = GlobalRateLimit(storage, "10/second", margin=0.0)
        assert limit.try_acquire(KEY, 6)
        assert not limit.try_acquire(KEY, 5)
        assert limit.try_acquire(KEY, 4)
        assert not limit.try_acquire(KEY, 1)
        assert 0 < limit.wait_time(KEY) <= 1.0

    def test_lines_are_limited_separately(self, storage: str) -> None:
        limit = GlobalRateLimit(storage, "1/second")
        assert limit.try_acquire(KEY, 1)
        assert limit.try_acquire(("fake", "account", "other line"), 1)

    def test_acquire_waits_for_the_window_and_its_margin(self, storage: str) -> None:
        limit = GlobalRateLimit(storage, "5/second", margin=0.2)
        limit.acquire(KEY, 5)
        started = time.monotonic()
        waited = limit.acquire(KEY, 5)
        assert 1.15 <= time.monotonic() - started < 2.0
        assert waited >= 1.15

    def test_a_request_larger_than_the_limit_is_a_configuration_error(self, storage: str) -> None:
        with pytest.raises(ConfigurationError, match="more than the rate limit allows"):
            GlobalRateLimit(storage, "10/second").acquire(KEY, 11)

    def test_an_unreadable_rate_is_refused(self, storage: str) -> None:
        with pytest.raises(ConfigurationError, match="cannot read the rate"):
            GlobalRateLimit(storage, "fast please")

    def test_max_wait(self, storage: str) -> None:
        limit = GlobalRateLimit(storage, "1/minute", max_wait=0.2)
        limit.acquire(KEY, 1)
        with pytest.raises(RateLimitUnavailableError, match="no permit"):
            limit.acquire(KEY, 1)

    def test_redis_down_is_retryable_and_takes_nothing(self) -> None:
        limit = GlobalRateLimit(f"redis://127.0.0.1:{free_port()}/0", "10/second")
        with pytest.raises(RateLimitUnavailableError) as caught:
            limit.acquire(KEY, 1)
        assert caught.value.retryable

    def test_the_key_is_the_line(self) -> None:
        with smsbridge.Client("fake://") as client:
            key = GlobalRateLimit.key_for(client.engine, smsbridge.Message(text="hi"))
        assert key[0] == "fake"
        assert len(key) == 3


class TestShared:
    """Many limiters on one Redis (workers on several machines) share one window."""

    def test_no_window_holds_more_than_the_limit(self, storage: str) -> None:
        taken: list[tuple[float, int]] = []
        lock = threading.Lock()

        def worker() -> None:
            limit = GlobalRateLimit(storage, "200/second", margin=0.05)
            for _ in range(5):
                limit.acquire(KEY, 50)
                with lock:
                    taken.append((time.time(), 50))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(cost for _, cost in taken) == 1000
        assert busiest_window(taken, 1.0) <= 200
        # And it was not slower than it had to be: 1000 at 200 per 1.05 s.
        span = max(at for at, _ in taken) - min(at for at, _ in taken)
        assert span < 1000 / 200 * 1.05 + 1.5
