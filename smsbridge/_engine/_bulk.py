"""Campaigns: any number of recipients, streamed through a journal, requests run concurrently.

Memory stays flat whatever the number of recipients: the source is read a chunk at a time into
the journal while the first requests already go out; requests take their recipients from the
journal; outcomes go back to it and to the report. Nothing holds the whole list.

Every journal and file operation runs on one thread of its own (``_journal_port``), never on
the event loop. Writes are grouped: the rows of every request about to go out, and the outcomes
that came back, are committed together in one transaction. A row is marked in flight in the
same commit that precedes its request, never earlier; an outcome not yet committed when the
process dies reads as in flight, hence ``unknown``, on resume — the same as an interrupted
request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, overload

import attrs

from smsbridge import _logging as log
from smsbridge._chunks import check_chunk
from smsbridge._engine._failover import Outcome, Pause
from smsbridge._engine._journal_port import JournalPort
from smsbridge._engine._outgoing import OutgoingSend, results_for_error
from smsbridge._engine._pacer import RequestPacer
from smsbridge._engine._prepare import batch_size
from smsbridge._models import Message, RecipientResult, SendReport, SendStatus, Template
from smsbridge._report import ReportWriter
from smsbridge.exceptions import (
    ConfigurationError,
    InvalidInputError,
    InvalidRecipientError,
    JournalError,
    RecipientProblem,
)
from smsbridge.journal import CampaignIdentity, JournalTotals
from smsbridge.journal._sqlite import SqliteJournal
from smsbridge.provider import Batch
from smsbridge.sources import NumberFile

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine

__all__ = ["BulkProgress", "BulkSummary", "run_bulk"]

_CHUNK: Final = 2000
"""Recipients read and enqueued per transaction, once under way."""
_FIRST_CHUNK: Final = 200
"""The first chunk is small, so the first request goes out within milliseconds."""


def _chunk_sizes(first: int = _FIRST_CHUNK) -> Iterator[int]:
    """Chunk sizes: the first one small (or one full wave of requests, when that is larger),
    growing to :data:`_CHUNK`."""
    size = min(max(first, _FIRST_CHUNK), _CHUNK * 4)
    while True:
        yield size
        size = max(min(size * 4, _CHUNK), _CHUNK)


_PREFETCH: Final = 2000


@attrs.frozen
class BulkProgress:
    """Where a campaign stands; given to ``on_progress`` after every request."""

    total: int
    """Recipients enqueued so far (grows while the source is still being read)."""
    done: int
    accepted: int
    rejected: int
    unknown: int


@attrs.frozen
class BulkSummary:
    """The outcome of a campaign, counted from its journal."""

    totals: JournalTotals
    elapsed: float
    resumed: bool
    """True when the journal already held this campaign."""
    lost_in_flight: int
    """Recipients whose request was in flight when a previous run stopped (now unknown)."""
    journal: Path | None
    """The journal file, or None when a temporary one was used and removed."""
    reasons: dict[str, int] = attrs.field(factory=dict)
    """Rejected and unknown recipients by category."""
    first_request: float | None = None
    """Seconds from the start to the first request written (None when none was)."""
    by_provider: dict[str, int] = attrs.field(factory=dict)
    """Accepted recipients by the provider that took them (a client of several providers;
    empty for one)."""


def identity_of(engine: Engine, message: Message | Template) -> CampaignIdentity:
    """What a resume must match: provider, account, content, sender and options."""
    provider = engine.provider
    if isinstance(message, Template):
        content = json.dumps([message.id, message.variables], sort_keys=True, ensure_ascii=False)
        kind, flash, udh = "template", False, None
    else:
        content, kind, flash, udh = message.text, "text", message.flash, message.udh
    return CampaignIdentity(
        provider=engine.name,
        account=">".join(route.provider.account() for route in engine.routes),
        kind=kind,
        content=hashlib.sha256(content.encode()).hexdigest(),
        sender=provider.sender_for(message),
        flash=flash,
        udh=udh,
    )


# -- the source -----------------------------------------------------------------------------------


class _Source:
    """The recipients, read in chunks from where the journal says reading stopped.

    A :class:`~smsbridge.sources.NumberFile` resumes by byte offset and is fingerprinted by
    its bytes; any other iterable is skipped to its row count and fingerprinted by its values.
    """

    def __init__(self, recipients: Iterable[object]) -> None:
        self.file = recipients if isinstance(recipients, NumberFile) else None
        self.values = recipients
        self._digest = hashlib.sha256()
        self._hashed_to = 0

    def _advance_file_digest(self, offset: int) -> str:
        assert self.file is not None  # noqa: S101
        with self.file.path.open("rb") as handle:
            handle.seek(self._hashed_to)
            self._digest.update(handle.read(offset - self._hashed_to))
        self._hashed_to = offset
        return self._digest.hexdigest()

    def verify(self, state: dict[str, Any], path: Path) -> None:
        """Refuse to resume from a source that is not the one the campaign started with."""
        if not state:
            return
        kind = "file" if self.file is not None else "stream"
        if state.get("kind") != kind:
            raise JournalError(
                f"the journal {path} was filled from a {state.get('kind')}, not a {kind}; "
                "resume it with the same recipients"
            )
        if self.file is not None:
            offset = int(state["offset"])
            if self.file.fingerprint(offset) != state["fingerprint"] or (
                state.get("done") and self.file.path.stat().st_size != offset
            ):
                raise JournalError(
                    f"the journal {path} belongs to another campaign: the recipients file "
                    f"{self.file.path} is not the one it was started with (its content differs). "
                    "Nothing was sent"
                )
            self._digest = hashlib.sha256()
            self._hashed_to = 0
            self._advance_file_digest(offset)
            return
        digest = hashlib.sha256()
        rows = int(state["rows"])
        for raw in itertools.islice(iter(self.values), rows):
            digest.update(_value(raw).encode() + b"\n")
        if digest.hexdigest() != state["fingerprint"]:
            raise JournalError(
                f"the journal {path} belongs to another campaign: the recipients differ from "
                "the ones it was started with. Nothing was sent"
            )
        self._digest = digest

    def chunks(
        self, state: dict[str, Any], first: int = _FIRST_CHUNK
    ) -> Iterator[tuple[list[str], Callable[[int], str | None], dict[str, Any]]]:
        """``(recipients as read, where the one at an index came from, source state after
        them)`` chunk by chunk, from where ``state`` stopped; the first chunk holds ``first``
        rows. Reading only: numbers are checked by :func:`check_chunk`."""
        rows = int(state.get("rows", 0))
        sizes = _chunk_sizes(first)
        if self.file is not None:
            file = self.file
            entries = file.entries(int(state.get("offset", 0)), int(state.get("line", 1)))
            while chunk := list(itertools.islice(entries, next(sizes))):
                rows += len(chunk)
                offset, line = chunk[-1][2], chunk[-1][1] + 1
                after = {
                    "kind": "file",
                    "rows": rows,
                    "offset": offset,
                    "line": line,
                    "fingerprint": self._advance_file_digest(offset),
                }
                # Only invalid rows are asked their origin (by the journal, on its thread).
                lines = [at for _, at, _ in chunk]
                yield [raw for raw, _, _ in chunk], _file_origin(file, lines), after
            return
        values = itertools.islice(iter(self.values), rows, None) if rows else iter(self.values)
        while chunk_values := list(itertools.islice(values, next(sizes))):
            texts = [raw if type(raw) is str else _value(raw) for raw in chunk_values]
            # One update per chunk hashes the same bytes as one per value (verify() does that).
            self._digest.update(("\n".join(texts) + "\n").encode())
            rows += len(texts)
            state = {"kind": "stream", "rows": rows, "fingerprint": self._digest.hexdigest()}
            yield texts, _no_origin, state

    def empty_state(self) -> dict[str, Any]:
        kind = "file" if self.file is not None else "stream"
        state: dict[str, Any] = {
            "kind": kind,
            "rows": 0,
            "fingerprint": hashlib.sha256().hexdigest(),
        }
        if self.file is not None:
            state.update(offset=0, line=1)
        return state


class PositionKeys(Sequence[str]):
    """A campaign batch's keys, ``<campaign id>:<position>``, spelled only when read: most
    providers never read them, and a campaign would otherwise format one per recipient."""

    __slots__ = ("_campaign", "_positions")

    def __init__(self, campaign: str, positions: Sequence[int]) -> None:
        self._campaign = campaign
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [f"{self._campaign}:{position}" for position in self._positions[index]]
        return f"{self._campaign}:{self._positions[index]}"

    def __iter__(self) -> Iterator[str]:
        return map(f"{self._campaign}:{{}}".format, self._positions)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


def _value(raw: object) -> str:
    return raw if isinstance(raw, str) else repr(raw)


def _no_origin(index: int) -> None:
    return None


def _file_origin(file: NumberFile, lines: list[int]) -> Callable[[int], str | None]:
    return lambda index: file.origin(lines[index])


# -- the campaign ---------------------------------------------------------------------------------


class _Campaign:
    """Takes pending rows from the journal and sends them, ``concurrency`` requests at a time."""

    def __init__(
        self,
        *,
        engine: Engine,
        message: Message | Template,
        port: JournalPort,
        rate_limit: float | None,
        on_progress: Callable[[BulkProgress], None] | None,
        counts: dict[str, int],
        started: float,
        campaign_id: str = "",
    ) -> None:
        self.engine = engine
        self.campaign_id = campaign_id
        """Made when the campaign began; with a position, a key unique to that recipient."""
        self.message = message
        self.port = port
        self.pacers = {
            route.label: RequestPacer(rate_limit) if rate_limit is not None else route.pacer
            for route in engine.routes
        }
        """Each provider's rate limit (the campaign's own ``rate_limit`` for each, if given)."""
        self.on_progress = on_progress
        self.size = batch_size(message, engine.provider)
        self.counts = {state: counts[state] for state in ("accepted", "rejected", "unknown")}
        self.total = sum(counts.values())
        self.done = sum(self.counts.values())
        self.started = started
        self.first_request: float | None = None
        self.enqueue_done = asyncio.Event()
        self.new_rows = asyncio.Event()
        self._buffer: deque[tuple[int, str]] = deque()
        self.after = -1
        """The last position read from the journal; on resume, just before the first pending."""
        self._taking = asyncio.Lock()
        self._indexes = itertools.count()

    async def _next(self) -> list[tuple[int, str]]:
        """The next batch of pending rows, or [] when the campaign has nothing left."""
        async with self._taking:
            while True:
                if len(self._buffer) >= self.size or (self._buffer and self.enqueue_done.is_set()):
                    return [
                        self._buffer.popleft() for _ in range(min(self.size, len(self._buffer)))
                    ]
                self.new_rows.clear()
                rows = await self.port.call(self.port.store.next_pending, self.after, _PREFETCH)
                if rows:
                    self.after = rows[-1][0]
                    self._buffer.extend(rows)
                    continue
                if self.enqueue_done.is_set():
                    if self._buffer:
                        continue
                    return []
                await self.new_rows.wait()

    def _plan(
        self, numbers: tuple[str, ...]
    ) -> tuple[OutgoingSend, int, dict[int, RecipientResult]]:
        """Hooks and checks for one batch: the send, its parts, and the recipients (by index)
        settled before any I/O (vetoed, or all of them when the message cannot be sent)."""
        engine = self.engine
        outgoing = OutgoingSend(message=self.message, recipients=numbers, provider=engine.name)
        try:
            engine.host.before_send(outgoing)
            parts = engine.check(outgoing.message)
        except InvalidInputError as error:
            # A hook replaced the message with one that cannot be sent: this batch is refused
            # before any I/O, so its rows are rejected (never in flight, never unknown).
            return outgoing, 0, dict(enumerate(results_for_error(error, numbers, 0)))
        if outgoing.veto_reason is None and not outgoing.rejections:
            return outgoing, parts, {}
        settled = {}
        for index, number in enumerate(numbers):
            vetoed = outgoing.vetoed_result(number, parts)
            if vetoed is not None:
                settled[index] = vetoed
        return outgoing, parts, settled

    def _batch(
        self, outgoing: OutgoingSend, parts: int, positions: list[int], numbers: tuple[str, ...]
    ) -> Batch:
        # A campaign's keys are its own (campaign id and position), whatever the message's
        # reference: unique across campaigns, stable across runs, and what settling asks by.
        keys = PositionKeys(self.campaign_id, positions)
        return Batch(message=outgoing.message, recipients=numbers, segments=parts, keys=keys)

    async def _send(
        self,
        outgoing: OutgoingSend,
        parts: int,
        positions: list[int],
        numbers: tuple[str, ...],
        settled: list[tuple[int, RecipientResult, str | None]],
    ) -> list[RecipientResult]:
        """Send the rows at ``positions`` (retried and failed over as the client's policy
        says); ``settled`` rows (known before any I/O) are written in the commit that precedes
        the first request."""
        batch = self._batch(outgoing, parts, positions, numbers)
        steps = self.engine.router.steps(batch)
        flight: int | None = None
        going_to = ""  # the provider the flight's journal row names
        outcome: Outcome = None
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                sent: list[RecipientResult] = done.value
                break
            if isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                outcome = None
                continue
            route = step.route
            request = route.dispatcher.build(step.batch)
            began = time.perf_counter()
            if isinstance(request, list):  # refused before any I/O: rejected, never unknown
                outcome = (request, 0.0)
                continue
            # The rate limit first: a row counts as in flight only once its request may go.
            await self.pacers[route.label].wait()
            if flight is None:
                # Every later try of these rows stays inside this flight: a run stopped
                # between two providers leaves them unknown, never sent twice.
                flight = await self.port.take_off(positions, settled, route.label)
                going_to, settled = route.label, []
                if self.first_request is None:
                    self.first_request = time.perf_counter() - self.started
            elif route.label != going_to:
                # Failing over: the journal names the provider the request now goes to, so a
                # run stopped from here on is settled by asking that provider alone.
                await self.port.redirect(flight, route.label)
                going_to = route.label
            began = time.perf_counter()
            results = await route.dispatcher.acarry(
                step.batch, request, next(self._indexes), quiet=True
            )
            outcome = (results, time.perf_counter() - began)
        outcomes = [(p, result, result.provider) for p, result in zip(positions, sent, strict=True)]
        if flight is None:
            await self.port.take_off([], [*settled, *outcomes])
        else:
            self.port.complete(outcomes, flight)
        return sent

    async def worker(self) -> None:
        engine, name = self.engine, self.engine.name
        while claimed := await self._next():
            positions = [position for position, _ in claimed]
            numbers = tuple(number for _, number in claimed)
            outgoing, parts, early = self._plan(numbers)
            if not early:  # the common case: the whole batch goes out
                final = await self._send(outgoing, parts, positions, numbers, [])
            else:
                going = [i for i in range(len(numbers)) if i not in early]
                settled: list[tuple[int, RecipientResult, str | None]] = [
                    (positions[i], result, name) for i, result in early.items()
                ]
                results: dict[int, RecipientResult] = dict(early)
                if going:
                    sent = await self._send(
                        outgoing,
                        parts,
                        [positions[i] for i in going],
                        tuple(numbers[i] for i in going),
                        settled,
                    )
                    results.update(zip(going, sent, strict=True))
                else:
                    await self.port.take_off([], settled)
                final = [results[i] for i in range(len(numbers))]
            engine.host.after_send(outgoing, SendReport(final, provider=name))
            statuses = [result.status for result in final]
            accepted = statuses.count(SendStatus.ACCEPTED)
            unknown = statuses.count(SendStatus.UNKNOWN)
            self.counts["accepted"] += accepted
            self.counts["unknown"] += unknown
            self.counts["rejected"] += len(statuses) - accepted - unknown
            self.done += len(final)
            if self.on_progress is not None:
                self.on_progress(BulkProgress(total=self.total, done=self.done, **self.counts))

    async def fill(
        self, source: _Source, state: dict[str, Any], region: str, landlines: bool
    ) -> None:
        """Read the source into the journal, a chunk per commit, waking the workers."""
        # The first chunk fills every worker's first request, so none waits for the second.
        first = self.size * self.engine.settings.concurrency
        chunks = source.chunks(state, first)
        position = int(state.get("rows", 0))
        last = state
        while True:
            # Reading is file I/O (or the caller's iterable): off the event loop.
            step = await self.port.call(next, chunks, None)
            if step is None:
                break
            raws, origin, last = step
            # Checking is pure computation, a millisecond or two a chunk: here, so the journal
            # thread holds the interpreter lock only briefly and requests are not held up.
            chunk = check_chunk(position, raws, origin, region, landlines)
            position = chunk.end
            await self.port.enqueue(chunk, last)
            self.counts["rejected"] += len(chunk.reasons)
            self.done += len(chunk.reasons)
            self.total += len(chunk)
            self.new_rows.set()
        await self.port.call(_finish, self.port.store, last)
        self.enqueue_done.set()
        self.new_rows.set()


def _finish(store: SqliteJournal, state: dict[str, Any]) -> None:
    with store.transaction():
        store.finish_enqueue(state)


# -- setting up ---------------------------------------------------------------------------------


def _check_report_path(report: Path, journal: Path, store: SqliteJournal) -> str:
    """The report's real path; refused if it is the journal, or a file this campaign did not
    write."""
    real = os.path.realpath(report)
    if real == os.path.realpath(journal):
        raise ConfigurationError(f"the report {report} and the journal are the same file")
    if os.path.exists(real) and real not in store.report_paths():
        raise ConfigurationError(
            f"the report {report} already exists and is not a report of this campaign; "
            "choose another path or remove it"
        )
    if not os.path.isdir(os.path.dirname(real) or "."):
        raise ConfigurationError(
            f"cannot write the report {report}: the folder {os.path.dirname(real)} does not exist"
        )
    return real


def _open(
    path: Path,
    identity: CampaignIdentity,
    source: _Source,
    report: str | Path | None,
    resend_unknown: bool,
) -> tuple[SqliteJournal, bool, int, dict[str, Any], ReportWriter | None]:
    """Open (or create) the journal, check the campaign is the same, recover, open the report.

    Runs on the journal thread. Nothing is written to the journal before the checks pass.
    """
    if report is not None:
        real = os.path.realpath(report)
        if real == os.path.realpath(path):
            raise ConfigurationError(
                f"the report {report} and the journal {path} are the same file"
            )
        if not os.path.exists(path) and os.path.exists(real):
            # A new campaign: nothing it could have written exists yet.
            raise ConfigurationError(
                f"the report {report} already exists and is not a report of this campaign; "
                "choose another path or remove it"
            )
        if not os.path.isdir(os.path.dirname(real) or "."):
            raise ConfigurationError(
                f"cannot write the report {report}: the folder {os.path.dirname(real)} "
                "does not exist"
            )
    store = SqliteJournal(path)
    try:
        existing = store.identity()
        if existing is not None:
            differences = identity.differences(existing)
            if differences:
                store.bind(identity)  # raises, listing them
            source.verify(store.source_state(), path)
        real_report = None if report is None else _check_report_path(Path(report), path, store)
        resumed = store.bind(identity)
        lost = 0
        if resumed:
            store.recover()
            lost = store.take_lost()
            store.requeue_retryable()
            if resend_unknown:
                store.requeue_unknown()
            # A finished campaign (its marker survives only when nothing was requeued) has no
            # pending row to look for: that scan is most of a 1M resume's time.
            state_after = -1 if store.finished() is not None else store.first_pending()
        else:
            state_after = -1
        writer = None
        if real_report is not None:
            store.add_report_path(real_report)
            writer = ReportWriter(real_report)
            # A resumed campaign's report covers every recipient, not only this run's.
            final = store.final_rows()
            while chunk := list(itertools.islice(final, 1000)):
                writer.write(chunk)
        state = store.source_state() or source.empty_state()
        state["after"] = state_after
        return store, resumed, lost, state, writer
    except BaseException:
        store.close()
        raise


async def _opened(
    path: Path,
    identity: CampaignIdentity,
    source: _Source,
    report: str | Path | None,
    resend_unknown: bool,
) -> tuple[SqliteJournal, bool, int, dict[str, Any], ReportWriter | None]:
    """:func:`_open` on a thread of its own (opening checks the whole file: off the loop)."""
    opener = ThreadPoolExecutor(1)
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            opener, _open, path, identity, source, report, resend_unknown
        )
    finally:
        opener.shutdown()


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
    skip_invalid: bool = True,
) -> BulkSummary:
    """Send ``message`` to a stream of recipients through a journal; see ``Client.asend_bulk``.

    With ``skip_invalid=False`` the whole source is read and checked before the first request,
    and nothing is sent if any recipient is invalid.
    """
    started = time.perf_counter()
    engine.check(message)
    scratch = None
    if journal is None:
        scratch = tempfile.TemporaryDirectory(prefix="smsbridge-")
        journal = Path(scratch.name) / "journal.sqlite"
    path = Path(journal)
    given_writer = report if isinstance(report, ReportWriter) else None
    source = _Source(recipients)
    try:
        store, resumed, lost, state, writer = await _opened(
            path,
            identity_of(engine, message),
            source,
            None if isinstance(report, ReportWriter) else report,
            resend_unknown,
        )
    except BaseException:
        if scratch is not None:
            scratch.cleanup()
        raise
    port = JournalPort(store, given_writer or writer)
    first_request: float | None = None
    by_provider: dict[str, int] = {}
    try:
        finished = await port.call(store.finished) if state.get("done") else None
        if finished is not None:
            # A campaign that already finished, run again: nothing to send, and its counts
            # were kept when it finished, so no full scan is needed.
            totals, reasons = finished
            log.info(
                "sms_bulk_started",
                provider=engine.name,
                recipients=totals.total,
                already_done=totals.total,
                resumed=resumed,
                lost_in_flight=lost,
            )
        else:
            counts = await port.call(store.progress_counts)
            campaign_id = await port.call(lambda: store.campaign_id)
            campaign = _Campaign(
                engine=engine,
                message=message,
                port=port,
                rate_limit=rate_limit,
                on_progress=on_progress,
                counts=counts,
                started=started,
                campaign_id=campaign_id,
            )
            campaign.after = int(state.get("after", -1))
            log.info(
                "sms_bulk_started",
                provider=engine.name,
                recipients=campaign.total,
                already_done=campaign.done,
                resumed=resumed,
                lost_in_flight=lost,
            )
            await _send_all(
                campaign,
                source,
                state,
                skip_invalid=skip_invalid,
                discard=store.created and not resumed,
                path=path,
            )
            first_request = campaign.first_request
            totals, reasons = await port.call(store.mark_finished)
        if port.report is not None:
            duplicates = await port.call(lambda: list(store.duplicates()))
            await port.call(port.report.write, duplicates)
        if len(engine.routes) > 1:
            by_provider = await port.call(store.accepted_by_provider)
    finally:
        await asyncio.shield(port.call(_close, port, writer))
        port.close()
        if scratch is not None:
            scratch.cleanup()
    elapsed = time.perf_counter() - started
    log.emit(
        logging.WARNING if reasons else logging.INFO,
        "sms_bulk_finished",
        provider=engine.name,
        accepted=totals.accepted,
        rejected=totals.rejected,
        unknown=totals.unknown,
        reasons=",".join(f"{reason}:{count}" for reason, count in reasons.items()) or None,
        duration_ms=round(elapsed * 1000, 2),
    )
    return BulkSummary(
        totals=totals,
        elapsed=elapsed,
        resumed=resumed,
        lost_in_flight=lost,
        journal=None if scratch is not None else path,
        reasons=reasons,
        first_request=first_request,
        by_provider=by_provider,
    )


async def _send_all(
    campaign: _Campaign,
    source: _Source,
    state: dict[str, Any],
    *,
    skip_invalid: bool,
    discard: bool,
    path: Path,
) -> None:
    """Fill the journal from the source while ``concurrency`` workers send from it."""
    engine, port, store = campaign.engine, campaign.port, campaign.port.store
    filler = None
    if state.get("done"):
        campaign.enqueue_done.set()
    else:
        filler = asyncio.ensure_future(
            campaign.fill(
                source, state, engine.settings.region, engine.provider.capabilities.landlines
            )
        )
    if not skip_invalid:
        if filler is not None:
            await filler
            filler = None
        await _refuse_invalid(port, store, path, created=discard)
    tasks = [asyncio.ensure_future(campaign.worker()) for _ in range(engine.settings.concurrency)]
    if filler is not None:
        tasks.append(filler)
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await port.flush()
        # Rows still in flight here were interrupted (Ctrl-C): say so in the journal now, so
        # `smsbridge journal --unknown` lists them at once.
        await port.call(store.recover)


_SHOWN: Final = 20


async def _refuse_invalid(
    port: JournalPort, store: SqliteJournal, path: Path, *, created: bool
) -> None:
    """All or nothing: raise, listing the invalid recipients, if there are any."""
    invalid = await port.call(lambda: list(itertools.islice(store.invalid(), _SHOWN + 1)))
    if not invalid:
        return
    count = await port.call(lambda: sum(1 for _ in store.invalid()))
    problems = [
        RecipientProblem(row.position, row.raw, row.error or "invalid") for row in invalid[:_SHOWN]
    ]
    origins = {row.position: row.origin for row in invalid if row.origin is not None}
    if created:
        # Nothing was sent, and the journal only holds what this run read: leave no trace, so
        # the corrected file can start the campaign afresh.
        await port.call(_discard, store, path)
    raise InvalidRecipientError(problems, total=count, origins=origins)


def _discard(store: SqliteJournal, path: Path) -> None:
    store.close()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


def _close(port: JournalPort, writer: ReportWriter | None) -> None:
    if writer is not None:
        writer.close()
    port.store.close()
