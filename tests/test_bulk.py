"""Campaign sends through the journal: streaming, resume, reports, rate limit (fake provider)."""

from __future__ import annotations

import asyncio
import csv
import json
import tracemalloc
from pathlib import Path

import pytest

from smsbridge import (
    BaseProvider,
    Batch,
    BulkProgress,
    Capabilities,
    Client,
    ConfigurationError,
    ErrorCategory,
    JournalError,
    RecipientResult,
    Retry,
    SendStatus,
    hookimpl,
)
from smsbridge.journal import RowState, open_journal
from smsbridge.journal._sqlite import SqliteJournal
from smsbridge.testing import FakeOutbox, FakeProvider
from smsbridge.testing._fake import FakeTransport
from smsbridge.transport import MockTransport, Request, Response


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    """Distinct valid Iranian mobiles in local form, clear of the fake's magic numbers."""
    return [f"0912{start + i:07d}" for i in range(count)]


class Interrupt(BaseException):
    """Stands for Ctrl-C or a crash: it is not an Exception, so nothing catches it."""


class CrashingProvider(FakeProvider):
    """A fake that dies on request ``crash_on`` after the provider took it (reply lost)."""

    def __init__(self, outbox: FakeOutbox, crash_on: int) -> None:
        super().__init__(outbox=outbox, batch_size=10)
        self.crash_on = crash_on

    def transport(self) -> tuple[MockTransport, MockTransport]:
        service = FakeTransport(self)

        def handle(request: Request) -> Response:
            response = service.handler(request)
            if self.requests == self.crash_on:
                raise Interrupt
            return response

        crashing = MockTransport(handle)
        return crashing, crashing


class CountingProvider(BaseProvider):
    """Accepts everything and remembers only how many it took."""

    scheme = "counting"
    capabilities = Capabilities(max_batch_size=100)

    def __init__(self) -> None:
        self.sent = 0
        mock = MockTransport(lambda request: Response(status_code=200, content=request.content))
        self._mock = mock

    def transport(self) -> tuple[MockTransport, MockTransport]:
        return self._mock, self._mock

    def request_for(self, batch: Batch) -> Request:
        return Request(method="POST", url="mock://count", content=b"x")

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        self.sent += len(batch.recipients)
        return [
            RecipientResult(recipient=n, status=SendStatus.ACCEPTED, message_id=f"id-{n}")
            for n in batch.recipients
        ]


@pytest.fixture
def outbox() -> FakeOutbox:
    return FakeOutbox()


class TestStreaming:
    """Recipients are read lazily and every one of them ends up in the journal."""

    def test_every_recipient_is_sent_once_and_counted(self, outbox: FakeOutbox) -> None:
        """A generator of 250 numbers goes out in 10-recipient requests, each number once."""
        client = Client(provider=FakeProvider(outbox=outbox, batch_size=10), concurrency=3)
        summary = client.send_bulk("campaign", (n for n in numbers(250)))
        assert summary.totals.accepted == 250
        assert summary.totals.total == 250
        assert sorted(outbox.recipients) == sorted(f"+98{n[1:]}" for n in numbers(250))
        assert client.provider.requests == 25  # type: ignore[attr-defined]
        assert summary.journal is None  # a temporary journal was used and removed

    def test_invalid_and_duplicate_recipients_are_reported_not_dropped(
        self, outbox: FakeOutbox, tmp_path: Path
    ) -> None:
        """Invalid numbers are rejected with their reason; a duplicate is sent once."""
        given = [*numbers(3), "not-a-number", numbers(1)[0]]
        client = Client(provider=FakeProvider(outbox=outbox))
        summary = client.send_bulk("hi", given, journal=tmp_path / "j.sqlite")
        assert len(outbox) == 3
        with open_journal(tmp_path / "j.sqlite") as journal:
            rows = list(journal.rows())
        assert [row.position for row in rows] == [0, 1, 2, 3, 4]
        assert rows[3].state is RowState.REJECTED
        assert rows[3].status is SendStatus.REJECTED
        assert rows[3].category is ErrorCategory.INVALID_RECIPIENT
        assert rows[3].error == "contains letters"
        assert rows[4].duplicate_of == 0
        assert rows[4].state is RowState.ACCEPTED
        assert rows[4].message_id == rows[0].message_id
        assert (summary.totals.accepted, summary.totals.rejected) == (4, 1)

    def test_memory_stays_flat_as_the_recipient_count_grows(self) -> None:
        """Peak Python allocations for 40,000 recipients stay near those for 10,000 (both
        above the enqueue chunk, so the comparison is of what grows with the count)."""

        def peak(count: int) -> int:
            # The fake's outbox keeps every message by design, so a provider that keeps
            # nothing isolates what smsbridge itself holds.
            provider = CountingProvider()
            client = Client(provider=provider)
            tracemalloc.start()
            client.send_bulk(
                "flat", (f"+98912{i:07d}" for i in range(2_000_000, 2_000_000 + count))
            )
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert provider.sent == count
            return top

        small, large = peak(10_000), peak(40_000)
        assert large < small * 1.5, (small, large)


