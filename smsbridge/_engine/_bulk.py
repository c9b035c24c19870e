"""Campaign-scale sending: recipients streamed through a journal, requests run concurrently.

Memory stays flat whatever the number of recipients: recipients are read in chunks into the
journal, requests claim their recipients from it, and outcomes go back to it and to the report
file. Nothing holds the whole list.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from smsbridge import _logging as log
from smsbridge._engine._outgoing import OutgoingSend
from smsbridge._engine._pacer import RequestPacer
from smsbridge._engine._prepare import batch_size
from smsbridge._models import Message, RecipientResult, SendReport, Template
from smsbridge._report import ReportWriter
from smsbridge.journal import Journal, JournalRow, JournalTotals
from smsbridge.phone import check_number
from smsbridge.provider import Batch

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine

__all__ = ["BulkProgress", "BulkSummary", "run_bulk"]
_CHUNK = 1000


@attrs.frozen
class BulkProgress:
    """Where a bulk send stands; given to ``on_progress`` after every request."""

    total: int
    done: int
    accepted: int
    rejected: int
    unknown: int


@attrs.frozen
class BulkSummary:
    """The outcome of a bulk send, counted from its journal."""

    totals: JournalTotals
    elapsed: float
    resumed: bool
    """True when the journal already held this send."""
    lost_in_flight: int
    """Requests' recipients that were in flight when a previous run stopped (now unknown)."""
    journal: Path | None
    """The journal file, or None when a temporary one was used and removed."""


def _enqueue(
    journal: Journal,
    recipients: Iterable[object],
    region: str,
    report: ReportWriter | None,
    landlines: bool,
) -> None:
    """Give every input recipient a row, a chunk per commit; invalid ones are final at once."""
    numbered: Iterator[tuple[int, object]] = enumerate(recipients)
    skip = journal.row_count()  # rows from an interrupted earlier run are already there
    if skip:
        numbered = itertools.islice(numbered, skip, None)
    while chunk := list(itertools.islice(numbered, _CHUNK)):
        rows: list[tuple[int, str, str | None, str | None]] = []
        for position, raw in chunk:
            number, reason = check_number(raw, region, landlines=landlines)
            rows.append((position, raw if isinstance(raw, str) else repr(raw), number, reason))
        final = journal.add(rows)
        if report is not None and final:
            report.write(final)
    journal.mark_enqueued()


class _Dispatcher:
    """Claims batches from the journal and sends them, ``concurrency`` at a time."""

    def __init__(
        self,
        *,
        engine: Engine,
        message: Message | Template,
        journal: Journal,
        report: ReportWriter | None,
        on_progress: Callable[[BulkProgress], None] | None,
        rate_limit: float | None,
    ) -> None:
        self.engine = engine
        self.message = message
        self.journal = journal
        self.report = report
        self.on_progress = on_progress
        self.pacer = RequestPacer(rate_limit) if rate_limit is not None else engine.pacer
        # Progress counts rows that are sent or final by themselves; duplicates follow their
        # first occurrence and are left out, so done and the three counts always agree.
        known = journal.progress_counts()
        self.counts = {state: known[state] for state in ("accepted", "rejected", "unknown")}
        self.total = sum(known.values())
        self.done = sum(self.counts.values())

    async def _send(self, claimed: list[tuple[int, str]]) -> list[RecipientResult]:
        engine = self.engine
        numbers = tuple(number for _, number in claimed)
        outgoing = OutgoingSend(message=self.message, recipients=numbers, provider=engine.name)
        engine.host.before_send(outgoing)
        parts = engine.check(outgoing.message)
        slots = [outgoing.vetoed_result(number, parts) for number in numbers]
        to_send = tuple(number for number, slot in zip(numbers, slots, strict=True) if slot is None)
        if to_send:
            batch = Batch(
                message=outgoing.message,
                recipients=to_send,
                segments=parts,
                keys=engine.keys_for(outgoing.message, to_send),
            )
            sent = iter(await engine.dispatcher.asend(batch, 0))
            slots = [slot if slot is not None else next(sent) for slot in slots]
        results = [slot for slot in slots if slot is not None]
        engine.host.after_send(outgoing, SendReport(results, provider=engine.name))
        return results

    async def worker(self) -> None:
        size = batch_size(self.message, self.engine.provider)
        while True:
            # Wait for the rate limit before claiming: a claimed row counts as in flight.
            await self.pacer.wait()
            claimed = self.journal.claim(size)
            if not claimed:
                return
            results = await self._send(claimed)
            positions = [position for position, _ in claimed]
            self.journal.complete(zip(positions, results, strict=True))
            for result in results:
                self.counts[result.status.value] += 1
            self.done += len(results)
            if self.report is not None:
                self.report.write(
                    [
                        _row(position, result)
                        for position, result in zip(positions, results, strict=True)
                    ]
                )
            if self.on_progress is not None:
                self.on_progress(BulkProgress(total=self.total, done=self.done, **self.counts))


