"""A campaign's journal and report, worked on one thread of their own, never on the event loop.

The thread takes operations from a queue and answers each awaiting coroutine through the loop.
Writes are grouped: every request about to go out (``take_off``) and every outcome that came
back (``complete``) queued while a commit runs go into the next commit together, ahead of the
chunks of input rows (``enqueue``) and of plain calls, which run one at a time in the order they
came.

The thread runs its queue on its own, not as a task the loop has to resume between two
commits: a request waits for its commit and one turn of the loop, not for several turns, each of
which may be spent reading another request's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final, TypeVar

from smsbridge._chunks import CheckedChunk
from smsbridge._models import RecipientResult
from smsbridge._report import ReportWriter
from smsbridge.journal import JournalRow, RowState
from smsbridge.journal._sqlite import SqliteJournal

__all__ = ["JournalPort"]

_T = TypeVar("_T")
_Op = tuple[str, Any, "asyncio.Future[Any] | None"]
_GROUPED: Final = frozenset({"take_off", "redirect", "complete"})
_STOP: Final = ("stop", None, None)


class JournalPort:
    """The journal's thread: every journal and report operation of one campaign."""

    def __init__(self, store: SqliteJournal, report: ReportWriter | None) -> None:
        self.store = store
        self.report = report
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="smsbridge-journal", daemon=True)
        self._thread.start()

    # -- from the event loop ----------------------------------------------------------------

    def _submit(self, kind: str, payload: Any, wait: bool) -> asyncio.Future[Any] | None:
        loop = self._loop = asyncio.get_running_loop()
        future = loop.create_future() if wait else None
        if self._failure is not None and future is not None:
            future.set_exception(self._failure)
            return future
        self._queue.put((kind, payload, future))
        return future

    async def call(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run ``function(*args)`` on the journal thread."""
        future = self._submit("call", functools.partial(function, *args), wait=True)
        assert future is not None  # noqa: S101
        result: _T = await future
        return result

    async def take_off(
        self,
        flying: list[int],
        settled: list[tuple[int, RecipientResult, str | None]],
        provider: str | None = None,
    ) -> int | None:
        """Commit ``flying`` as in flight to ``provider`` (and pre-I/O outcomes) before the
        request is written; returns the flight to land with :meth:`complete`."""
        future = self._submit("take_off", (flying, settled, provider), wait=True)
        assert future is not None  # noqa: S101
        flight: int | None = await future
        return flight

    async def redirect(self, flight: int, provider: str) -> None:
        """Commit that the flight's next request goes to ``provider``, before it is written."""
        future = self._submit("redirect", (flight, provider), wait=True)
        assert future is not None  # noqa: S101
        await future

    def complete(
        self, outcomes: list[tuple[int, RecipientResult, str | None]], flight: int | None
    ) -> None:
        """Queue outcomes (and the landing of their flight) for the next commit."""
        self._submit("complete", (outcomes, flight), wait=False)

    async def enqueue(self, chunk: CheckedChunk, state: dict[str, Any]) -> None:
        """Commit a chunk of input rows and the source state after it."""
        future = self._submit("enqueue", (chunk, state), wait=True)
        assert future is not None  # noqa: S101
        await future

    async def flush(self) -> None:
        """Wait until every write submitted so far is committed; raise if one failed."""
        await self.call(_nothing)
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        """Stop the thread, once the operations queued before are done."""
        self._queue.put(_STOP)
        self._thread.join()

    # -- on the journal thread --------------------------------------------------------------

    def _serve(self) -> None:
        backlog: deque[_Op] = deque()
        while True:
            if not backlog:
                backlog.append(self._queue.get())
            while True:
                try:
                    backlog.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            grouped = [op for op in backlog if op[0] in _GROUPED]
            if grouped:
                kept = [op for op in backlog if op[0] not in _GROUPED]
                backlog.clear()
                backlog.extend(kept)
                ops = grouped
            else:
                ops = [backlog.popleft()]
            if ops[0] is _STOP:
                return
            self._run(ops)

    def _run(self, ops: list[_Op]) -> None:
        outcome: list[tuple[bool, Any]]
        if self._failure is not None:
            outcome = [(False, self._failure)] * len(ops)
        else:
            try:
                if ops[0][0] == "call":
                    outcome = [(True, ops[0][1]())]
                else:
                    outcome = [(True, result) for result in self._apply(ops)]
            except BaseException as error:  # handed to the coroutines that wait, not lost
                if ops[0][0] != "call":
                    # A write that failed leaves the campaign's state in doubt: every later
                    # operation fails with the same error.
                    self._failure = error
                outcome = [(False, error)] * len(ops)
        futures = [
            (future, ok, value)
            for (_, _, future), (ok, value) in zip(ops, outcome, strict=True)
            if future is not None
        ]
        if futures and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                self._loop.call_soon_threadsafe(_answer, futures)

    def _apply(self, ops: list[_Op]) -> list[Any]:
        """One transaction for every queued write; then the report lines for what it holds."""
        store = self.store
        reporting = self.report is not None
        lines: list[JournalRow] = []
        results: list[Any] = []
        with store.transaction():
            for kind, payload, _ in ops:
                if kind == "take_off":
                    flying, settled, provider = payload
                    results.append(store.mark_in_flight(flying, provider) if flying else None)
                    store.write_outcomes(settled, attempted=False)
                    if reporting:
                        lines.extend(_report_row(p, r, provider) for p, r, provider in settled)
                elif kind == "redirect":
                    store.redirect_flight(*payload)
                    results.append(None)
                elif kind == "complete":
                    outcomes, flight = payload
                    store.write_outcomes(outcomes, attempted=True, flight=flight)
                    results.append(None)
                    if reporting:
                        lines.extend(_report_row(p, r, provider) for p, r, provider in outcomes)
                else:
                    chunk, state = payload
                    lines.extend(store.enqueue(chunk, state))
                    results.append(None)
        if self.report is not None and lines:
            self.report.write(lines)
        return results


def _nothing() -> None:
    return None


def _answer(futures: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """On the loop: hand each waiting coroutine its result (one it gave up on is skipped)."""
    for future, ok, value in futures:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _report_row(position: int, result: RecipientResult, provider: str | None) -> JournalRow:
    error = result.error
    return JournalRow(
        position=position,
        raw=result.recipient,
        recipient=result.recipient,
        state=RowState(result.status.value),
        message_id=result.message_id,
        segments=result.segments,
        category=None if error is None else error.category,
        provider_code=None
        if error is None or error.provider_code is None
        else str(error.provider_code),
        error=None if error is None else error.message,
        provider=provider,
    )
