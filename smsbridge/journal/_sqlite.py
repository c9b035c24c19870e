"""The SQLite journal: one file per campaign, resumable after any interruption.

Every input recipient is a row of ``recipients``, written once when the source is read and
never changed. Requests are ``flights``: one row per request, committed *before* it is written
and deleted in the commit that stores its outcomes, one row each in ``outcomes`` (an append
that costs a fraction of rewriting the recipient row). So after Ctrl-C, a crash or ``kill -9``
the file says exactly what happened: a recipient with an outcome is final (a retryable
rejection — nothing went out — is sent again on resume); one in a flight becomes ``unknown``
(the request may have reached the provider) and is never re-sent automatically; the rest are
pending and are sent by the next run.

The file is refused, untouched, unless it is a smsbridge journal: a zero-byte or truncated
file, another application's database, a damaged page. One running send holds a lock on the
file itself (its inode), so a second run through a symlink or a hard link is refused too.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import EllipsisType
from typing import Any, Final, cast

import attrs

from smsbridge._chunks import CheckedChunk
from smsbridge._models import DeliveryStatus, RecipientResult, SendStatus
from smsbridge.exceptions import ConfigurationError, ErrorCategory, JournalError
from smsbridge.journal._model import CampaignIdentity, JournalRow, JournalTotals, RowState

__all__ = ["SqliteJournal"]

APPLICATION_ID: Final = 0x534D5342  # "SMSB": marks the file as a smsbridge journal
SCHEMA_VERSION: Final = 8
# Version 6 added the provider a flight's request went to, version 7 the staged numbers.
# Version 8 checks staged numbers against the index only when they are merged into it (in 7
# they were checked as they came), so an older smsbridge must not take a version 8 file: it
# would hand out rows whose numbers are not yet checked. An older file is read as it is and
# upgraded in place when a run opens it for writing; a version 7 file's staged numbers are
# checked already, and checking them again finds nothing.
_STAGED_TABLE: Final = (
    "CREATE TABLE staged_numbers (number INTEGER PRIMARY KEY, position INTEGER NOT NULL)"
)
_UPGRADES: Final = {
    5: ("ALTER TABLE flights ADD COLUMN provider TEXT", _STAGED_TABLE),
    6: (_STAGED_TABLE,),
    7: (),
}

_HEADER: Final = b"SQLite format 3\x00"

# States as stored. A recipient row is PENDING, REJECTED (invalid number) or DUPLICATE; an
# outcome is ACCEPTED, REJECTED or UNKNOWN.
PENDING, IN_FLIGHT, ACCEPTED, REJECTED, UNKNOWN, DUPLICATE = range(6)


# Rows counted by outcome in one pass, without GROUP BY: SQLite sorts every row to group them,
# which for a million rows is tens of MB of temporary storage (the memory figure of a campaign
# was this query's). TOTAL is 0.0, not NULL, over no rows.
def _by_outcome(column: str = "state") -> str:
    return ", ".join(f"TOTAL({column} = {state})" for state in (ACCEPTED, REJECTED, UNKNOWN))


_STATES: Final = {
    PENDING: RowState.PENDING,
    IN_FLIGHT: RowState.IN_FLIGHT,
    ACCEPTED: RowState.ACCEPTED,
    REJECTED: RowState.REJECTED,
    UNKNOWN: RowState.UNKNOWN,
    DUPLICATE: RowState.DUPLICATE,
}
_STATUS_CODES: Final = {
    SendStatus.ACCEPTED: ACCEPTED,
    SendStatus.REJECTED: REJECTED,
    SendStatus.UNKNOWN: UNKNOWN,
}
_NO_POSITION: Final = 2**62
"""Past every position a journal can hold."""
_INTERRUPTED: Final = "the send was interrupted while this request was in flight"

_SCHEMA: Final = f"""
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE recipients (
    position INTEGER PRIMARY KEY,
    raw TEXT,
    recipient TEXT,
    state INTEGER NOT NULL,
    error TEXT,
    duplicate_of INTEGER,
    origin TEXT
);
CREATE TABLE outcomes (
    position INTEGER PRIMARY KEY,
    state INTEGER NOT NULL,
    message_id TEXT,
    segments INTEGER NOT NULL DEFAULT 0,
    category TEXT,
    provider_code TEXT,
    error TEXT,
    retryable INTEGER NOT NULL DEFAULT 0,
    provider TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivery TEXT,
    at REAL
);
CREATE TABLE numbers (number INTEGER PRIMARY KEY, position INTEGER NOT NULL);
{_STAGED_TABLE};
CREATE TABLE flights (id INTEGER PRIMARY KEY, positions TEXT NOT NULL, at REAL, provider TEXT);
CREATE INDEX duplicates ON recipients(duplicate_of) WHERE state = {DUPLICATE};
CREATE INDEX retryable ON outcomes(position) WHERE retryable = 1;
CREATE INDEX unknown ON outcomes(position) WHERE state = {UNKNOWN};
"""

_POSITION: Final = operator.itemgetter(0)
_RESULT: Final = operator.itemgetter(1)
_PROVIDER: Final = operator.itemgetter(2)
_MESSAGE_ID: Final = operator.attrgetter("message_id")
_ACCEPTED_KIND: Final = operator.attrgetter("status", "error", "segments", "attempts")
"""What the outcomes of one request share when all of them went well."""

# What a JSON string cannot hold unescaped.
_JSON_ESCAPED: Final = re.compile(r'["\\\x00-\x1f]')


def _pairs_json(raws: Sequence[str], numbers: Sequence[str]) -> str:
    """``[[raw, number], ...]`` as JSON: joined directly when no text needs escaping (E.164
    numbers never do; a file's numbers almost never), else through :func:`json.dumps`."""
    pairs = zip(raws, numbers, strict=True)
    if _JSON_ESCAPED.search("".join(raws)) is None:
        return '[["' + '"],["'.join(map('","'.join, pairs)) + '"]]'
    return json.dumps(list(pairs), ensure_ascii=False)


# A row as readers see it: its own outcome, or for a duplicate its first occurrence's.
_FROM: Final = (
    "FROM recipients r "
    "LEFT JOIN outcomes o ON o.position = "
    f"(CASE WHEN r.state = {DUPLICATE} THEN r.duplicate_of ELSE r.position END)"
)
_STATE: Final = (
    f"CASE WHEN r.state = {REJECTED} THEN {REJECTED} WHEN o.state IS NOT NULL THEN o.state "
    f"ELSE {PENDING} END"
)
_COLUMNS: Final = (
    f"r.position, COALESCE(r.raw, r.recipient), r.recipient, {_STATE}, o.message_id, "
    "COALESCE(o.segments, 0), "
    f"CASE WHEN r.state = {REJECTED} THEN '{ErrorCategory.INVALID_RECIPIENT.value}' "
    "ELSE o.category END, o.provider_code, COALESCE(r.error, o.error), r.duplicate_of, "
    "o.delivery, o.provider, COALESCE(o.attempts, 0), r.origin, "
    f"(r.state = {DUPLICATE})"
)


def totals_dict(totals: JournalTotals) -> dict[str, int]:
    """The totals as a plain mapping (stored in the finished marker)."""
    return attrs.asdict(totals)


def _row(values: Sequence[Any], flying: set[int], unknown_if_flying: bool) -> JournalRow:
    state = _STATES[int(values[3])]
    category, error = values[6], values[8]
    position = int(values[0])
    first = int(values[9]) if values[14] else position
    if state is RowState.PENDING and first in flying:
        state = RowState.UNKNOWN if unknown_if_flying else RowState.IN_FLIGHT
        if state is RowState.UNKNOWN:
            category, error = ErrorCategory.OUTCOME_UNKNOWN.value, _INTERRUPTED
    if state is RowState.UNKNOWN and category is None:
        category = ErrorCategory.OUTCOME_UNKNOWN.value
    return JournalRow(
        position=position,
        raw=str(values[1] or ""),
        recipient=values[2],
        state=state,
        message_id=values[4],
        segments=int(values[5] or 0),
        category=None if category is None else ErrorCategory(category),
        provider_code=values[7],
        error=error,
        duplicate_of=values[9],
        delivery=None if values[10] is None else DeliveryStatus(values[10]),
        provider=values[11],
        attempts=int(values[12] or 0),
        origin=values[13],
    )


def _check_file(path: Path) -> None:
    """Refuse anything that is not a whole SQLite file, before SQLite itself touches it."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as error:
        raise JournalError(f"{path}: cannot read it ({error.strerror or error})") from None
    if not header:
        raise JournalError(
            f"{path} is empty (0 bytes), so it is not a smsbridge journal; it was left as it is. "
            "Give a path that does not exist to start a new campaign"
        )
    if not header.startswith(_HEADER) or len(header) < 100:
        raise JournalError(f"{path} is not a smsbridge journal (not a SQLite file); left untouched")


class SqliteJournal:
    """The journal of one campaign; use one file per campaign."""

    merge_at: int = 50_000
    """Staged numbers merged into the index at once (see :meth:`_index_numbers`)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock_fd: int | None = None
        self._version = SCHEMA_VERSION
        """The file's schema version (an older one is read as it is, upgraded for writing)."""
        self._staged: int | None = None
        """Numbers in ``staged_numbers`` (counted when first needed)."""
        self._unchecked_from: int | None = None
        """The first position whose number is staged, not yet checked against the index:
        no row from there on is handed out (None: every row is checked)."""
        self._settled_top: int | None = None
        """The highest position with an outcome (looked up when first needed)."""
        real = Path(os.path.realpath(self.path))
        exists = real.exists()
        if read_only and not exists:
            raise JournalError(f"no journal at {self.path}")
        try:
            if exists:
                if not read_only:
                    self._lock(real, create=False)
                _check_file(real)
                self._verify(real)
                if read_only:
                    self._db = self._connect_read_only(real)
                else:
                    self._db = sqlite3.connect(real, isolation_level=None, check_same_thread=False)
                    self._tune()
                    self._upgrade()
            else:
                self._lock(real, create=True)
                self._db = sqlite3.connect(real, isolation_level=None, check_same_thread=False)
                self._tune()
                self._db.executescript(_SCHEMA)
        except BaseException:
            self._unlock()
            raise
        self.created = not exists

    # -- opening ------------------------------------------------------------------------------

    def _lock(self, real: Path, *, create: bool) -> None:
        folder = real.parent
        if not folder.is_dir():
            raise ConfigurationError(
                f"cannot create the journal {self.path}: the folder {folder} does not exist"
            )
        flags = os.O_RDWR | ((os.O_CREAT | os.O_EXCL) if create else 0)
        try:
            fd = os.open(real, flags, 0o644)
        except FileExistsError:
            raise JournalError(
                f"the journal {self.path} appeared while it was being created"
            ) from None
        except PermissionError:
            raise ConfigurationError(
                f"cannot write the journal {self.path}: permission denied (is {folder} read-only?)"
            ) from None
        except OSError as error:
            raise ConfigurationError(
                f"cannot open the journal {self.path}: {error.strerror or error}"
            ) from None
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                f"the journal {self.path} is in use by another running send (possibly through "
                "another name for the same file); wait for it to finish or stop it"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            # Closing the descriptor drops the lock. It is closed only after SQLite's own
            # connection: closing any descriptor of a file drops a process's POSIX locks on it.
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def _connect_read_only(self, real: Path) -> sqlite3.Connection:
        return sqlite3.connect(
            f"{real.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )

    def _verify(self, real: Path) -> None:
        """Open read-only and check it is an intact smsbridge journal of a known version."""
        try:
            db = self._connect_read_only(real)
        except sqlite3.Error as error:
            raise JournalError(
                f"{self.path} cannot be opened as a journal ({error}); left untouched"
            ) from None
        try:
            app = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if app != APPLICATION_ID:
                raise JournalError(
                    f"{self.path} is a SQLite database of another application, not a smsbridge "
                    "journal; left untouched"
                )
            if version != SCHEMA_VERSION and version not in _UPGRADES:
                raise JournalError(
                    f"{self.path} is a smsbridge journal of another version ({version}); "
                    f"this smsbridge reads version {SCHEMA_VERSION}"
                )
            self._version = int(version)
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise JournalError(f"{self.path} is damaged ({verdict}); left untouched")
        except sqlite3.DatabaseError as error:
            raise JournalError(
                f"{self.path} is damaged or not a journal ({error}); left untouched"
            ) from None
        finally:
            db.close()

    def _upgrade(self) -> None:
        """Bring an older journal to this version, in one transaction (under the lock)."""
        if self._version == SCHEMA_VERSION:
            return
        with self.transaction():
            for statement in _UPGRADES[self._version]:
                self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._version = SCHEMA_VERSION

    def _tune(self) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # Temporary storage stays SQLite's default (a file once a sort outgrows the cache):
        # in memory, a sort over every row of a large journal made RSS grow with it.
        # 5 MB of page cache (SQLite's default is 2): send_bulk of 100k ran as fast as with
        # 8 MB (3 MB was 10% slower, measured side by side), and a 1M campaign's peak RSS is
        # 3 MB lower; the cache is a fixed cost, not one that grows with the campaign.
        db.execute("PRAGMA cache_size=-5000")

    def close(self) -> None:
        """Close the file and release the lock; safe to call twice."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._unlock()

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def locked_by_another(self) -> bool:
        """For a read-only view: True while a running send holds the journal."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover
            return False
        try:
            fd = os.open(os.path.realpath(self.path), os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            # Only for a read-only view, whose SQLite connection holds no POSIX locks to lose.
            os.close(fd)
        return False

    # -- meta -----------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """One stored setting."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, items: dict[str, str]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", items.items()
        )

    @property
    def campaign_id(self) -> str:
        """A random id made when the campaign began: with a row's position, it names that
        recipient's send uniquely, across campaigns and runs (providers that deduplicate on
        their side, like Kavenegar's ``localid``, key on it)."""
        return self.meta("campaign") or ""

    def identity(self) -> CampaignIdentity | None:
        """The identity of the campaign the journal holds, None for a new journal."""
        raw = self.meta("identity")
        return None if raw is None else CampaignIdentity(**json.loads(raw))

    def bind(self, identity: CampaignIdentity) -> bool:
        """Tie the journal to ``identity``; True when it already held this campaign.

        :raises JournalError: listing what differs when it holds another campaign.
        """
        existing = self.identity()
        if existing is None:
            with self.transaction():
                self._set_meta(
                    {"identity": json.dumps(identity.to_dict()), "campaign": uuid.uuid4().hex}
                )
            return False
        differences = identity.differences(existing)
        if differences:
            raise JournalError(
                f"the journal {self.path} belongs to another campaign: "
                + "; ".join(differences)
                + ". Nothing was sent; use a new journal file for a new campaign"
            )
        return True

    def source_state(self) -> dict[str, Any]:
        """How far the source was read: rows, byte offset, line, fingerprint, done."""
        raw = self.meta("source")
        return {} if raw is None else dict(json.loads(raw))

    @property
    def enqueued(self) -> bool:
        """True once every input recipient has a row."""
        return bool(self.source_state().get("done"))

    def report_paths(self) -> list[str]:
        """Report files this journal's campaign has written (real paths)."""
        raw = self.meta("reports")
        return [] if raw is None else list(json.loads(raw))

    def add_report_path(self, path: str) -> None:
        """Remember that this campaign writes ``path``."""
        paths = self.report_paths()
        if path not in paths:
            with self.transaction():
                self._set_meta({"reports": json.dumps([*paths, path])})

    # -- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- filling --------------------------------------------------------------------------------

    def enqueue(self, chunk: CheckedChunk, source: dict[str, Any]) -> list[JournalRow]:
        """Add a chunk of checked input rows and the source state after them (inside a
        :meth:`transaction`). A number seen before becomes a duplicate of its first position.
        Returns the rows that are final already (invalid recipients)."""
        db = self._db
        final: list[JournalRow] = []
        if not chunk:
            self._set_meta({"source": json.dumps(source)})
            return final
        first, raws, numbers, reasons = chunk.first, chunk.raws, chunk.numbers, chunk.reasons
        # One statement for the chunk's valid rows and one for its invalid ones, the rows as one
        # JSON text: SQLite works through it without the interpreter lock, where executemany
        # would take and drop the lock once per row, fighting the event loop's thread for it.
        # The raw text is kept only where it differs from the E.164 form (NULLIF).
        if not reasons:
            db.execute(
                "INSERT OR IGNORE INTO recipients (position, raw, recipient, state) "
                f"SELECT ? + key, NULLIF(value ->> 0, value ->> 1), value ->> 1, {PENDING} "
                "FROM json_each(?)",
                (first, _pairs_json(raws, cast("Sequence[str]", numbers))),
            )
        else:
            valid = [
                (first + index, raw, number)
                for index, (raw, number) in enumerate(zip(raws, numbers, strict=True))
                if number is not None
            ]
            if valid:
                db.execute(
                    "INSERT OR IGNORE INTO recipients (position, raw, recipient, state) "
                    "SELECT value ->> 0, NULLIF(value ->> 1, value ->> 2), value ->> 2, "
                    f"{PENDING} FROM json_each(?)",
                    (json.dumps(valid, ensure_ascii=False),),
                )
            records = [
                (position, raw, None, REJECTED, reason, origin)
                for position, raw, reason, origin in chunk.invalid()
            ]
            db.execute(
                "INSERT OR IGNORE INTO recipients (position, raw, recipient, state, error, "
                "origin) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, "
                "value ->> 4, value ->> 5 FROM json_each(?)",
                (json.dumps(records, ensure_ascii=False),),
            )
            final = [
                JournalRow(
                    position=position,
                    raw=raw,
                    recipient=None,
                    state=RowState.REJECTED,
                    category=ErrorCategory.INVALID_RECIPIENT,
                    error=reason,
                    origin=origin,
                )
                for position, raw, _, _, reason, origin in records
            ]
        last, valid_count = chunk.end - 1, len(raws) - len(reasons)
        new, table = self._index_numbers(first, last)
        if new != valid_count:
            # Some number of this chunk was seen before, in the chunk or in the table its new
            # numbers went to: mark its later rows. Most campaigns have none, and then this
            # join is skipped. Repeats of numbers already in the index, for a staged chunk,
            # are found when the staged numbers are merged (:meth:`_merge_staged`).
            db.execute(
                f"UPDATE recipients SET state = {DUPLICATE}, duplicate_of = n.position "
                f"FROM {table} n WHERE recipients.position BETWEEN ? AND ? "
                f"AND recipients.state = {PENDING} "
                "AND n.number = CAST(substr(recipients.recipient, 2) AS INTEGER) "
                "AND n.position != recipients.position",
                (first, last),
            )
        self._set_meta({"source": json.dumps(source)})
        return final

    def _load_staged(self) -> int:
        """How many numbers are staged, and from which position rows wait for their check."""
        if self._staged is None:
            count, unchecked = self._db.execute(
                "SELECT COUNT(*), MIN(position) FROM staged_numbers"
            ).fetchone()
            self._staged, self._unchecked_from = int(count), unchecked
        return self._staged

    def _index_numbers(self, first: int, last: int) -> tuple[int, str]:
        """Index the first occurrence of each number of rows ``first``..``last``; returns how
        many were new to the table they went to, and that table.

        Deduplication, set at a time inside SQLite. A campaign's numbers come in no order, and
        looking a chunk's 2,000 up in (or inserting them into) an index of a million reads and
        changes a page for nearly each of them: filling a shuffled 1M journal took 21.9 s
        against 5.1 s sorted. So a chunk's numbers are staged in a small table, checked only
        against it, and every :attr:`merge_at` of them are checked against the index and go
        into it at once, in number order, each index page visited once. Rows whose numbers
        are staged are not handed out (:meth:`next_pending`) until that check. A chunk whose
        numbers all come after the index's last, as in a sorted file, goes straight in.
        """
        db = self._db
        chunk_numbers = (
            "SELECT CAST(substr(recipient, 2) AS INTEGER) AS number, MIN(position) AS first "
            f"FROM recipients WHERE position BETWEEN ? AND ? AND state = {PENDING} GROUP BY 1"
        )
        if not self._load_staged():
            low, top = db.execute(
                f"SELECT MIN(number), (SELECT MAX(number) FROM numbers) FROM ({chunk_numbers})",
                (first, last),
            ).fetchone()
            if low is None:
                return 0, "numbers"
            if top is None or low > top:
                inserted = db.execute(
                    f"INSERT INTO numbers SELECT * FROM ({chunk_numbers}) WHERE true ORDER BY 1 "
                    "ON CONFLICT DO NOTHING",
                    (first, last),
                ).rowcount
                return int(inserted), "numbers"
        new = int(
            db.execute(
                f"INSERT INTO staged_numbers SELECT * FROM ({chunk_numbers}) WHERE true "
                "ORDER BY 1 ON CONFLICT DO NOTHING",
                (first, last),
            ).rowcount
        )
        if new and self._unchecked_from is None:
            self._unchecked_from = first
        self._staged = (self._staged or 0) + new
        if self._staged >= self.merge_at:
            self._merge_staged()
        return new, "staged_numbers"

    def _merge_staged(self) -> None:
        """Check the staged numbers against the index and move them into it (inside a
        transaction): a staged number the index already holds makes its staged row, and
        that row's repeats, duplicates of the index's first occurrence."""
        db = self._db
        moved = db.execute(
            "INSERT INTO numbers SELECT number, position FROM staged_numbers ORDER BY number "
            "ON CONFLICT DO NOTHING"
        ).rowcount
        if moved != self._load_staged():
            seen_before = (
                "(SELECT s.position AS staged, n.position AS first FROM staged_numbers s "
                "JOIN numbers n ON n.number = s.number AND n.position != s.position)"
            )
            db.execute(
                f"UPDATE recipients SET duplicate_of = seen.first FROM {seen_before} seen "
                f"WHERE recipients.state = {DUPLICATE} AND recipients.duplicate_of = seen.staged"
            )
            db.execute(
                f"UPDATE recipients SET state = {DUPLICATE}, duplicate_of = seen.first "
                f"FROM {seen_before} seen WHERE recipients.position = seen.staged"
            )
        db.execute("DELETE FROM staged_numbers")
        self._staged, self._unchecked_from = 0, None

    def finish_enqueue(self, source: dict[str, Any]) -> None:
        """Record that every input recipient has a row (inside a :meth:`transaction`); the
        numbers still staged are checked, so every row can be handed out."""
        if self._load_staged():
            self._merge_staged()
        self._set_meta({"source": json.dumps({**source, "done": True})})

    def row_count(self) -> int:
        """How many input recipients have a row."""
        return int(self._db.execute("SELECT COUNT(*) FROM recipients").fetchone()[0])

    # -- flights and resuming -------------------------------------------------------------------

    def _flights(self) -> list[tuple[int, list[int], float, str | None]]:
        """``(id, positions, at, provider)`` of every flight (provider None: not recorded, as
        in a version 5 journal read as it is)."""
        provider = "provider" if self._version >= 6 else "NULL"
        return [
            (int(flight), [int(p) for p in positions.split(",") if p], float(at or 0), name)
            for flight, positions, at, name in self._db.execute(
                f"SELECT id, positions, at, {provider} FROM flights"
            )
        ]

    def in_flight(self) -> set[int]:
        """Positions whose request was being written (or awaited) when last looked at."""
        return {position for _, positions, _, _ in self._flights() for position in positions}

    def recover(self) -> int:
        """In-flight rows (a run stopped mid-request) become unknown; returns how many.

        The count is also kept until :meth:`take_lost` reads it, so the run after an
        interruption can report what the interruption cost even when the interrupted run
        already settled its rows.
        """
        lost = 0
        with self.transaction():
            for flight, positions, at, provider in self._flights():
                # The row is the provider's its request was last going to: every earlier try
                # of the flight was refused as not sent (only those fail over), so settling
                # needs to ask that provider alone.
                cursor = self._db.executemany(
                    "INSERT OR IGNORE INTO outcomes "
                    "(position, state, category, error, provider, attempts, at) "
                    f"VALUES (?, {UNKNOWN}, ?, ?, ?, 1, ?)",
                    [
                        (p, ErrorCategory.OUTCOME_UNKNOWN.value, _INTERRUPTED, provider, at)
                        for p in positions
                    ],
                )
                lost += max(int(cursor.rowcount), 0)
                self._db.execute("DELETE FROM flights WHERE id = ?", (flight,))
            if lost:
                self._settled_top = None  # outcomes were added: looked up again when needed
                self._set_meta({"lost": str(int(self.meta("lost") or 0) + lost)})
                self._unfinish()
        return lost

    def take_lost(self) -> int:
        """Rows that became unknown through interruptions since the last call."""
        lost = int(self.meta("lost") or 0)
        if lost:
            with self.transaction():
                self._db.execute("DELETE FROM meta WHERE key = 'lost'")
        return lost

    def _requeue(self, where: str) -> int:
        with self.transaction():
            cursor = self._db.execute(f"DELETE FROM outcomes WHERE {where}")
            if cursor.rowcount:
                self._unfinish()
        return int(cursor.rowcount)

    def requeue_retryable(self) -> int:
        """Rejections that may succeed unchanged (nothing went out) become pending again."""
        return self._requeue(f"retryable = 1 AND state = {REJECTED}")

    def requeue_unknown(self) -> int:
        """Unknown rows become pending again: the caller decided to re-send them."""
        return self._requeue(f"state = {UNKNOWN}")

    # -- the finished marker --------------------------------------------------------------------

    def _unfinish(self) -> None:
        self._db.execute("DELETE FROM meta WHERE key = 'finished'")

    def finished(self) -> tuple[JournalTotals, dict[str, int]] | None:
        """Totals and reasons stored when the campaign last finished with nothing left to send;
        None when there is something to do (or it never finished)."""
        raw = self.meta("finished")
        if raw is None:
            return None
        data = json.loads(raw)
        return JournalTotals(**data["totals"]), dict(data["reasons"])

    def mark_finished(self) -> tuple[JournalTotals, dict[str, int]]:
        """Count the campaign and, if nothing is left to send, remember the counts, so a later
        run of a finished campaign needs no full scan."""
        totals, reasons = self.totals(), self.reasons()
        if totals.pending == 0 and self.enqueued and not self.in_flight():
            with self.transaction():
                payload = {"totals": totals_dict(totals), "reasons": reasons}
                self._set_meta({"finished": json.dumps(payload)})
        return totals, reasons

    # -- dispatching ----------------------------------------------------------------------------

    def first_pending(self) -> int:
        """The position before the first pending row (where a run starts reading)."""
        row = self._db.execute(
            f"SELECT MIN(r.position) FROM recipients r WHERE r.state = {PENDING} "
            "AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.position = r.position)"
        ).fetchone()
        return -1 if row[0] is None else int(row[0]) - 1

    def next_pending(self, after: int, limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` pending rows after position ``after``, as ``(position, E.164)``.

        Only rows whose numbers are checked: when those run out before ``limit`` and some are
        staged, the staged numbers are checked first (a commit of its own).
        """
        rows = self._pending_rows(after, limit)
        if len(rows) < limit and self._load_staged():
            if self._db.in_transaction:
                self._merge_staged()
            else:
                with self.transaction():
                    self._merge_staged()
            rows += self._pending_rows(rows[-1][0] if rows else after, limit - len(rows))
        return rows

    def _pending_rows(self, after: int, limit: int) -> list[tuple[int, str]]:
        self._load_staged()
        if self._settled_top is None:
            top = self._db.execute("SELECT MAX(position) FROM outcomes").fetchone()[0]
            self._settled_top = -1 if top is None else int(top)
        # Past the last outcome no row can have one: the lookup per row is skipped.
        settled = (
            ""
            if after >= self._settled_top
            else "AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.position = r.position) "
        )
        checked = _NO_POSITION if self._unchecked_from is None else self._unchecked_from
        # INTEGER and TEXT columns: the rows come back as (int, str) tuples already.
        rows: list[tuple[int, str]] = self._db.execute(
            "SELECT r.position, r.recipient FROM recipients r WHERE r.position > ? "
            f"AND r.position < ? AND r.state = {PENDING} {settled}"
            "ORDER BY r.position LIMIT ?",
            (after, checked, limit),
        ).fetchall()
        return rows

    def mark_in_flight(self, positions: Sequence[int], provider: str | None = None) -> int:
        """Record a request about to be written to ``provider``, returning its flight id
        (inside a :meth:`transaction` committed before the request is written: that ordering
        is what makes a resume safe). One row per request, not per recipient."""
        cursor = self._db.execute(
            "INSERT INTO flights (positions, at, provider) VALUES (?, ?, ?)",
            (",".join(map(str, positions)), time.time(), provider),
        )
        return int(cursor.lastrowid or 0)

    def redirect_flight(self, flight: int, provider: str) -> None:
        """The flight's next request goes to ``provider`` (the last one refused it as not
        sent); committed before that request is written (inside a :meth:`transaction`)."""
        self._db.execute("UPDATE flights SET provider = ? WHERE id = ?", (provider, flight))

    # Accepted rows sharing segments, provider and attempts (a batch's, usually) as one JSON
    # object, position to message id: the least Python per row, one statement per group.
    _ACCEPTED: Final = (
        "INSERT OR REPLACE INTO outcomes (position, state, message_id, segments, provider, "
        f"attempts, at) SELECT CAST(key AS INTEGER), {ACCEPTED}, value, ?, ?, ?, ? "
        "FROM json_each(?)"
    )
    _FAILED: Final = (
        "INSERT OR REPLACE INTO outcomes (position, state, message_id, segments, category, "
        "provider_code, error, retryable, provider, attempts, at) "
        "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, "
        "value ->> 6, value ->> 7, value ->> 8, value ->> 9, ? FROM json_each(?)"
    )

    def write_outcomes(
        self,
        outcomes: Iterable[tuple[int, RecipientResult, str | None]],
        *,
        attempted: bool,
        flight: int | None = None,
    ) -> None:
        """Write ``(position, result, provider)`` outcomes and land ``flight`` (inside a
        :meth:`transaction`); ``attempted``: the result's provider requests are counted (a
        settlement's are not)."""
        top = self._write_uniform(outcomes, attempted) if isinstance(outcomes, list) else None
        if top is None:
            top = self._write_grouped(outcomes, attempted)
        if self._settled_top is not None and top > self._settled_top:
            self._settled_top = top
        if flight is not None:
            self._db.execute("DELETE FROM flights WHERE id = ?", (flight,))

    def _write_grouped(
        self, outcomes: Iterable[tuple[int, RecipientResult, str | None]], attempted: bool
    ) -> int:
        """Write any mix of outcomes: the accepted ones grouped by parts, provider and
        attempts, the others one JSON list. Returns the highest position written (-1: none)."""
        accepted: dict[tuple[int, str | None, int], dict[int, str | None]] = {}
        failed: list[tuple[object, ...]] = []
        top = -1
        for position, result, provider in outcomes:
            top = max(top, position)
            attempts = result.attempts if attempted else 0
            error = result.error
            if error is None and result.status is SendStatus.ACCEPTED:
                # The common case: one row per campaign recipient.
                group = (result.segments, provider, attempts)
                accepted.setdefault(group, {})[position] = result.message_id
                continue
            code = None if error is None else error.provider_code
            failed.append(
                (
                    position,
                    _STATUS_CODES[result.status],
                    result.message_id,
                    result.segments,
                    None if error is None else error.category.value,
                    None if code is None else str(code),
                    None if error is None else error.message,
                    int(error is not None and error.retryable),
                    provider,
                    attempts,
                )
            )
        # As in enqueue: one statement each, the rows as one JSON text.
        now = time.time()
        for (segments, provider_name, attempts), ids in accepted.items():
            self._db.execute(
                self._ACCEPTED,
                (segments, provider_name, attempts, now, json.dumps(ids, ensure_ascii=False)),
            )
        if failed:
            self._db.execute(self._FAILED, (now, json.dumps(failed, ensure_ascii=False)))
        return top

    def _write_uniform(
        self, outcomes: list[tuple[int, RecipientResult, str | None]], attempted: bool
    ) -> int | None:
        """Write a request's outcomes when all are accepted alike (same parts, provider and
        attempts), with no Python per row, returning the highest position written; None,
        writing nothing, for any other mix."""
        if not outcomes:
            return None
        results = list(map(_RESULT, outcomes))
        kinds = set(map(_ACCEPTED_KIND, results))
        providers = set(map(_PROVIDER, outcomes))
        if len(kinds) != 1 or len(providers) != 1:
            return None
        ((status, error, segments, attempts),) = kinds
        if status is not SendStatus.ACCEPTED or error is not None:
            return None
        ids: dict[int, str | None] = dict(
            zip(map(_POSITION, outcomes), map(_MESSAGE_ID, results), strict=True)
        )
        self._db.execute(
            self._ACCEPTED,
            (
                segments,
                providers.pop(),
                attempts if attempted else 0,
                time.time(),
                json.dumps(ids, ensure_ascii=False),
            ),
        )
        return max(ids)

    # -- reading --------------------------------------------------------------------------------

    def _rows(self, where: str = "", params: Sequence[object] = ()) -> Iterator[JournalRow]:
        flying = self.in_flight()
        unknown_if_flying = self.read_only and not self.locked_by_another
        query = f"SELECT {_COLUMNS} {_FROM} {where} ORDER BY r.position"
        for values in self._db.execute(query, params):
            yield _row(values, flying, unknown_if_flying)

    def rows(self) -> Iterator[JournalRow]:
        """Every row in input order, duplicates showing their first occurrence's outcome."""
        return self._rows()

    def final_rows(self) -> Iterator[JournalRow]:
        """Rows with an outcome, in input order; duplicates left out (a report writes them at
        the end, with their first occurrence's outcome)."""
        return self._rows(
            f"WHERE r.state != {DUPLICATE} AND (r.state = {REJECTED} OR o.state IS NOT NULL)"
        )

    def duplicates(self) -> Iterator[JournalRow]:
        """Rows of numbers given more than once, with the outcome of their first occurrence."""
        return self._rows(f"WHERE r.state = {DUPLICATE}")

    def unknown(self) -> Iterator[JournalRow]:
        """Rows whose outcome is unknown (in flight ones too when no send is running)."""
        known = self._rows(f"WHERE o.state = {UNKNOWN}")
        flying = self.in_flight()
        if not flying or not (self.read_only and not self.locked_by_another):
            return known
        marks = ",".join(map(str, sorted(flying)))
        interrupted = self._rows(
            f"WHERE o.state IS NULL AND r.state != {REJECTED} AND "
            f"(CASE WHEN r.state = {DUPLICATE} THEN r.duplicate_of ELSE r.position END) "
            f"IN ({marks})"
        )
        return iter(sorted([*known, *interrupted], key=lambda row: row.position))

    def invalid(self) -> Iterator[JournalRow]:
        """Rows that are not valid numbers."""
        return self._rows(f"WHERE r.state = {REJECTED}")

    def reasons(self) -> dict[str, int]:
        """Rejected and unknown rows counted by category (a fully failed campaign's breakdown)."""
        found: dict[str, int] = {}
        query = (
            "SELECT COALESCE(category, 'unknown'), COUNT(*) FROM outcomes "
            f"WHERE state IN ({REJECTED}, {UNKNOWN}) GROUP BY 1"
        )
        for category, count in self._db.execute(query):
            found[str(category)] = found.get(str(category), 0) + int(count)
        invalid = self._db.execute(
            f"SELECT COUNT(*) FROM recipients WHERE state = {REJECTED}"
        ).fetchone()[0]
        if invalid:
            name = ErrorCategory.INVALID_RECIPIENT.value
            found[name] = found.get(name, 0) + int(invalid)
        return dict(sorted(found.items(), key=lambda item: -item[1]))

    def record_delivery(self, statuses: Iterable[tuple[int, str]]) -> None:
        """Store ``(position, delivery status)`` pairs from a delivery-status check."""
        with self.transaction():
            self._db.executemany(
                f"UPDATE outcomes SET delivery = ? WHERE position = ? AND state = {ACCEPTED}",
                [(status, position) for position, status in statuses],
            )

    def delivery_counts(self) -> dict[str, int]:
        """Accepted messages by their last checked delivery status (``unchecked`` if none)."""
        query = (
            "SELECT COALESCE(delivery, 'unchecked'), COUNT(*) FROM outcomes "
            f"WHERE state = {ACCEPTED} GROUP BY 1 ORDER BY 1"
        )
        return {str(status): int(count) for status, count in self._db.execute(query)}

    def unknown_since(
        self, since: float, provider: str | EllipsisType | None = ...
    ) -> list[tuple[int, int, float]]:
        """``(position, segments, when)`` of unknown rows without a message id, sent after
        ``since`` (epoch seconds): the ones a provider may still be asked about. ``provider``
        keeps those one provider left unknown (None: those no provider is recorded for, an
        interrupted request's)."""
        where, params = _by_provider(provider)
        return [
            (int(position), int(segments or 0), float(at or 0))
            for position, segments, at in self._db.execute(
                f"SELECT position, segments, at FROM outcomes WHERE state = {UNKNOWN} "
                f"AND message_id IS NULL AND COALESCE(at, 0) >= ?{where} ORDER BY position",
                (since, *params),
            )
        ]

    def accepted_ids(
        self, page: int = 1000, provider: str | EllipsisType | None = ...
    ) -> Iterator[tuple[int, str]]:
        """``(position, message_id)`` of accepted rows (those ``provider`` accepted, when
        given), a page at a time (so the caller may write to the journal between pages)."""
        where, params = _by_provider(provider)
        query = (
            f"SELECT position, message_id FROM outcomes WHERE state = {ACCEPTED} "
            f"AND message_id IS NOT NULL AND position > ?{where} ORDER BY position LIMIT ?"
        )
        after = -1
        while rows := self._db.execute(query, (after, *params, page)).fetchall():
            for position, message_id in rows:
                yield int(position), str(message_id)
            after = int(rows[-1][0])

    def accepted_by_provider(self) -> dict[str, int]:
        """Accepted recipients counted by the provider that took them."""
        return {
            str(provider): int(count)
            for provider, count in self._db.execute(
                f"SELECT provider, COUNT(*) FROM outcomes WHERE state = {ACCEPTED} "
                "AND provider IS NOT NULL GROUP BY provider ORDER BY 2 DESC"
            )
        }

    def providers(self) -> list[str | None]:
        """Every provider the outcomes name (None for outcomes that name none)."""
        return [value for (value,) in self._db.execute("SELECT DISTINCT provider FROM outcomes")]

    def totals(self) -> JournalTotals:
        """Counts by outcome, duplicates counted with their first occurrence's outcome."""
        counts = dict.fromkeys(("accepted", "rejected", "unknown", "pending"), 0)
        total, invalid = self._db.execute(
            f"SELECT COUNT(*), TOTAL(state = {REJECTED}) FROM recipients"
        ).fetchone()
        accepted, rejected, unknown, segments = self._db.execute(
            f"SELECT {_by_outcome()}, TOTAL(CASE WHEN state = {ACCEPTED} THEN segments END) "
            "FROM outcomes"
        ).fetchone()
        counts.update(accepted=int(accepted), rejected=int(rejected), unknown=int(unknown))
        # A duplicate counts as its first occurrence's outcome.
        followed = self._db.execute(
            f"SELECT {_by_outcome('o.state')} FROM recipients r "
            f"JOIN outcomes o ON o.position = r.duplicate_of WHERE r.state = {DUPLICATE}"
        ).fetchone()
        for name, count in zip(("accepted", "rejected", "unknown"), followed, strict=True):
            counts[name] += int(count)
        counts["rejected"] += int(invalid)
        counts["pending"] = total - counts["accepted"] - counts["rejected"] - counts["unknown"]
        if self.read_only and not self.locked_by_another:
            # Rows of an interrupted request read as what the next run will make of them.
            flying = self._flying_rows()
            counts["pending"] -= flying
            counts["unknown"] += flying
        return JournalTotals(total=total, segments=int(segments), **counts)

    def _flying_rows(self) -> int:
        flying = self.in_flight()
        if not flying:
            return 0
        marks = ",".join(map(str, sorted(flying)))
        return int(
            self._db.execute(
                f"SELECT COUNT(*) FROM recipients r WHERE r.state != {REJECTED} AND "
                f"(CASE WHEN r.state = {DUPLICATE} THEN r.duplicate_of ELSE r.position END) "
                f"IN ({marks}) AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.position = "
                f"(CASE WHEN r.state = {DUPLICATE} THEN r.duplicate_of ELSE r.position END))"
            ).fetchone()[0]
        )

    def progress_counts(self) -> dict[str, int]:
        """Rows by state, duplicates left out (they follow their first occurrence)."""
        counts = dict.fromkeys(("pending", "in_flight", "accepted", "rejected", "unknown"), 0)
        accepted, rejected, unknown = self._db.execute(
            f"SELECT {_by_outcome()} FROM outcomes"
        ).fetchone()
        counts.update(accepted=int(accepted), rejected=int(rejected), unknown=int(unknown))
        settled = counts["accepted"] + counts["rejected"] + counts["unknown"]
        pending, invalid = self._db.execute(
            f"SELECT TOTAL(state = {PENDING}), TOTAL(state = {REJECTED}) FROM recipients"
        ).fetchone()
        counts["rejected"] += int(invalid)
        counts["in_flight"] = len(self.in_flight())
        counts["pending"] = int(pending) - settled - counts["in_flight"]
        return counts


def _by_provider(provider: str | EllipsisType | None) -> tuple[str, tuple[object, ...]]:
    """A filter on the outcome's provider: any (``...``), none recorded (None), or one."""
    if provider is Ellipsis:
        return "", ()
    if provider is None:
        return " AND provider IS NULL", ()
    return " AND provider = ?", (provider,)
