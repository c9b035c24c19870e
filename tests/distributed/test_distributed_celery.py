"""Campaigns on real Celery workers (processes), a real Postgres journal and a real Redis
broker and rate limit, against the Melipayamak emulator on 127.0.0.1.

What reached the "provider" is counted on the emulator's side: every number exactly once,
and the global rate limit read from the emulator's own arrival timestamps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery
from distributed_services import PostgresServer, RedisServer
from distributed_support import (
    HERE,
    LINE,
    TEXT,
    CeleryWorkers,
    busiest_window,
    numbers,
    received,
    redis_db,
    wait_for,
)
from smsbridge_melipayamak.emulator import Emulator, EmulatorState

import smsbridge
from smsbridge.distributed import BatchJob
from smsbridge.distributed.celery import CeleryCampaigns
from smsbridge.journal import RowState, open_journal

pytestmark = pytest.mark.sms_real_providers
SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


class Stack:
    """The emulator, a journal database, a broker and a limiter database, and workers."""

    def __init__(
        self,
        database: str,
        redis_server: RedisServer,
        emulator: Emulator,
        logs: Path,
        *,
        rate: str | None = None,
        timeout: float = 10.0,
        lease_grace: float = 30.0,
        visibility: float = 3600.0,
    ) -> None:
        self.database = database
        self.emulator = emulator
        broker_db, limits_db = redis_db(), redis_db()
        for db in (broker_db, limits_db):
            redis.Redis.from_url(redis_server.url(db)).flushdb()
        self.broker = redis_server.url(broker_db)
        self.provider = emulator.provider_url("demo", LINE) + f"&timeout={timeout}"
        self.env = {
            "SMSB_TEST_BROKER": self.broker,
            "SMSB_TEST_JOURNAL": database,
            "SMSB_TEST_PROVIDER": self.provider,
            "SMSB_TEST_LIMITS": redis_server.url(limits_db),
            "SMSB_TEST_LEASE_GRACE": str(lease_grace),
            "SMSB_TEST_VISIBILITY": str(visibility),
        }
        if rate is not None:
            self.env["SMSB_TEST_RATE"] = rate
        self.workers = CeleryWorkers(self.env, logs)
        # The producer side: same task name and broker, the campaign's provider for its
        # identity and batch size (built from a provider URL with plugins loaded).
        self.app = Celery("smsbridge_producer", broker=self.broker)
        self.app.conf.broker_connection_retry_on_startup = True
        self.campaigns = CeleryCampaigns(
            self.app,
            journal=database,
            provider=lambda: smsbridge.Client(self.provider, autoload_plugins=True),
        )

    def journal(self, name: str) -> str:
        return self.campaigns.journal_url(name)

    def close(self) -> None:
        self.workers.stop()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A demo emulator (credit for 1,000,000 parts) on the real clock."""
    with Emulator(EmulatorState.demo()) as running:
        yield running


@pytest.fixture
def make_stack(
    database: str, redis_server: RedisServer, emulator: Emulator, tmp_path: Path
) -> Iterator[object]:
    stacks: list[Stack] = []

    def make(**options: object) -> Stack:
        stack = Stack(database, redis_server, emulator, tmp_path, **options)  # type: ignore[arg-type]
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


class TestAtScale:
    """20,000 numbers through four workers, with provider latency and a global rate limit."""

    def test_every_number_exactly_once_and_the_rate_limit_holds_globally(
        self, make_stack: object, emulator: Emulator
    ) -> None:
        """Each number reaches the emulator once; no second of its arrivals, all workers
        together, carries more than the limit."""
        limit = 2000
        stack: Stack = make_stack(rate=f"{limit}/second")  # type: ignore[operator]
        emulator.faults.delay(0.05, None, operation="SendSms")
        stack.workers.start(4)
        targets = numbers(20_000)
        started = time.monotonic()
        handle = stack.campaigns.start("scale", TEXT, targets)
        summary = handle.wait(timeout=240, poll=0.5)
        elapsed = time.monotonic() - started
        handle.close()

        counts = received(emulator)
        assert set(counts) == set(targets)
        assert set(counts.values()) == {1}
        assert summary.totals.accepted == 20_000
        assert summary.totals.unknown == summary.totals.rejected == 0
        records = [(r.at, r.recipients) for r in emulator.state.log.of("SendSms")]
        assert sum(cost for _, cost in records) == 20_000
        assert busiest_window(records, 1.0) <= limit
        # The limit was the bottleneck (4 workers at 50 ms could go ~3x faster), and it was
        # used: 20,000 at 2000 per 1.1 s is ~11 s.
        assert elapsed > 20_000 / limit
        with open_journal(stack.journal("scale")) as view:
            assert view.totals().accepted == 20_000