class TestResume:
    """An interrupted send resumes from its journal without sending anything twice."""

    def test_interrupt_then_resume_sends_nobody_twice(
        self, outbox: FakeOutbox, tmp_path: Path
    ) -> None:
        """The in-flight request becomes unknown; the rest is sent on resume."""
        journal = tmp_path / "campaign.sqlite"
        given = numbers(95)
        crashing = Client(provider=CrashingProvider(outbox, crash_on=4), concurrency=1)
        with pytest.raises(Interrupt):
            crashing.send_bulk("hello", given, journal=journal)
        assert len(outbox) == 40  # four requests reached the provider

        resumed = Client(provider=FakeProvider(outbox=outbox, batch_size=10), concurrency=2)
        summary = resumed.send_bulk("hello", given, journal=journal)

        assert summary.resumed
        assert summary.lost_in_flight == 10
        counts: dict[str, int] = {}
        for number in outbox.recipients:
            counts[number] = counts.get(number, 0) + 1
        assert set(counts.values()) == {1}, "somebody received the message twice"
        assert len(counts) == 95, "somebody was skipped"
        assert (summary.totals.accepted, summary.totals.unknown) == (85, 10)
        with open_journal(journal) as book:
            unknown = list(book.unknown())
        assert [row.position for row in unknown] == list(range(30, 40))
        assert {row.category for row in unknown} == {ErrorCategory.OUTCOME_UNKNOWN}

    def test_resend_unknown_is_the_callers_explicit_choice(
        self, outbox: FakeOutbox, tmp_path: Path
    ) -> None:
        """Unknown rows are re-sent only with ``resend_unknown=True``."""
        journal = tmp_path / "j.sqlite"
        outbox.lose_next_reply()
        client = Client(provider=FakeProvider(outbox=outbox, batch_size=5))
        first = client.send_bulk("x", numbers(10), journal=journal)
        assert first.totals.unknown == 5
        again = client.send_bulk("x", numbers(10), journal=journal)
        assert again.totals.unknown == 5
        assert len(outbox) == 10
        settled = client.send_bulk("x", numbers(10), journal=journal, resend_unknown=True)
        assert settled.totals.accepted == 10
        assert len(outbox) == 15

    def test_retryable_rejections_are_sent_again_on_resume(
        self, outbox: FakeOutbox, tmp_path: Path
    ) -> None:
        """``provider_unavailable`` means nothing went out, so a resume sends it again."""
        journal = tmp_path / "j.sqlite"
        outbox.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        client = Client(
            provider=FakeProvider(outbox=outbox, batch_size=5),
            concurrency=1,
            retry=Retry(attempts=1),
        )
        assert client.send_bulk("x", numbers(10), journal=journal).totals.rejected == 5
        assert client.send_bulk("x", numbers(10), journal=journal).totals.accepted == 10
        assert len(outbox) == 10

    def test_a_journal_of_another_message_is_refused(
        self, outbox: FakeOutbox, tmp_path: Path
    ) -> None:
        """Resuming with a different text is refused, naming what differs, before any send."""
        journal = tmp_path / "j.sqlite"
        client = Client(provider=FakeProvider(outbox=outbox))
        client.send_bulk("first campaign", numbers(3), journal=journal)
        outbox.clear()
        with pytest.raises(JournalError, match="another campaign: the text"):
            client.send_bulk("second campaign", numbers(3), journal=journal)
        outbox.assert_nothing_sent()


