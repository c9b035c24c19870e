"""Creating a distributed campaign and following it: rows written once, then fanned out.

A campaign is created once: every recipient becomes a journal row with its position (the id
of its send), invalid numbers and duplicates are settled at once, and the pending rows are cut
into batches the provider takes in one request. Each batch becomes one job for the queue. Doing
it again is safe: rows already there are not written twice (the source is fingerprinted and
resumed where it stopped), and a job for rows another job already took finds nothing to claim.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import attrs

from smsbridge import _logging as log
from smsbridge._chunks import check_chunk
from smsbridge._engine._bulk import BulkProgress, BulkSummary, _Source, identity_of
from smsbridge._engine._prepare import batch_size
from smsbridge._models import Message, Template
from smsbridge.exceptions import InvalidRecipientError, JournalError, RecipientProblem
from smsbridge.journal._postgres import JournalUnavailableError, PostgresJournal

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine
    from smsbridge.journal import JournalTotals

__all__ = [
    "BatchJob",
    "CampaignHandle",
    "StartReport",
    "create_campaign",
    "message_from_dict",
    "message_to_dict",
]

_SHOWN: Final = 20
_FAN_PAGE: Final = 5000


def message_to_dict(message: Message | Template) -> dict[str, Any]:
    """The message as the journal stores it for the workers (JSON; never a secret)."""
    if isinstance(message, Template):
        return {
            "kind": "template",
            "id": message.id,
            "variables": message.variables,
            "sender": message.sender,
            "reference": message.reference,
        }
    return {
        "kind": "text",
        "text": message.text,
        "sender": message.sender,
        "flash": message.flash,
        "udh": message.udh,
        "reference": message.reference,
    }


def message_from_dict(data: dict[str, Any]) -> Message | Template:
    """The message back from :func:`message_to_dict`."""
    if data.get("kind") == "template":
        return Template(
            id=data["id"],
            variables=data["variables"],
            sender=data.get("sender"),
            reference=data.get("reference"),
        )
    return Message(
        text=data["text"],
        sender=data.get("sender"),
        flash=bool(data.get("flash", False)),
        udh=data.get("udh"),
        reference=data.get("reference"),
    )


def _positions(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(position) for position in value)


@attrs.frozen
class BatchJob:
    """One queued task's work: some rows of one campaign, at most one request's worth.

    It carries the campaign's *name* and positions only: no number, no text, no secret (the
    worker reads those from the journal and its own configuration).
    """

    campaign: str
    positions: tuple[int, ...] = attrs.field(converter=_positions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for any queue."""
        return {"campaign": self.campaign, "positions": list(self.positions)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchJob:
        """The job back from :meth:`to_dict`."""
        return cls(campaign=str(data["campaign"]), positions=data["positions"])


@attrs.frozen(kw_only=True)
class StartReport:
    """What creating (or resuming) a campaign did."""

    campaign: str
    """The campaign's name."""
    campaign_id: str
    """Its random id, the prefix of its keys."""
    resumed: bool
    rows: int
    """Input recipients in the journal."""
    batches: int
    """Jobs enqueued by this call."""
    requeued: int = 0
    """Rows made pending again (retryable rejections, and unknown ones if asked)."""
    lost_in_flight: int = 0
    """Rows of dead workers' requests that became unknown."""


def _fan_out(
    store: PostgresJournal,
    positions: list[int],
    size: int,
    enqueue: Callable[[BatchJob], object],
) -> int:
    count = 0
    for start in range(0, len(positions), size):
        enqueue(BatchJob(store.name, positions[start : start + size]))
        count += 1
    return count


def _fan_out_pending(
    store: PostgresJournal, size: int, enqueue: Callable[[BatchJob], object]
) -> int:
    """A job for every pending row already in the journal (a resume)."""
    count, after = 0, -1
    while page := store.pending_after(after, _FAN_PAGE):
        # Whole batches per page: a page boundary must not cut a request in two.
        usable = page if len(page) < _FAN_PAGE else page[: len(page) // size * size] or page
        count += _fan_out(store, usable, size, enqueue)
        after = usable[-1]
    return count


def _refuse_invalid(store: PostgresJournal) -> None:
    invalid = list(itertools.islice(store.invalid(), _SHOWN + 1))
    if not invalid:
        return
    count = sum(1 for _ in store.invalid())
    problems = [
        RecipientProblem(row.position, row.raw, row.error or "invalid") for row in invalid[:_SHOWN]
    ]
    origins = {row.position: row.origin for row in invalid if row.origin is not None}
    raise InvalidRecipientError(problems, total=count, origins=origins)


def _fill(
    store: PostgresJournal,
    engine: Engine,
    source: _Source,
    size: int,
    enqueue: Callable[[BatchJob], object] | None,
) -> int:
    """Read the rest of the source into the journal, a chunk per transaction, enqueueing each
    chunk's batches once it is committed (unless ``enqueue`` is None); returns the batches."""
    state = store.source_state() or source.empty_state()
    if state.get("done"):
        return 0
    batches = 0
    position = int(state.get("rows", 0))
    region, landlines = engine.settings.region, engine.provider.capabilities.landlines
    last = state
    for raws, origin, last in source.chunks(state, size * 4):
        chunk = check_chunk(position, raws, origin, region, landlines)
        with store.transaction():
            store.enqueue(chunk, last)
        if enqueue is not None:
            batches += _fan_out(store, store.pending_after(position - 1, len(chunk)), size, enqueue)
        position = chunk.end
    with store.transaction():
        store.finish_enqueue(last)
    store.analyze()
    return batches


def create_campaign(
    engine: Engine,
    journal: str,
    message: Message | Template,
    recipients: Iterable[object],
    *,
    enqueue: Callable[[BatchJob], object],
    resend_unknown: bool = False,
    skip_invalid: bool = True,
) -> StartReport:
    """Create (or resume) the campaign named by ``journal`` and hand its batches to ``enqueue``.

    ``journal`` is ``postgresql://…?campaign=NAME``. Rows are written once, ids (positions)
    made here; each chunk of the source is committed before its jobs are enqueued, so a job
    never names a row that is not in the journal. Safe to call again with the same campaign:
    it checks it is the same one (provider, account, text, sender, options and the recipients'
    fingerprint), recovers dead workers' rows as unknown, re-queues retryable rejections (and,
    with ``resend_unknown``, unknown rows) and enqueues jobs for whatever is still pending.

    With ``skip_invalid=False`` the whole source is read and checked first, and nothing is
    enqueued if a recipient is invalid (a new campaign is then removed again).

    :raises JournalError: the name holds another campaign, or another process is creating it.
    :raises InvalidRecipientError: with ``skip_invalid=False``, listing the invalid ones.
    """
    engine.check(message)
    source = _Source(recipients)
    store = PostgresJournal(journal)
    try:
        identity = identity_of(engine, message)
        existing = store.identity()
        if existing is not None and not identity.differences(existing):
            source.verify(store.source_state(), cast("Path", store.where))
        resumed = store.bind(identity, message_to_dict(message))
        store.lock_for_enqueue()
        lost = requeued = 0
        if resumed:
            lost = store.recover()
            requeued = store.requeue_retryable()
            if resend_unknown:
                requeued += store.requeue_unknown()
        size = batch_size(message, engine.provider)
        batches = 0
        immediate = skip_invalid
        if immediate and resumed:
            batches += _fan_out_pending(store, size, enqueue)
        batches += _fill(store, engine, source, size, enqueue if immediate else None)
        if not immediate:
            try:
                _refuse_invalid(store)
            except InvalidRecipientError:
                if not resumed:
                    store.delete()
                raise
            batches += _fan_out_pending(store, size, enqueue)
        rows_total = store.row_count()
        if not batches:
            store.mark_finished()
        log.info(
            "sms_campaign_enqueued",
            provider=engine.name,
            campaign=store.name,
            recipients=rows_total,
            batches=batches,
            resumed=resumed,
            lost_in_flight=lost,
        )
        return StartReport(
            campaign=store.name,
            campaign_id=store.campaign_id,
            resumed=resumed,
            rows=rows_total,
            batches=batches,
            requeued=requeued,
            lost_in_flight=lost,
        )
    finally:
        store.close()


class CampaignHandle:
    """A running (or finished) distributed campaign, read from its journal.

    Progress and totals come from the journal, whichever workers send; nothing here talks to
    the queue.
    """

    def __init__(self, journal: str, *, started: float | None = None) -> None:
        self.journal = journal
        self.store = PostgresJournal(journal)
        if not self.store.campaign_id:
            self.store.close()
            raise JournalError(f"no campaign {self.store.name!r} in {self.store.where}")
        self.started = time.perf_counter() if started is None else started

    @property
    def name(self) -> str:
        """The campaign's name."""
        return self.store.name

    def progress(self) -> BulkProgress:
        """Where the campaign stands (rows of dead workers count as unknown once their lease
        ran out)."""
        totals = self.store.totals()
        done = totals.accepted + totals.rejected + totals.unknown
        return BulkProgress(
            total=totals.total,
            done=done,
            accepted=totals.accepted,
            rejected=totals.rejected,
            unknown=totals.unknown,
        )

    def totals(self) -> JournalTotals:
        """Counts by outcome."""
        return self.store.totals()

    def done(self) -> bool:
        """True once every row has an outcome. Recovers dead workers' rows on the way."""
        self.store.recover()
        return self.store.enqueued and not self.store.open_rows()

    def wait(
        self,
        *,
        timeout: float | None = None,
        poll: float = 0.5,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkSummary:
        """Block until every row has an outcome, reporting progress every ``poll`` seconds.

        The journal being unavailable for a while (a database restart) is waited out.

        :raises TimeoutError: when ``timeout`` seconds passed first (the campaign goes on).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                finished = self.done()
                if on_progress is not None:
                    on_progress(self.progress())
                if finished:
                    return self.summary()
            except JournalUnavailableError as error:
                # The workers wait for the journal too; so does whoever follows them.
                log.warning("sms_journal_unavailable", step="wait", error=str(error))
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"the campaign {self.name!r} is still running")
            time.sleep(poll)

    def summary(self) -> BulkSummary:
        """The summary as ``send_bulk`` gives it (``journal`` is None: there is no file)."""
        totals, reasons = self.store.mark_finished()
        return BulkSummary(
            totals=totals,
            elapsed=time.perf_counter() - self.started,
            resumed=False,
            lost_in_flight=self.store.interrupted(),
            journal=None,
            reasons=reasons,
        )

    def close(self) -> None:
        """Close the journal connection."""
        self.store.close()

    def __enter__(self) -> CampaignHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
