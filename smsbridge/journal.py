"""A resumable record of a bulk send, in one SQLite file.

Every input recipient is a row, keyed by its input position. A request's recipients are marked
``in_flight`` (and committed) *before* the request goes out, and their outcome is written as soon
as it comes back. So after any interruption — Ctrl-C, a crash, ``kill -9`` — the file says exactly
what happened:

- ``accepted`` / ``rejected`` rows are final and are not sent again (a rejection whose error is
  retryable, such as ``provider_unavailable``, is sent again: nothing went out);
- rows still ``in_flight`` become ``unknown``: the request may have reached the provider, so they
  are never re-sent automatically; :meth:`Journal.unknown` lists them for reconciliation;
- ``pending`` rows are sent when the send is started again with the same journal.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed row survives the process being
killed; only a power loss can take back the last few commits.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Final

import attrs

from smsbridge._models import Message, RecipientResult, ResultError, SendStatus
from smsbridge.exceptions import ConfigurationError, ErrorCategory

__all__ = ["Journal", "JournalRow", "JournalTotals"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recipients (
    position INTEGER PRIMARY KEY,
    raw TEXT NOT NULL,
    recipient TEXT,
    state TEXT NOT NULL,
    message_id TEXT,
    segments INTEGER NOT NULL DEFAULT 0,
    category TEXT,
    provider_code TEXT,
    error TEXT,
    retryable INTEGER NOT NULL DEFAULT 0,
    duplicate_of INTEGER,
    delivery TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS first_of_number
    ON recipients(recipient) WHERE duplicate_of IS NULL AND recipient IS NOT NULL;
CREATE INDEX IF NOT EXISTS by_state ON recipients(state, position);
"""

PENDING: Final = "pending"
IN_FLIGHT: Final = "in_flight"
DUPLICATE: Final = "duplicate"
_FINAL_STATES: Final = ("accepted", "rejected", "unknown")


def _lock_exclusively(path: Path) -> IO[bytes] | None:
    """Hold ``<journal>.lock`` for as long as the journal is open for writing.

    Two runs of one campaign at once would each take the other's in-flight rows for
    interrupted ones. The operating system drops the lock when the process ends, even by
    ``kill -9``, so a crash never leaves a stale lock behind.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, as before
        return None
    handle = open(f"{path}.lock", "ab")  # noqa: SIM115 - held open until Journal.close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigurationError(
            f"the journal {path} is in use by another running send; "
            "wait for it to finish (or stop it) before starting this one"
        ) from None
    return handle


def message_fingerprint(message: Message, provider: str) -> str:
    """What identifies "the same send": provider, text and every option of the message."""
    payload = json.dumps(
        [provider, message.text, message.sender, message.flash, message.udh, message.reference]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@attrs.frozen
class JournalRow:
    """One input recipient and its outcome so far."""

    position: int
    raw: str
    recipient: str | None
    state: str
    message_id: str | None
    segments: int
    category: str | None
    provider_code: str | None
    error: str | None
    duplicate_of: int | None
    delivery: str | None = None
    """The last delivery status checked for this message (``pending``, ``delivered``, ...)."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as the JSON Lines report writes it."""
        return {
            "position": self.position,
            "recipient": self.recipient or self.raw,
            "status": self.state,
            "message_id": self.message_id,
            "segments": self.segments,
            "error": None
            if self.category is None
            else {
                "category": self.category,
                "provider_code": self.provider_code,
                "message": self.error,
            },
            "duplicate_of": self.duplicate_of,
            "delivery": self.delivery,
        }


@attrs.frozen
class JournalTotals:
    """Counts by outcome over the whole send."""

    total: int
    accepted: int
    rejected: int
    unknown: int
    pending: int
    segments: int
    """SMS parts accepted (recipients × parts)."""


