"""Rate limit and concurrency, proven through real sends from the emulator's side of the wire.

The emulator's request log stamps every SendSms with its arrival time and the number of
requests in flight at that moment: the pacing shows in the spacing of the arrivals, and the
most requests it saw at once must equal the client's ``concurrency``. The machine running the
tests is shared and noisy, so spacing is checked against 0.8 of the interval, nothing against
an upper bound, and a paced send is tried up to three times: one request delayed on its way
(its worker scheduled late) arrives close to the next one, while a limiter that does not pace
sends every request at once, every time.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from meli_support import MODES, TEXT, Mode, numbers
from smsbridge_melipayamak.emulator import Emulator, EmulatorState

import smsbridge
from smsbridge import SendStatus

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
# The child must find the melipayamak plugin through its entry point.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
BATCH = 100  # Melipayamak's recipients per request
RATE = 4.0  # requests per second: 0.25 s apart, so 0.05 s of jitter is tolerated
CONCURRENCY = 3
HOLD = 0.5  # seconds the emulator holds each request, so that the workers overlap
ATTEMPTS = 3


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A demo emulator on the real clock (arrival times must be real to show pacing)."""
    with Emulator(EmulatorState.demo()) as running:
        yield running


def spacing(emulator: Emulator) -> list[float]:
    """Seconds between consecutive SendSms arrivals, as the emulator stamped them."""
    starts = sorted(record.at for record in emulator.state.log.of("SendSms"))
    return [later - earlier for earlier, later in itertools.pairwise(starts)]


def client(emulator: Emulator, **options: Any) -> smsbridge.Client:
    return smsbridge.Client(emulator.provider_url(), timeout=30, autoload_plugins=True, **options)


def send(mode: Mode, emulator: Emulator, recipients: list[str], **options: Any) -> list[Any]:
    """Send TEXT through ``Client.send`` or ``await Client.asend``; one result per recipient."""
    if mode == "sync":
        with client(emulator, **options) as sms:
            return list(sms.send(TEXT, recipients))

    async def go() -> list[Any]:
        async with client(emulator, **options) as sms:
            return list(await sms.asend(TEXT, recipients))

    return asyncio.run(go())


