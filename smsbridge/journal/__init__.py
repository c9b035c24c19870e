"""Campaign journals, read-only: what a campaign sent, to whom, with what outcome.

A campaign (``Client.send_bulk``, ``smsbridge campaign start``) writes its journal as it goes;
this module reads one back, at any time, even while the campaign runs:

>>> from smsbridge import Client
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "campaign.sqlite"
>>> _ = Client("fake://").send_bulk("Sale! لغو11", ["09121111111", "bad"], journal=path)
>>> with open_journal(path) as journal:
...     journal.totals().accepted, [row.state.value for row in journal.rows()]
(1, ['accepted', 'rejected'])

Rows carry :class:`RowState`, :class:`~smsbridge.SendStatus` and
:class:`~smsbridge.ErrorCategory` values. Writing is the engine's business (a private protocol).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from smsbridge.journal._model import CampaignIdentity, JournalRow, JournalTotals, RowState
from smsbridge.journal._sqlite import SqliteJournal

__all__ = [
    "CampaignIdentity",
    "JournalRow",
    "JournalTotals",
    "JournalView",
    "RowState",
    "open_journal",
]


class JournalView:
    """A campaign journal opened read-only; the file is never changed through it.

    While no send is running, rows still marked in flight (a run that was killed) read as
    ``unknown``: that is what the next run will make of them.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._store = SqliteJournal(self.path, read_only=True)

    @property
    def identity(self) -> CampaignIdentity | None:
        """Provider, account, content hash and options of the campaign."""
        return self._store.identity()

    @property
    def running(self) -> bool:
        """True while a send holds the journal."""
        return self._store.locked_by_another

    @property
    def enqueued(self) -> bool:
        """True once every input recipient has a row."""
        return self._store.enqueued

    def totals(self) -> JournalTotals:
        """Counts by outcome over the whole campaign."""
        return self._store.totals()

    def rows(self) -> Iterator[JournalRow]:
        """Every row in input order (duplicates with their first occurrence's outcome)."""
        return self._store.rows()

    def unknown(self) -> Iterator[JournalRow]:
        """Rows of unknown outcome: to reconcile, never re-sent automatically."""
        return self._store.unknown()

    def invalid(self) -> Iterator[JournalRow]:
        """Rows that were not valid numbers."""
        return self._store.invalid()

    def reasons(self) -> dict[str, int]:
        """Rejected and unknown rows counted by category."""
        return self._store.reasons()

    def delivery_counts(self) -> dict[str, int]:
        """Accepted messages by last checked delivery status."""
        return self._store.delivery_counts()

    def export(self, path: str | Path) -> int:
        """Write the full report (every input recipient) to ``path`` (``.csv`` or ``.jsonl``);
        returns the number of rows written."""
        from smsbridge._report import ReportWriter

        with ReportWriter(path) as writer:
            rows = self.rows()
            while chunk := list(itertools.islice(rows, 1000)):
                writer.write(chunk)
            return writer.lines

    def close(self) -> None:
        """Close the file."""
        self._store.close()

    def __enter__(self) -> JournalView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_journal(path: str | Path) -> JournalView:
    """Open a campaign journal read-only: a SQLite file, or a distributed campaign's Postgres
    journal, ``postgresql://…?campaign=NAME`` (see docs/distributed.md).

    :raises JournalError: when there is no journal at ``path``, or it is not a smsbridge
        journal, or it is damaged.
    """
    if isinstance(path, str) and path.lower().startswith(("postgresql://", "postgres://")):
        from smsbridge.journal._postgres import PostgresJournalView

        return PostgresJournalView(path)
    return JournalView(path)
