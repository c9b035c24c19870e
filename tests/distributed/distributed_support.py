"""Celery workers as real processes, and what the distributed tests share."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LINE = "50004001234567"
TEXT = "Campaign سلام لغو11"
"""One part; the opt-out text lets the emulator take many recipients per request."""
_redis_dbs = itertools.count(1)


def numbers(count: int) -> list[str]:
    """``count`` distinct Iranian mobiles, E.164."""
    return [f"+98912{n:07d}" for n in range(count)]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def redis_db() -> int:
    """A Redis database number of its own for one test (1..15)."""
    return (next(_redis_dbs) - 1) % 15 + 1


def received(emulator: object) -> Counter[str]:
    """How many times each number reached the emulator (``+98…``)."""
    return Counter("+" + message.recipient for message in emulator.state.sent)  # type: ignore[attr-defined]


def busiest_window(records: Iterable[tuple[float, int]], window: float) -> int:
    """The most messages arriving within any ``window`` seconds (records: (at, cost))."""
    ordered = sorted(records)
    best = total = start = 0
    for at, cost in ordered:
        total += cost
        while ordered[start][0] <= at - window:
            total -= ordered[start][1]
            start += 1
        best = max(best, total)
    return best


class CeleryWorkers:
    """``celery -A distributed_celery_app worker`` processes, one job at a time each."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("SMSBRIDGE_")
        }
        self.env.update(env)
        self.env["PYTHONPATH"] = os.pathsep.join([str(HERE), self.env.get("PYTHONPATH", "")])
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def log(self, index: int) -> Path:
        return self.logs / f"worker{index}.log"

    def start(self, count: int) -> CeleryWorkers:
        first = len(self.processes)
        for index in range(first, first + count):
            with self.log(index).open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "celery", "-A", "distributed_celery_app",
                         "worker", "-P", "solo", "--concurrency=1", "--prefetch-multiplier=1",
                         "-n", f"w{index}@%h", "--without-gossip", "--without-mingle",
                         "--without-heartbeat", "-l", "info"],
                        cwd=HERE,
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
        for index in range(first, first + count):
            wait_for(
                lambda i=index: (
                    b" ready." in self.log(i).read_bytes() or self.processes[i].poll() is not None
                ),
                f"celery worker {index} to start",
            )
            if self.processes[index].poll() is not None:
                pytest.fail(f"worker {index} exited:\n{self.log(index).read_text()[-3000:]}")
        return self

    def pid_of(self, worker: str) -> int:
        """The pid in a flight's ``host:pid``."""
        return int(worker.rsplit(":", 1)[1])

    def kill(self, pid: int) -> None:
        """``kill -9`` one of these workers."""
        assert pid in {process.pid for process in self.processes}
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
