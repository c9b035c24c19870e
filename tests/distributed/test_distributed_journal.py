"""The Postgres journal and the engine-neutral worker, against a real Postgres server.

Jobs run in this process through :class:`CampaignWorker` on the fake provider: the queue is
not what these tests are about (test_distributed_celery.py runs real workers).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import smsbridge
from smsbridge import Message, RecipientResult, SendStatus
from smsbridge.distributed import (
    BatchJob,
    CampaignHandle,
    CampaignWorker,
    create_campaign,
    message_from_dict,
    message_to_dict,
)
from smsbridge.exceptions import (
    ConfigurationError,
    ErrorCategory,
    InvalidRecipientError,
    JournalError,
)
from smsbridge.journal import RowState, open_journal
from smsbridge.journal._postgres import (
    INTERRUPTED,
    JournalUnavailableError,
    PostgresJournal,
    PostgresJournalView,
    redacted,
    split_journal_url,
)
from smsbridge.provider import Batch
from smsbridge.sources import NumberFile
from smsbridge.testing import FakeOutbox, FakeProvider
from smsbridge.transport import Request

TEXT = "Sale! لغو11"


def numbers(count: int) -> list[str]:
    """Distinct mobiles outside the fake provider's scripted ones (+98912000000N)."""
    return [f"+98935{n:07d}" for n in range(count)]


class KeyedFake(FakeProvider):
    """The fake provider, recording the keys every request carried."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.keys: list[str] = []

    def request_for(self, batch: Batch) -> Request:
        self.keys.extend(batch.keys or ())
        return super().request_for(batch)


@pytest.fixture
def provider(sms_outbox: FakeOutbox) -> KeyedFake:
    return KeyedFake(outbox=sms_outbox)


@pytest.fixture
def client(provider: KeyedFake) -> Iterator[smsbridge.Client]:
    with smsbridge.Client(provider=provider, timeout=2) as sms:
        yield sms


@pytest.fixture
def worker(client: smsbridge.Client, database: str) -> Iterator[CampaignWorker]:
    with CampaignWorker(client, database, lease_grace=0.5) as running:
        yield running


def start(
    client: smsbridge.Client, journal_url: str, recipients: object, **options: object
) -> list[BatchJob]:
    jobs: list[BatchJob] = []
    create_campaign(
        client.engine,
        journal_url,
        Message(text=TEXT),
        recipients,  # type: ignore[arg-type]
        enqueue=jobs.append,
        **options,  # type: ignore[arg-type]
    )
    return jobs


class TestUrlsAndSchema:
    """A campaign is named by URL; the schema is smsbridge's to create."""

    def test_the_campaign_parameter_is_taken_out_of_the_url(self) -> None:
        """libpq gets the rest of the URL as it is."""
        url = "postgresql://u:p@h:5/db?sslmode=disable&campaign=a%20b"
        assert split_journal_url(url) == ("postgresql://u:p@h:5/db?sslmode=disable", "a b")
        assert "p@" not in redacted(url)
        assert redacted(url).startswith("postgresql://u:***@h:5/db")

    def test_a_url_without_a_campaign_is_refused(self, database: str) -> None:
        with pytest.raises(ConfigurationError, match=r"\?campaign=NAME"):
            PostgresJournal(database)

    def test_the_schema_is_created_once_and_versioned(self, journal_url: str) -> None:
        PostgresJournal(journal_url).close()
        with PostgresJournal(journal_url) as again:
            assert again._schema_version() == 1

    def test_a_newer_schema_is_refused(self, journal_url: str, database: str) -> None:
        PostgresJournal(journal_url).close()
        with psycopg.connect(database, autocommit=True) as db:
            db.execute("UPDATE smsbridge.meta SET value = '99' WHERE key = 'schema'")
        with pytest.raises(JournalError, match="version 99"):
            PostgresJournal(journal_url)

    def test_reading_a_database_without_a_journal_is_refused_untouched(
        self, journal_url: str, database: str
    ) -> None:
        with pytest.raises(JournalError, match="holds no smsbridge journal"):
            open_journal(journal_url)
        with psycopg.connect(database) as db:
            assert db.execute("SELECT to_regclass('smsbridge.meta')").fetchone() == (None,)

    def test_reading_a_campaign_that_does_not_exist(self, journal_url: str) -> None:
        PostgresJournal(journal_url).close()
        with pytest.raises(JournalError, match="no campaign 'spring'"):
            open_journal(journal_url)

    def test_an_unreachable_server_is_a_retryable_error_without_the_password(self) -> None:
        from distributed_services import free_port

        url = f"postgresql://u:secret@127.0.0.1:{free_port()}/db?campaign=c"
        with pytest.raises(JournalUnavailableError) as caught:
            PostgresJournal(url, connect_timeout=1)
        assert caught.value.retryable
        assert "secret" not in str(caught.value)

    def test_messages_round_trip(self) -> None:
        for message in (
            Message(text="hi", sender="5000", flash=True, udh="0500", reference="r"),
            smsbridge.Template(id="otp", variables={"token": "1"}, sender="5000"),
        ):
            assert message_from_dict(message_to_dict(message)) == message