class TestWorkerLossAndDuplicates:
    """``kill -9`` of a worker mid-batch, and every job delivered twice on purpose."""

    def test_nothing_is_sent_twice_and_the_dead_workers_rows_are_unknown(
        self, make_stack: object, emulator: Emulator, tmp_path: Path
    ) -> None:
        stack: Stack = make_stack(  # type: ignore[operator]
            timeout=3.0, lease_grace=2.0, visibility=4.0
        )
        emulator.faults.delay(0.4, None, operation="SendSms")
        stack.workers.start(3)
        twice: list[BatchJob] = []
        enqueue = stack.campaigns.enqueue

        def enqueue_twice(job: BatchJob) -> None:
            twice.append(job)
            enqueue(job)
            enqueue(job)

        stack.campaigns.enqueue = enqueue_twice  # type: ignore[method-assign]
        targets = numbers(2000)
        handle = stack.campaigns.start("loss", TEXT, targets)
        assert len(twice) == 20

        # A request in flight: its worker has claimed the rows and written the request (the
        # emulator holds its reply 0.4 s).
        flight: list[tuple[str, list[int]]] = []

        def in_flight() -> bool:
            with psycopg.connect(stack.database) as db:
                rows = db.execute(
                    "SELECT worker, positions FROM smsbridge.flights ORDER BY at DESC LIMIT 1"
                ).fetchall()
            flight[:] = [(str(w), list(p)) for w, p in rows]
            return bool(rows) and emulator.state.log.in_flight > 0

        wait_for(in_flight, "a request in flight")
        worker, positions = flight[0]
        stack.workers.kill(stack.workers.pid_of(worker))
        summary = handle.wait(timeout=120, poll=0.3)
        handle.close()

        counts = received(emulator)
        assert max(counts.values()) == 1, "a number was sent twice"
        assert summary.totals.accepted + summary.totals.unknown == 2000
        assert summary.totals.unknown == len(positions) == 100
        assert summary.lost_in_flight == 100
        accepted = {targets[p] for p in range(2000) if p not in set(positions)}
        assert all(counts[number] == 1 for number in accepted)
        # Listed for a person, never re-sent.
        listed = subprocess.run(
            [SMSBRIDGE, "journal", stack.journal("loss"), "--unknown", "--json"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [row["position"] for row in rows] == sorted(positions)
        assert {row["status"] for row in rows} == {"unknown"}
        with open_journal(stack.journal("loss")) as view:
            unknown = list(view.unknown())
        assert {row.state for row in unknown} == {RowState.UNKNOWN}
        # Every duplicate delivery found its rows taken and claimed nothing.
        logs = "".join(stack.workers.log(i).read_text() for i in range(3))
        assert logs.count("succeeded") >= 20


class TestJournalRestart:
    """Postgres restarted mid-campaign: workers wait, nothing is lost or sent twice."""

    def test_workers_wait_for_the_journal_and_finish(
        self, make_stack: object, emulator: Emulator, postgres: PostgresServer
    ) -> None:
        stack: Stack = make_stack()  # type: ignore[operator]
        emulator.faults.delay(0.05, None, operation="SendSms")
        stack.workers.start(4)
        targets = numbers(5000)
        handle = stack.campaigns.start("restart", TEXT, targets)
        wait_for(lambda: len(emulator.state.sent) >= 1500, "a third of the campaign")
        postgres.restart_after(2.0, mode="immediate")
        assert len(emulator.state.sent) < 5000, "the restart came too late to matter"
        summary = handle.wait(timeout=180, poll=0.5)
        handle.close()
        # Some jobs were under way during the outage and waited it out.
        durations = [
            float(line.split("succeeded in ")[1].split("s:")[0])
            for index in range(4)
            for line in stack.workers.log(index).read_text().splitlines()
            if "succeeded in " in line
        ]
        assert max(durations) > 1.5
        counts = received(emulator)
        assert set(counts) == set(targets)
        assert set(counts.values()) == {1}
        assert summary.totals.accepted == 5000
        assert summary.totals.unknown == 0


class TestCommandLine:
    """``smsbridge campaign start --engine celery`` and ``smsbridge journal postgresql://…``."""

    def test_start_follow_and_read_the_journal(
        self, make_stack: object, emulator: Emulator, tmp_path: Path
    ) -> None:
        stack: Stack = make_stack()  # type: ignore[operator]
        stack.workers.start(2)
        targets = numbers(450)
        source = tmp_path / "numbers.txt"
        source.write_text("".join(f"0{n[3:]}\n" for n in targets) + "not-a-number\n")
        env = {**stack.workers.env, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": ""}
        env.pop("SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD")
        journal = stack.journal("cli")
        run = subprocess.run(
            [SMSBRIDGE, "campaign", "start", "--engine", "celery",
             "--celery-app", "distributed_celery_app:campaigns", "--journal", journal,
             "--to-file", str(source), "--text", TEXT, "--skip-invalid", "--json"],
            capture_output=True, text=True, cwd=HERE, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 4, run.stderr  # partial: one invalid number
        summary = json.loads(run.stdout)
        assert summary["total"] == 451
        assert summary["accepted"] == 450
        assert summary["rejected"] == 1
        assert set(received(emulator).values()) == {1}
        # Run again: the same campaign, resumed, nothing more sent.
        again = subprocess.run(
            [SMSBRIDGE, "campaign", "start", "--engine", "celery",
             "--celery-app", "distributed_celery_app:campaigns", "--journal", journal,
             "--to-file", str(source), "--text", TEXT, "--skip-invalid", "--no-wait"],
            capture_output=True, text=True, cwd=HERE, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "0 batches enqueued (resumed)" in again.stdout
        assert len(emulator.state.sent) == 450
        totals = subprocess.run(
            [SMSBRIDGE, "journal", journal, "--json"],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip
        assert json.loads(totals.stdout)["accepted"] == 450
        export = tmp_path / "report.csv"
        exported = subprocess.run(
            [SMSBRIDGE, "journal", journal, "--export", str(export)],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip
        assert "451 rows written" in exported.stdout
        assert export.read_text().count("accepted") == 450
        invalid = subprocess.run(
            [SMSBRIDGE, "journal", journal, "--invalid"],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip
        assert "not-a-number" in invalid.stdout