class TestReport:
    """The per-recipient report is written as outcomes arrive."""

    @pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
    def test_report_has_one_line_per_input_recipient(
        self, outbox: FakeOutbox, tmp_path: Path, suffix: str
    ) -> None:
        """Accepted, invalid and duplicate recipients each get their line."""
        report = tmp_path / f"report{suffix}"
        given = [*numbers(12), "0912", numbers(1)[0]]
        client = Client(provider=FakeProvider(outbox=outbox, batch_size=5))
        client.send_bulk("hi", given, report=report)
        if suffix == ".jsonl":
            lines = [json.loads(line) for line in report.read_text("utf-8").splitlines()]
        else:
            with report.open(encoding="utf-8") as handle:
                lines = list(csv.DictReader(handle))
        assert sorted(int(line["position"]) for line in lines) == list(range(14))
        by_position = {int(line["position"]): line for line in lines}
        assert by_position[12]["status"] == "rejected"
        assert by_position[13]["status"] == "accepted"
        assert str(by_position[13]["duplicate_of"]) == "0"

    def test_progress_is_reported_after_every_request(self, outbox: FakeOutbox) -> None:
        """``on_progress`` sees the running count reach the total."""
        seen: list[BulkProgress] = []
        client = Client(provider=FakeProvider(outbox=outbox, batch_size=10), concurrency=1)
        client.send_bulk("hi", numbers(35), on_progress=seen.append)
        assert [p.done for p in seen] == [10, 20, 30, 35]
        assert seen[-1].total == 35
        assert seen[-1].accepted == 35


class TestHooksInBulk:
    """Plugins see each request of a bulk send."""

    def test_opt_out_plugin_applies_to_bulk_sends(self, outbox: FakeOutbox) -> None:
        """A recipient rejected by ``smsbridge_before_send`` is not sent and is reported."""
        blocked = f"+98{numbers(1, start=1_000_003)[0][1:]}"

        class OptOut:
            @hookimpl
            def smsbridge_before_send(self, send: object) -> None:
                send.reject(blocked, "opted out")  # type: ignore[attr-defined]

        client = Client(provider=FakeProvider(outbox=outbox, batch_size=4), plugins=[OptOut()])
        summary = client.send_bulk("hi", numbers(8))
        assert blocked not in outbox.recipients
        assert (summary.totals.accepted, summary.totals.rejected) == (7, 1)


class SlowTransport(MockTransport):
    """Counts how many requests run at once (the async path sleeps 10 ms per request)."""

    def __init__(self) -> None:
        super().__init__(lambda request: Response(status_code=200, content=b"ok"))
        self.running = 0
        self.most = 0

    async def handle_async_request(self, request: Request, *, timeout: float) -> Response:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return Response(status_code=200, content=b"ok")


class SlowProvider(BaseProvider):
    """One recipient a request, through a :class:`SlowTransport`."""

    scheme = "slow"
    capabilities = Capabilities(max_batch_size=1)

    def __init__(self) -> None:
        self.wire = SlowTransport()

    def transport(self) -> tuple[SlowTransport, SlowTransport]:
        return self.wire, self.wire

    def request_for(self, batch: Batch) -> Request:
        return Request(method="POST", url="mock://slow", content=b"x")

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        return [
            RecipientResult(recipient=n, status=SendStatus.ACCEPTED, message_id=n)
            for n in batch.recipients
        ]