class TestCreating:
    """Rows are written once, ids made at creation; creating again is safe."""

    def test_rows_batches_invalid_and_duplicates(
        self, client: smsbridge.Client, journal_url: str
    ) -> None:
        targets = [*numbers(250), "bad", numbers(1)[0]]
        jobs = start(client, journal_url, targets)
        assert [len(job.positions) for job in jobs] == [100, 100, 50]
        with open_journal(journal_url) as view:
            assert isinstance(view, PostgresJournalView)
            totals = view.totals()
            assert (totals.total, totals.rejected, totals.pending) == (252, 1, 251)
            assert [row.raw for row in view.invalid()] == ["bad"]
            last = list(view.rows())[-1]
            assert last.duplicate_of == 0

    def test_creating_again_writes_nothing_twice_and_enqueues_what_is_pending(
        self, client: smsbridge.Client, journal_url: str, worker: CampaignWorker
    ) -> None:
        jobs = start(client, journal_url, numbers(300))
        worker.run(jobs[0])
        again = start(client, journal_url, numbers(300))
        assert [len(job.positions) for job in again] == [100, 100]
        with PostgresJournal(journal_url) as store:
            assert store.row_count() == 300

    def test_another_text_under_the_same_name_is_refused(
        self, client: smsbridge.Client, journal_url: str
    ) -> None:
        start(client, journal_url, numbers(3))
        with pytest.raises(JournalError, match="the text"):
            create_campaign(
                client.engine, journal_url, Message(text="other"), numbers(3), enqueue=print
            )

    def test_other_recipients_under_the_same_name_are_refused(
        self, client: smsbridge.Client, journal_url: str, tmp_path: Path
    ) -> None:
        source = tmp_path / "numbers.txt"
        source.write_text("09120000001\n09120000002\n")
        start(client, journal_url, NumberFile(source))
        source.write_text("09120000001\n09120000003\n")
        with pytest.raises(JournalError, match="is not the one it was started with"):
            start(client, journal_url, NumberFile(source))

    def test_all_or_nothing_leaves_no_campaign(
        self, client: smsbridge.Client, journal_url: str
    ) -> None:
        with pytest.raises(InvalidRecipientError):
            start(client, journal_url, [*numbers(2), "bad"], skip_invalid=False)
        jobs = start(client, journal_url, numbers(2), skip_invalid=False)
        assert len(jobs) == 1

    def test_a_second_creator_is_refused_while_the_first_enqueues(
        self, client: smsbridge.Client, journal_url: str
    ) -> None:
        start(client, journal_url, numbers(2))
        holder = PostgresJournal(journal_url)
        holder.lock_for_enqueue()
        try:
            with pytest.raises(JournalError, match="being created by another process"):
                start(client, journal_url, numbers(2))
        finally:
            holder.close()