class Journal:
    """The SQLite journal of one bulk send. Use one journal file per campaign message."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """Open (or create) the journal at ``path``.

        ``read_only`` opens an existing journal without changing the file, for inspection.

        :raises ConfigurationError: when the file is missing (read-only) or is not a journal.
        """
        self.path = Path(path)
        self._lock: IO[bytes] | None = None
        try:
            if read_only:
                self._db = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
                self._check_schema()
            else:
                self._lock = _lock_exclusively(self.path)
                self._db = sqlite3.connect(self.path, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            self._unlock()
            raise ConfigurationError(f"{self.path} is not a smsbridge journal ({error})") from None

    def _check_schema(self) -> None:
        tables = {
            name
            for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not {"meta", "recipients"} <= tables:
            self._db.close()
            raise sqlite3.DatabaseError("it has no journal tables")

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file; safe to call twice."""
        self._db.close()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def bind(self, message: Message, provider: str) -> bool:
        """Tie the journal to this message; True when it already held this send (a resume).

        :raises ConfigurationError: when the journal was written for another message.
        """
        fingerprint = message_fingerprint(message, provider)
        existing = self._meta("fingerprint")
        if existing is None:
            self._set_meta("fingerprint", fingerprint)
            return False
        if existing != fingerprint:
            raise ConfigurationError(
                f"the journal {self.path} belongs to a different message or provider; "
                "use a new journal file for a new send"
            )
        return True

    @property
    def enqueued(self) -> bool:
        """True once every input recipient has a row."""
        return self._meta("enqueued") == "1"

    # -- filling ----------------------------------------------------------------------------

    def row_count(self) -> int:
        """How many input recipients have a row."""
        return int(self._db.execute("SELECT COUNT(*) FROM recipients").fetchone()[0])

    def progress_counts(self) -> dict[str, int]:
        """Rows by state, duplicates left out (they follow their first occurrence)."""
        counts = dict.fromkeys(("pending", "in_flight", *_FINAL_STATES), 0)
        query = "SELECT state, COUNT(*) FROM recipients WHERE state != 'duplicate' GROUP BY state"
        for state, count in self._db.execute(query):
            counts[str(state)] = int(count)
        return counts

    def pending_count(self) -> int:
        """How many rows are still to be sent (duplicates excluded: they follow their first)."""
        query = "SELECT COUNT(*) FROM recipients WHERE state = 'pending'"
        return int(self._db.execute(query).fetchone()[0])

    def add(self, rows: Sequence[tuple[int, str, str | None, str | None]]) -> list[JournalRow]:
        """Add input rows ``(position, raw, e164 or None, reason if invalid)`` in one commit.

        A number seen before becomes a duplicate of its first position. Returns the rows that
        are final already (invalid recipients), so a report can be written as it goes.
        """
        numbers = sorted({number for _, _, number, _ in rows if number is not None})
        first: dict[str, int] = {}
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            marks = ",".join("?" * len(chunk))
            # Only "?" placeholders are formatted in; the numbers are bound parameters.
            query = f"SELECT recipient, position FROM recipients WHERE duplicate_of IS NULL AND recipient IN ({marks})"  # noqa: E501, S608
            first.update(self._db.execute(query, chunk).fetchall())
        records: list[tuple[object, ...]] = []
        final: list[JournalRow] = []
        for position, raw, number, reason in rows:
            if number is None:
                records.append(
                    (
                        position,
                        raw,
                        None,
                        "rejected",
                        ErrorCategory.INVALID_RECIPIENT.value,
                        reason,
                        None,
                    )
                )
                final.append(
                    JournalRow(
                        position,
                        raw,
                        None,
                        "rejected",
                        None,
                        0,
                        ErrorCategory.INVALID_RECIPIENT.value,
                        None,
                        reason,
                        None,
                    )
                )
                continue
            duplicate_of = first.setdefault(number, position)
            if duplicate_of == position:
                records.append((position, raw, number, PENDING, None, None, None))
            else:
                records.append((position, raw, number, DUPLICATE, None, None, duplicate_of))
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR IGNORE INTO recipients "
            "(position, raw, recipient, state, category, error, duplicate_of) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            records,
        )
        self._db.execute("COMMIT")
        return final

    def mark_enqueued(self) -> None:
        """Record that every input recipient has a row."""
        self._set_meta("enqueued", "1")

    # -- resuming ---------------------------------------------------------------------------

    def recover(self, *, retry_retryable: bool = True) -> int:
        """Prepare a resume: in-flight rows become unknown, retryable rejections pending again.

        :returns: how many rows were in flight when the previous run stopped.
        """
        self._db.execute("BEGIN")
        lost = self._db.execute(
            "UPDATE recipients SET state = 'unknown', category = ?, error = ? "
            "WHERE state = 'in_flight'",
            (
                ErrorCategory.OUTCOME_UNKNOWN.value,
                "the send was interrupted while this request was in flight",
            ),
        ).rowcount
        if retry_retryable:
            self._db.execute(
                "UPDATE recipients SET state = 'pending', category = NULL, provider_code = NULL, "
                "error = NULL, retryable = 0 WHERE state = 'rejected' AND retryable = 1"
            )
        self._db.execute("COMMIT")
        return int(lost)

    def requeue_unknown(self) -> int:
        """Make unknown rows pending again: the caller decided to re-send them."""
        cursor = self._db.execute(
            "UPDATE recipients SET state = 'pending', category = NULL, provider_code = NULL, "
            "error = NULL WHERE state = 'unknown'"
        )
        return int(cursor.rowcount)

    # -- dispatching ------------------------------------------------------------------------

    def claim(self, size: int) -> list[tuple[int, str]]:
        """The next ``size`` pending rows as ``(position, e164)``, marked in flight and committed.

        The commit comes before the request is sent: that ordering is what makes a resume safe.
        """
        self._db.execute("BEGIN IMMEDIATE")
        rows = self._db.execute(
            "SELECT position, recipient FROM recipients WHERE state = 'pending' "
            "ORDER BY position LIMIT ?",
            (size,),
        ).fetchall()
        if rows:
            self._db.executemany(
                "UPDATE recipients SET state = 'in_flight' WHERE position = ?",
                [(position,) for position, _ in rows],
            )
        self._db.execute("COMMIT")
        return [(int(position), str(number)) for position, number in rows]

    def complete(self, outcomes: Iterable[tuple[int, RecipientResult]]) -> None:
        """Write the outcome of a request's recipients in one commit."""
        records = []
        for position, result in outcomes:
            error = result.error
            records.append(
                (
                    result.status.value,
                    result.message_id,
                    result.segments,
                    None if error is None else error.category.value,
                    None
                    if error is None or error.provider_code is None
                    else str(error.provider_code),
                    None if error is None else error.message,
                    int(error is not None and error.retryable),
                    position,
                )
            )
        self._db.execute("BEGIN")
        self._db.executemany(
            "UPDATE recipients SET state = ?, message_id = ?, segments = ?, category = ?, "
            "provider_code = ?, error = ?, retryable = ? WHERE position = ?",
            records,
        )
        self._db.execute("COMMIT")

    # -- reading ----------------------------------------------------------------------------

    _COLUMNS: Final = (
        "r.position, r.raw, r.recipient, "
        "CASE WHEN r.state = 'duplicate' THEN f.state ELSE r.state END, "
        "COALESCE(r.message_id, f.message_id), COALESCE(f.segments, r.segments), "
        "COALESCE(r.category, f.category), COALESCE(r.provider_code, f.provider_code), "
        "COALESCE(r.error, f.error), r.duplicate_of, COALESCE(r.delivery, f.delivery)"
    )

    def _rows(self, where: str, params: Sequence[object] = ()) -> Iterator[JournalRow]:
        query = (
            f"SELECT {self._COLUMNS} FROM recipients r "  # noqa: S608 - fixed SQL fragments
            f"LEFT JOIN recipients f ON f.position = r.duplicate_of {where} ORDER BY r.position"
        )
        for row in self._db.execute(query, params):
            yield JournalRow(*row)

    def rows(self) -> Iterator[JournalRow]:
        """Every row in input order, duplicates showing their first occurrence's outcome."""
        return self._rows("")

    def duplicates(self) -> Iterator[JournalRow]:
        """Rows of numbers given more than once, with the outcome of their first occurrence."""
        return self._rows("WHERE r.state = 'duplicate'")

    def unknown(self) -> Iterator[JournalRow]:
        """Rows whose outcome is unknown: to reconcile, never re-sent automatically."""
        return self._rows("WHERE r.state = 'unknown'")

    def record_delivery(self, statuses: Iterable[tuple[str, str]]) -> None:
        """Store ``(message_id, delivery status)`` pairs from a delivery-status check."""
        self._db.execute("BEGIN")
        self._db.executemany(
            "UPDATE recipients SET delivery = ? WHERE message_id = ? AND state = 'accepted'",
            [(status, message_id) for message_id, status in statuses],
        )
        self._db.execute("COMMIT")

    def delivery_counts(self) -> dict[str, int]:
        """Accepted messages by their last checked delivery status (``unchecked`` if none)."""
        query = (
            "SELECT COALESCE(delivery, 'unchecked'), COUNT(*) FROM recipients "
            "WHERE state = 'accepted' GROUP BY 1 ORDER BY 1"
        )
        return {str(status): int(count) for status, count in self._db.execute(query)}

    def accepted_ids(self, page: int = 1000) -> Iterator[tuple[int, str]]:
        """``(position, message_id)`` of accepted rows, for delivery-status checks.

        Read a page at a time, so the caller may write to the journal between pages.
        """
        query = (
            "SELECT position, message_id FROM recipients WHERE state = 'accepted' "
            "AND message_id IS NOT NULL AND position > ? ORDER BY position LIMIT ?"
        )
        after = -1
        while rows := self._db.execute(query, (after, page)).fetchall():
            for position, message_id in rows:
                yield int(position), str(message_id)
            after = int(rows[-1][0])

    def totals(self) -> JournalTotals:
        """Counts by outcome, duplicates counted with their first occurrence's outcome."""
        counts = dict.fromkeys(("accepted", "rejected", "unknown", "pending"), 0)
        segments = 0
        query = (
            "SELECT CASE WHEN r.state = 'duplicate' THEN f.state ELSE r.state END AS s, "
            "COUNT(*), SUM(CASE WHEN r.state = 'accepted' THEN r.segments ELSE 0 END) "
            "FROM recipients r LEFT JOIN recipients f ON f.position = r.duplicate_of GROUP BY s"
        )
        for state, count, parts in self._db.execute(query):
            key = state if state in _FINAL_STATES else "pending"
            counts[key] += int(count)
            segments += int(parts or 0)
        return JournalTotals(total=sum(counts.values()), segments=segments, **counts)


def result_from_row(row: JournalRow) -> RecipientResult:
    """The report view of a journal row."""
    status = SendStatus(row.state) if row.state in _FINAL_STATES else SendStatus.UNKNOWN
    error = None
    if row.category is not None:
        error = ResultError(
            category=ErrorCategory(row.category),
            message=row.error or "",
            provider_code=row.provider_code,
        )
    return RecipientResult(
        recipient=row.recipient or row.raw,
        status=status,
        message_id=row.message_id,
        segments=row.segments,
        error=error,
        duplicate_of=row.duplicate_of,
    )