def _row(position: int, result: RecipientResult) -> JournalRow:
    error = result.error
    return JournalRow(
        position=position,
        raw=result.recipient,
        recipient=result.recipient,
        state=result.status.value,
        message_id=result.message_id,
        segments=result.segments,
        category=None if error is None else error.category.value,
        provider_code=None
        if error is None or error.provider_code is None
        else str(error.provider_code),
        error=None if error is None else error.message,
        duplicate_of=None,
    )


async def run_bulk(
    engine: Engine,
    message: Message | Template,
    recipients: Iterable[object],
    *,
    journal: str | Path | None = None,
    report: str | Path | ReportWriter | None = None,
    on_progress: Callable[[BulkProgress], None] | None = None,
    rate_limit: float | None = None,
    resend_unknown: bool = False,
) -> BulkSummary:
    """Send ``message`` to a stream of recipients through a journal; see ``Client.asend_bulk``."""
    writer = ReportWriter(report) if isinstance(report, str | Path) else report
    try:
        return await _run(
            engine,
            message,
            recipients,
            journal=journal,
            report=writer,
            on_progress=on_progress,
            rate_limit=rate_limit,
            resend_unknown=resend_unknown,
        )
    finally:
        if writer is not None and writer is not report:
            writer.close()


async def _run(
    engine: Engine,
    message: Message | Template,
    recipients: Iterable[object],
    *,
    journal: str | Path | None,
    report: ReportWriter | None,
    on_progress: Callable[[BulkProgress], None] | None,
    rate_limit: float | None,
    resend_unknown: bool,
) -> BulkSummary:
    started = time.perf_counter()
    provider = engine.provider
    engine.check(message)
    scratch = None
    if journal is None:
        scratch = tempfile.TemporaryDirectory(prefix="smsbridge-")
        journal = Path(scratch.name) / "journal.sqlite"
    try:
        with Journal(journal) as book:
            resumed = book.bind(message, provider.name)  # type: ignore[arg-type]
            lost = book.recover() if resumed else 0
            if resend_unknown:
                book.requeue_unknown()
            if not book.enqueued:
                _enqueue(
                    book,
                    recipients,
                    engine.settings.region,
                    report,
                    provider.capabilities.landlines,
                )
            dispatcher = _Dispatcher(
                engine=engine,
                message=message,
                journal=book,
                report=report,
                on_progress=on_progress,
                rate_limit=rate_limit,
            )
            log.info(
                "sms_bulk_started",
                provider=provider.name,
                recipients=dispatcher.total,
                already_done=dispatcher.done,
                resumed=resumed,
                lost_in_flight=lost,
            )
            await asyncio.gather(*(dispatcher.worker() for _ in range(engine.settings.concurrency)))
            if report is not None:
                duplicates = book.duplicates()
                while chunk := list(itertools.islice(duplicates, _CHUNK)):
                    report.write(chunk)
            totals = book.totals()
        elapsed = time.perf_counter() - started
        log.info(
            "sms_bulk_finished",
            provider=provider.name,
            accepted=totals.accepted,
            rejected=totals.rejected,
            unknown=totals.unknown,
            duration_ms=round(elapsed * 1000, 2),
        )
        return BulkSummary(
            totals=totals,
            elapsed=elapsed,
            resumed=resumed,
            lost_in_flight=lost,
            journal=None if scratch is not None else Path(journal),
        )
    finally:
        if scratch is not None:
            scratch.cleanup()