class TestClaims:
    """A row is claimed once; a duplicated or redelivered job claims nothing."""

    def test_each_number_once_with_the_campaigns_keys(
        self,
        client: smsbridge.Client,
        journal_url: str,
        worker: CampaignWorker,
        provider: KeyedFake,
        sms_outbox: FakeOutbox,
    ) -> None:
        jobs = start(client, journal_url, numbers(150))
        outcomes = [worker.run(job) for job in jobs + jobs]
        assert [o.claimed for o in outcomes] == [100, 50, 0, 0]
        assert [o.skipped for o in outcomes] == [0, 0, 100, 50]
        assert sorted(sms.recipient for sms in sms_outbox) == numbers(150)
        with PostgresJournal(journal_url) as store:
            prefix = store.campaign_id
            assert store.finished() is not None
        assert provider.keys == [f"{prefix}:{p}" for p in range(150)]

    def test_concurrent_claims_take_each_row_once(
        self, client: smsbridge.Client, journal_url: str
    ) -> None:
        start(client, journal_url, numbers(500))
        taken: list[list[int]] = []
        barrier = threading.Barrier(8)

        def claim() -> None:
            with PostgresJournal(journal_url) as store:
                barrier.wait()
                rows = store.claim(range(500), uuid.uuid4(), lease=30)
                taken.append([p for p, _ in rows])

        threads = [threading.Thread(target=claim) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(p for rows in taken for p in rows) == list(range(500))
        assert sum(1 for rows in taken if rows) == 1

    def test_a_dead_workers_rows_become_unknown_and_are_never_resent(
        self,
        client: smsbridge.Client,
        journal_url: str,
        worker: CampaignWorker,
        sms_outbox: FakeOutbox,
    ) -> None:
        jobs = start(client, journal_url, numbers(100))
        with PostgresJournal(journal_url) as dead:
            claimed = dead.claim(jobs[0].positions, uuid.uuid4(), lease=0.3, worker="gone:1")
        assert len(claimed) == 100
        with open_journal(journal_url) as view:
            assert view.running
            assert {row.state for row in view.rows()} == {RowState.IN_FLIGHT}
        time.sleep(0.4)
        with open_journal(journal_url) as view:
            # Past the lease the rows read as what they become, before anyone recovers them.
            assert not view.running
            assert view.totals().unknown == 100
            assert len(list(view.unknown())) == 100
        assert worker.run(jobs[0]).claimed == 0
        assert len(sms_outbox) == 0
        with CampaignHandle(journal_url) as handle:
            summary = handle.wait(timeout=5)
        assert summary.totals.unknown == 100
        assert summary.lost_in_flight == 100
        with open_journal(journal_url) as view:
            row = next(view.unknown())
            assert row.category is ErrorCategory.OUTCOME_UNKNOWN
            assert row.error == INTERRUPTED

    def test_a_late_landing_replaces_the_unknown(
        self, journal_url: str, client: smsbridge.Client
    ) -> None:
        jobs = start(client, journal_url, numbers(2))
        flight = uuid.uuid4()
        with PostgresJournal(journal_url) as store:
            store.claim(jobs[0].positions, flight, lease=0.1)
            time.sleep(0.2)
            assert store.recover() == 2
            ok = RecipientResult(
                recipient="", status=SendStatus.ACCEPTED, message_id="m", segments=1
            )
            assert store.land(flight, [(0, ok, "fake"), (1, ok, "fake")]) == 2
            assert store.totals().accepted == 2
            # Landing again changes nothing.
            assert store.land(flight, [(0, ok, "fake")]) == 1
            assert store.totals().accepted == 2

    def test_rows_requeued_meanwhile_are_not_overwritten(
        self, journal_url: str, client: smsbridge.Client
    ) -> None:
        jobs = start(client, journal_url, numbers(1))
        flight = uuid.uuid4()
        with PostgresJournal(journal_url) as store:
            store.claim(jobs[0].positions, flight, lease=0.1)
            time.sleep(0.2)
            store.recover()
            assert store.requeue_unknown() == 1
            ok = RecipientResult(recipient="", status=SendStatus.ACCEPTED, segments=1)
            assert store.land(flight, [(0, ok, "fake")]) == 0
            assert store.progress_counts()["pending"] == 1

    def test_a_claim_whose_commit_was_not_confirmed_is_released(
        self, journal_url: str, client: smsbridge.Client
    ) -> None:
        jobs = start(client, journal_url, numbers(3))
        flight = uuid.uuid4()
        with PostgresJournal(journal_url) as store:
            store.claim(jobs[0].positions, flight, lease=30)
            assert store.release(flight) == 3
            assert len(store.pending_of(jobs[0].positions)) == 3


class TestOutcomes:
    """Retryable rejections go back to pending; unknown stays unknown."""

    def test_a_retryable_rejection_is_requeued_for_the_jobs_retry(
        self,
        client: smsbridge.Client,
        journal_url: str,
        worker: CampaignWorker,
        sms_outbox: FakeOutbox,
    ) -> None:
        jobs = start(client, journal_url, numbers(10))
        # More failures than any retry policy inside one send; the rest are dropped after.
        sms_outbox.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=10)
        first = worker.run(jobs[0], may_retry=True)
        sms_outbox.clear()
        assert first.rejected == 10
        assert first.retry == tuple(range(10))
        second = worker.run(BatchJob(jobs[0].campaign, first.retry), may_retry=True)
        assert second.accepted == 10
        assert len(sms_outbox) == 10

    def test_without_retries_left_it_stays_rejected_until_the_campaign_is_started_again(
        self,
        client: smsbridge.Client,
        journal_url: str,
        worker: CampaignWorker,
        sms_outbox: FakeOutbox,
    ) -> None:
        jobs = start(client, journal_url, numbers(10))
        sms_outbox.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=10)
        assert worker.run(jobs[0]).retry == ()
        sms_outbox.clear()
        with open_journal(journal_url) as view:
            assert view.totals().rejected == 10
        again = start(client, journal_url, numbers(10))
        assert worker.run(again[0]).accepted == 10

    def test_a_lost_reply_is_unknown_and_not_resent(
        self,
        client: smsbridge.Client,
        journal_url: str,
        worker: CampaignWorker,
        sms_outbox: FakeOutbox,
    ) -> None:
        jobs = start(client, journal_url, numbers(5))
        sms_outbox.lose_next_reply()
        assert worker.run(jobs[0], may_retry=True).unknown == 5
        again = start(client, journal_url, numbers(5))
        assert again == []
        with open_journal(journal_url) as view:
            assert view.totals().unknown == 5
        assert len(sms_outbox) == 5

    def test_a_worker_for_another_account_refuses_the_campaign(
        self, client: smsbridge.Client, journal_url: str, database: str
    ) -> None:
        jobs = start(client, journal_url, numbers(2))
        with (
            smsbridge.Client("fake://?batch_size=5") as other,
            CampaignWorker(other, database) as stranger,
        ):
            stranger.engine.provider.sender_for = lambda message: "999"  # type: ignore[method-assign]
            with pytest.raises(ConfigurationError, match="cannot send the campaign"):
                stranger.run(jobs[0])

    def test_the_journal_exports_and_counts_like_the_sqlite_one(
        self,
        client: smsbridge.Client,
        journal_url: str,
        worker: CampaignWorker,
        tmp_path: Path,
    ) -> None:
        for job in start(client, journal_url, [*numbers(3), "x"]):
            worker.run(job)
        with open_journal(journal_url) as view:
            assert view.identity is not None
            assert view.identity.provider == "fake"
            assert view.enqueued
            assert view.reasons() == {"invalid_recipient": 1}
            assert view.delivery_counts() == {"unchecked": 3}
            assert view.export(tmp_path / "out.jsonl") == 4
        lines = (tmp_path / "out.jsonl").read_text().splitlines()
        assert len(lines) == 4


class TestReconciling:
    """Delivery checks and settling run on a Postgres journal as on a file."""

    def test_delivery_statuses_are_stored_and_counted(
        self, client: smsbridge.Client, journal_url: str, worker: CampaignWorker
    ) -> None:
        from smsbridge.distributed import reconcile_journal

        for job in start(client, journal_url, numbers(3)):
            worker.run(job)
        counts = reconcile_journal(client, journal_url)
        assert sum(counts.values()) == 3
        with open_journal(journal_url) as view:
            assert view.delivery_counts() == counts
            assert all(row.delivery is not None for row in view.rows())

    def test_settling_needs_a_provider_that_looks_sends_up_by_key(
        self, client: smsbridge.Client, journal_url: str
    ) -> None:
        from smsbridge.distributed import reconcile_journal

        start(client, journal_url, numbers(1))
        with pytest.raises(ConfigurationError, match="by key"):
            reconcile_journal(client, journal_url, settle=True)
