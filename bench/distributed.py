"""Distributed campaigns: throughput with 1, 2 and 4 Celery workers, and the journals' cost.

    python bench/distributed.py            # about four minutes on 2 cores
    python bench/distributed.py --numbers 8000 --rounds 1

Needs redis-server and Postgres (initdb/pg_ctl) installed; it starts its own throwaway
servers on 127.0.0.1 (tests/distributed/distributed_services.py) and Celery workers as
processes (tests/distributed/distributed_celery_app.py), and the Melipayamak emulator with a
100 ms delay on every SendSms.

1. Throughput: one campaign through N workers (one request at a time each), against one
   process's ``send_bulk`` with ``concurrency=N`` (the same total concurrency), N = 1, 2, 4.
   Timed from the start of the campaign (creation and fan-out included, workers already
   running and warmed up by a small campaign) to its last outcome. The goal: 4 workers ≥ 3.5×
   one.
2. Journal overhead per row: the writes a row costs — enqueued, claimed (in flight) and
   landed, in batches of 100 — in the Postgres journal against the SQLite journal's
   (enqueue, mark_in_flight, write_outcomes), on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "distributed"))

import redis  # noqa: E402
from celery import Celery  # noqa: E402
from distributed_services import PostgresServer, RedisServer  # noqa: E402
from distributed_support import CeleryWorkers  # noqa: E402
from smsbridge_melipayamak.emulator import Emulator, EmulatorState  # noqa: E402

import smsbridge  # noqa: E402
from smsbridge import RecipientResult, SendStatus  # noqa: E402
from smsbridge.distributed.celery import CeleryCampaigns  # noqa: E402
from smsbridge.journal._postgres import PostgresJournal  # noqa: E402
from smsbridge.journal._sqlite import SqliteJournal  # noqa: E402

LINE = "50004001234567"
TEXT = "Sale starts tomorrow. لغو11"
LATENCY = 0.1


def numbers(count: int, offset: int = 0) -> list[str]:
    return [f"+98912{n + offset:07d}" for n in range(count)]


def local_campaign(url: str, targets: list[str], concurrency: int) -> float:
    """``send_bulk`` in this process, a temporary SQLite journal."""
    with smsbridge.Client(url, concurrency=concurrency, autoload_plugins=True) as client:
        started = time.perf_counter()
        summary = client.send_bulk(TEXT, targets)
        elapsed = time.perf_counter() - started
    assert summary.totals.accepted == len(targets), summary
    return elapsed


def celery_campaign(campaigns: CeleryCampaigns, name: str, targets: list[str]) -> float:
    started = time.perf_counter()
    handle = campaigns.start(name, TEXT, targets)
    summary = handle.wait(poll=0.05)
    elapsed = time.perf_counter() - started
    handle.close()
    assert summary.totals.accepted == len(targets), summary
    return elapsed


def throughput(
    postgres: PostgresServer, redis_server: RedisServer, count: int, rounds: int
) -> dict[int, float]:
    print(f"\n# throughput: {count} numbers, {LATENCY * 1000:.0f} ms provider latency")
    print("workers  celery msg/s (median of rounds)  send_bulk msg/s, same concurrency  ratio")
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as logs, Emulator(EmulatorState.demo()) as emulator:
        emulator.faults.delay(LATENCY, None, operation="SendSms")
        url = emulator.provider_url("demo", LINE)
        for workers in (1, 2, 4):
            database = postgres.create_database(f"bench{workers}_{uuid.uuid4().hex[:6]}")
            broker = redis_server.url(workers)
            redis.Redis.from_url(broker).flushdb()
            env = {
                "SMSB_TEST_BROKER": broker,
                "SMSB_TEST_JOURNAL": database,
                "SMSB_TEST_PROVIDER": url,
                "SMSB_TEST_LIMITS": redis_server.url(0),
            }
            pool = CeleryWorkers(env, Path(logs)).start(workers)
            app = Celery("bench_producer", broker=broker)
            app.conf.broker_connection_retry_on_startup = True
            campaigns = CeleryCampaigns(
                app,
                journal=database,
                provider=lambda url=url: smsbridge.Client(url, autoload_plugins=True),  # type: ignore[misc]
            )
            celery_times, local_times = [], []
            try:
                # Warm-up, not timed: each worker's first job opens its connections and loads
                # the provider plugin (about 0.4 s); throughput is the steady state's.
                celery_campaign(campaigns, "warm-up", numbers(workers * 200, 9_000_000))
                for round_ in range(rounds):
                    offset = (round_ + 1) * 1_000_000
                    celery_times.append(
                        celery_campaign(campaigns, f"r{round_}", numbers(count, offset))
                    )
                    local_times.append(
                        local_campaign(url, numbers(count, offset + 500_000), workers)
                    )
            finally:
                pool.stop()
            celery_rate = count / statistics.median(celery_times)
            local_rate = count / statistics.median(local_times)
            results[workers] = celery_rate
            print(
                f"{workers:7d}  {celery_rate:31.0f}  {local_rate:34.0f}  "
                f"{celery_rate / local_rate:5.2f}"
            )
    print(f"scaling 1 → 4 workers: {results[4] / results[1]:.2f}× (goal ≥ 3.5×)")
    return results


def _ok(count: int) -> list[RecipientResult]:
    return [
        RecipientResult(recipient="", status=SendStatus.ACCEPTED, message_id=f"m{n}", segments=1)
        for n in range(count)
    ]


def journal_overhead(postgres: PostgresServer, count: int) -> None:
    print(f"\n# journal overhead per row: {count} rows, batches of 100 (enqueue, claim, land)")
    rows = [(p, n, n, None, None) for p, n in enumerate(numbers(count))]
    results = _ok(100)
    # SQLite: what the local campaign does per row.
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteJournal(Path(folder) / "j.sqlite")
        from smsbridge.journal import CampaignIdentity

        identity = CampaignIdentity(
            provider="melipayamak", account="demo", kind="text", content="x", sender=LINE
        )
        store.bind(identity)
        started = time.perf_counter()
        for start in range(0, count, 2000):
            with store.transaction():
                store.enqueue(rows[start : start + 2000], {"rows": start + 2000})
        enqueued = time.perf_counter()
        for start in range(0, count, 100):
            positions = list(range(start, start + 100))
            with store.transaction():
                flight = store.mark_in_flight(positions)
            with store.transaction():
                store.write_outcomes(
                    [(p, r, "melipayamak") for p, r in zip(positions, results, strict=True)],
                    attempted=True,
                    flight=flight,
                )
        done = time.perf_counter()
        store.close()
    sqlite = ((enqueued - started) / count, (done - enqueued) / count)
    # Postgres: the same rows through the distributed journal.
    url = postgres.create_database(f"overhead_{uuid.uuid4().hex[:6]}") + "?campaign=bench"
    with PostgresJournal(url) as pg:
        pg.bind(identity, {"kind": "text", "text": TEXT})
        started = time.perf_counter()
        for start in range(0, count, 2000):
            with pg.transaction():
                pg.enqueue(rows[start : start + 2000], {"rows": start + 2000})
        enqueued = time.perf_counter()
        for start in range(0, count, 100):
            positions = list(range(start, start + 100))
            flight = uuid.uuid4()
            pg.claim(positions, flight, lease=60)
            pg.land(
                flight, [(p, r, "melipayamak") for p, r in zip(positions, results, strict=True)]
            )
        done = time.perf_counter()
    postgres_cost = ((enqueued - started) / count, (done - enqueued) / count)
    print("journal    enqueue µs/row   claim+land µs/row   total µs/row   per request (100 rows)")
    for name, (enqueue, send) in (("sqlite", sqlite), ("postgres", postgres_cost)):
        print(
            f"{name:9s}  {enqueue * 1e6:14.1f}  {send * 1e6:18.1f}  {(enqueue + send) * 1e6:12.1f}"
            f"  {send * 100 * 1000:8.2f} ms"
        )
    print(
        "(a Postgres claim and landing are two round trips and two commits over 127.0.0.1; "
        "set them against the provider's own latency, 100 ms here)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--journal-rows", type=int, default=20_000)
    args = parser.parse_args()
    postgres = PostgresServer().start()
    redis_server = RedisServer().start()
    try:
        journal_overhead(postgres, args.journal_rows)
        throughput(postgres, redis_server, args.numbers, args.rounds)
    finally:
        redis_server.stop()
        postgres.destroy()


if __name__ == "__main__":
    main()