class TestConcurrency:
    """Requests of one bulk send run concurrently up to the client's limit."""

    @pytest.mark.parametrize("limit", [1, 3])
    def test_concurrency_limit_is_respected(self, limit: int) -> None:
        """No more than ``concurrency`` requests are in flight at once, and it is reached."""
        provider = SlowProvider()
        Client(provider=provider, concurrency=limit).send_bulk("hi", numbers(12))
        assert provider.wire.most == limit


def test_rate_limit_spaces_requests() -> None:
    """At 50 requests per second, requests asked for at once start 20 ms apart."""
    from smsbridge._engine._pacer import RequestPacer

    pacer = RequestPacer(50.0, clock=lambda: 100.0)
    assert [pacer._reserve() for _ in range(4)] == pytest.approx([0.0, 0.02, 0.04, 0.06])


class TestRateLimitConfiguration:
    """The rate limit is set in code or in the URL, and a bad value is refused up front."""

    def test_from_code_and_url(self) -> None:
        """``rate_limit=`` and ``?rate_limit=`` both reach the client, next to concurrency."""
        assert Client("fake://", rate_limit=2.5).rate_limit == 2.5
        from_url = Client("fake://?rate_limit=20&concurrency=3")
        assert (from_url.rate_limit, from_url.concurrency) == (20.0, 3)
        assert Client("fake://").rate_limit is None

    @pytest.mark.parametrize("url", ["fake://?rate_limit=0", "fake://?rate_limit=fast"])
    def test_bad_values(self, url: str) -> None:
        """Zero or a word is a configuration error."""
        with pytest.raises(ConfigurationError, match="rate_limit"):
            Client(url)


class TestJournalLock:
    """One journal is written by one running send at a time."""

    def test_a_second_writer_is_refused_until_the_first_closes(self, tmp_path: Path) -> None:
        """While a journal is open for writing, opening it again fails; inspection still works."""
        path = tmp_path / "j.sqlite"
        first = SqliteJournal(path)
        with pytest.raises(JournalError, match="in use by another running send"):
            SqliteJournal(path)
        with open_journal(path) as reader:
            assert reader.totals().total == 0
            assert reader.running
        first.close()
        SqliteJournal(path).close()

    def test_a_killed_writer_leaves_no_stale_lock(self, tmp_path: Path) -> None:
        """The lock dies with its process, even by SIGKILL."""
        import signal
        import subprocess
        import sys

        path = tmp_path / "j.sqlite"
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; from smsbridge.journal._sqlite import SqliteJournal; "
                "j = SqliteJournal(sys.argv[1]); print('open', flush=True); time.sleep(60)",
                str(path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "open"
            with pytest.raises(JournalError, match="in use"):
                SqliteJournal(path)
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            if holder.stdout is not None:
                holder.stdout.close()
        SqliteJournal(path).close()


class TestCampaignKeys:
    """A campaign's batch keys (what Kavenegar sends as localid) are spelled when read."""

    def test_they_read_as_campaign_and_position(self) -> None:
        from smsbridge._engine._bulk import PositionKeys

        keys = PositionKeys("c1", [4, 7, 9])
        assert len(keys) == 3
        assert list(keys) == ["c1:4", "c1:7", "c1:9"]
        assert (keys[0], keys[-1], keys[1:]) == ("c1:4", "c1:9", ["c1:7", "c1:9"])
        assert keys == ("c1:4", "c1:7", "c1:9")
        assert keys != ("c1:4", "c1:7")
        assert hash(keys) == hash(("c1:4", "c1:7", "c1:9"))
        assert repr(keys) == repr(("c1:4", "c1:7", "c1:9"))