def run_cli(emulator: Emulator, tmp_path: Path, count: int, *options: str) -> None:
    """``smsbridge send`` to ``count`` numbers from a file, in a child process; all accepted."""
    (tmp_path / "numbers.txt").write_text("\n".join(numbers(count)) + "\n", encoding="utf-8")
    done = subprocess.run(
        [
            SMSBRIDGE,
            "send",
            "--url",
            emulator.provider_url(),
            "--to-file",
            "numbers.txt",
            "--text",
            TEXT,
            "--json",
            *options,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=ENV,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f'"accepted": {count}' in done.stdout


def assert_paced(emulator: Emulator, paced_send: Callable[[], None], requests: int) -> None:
    """Run ``paced_send`` until the emulator saw its ``requests`` SendSms arrive at least
    0.8/RATE apart, at most ATTEMPTS times (see the module docstring)."""
    attempts = []
    for _ in range(ATTEMPTS):
        emulator.state.reset()
        paced_send()
        gaps = spacing(emulator)
        assert len(gaps) == requests - 1
        if min(gaps) >= 0.8 / RATE:
            return
        attempts.append([round(gap, 3) for gap in gaps])
    pytest.fail(f"SendSms arrived less than {0.8 / RATE} s apart in every attempt: {attempts}")


class TestRateLimit:
    """Requests start no faster than the rate limit, as the emulator sees them arrive."""

    @MODES
    def test_client(self, mode: Mode, emulator: Emulator) -> None:
        """Client(rate_limit=R): five requests (with four workers free to go at once) arrive
        at least 1/R apart."""

        def paced_send() -> None:
            results = send(mode, emulator, numbers(5 * BATCH), rate_limit=RATE, concurrency=4)
            assert all(result.status is SendStatus.ACCEPTED for result in results)

        assert_paced(emulator, paced_send, requests=5)

    def test_cli(self, emulator: Emulator, tmp_path: Path) -> None:
        """smsbridge send --rate R --concurrency N paces its requests 1/R apart."""
        assert_paced(
            emulator,
            lambda: run_cli(
                emulator, tmp_path, 5 * BATCH, "--rate", str(RATE), "--concurrency", "3"
            ),
            requests=5,
        )


class TestConcurrency:
    """With every request held a while, the most in flight at once is exactly ``concurrency``."""

    @MODES
    def test_send(self, mode: Mode, emulator: Emulator) -> None:
        """Client.send (threads) and Client.asend (tasks) keep CONCURRENCY requests going."""
        emulator.faults.delay(HOLD, count=None)
        results = send(mode, emulator, numbers(2 * CONCURRENCY * BATCH), concurrency=CONCURRENCY)
        assert all(result.status is SendStatus.ACCEPTED for result in results)
        assert len(emulator.state.log.of("SendSms")) == 2 * CONCURRENCY
        assert emulator.state.log.max_in_flight == CONCURRENCY

    def test_campaign(self, emulator: Emulator) -> None:
        """A campaign (send_bulk) keeps CONCURRENCY requests going."""
        emulator.faults.delay(HOLD, count=None)
        with client(emulator, concurrency=CONCURRENCY) as sms:
            summary = sms.send_bulk(TEXT, numbers(2 * CONCURRENCY * BATCH))
        assert summary.totals.accepted == 2 * CONCURRENCY * BATCH
        assert emulator.state.log.max_in_flight == CONCURRENCY

    def test_cli(self, emulator: Emulator, tmp_path: Path) -> None:
        """smsbridge send --concurrency N keeps N requests going."""
        emulator.faults.delay(HOLD, count=None)
        run_cli(emulator, tmp_path, 2 * CONCURRENCY * BATCH, "--concurrency", str(CONCURRENCY))
        assert emulator.state.log.max_in_flight == CONCURRENCY

    def test_one_at_a_time(self, emulator: Emulator) -> None:
        """concurrency=1 sends one request after the other."""
        emulator.faults.delay(0.05, count=None)
        send("sync", emulator, numbers(3 * BATCH), concurrency=1)
        assert emulator.state.log.max_in_flight == 1


class TestManyAtOnce:
    """Fifty OTPs sent at the same moment all reach the emulator and are accepted (with a
    listen backlog of 5, most of them came back unknown without ever reaching it)."""

    COUNT = 50

    def check(self, emulator: Emulator, reports: list[Any]) -> None:
        assert [report[0].status for report in reports] == [SendStatus.ACCEPTED] * self.COUNT
        assert len(emulator.state.log.of("SendSms")) == self.COUNT
        assert sorted(m.recipient for m in emulator.state.sent) == sorted(
            n.lstrip("+") for n in numbers(self.COUNT)
        )

    def test_threads(self, emulator: Emulator) -> None:
        """Fifty threads each send one OTP through one shared Client."""
        reports: list[Any] = [None] * self.COUNT
        start = threading.Barrier(self.COUNT)
        with client(emulator) as sms:

            def otp(n: int, number: str) -> None:
                start.wait()
                reports[n] = sms.send(f"Your code is {1000 + n}", number)

            threads = [
                threading.Thread(target=otp, args=(n, number))
                for n, number in enumerate(numbers(self.COUNT))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        self.check(emulator, reports)

    def test_async(self, emulator: Emulator) -> None:
        """Fifty concurrent asend calls, one OTP each."""

        async def go() -> list[Any]:
            async with client(emulator) as sms:
                return list(
                    await asyncio.gather(
                        *(
                            sms.asend(f"Your code is {1000 + n}", number)
                            for n, number in enumerate(numbers(self.COUNT))
                        )
                    )
                )

        self.check(emulator, asyncio.run(go()))
