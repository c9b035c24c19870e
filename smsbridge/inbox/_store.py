"""The inbox's shared store: one SQLite file (WAL) that every sending process writes to.

``fake://?inbox=PATH`` appends each message to it, emulators report to it, the inbox server
reads it. Several writer processes are safe: every write is one short ``BEGIN IMMEDIATE``
transaction, and a busy file is waited on, not failed. Chaos rules live here too, so a rule
armed in the inbox reaches senders in other processes, each consuming it atomically.

Every write bumps a revision counter (by trigger, so writers in other processes bump it too);
the server watches it to push live updates.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from smsbridge.exceptions import ErrorCategory
from smsbridge.inbox._model import (
    ChaosFault,
    ChaosRule,
    InboxError,
    InboxMessage,
    MessageStatus,
)

__all__ = ["ENV_INBOX", "InboxStore", "default_store_path", "open_store"]

ENV_INBOX: Final = "SMSBRIDGE_INBOX"
APPLICATION_ID: Final = 0x534D5349  # "SMSI": marks the file as a smsbridge inbox
SCHEMA_VERSION: Final = 1
MAX_TEXT: Final = 4096
"""Characters of one message kept (a 10-part UCS-2 SMS is 670): longer texts are refused."""

_PRAGMAS: Final = (
    f"PRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {SCHEMA_VERSION};\n"
)
_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('revision', 0);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT,
    provider TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    sender TEXT,
    flash INTEGER NOT NULL DEFAULT 0,
    udh TEXT,
    segments INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    chaos INTEGER NOT NULL DEFAULT 0,
    simulated INTEGER NOT NULL DEFAULT 1,
    reference TEXT,
    key TEXT,
    template_id TEXT,
    variables TEXT,
    created_at REAL NOT NULL,
    status_at REAL
);
CREATE UNIQUE INDEX messages_provider_id ON messages(provider, message_id);
CREATE INDEX messages_recipient ON messages(recipient, id);
CREATE INDEX messages_pending ON messages(created_at) WHERE status = 'pending' AND simulated = 1;
CREATE TABLE chaos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    category TEXT NOT NULL,
    remaining INTEGER,
    share REAL NOT NULL,
    message TEXT,
    hits INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE templates (id TEXT PRIMARY KEY, body TEXT NOT NULL);
"""
_TRIGGERS: Final = "".join(
    f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {table} BEGIN "  # noqa: S608
    "UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;\n"
    for table in ("messages", "chaos", "templates")
    for event in ("INSERT", "UPDATE", "DELETE")
)
_HEADER: Final = b"SQLite format 3\x00"
_COLUMNS: Final = (
    "id, message_id, provider, recipient, text, sender, flash, udh, segments, encoding, status, "
    "error, chaos, reference, key, template_id, variables, created_at, status_at"
)
_PERSIAN_DIGITS: Final = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_NOT_DIGIT: Final = re.compile(r"[\s\-().+]")


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$SMSBRIDGE_INBOX``, else ``inbox.sqlite`` in the user's state folder."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_INBOX, "").strip()
    if configured:
        return Path(configured).expanduser()
    state = env.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "smsbridge" / "inbox.sqlite"


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _variables(raw: str | None) -> Mapping[str, str] | tuple[str, ...] | None:
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else tuple(value)


def _message(row: Sequence[Any]) -> InboxMessage:
    return InboxMessage(
        id=row[0],
        message_id=row[1],
        provider=row[2],
        recipient=row[3],
        text=row[4],
        sender=row[5],
        flash=bool(row[6]),
        udh=row[7],
        segments=row[8],
        encoding=row[9],
        status=MessageStatus(row[10]),
        error=row[11],
        chaos=bool(row[12]),
        reference=row[13],
        key=row[14],
        template_id=row[15],
        variables=_variables(row[16]),
        created_at=row[17],
        status_at=row[18],
    )


def _rule(row: Sequence[Any]) -> ChaosRule:
    return ChaosRule(
        id=row[0],
        provider=row[1],
        category=ErrorCategory(row[2]),
        remaining=row[3],
        share=row[4],
        message=row[5],
        hits=row[6],
        created_at=row[7],
    )


def number_query(query: str) -> list[str]:
    """The digit strings a search for ``query`` matches in E.164 numbers (empty: not a number).

    ``0912 345`` finds ``+98912345…``: a leading trunk zero (or ``00``) is dropped.
    """
    digits = _NOT_DIGIT.sub("", query.translate(_PERSIAN_DIGITS))
    if not digits.isdigit() or not digits.isascii():
        return []
    found = [digits]
    stripped = digits.lstrip("0")
    if stripped and stripped != digits:
        found.append(stripped)
    return found


class InboxStore:
    """The inbox's SQLite file. Thread-safe; several processes may hold the same file open.

    :param path: the file, created (with its folder's existence required) when missing.
    :param clock: the time stamped on messages and used to age deliveries.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._random = random.Random()  # noqa: S311 - chaos shares, not cryptography
        self._db = self._open()

    # -- opening ----------------------------------------------------------------------------

    def _refuse(self, why: str) -> InboxError:
        return InboxError(f"{self.path} {why}")

    def _open(self) -> sqlite3.Connection:
        if not self.path.parent.is_dir():
            raise self._refuse(f"cannot be created: the folder {self.path.parent} does not exist")
        if self.path.is_dir():
            raise self._refuse("is a folder, not an inbox file")
        with contextlib.suppress(FileNotFoundError):
            with self.path.open("rb") as handle:
                head = handle.read(len(_HEADER))
            if head and head != _HEADER:
                raise self._refuse("is not an SQLite file (not a smsbridge inbox)")
        try:
            db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._refuse(f"cannot be opened: {exc}") from exc
        try:
            db.execute("PRAGMA busy_timeout = 10000")
            self._initialise(db)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise self._refuse(f"cannot be used: {exc}") from exc
        except InboxError:
            db.close()
            raise
        return db

    def _initialise(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            application = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if application == 0 and version == 0 and tables == 0:
                for statement in (_PRAGMAS + _SCHEMA + _TRIGGERS).split(";\n"):
                    if statement.strip():
                        db.execute(statement)
            elif application != APPLICATION_ID:
                raise self._refuse("is another application's database, not a smsbridge inbox")
            elif version != SCHEMA_VERSION:
                raise self._refuse(
                    f"is an inbox of schema {version}; this smsbridge reads schema "
                    f"{SCHEMA_VERSION} (start a new file)"
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the file. Safe to call more than once."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> InboxStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- writing messages -------------------------------------------------------------------

    def add(
        self,
        *,
        provider: str,
        recipient: str,
        text: str,
        segments: int | None = None,
        message_id: str | None = None,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        status: MessageStatus = MessageStatus.PENDING,
        error: str | None = None,
        chaos: bool = False,
        simulated: bool = True,
        reference: str | None = None,
        key: str | None = None,
        template_id: str | None = None,
        variables: Mapping[str, str] | Sequence[str] | None = None,
    ) -> InboxMessage:
        """Store one message to one number and return it.

        Without ``message_id`` an accepted message gets ``inbox-NNNNNNNN`` (unique in the
        store, so ids from several processes never collide); a rejected one keeps None.
        With ``simulated``, the inbox moves it from pending to delivered after its delivery
        delay; otherwise its reporter sets the status (:meth:`set_status`). A provider's id
        stored before (a report repeated) returns the stored message, unchanged.

        :raises ValueError: for a text longer than :data:`MAX_TEXT` or an empty recipient.
        """
        from smsbridge.segments import count_segments

        if len(text) > MAX_TEXT:
            raise ValueError(f"text is longer than {MAX_TEXT} characters")
        if not recipient:
            raise ValueError("recipient is empty")
        counted = count_segments(text)
        now = self.clock()
        with self._write() as db:
            if message_id is not None:
                known = db.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE provider = ? AND message_id = ?",  # noqa: S608
                    (provider, message_id),
                ).fetchone()
                if known is not None:
                    return _message(known)
            cursor = db.execute(
                "INSERT INTO messages (message_id, provider, recipient, text, sender, flash, "
                "udh, segments, encoding, status, error, chaos, simulated, reference, key, "
                "template_id, variables, created_at, status_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    provider,
                    recipient,
                    text,
                    sender,
                    int(flash),
                    udh,
                    counted.segments if segments is None or segments < 1 else segments,
                    counted.encoding,
                    status.value,
                    error,
                    int(chaos),
                    int(simulated),
                    reference,
                    key,
                    template_id,
                    None
                    if variables is None
                    else json.dumps(
                        dict(variables) if isinstance(variables, Mapping) else list(variables),
                        ensure_ascii=False,
                    ),
                    now,
                    now,
                ),
            )
            row_id = cursor.lastrowid
            if message_id is None and status is not MessageStatus.REJECTED:
                db.execute(
                    "UPDATE messages SET message_id = printf('inbox-%08d', id) WHERE id = ?",
                    (row_id,),
                )
            row = db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608 - fixed columns
                (row_id,),
            ).fetchone()
        return _message(row)

    def set_status(
        self, message_id: str, status: MessageStatus | str, *, provider: str | None = None
    ) -> bool:
        """Set the status of the message with this provider id; False when there is none."""
        value = MessageStatus(status).value
        sql = "UPDATE messages SET status = ?, status_at = ?, simulated = 0 WHERE message_id = ?"
        params: list[Any] = [value, self.clock(), message_id]
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider)
        with self._write() as db:
            return db.execute(sql, params).rowcount > 0

    def set_status_of(self, inbox_id: int, status: MessageStatus | str) -> InboxMessage | None:
        """Set the status of the message with this inbox id (the page's buttons)."""
        value = MessageStatus(status).value
        with self._write() as db:
            db.execute(
                "UPDATE messages SET status = ?, status_at = ?, simulated = 0 WHERE id = ?",
                (value, self.clock(), inbox_id),
            )
        return self.get(inbox_id)

    def status_of(self, message_id: str, *, provider: str | None = None) -> MessageStatus | None:
        """The status of a message by its provider id, or None for an id never stored."""
        sql, params = "SELECT status FROM messages WHERE message_id = ?", [message_id]
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider)
        rows = self._read(sql, params)
        return MessageStatus(rows[0][0]) if rows else None

    def advance_deliveries(self, delay: float) -> int:
        """Mark simulated messages pending for ``delay`` seconds delivered; how many moved."""
        now = self.clock()
        due = self._read(
            "SELECT 1 FROM messages WHERE status = 'pending' AND simulated = 1 "
            "AND created_at <= ? LIMIT 1",
            (now - delay,),
        )
        if not due:  # the watcher asks ten times a second: take the write lock only when needed
            return 0
        with self._write() as db:
            return db.execute(
                "UPDATE messages SET status = 'delivered', status_at = ? "
                "WHERE status = 'pending' AND simulated = 1 AND created_at <= ?",
                (now, now - delay),
            ).rowcount

    def prune(self, keep: int) -> int:
        """Delete all but the newest ``keep`` messages; how many went."""
        with self._write() as db:
            return db.execute(
                "DELETE FROM messages WHERE id <= "
                "(SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (keep,),
            ).rowcount

    # -- reading messages -------------------------------------------------------------------

    @staticmethod
    def _filters(
        query: str | None, number: str | None, provider: str | None, after: int | None
    ) -> tuple[str, list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if number is not None:
            where.append("recipient = ?")
            params.append(number)
        if provider is not None:
            where.append("provider = ?")
            params.append(provider)
        if after is not None:
            where.append("id > ?")
            params.append(after)
        if query:
            alternatives = ["text LIKE ? ESCAPE '\\'", "sender LIKE ? ESCAPE '\\'"]
            params += [_like(query), _like(query)]
            for digits in number_query(query):
                alternatives.append("recipient LIKE ? ESCAPE '\\'")
                params.append(_like(digits))
            where.append("(" + " OR ".join(alternatives) + ")")
        return (" WHERE " + " AND ".join(where)) if where else "", params

    def messages(
        self,
        *,
        query: str | None = None,
        number: str | None = None,
        provider: str | None = None,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[InboxMessage]:
        """Messages matching every filter given.

        :param query: text or sender containing it, or a number containing its digits.
        :param number: exactly this recipient (E.164).
        :param after: only messages stored after the one with this inbox id.
        """
        where, params = self._filters(query, number, provider, after)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_COLUMNS} FROM messages{where} ORDER BY id {order} LIMIT ?"  # noqa: S608 - fixed fragments; values are bound
        return [_message(row) for row in self._read(sql, [*params, limit])]

    def get(self, inbox_id: int) -> InboxMessage | None:
        """One message by its inbox id."""
        rows = self._read(f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (inbox_id,))  # noqa: S608
        return _message(rows[0]) if rows else None

    def latest(
        self,
        number: str,
        *,
        query: str | None = None,
        after: int | None = None,
        include_rejected: bool = False,
    ) -> InboxMessage | None:
        """The newest message to ``number`` (the OTP a browser test needs); rejected sends,
        which never reached the handset, only with ``include_rejected``."""
        where, params = self._filters(query, number, None, after)
        if not include_rejected:
            where += " AND status != 'rejected'"
        rows = self._read(
            f"SELECT {_COLUMNS} FROM messages{where} ORDER BY id DESC LIMIT 1",  # noqa: S608
            params,
        )
        return _message(rows[0]) if rows else None

    def conversations(self, *, query: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """One entry per number, newest first: its latest (matching) message and counts."""
        where, params = self._filters(query, None, None, None)
        rows = self._read(
            f"SELECT recipient, max(id), count(*) FROM messages{where} "  # noqa: S608
            "GROUP BY recipient ORDER BY max(id) DESC LIMIT ?",
            [*params, limit],
        )
        found = []
        for recipient, latest_id, count in rows:
            latest = self.get(latest_id)
            if latest is None:  # deleted in between
                continue
            found.append({"number": recipient, "count": count, "latest": latest.to_json()})
        return found

    def providers(self) -> list[str]:
        """Every provider that has messages in the store."""
        return [str(row[0]) for row in self._read("SELECT DISTINCT provider FROM messages")]

    def count(self) -> int:
        """How many messages the store holds."""
        return int(self._read("SELECT count(*) FROM messages")[0][0])

    def revision(self) -> int:
        """A counter every change to messages, chaos or templates increases (any process)."""
        return int(self._read("SELECT value FROM meta WHERE key = 'revision'")[0][0])

    # -- deleting ---------------------------------------------------------------------------

    def delete(
        self, *, number: str | None = None, query: str | None = None, inbox_id: int | None = None
    ) -> int:
        """Delete the messages matching the filters (every message without any); how many."""
        where, params = self._filters(query, number, None, None)
        if inbox_id is not None:
            where += (" AND" if where else " WHERE") + " id = ?"
            params.append(inbox_id)
        with self._write() as db:
            return db.execute(f"DELETE FROM messages{where}", params).rowcount  # noqa: S608

    # -- chaos ------------------------------------------------------------------------------

    def arm(self, rule: ChaosRule) -> ChaosRule:
        """Store ``rule`` (its id and time are assigned) and return it."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO chaos (provider, category, remaining, share, message, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    rule.provider,
                    rule.category.value,
                    rule.remaining,
                    rule.share,
                    rule.message,
                    self.clock(),
                ),
            )
            row = db.execute(
                "SELECT id, provider, category, remaining, share, message, hits, created_at "
                "FROM chaos WHERE id = ?",
                (cursor.lastrowid,),
            ).fetchone()
        return _rule(row)

    def rules(self) -> list[ChaosRule]:
        """The armed rules, oldest first (the order they are tried in)."""
        rows = self._read(
            "SELECT id, provider, category, remaining, share, message, hits, created_at "
            "FROM chaos ORDER BY id"
        )
        return [_rule(row) for row in rows]

    def disarm(self, rule_id: int | None = None) -> int:
        """Remove one rule, or every rule; how many went."""
        with self._write() as db:
            if rule_id is None:
                return db.execute("DELETE FROM chaos").rowcount
            return db.execute("DELETE FROM chaos WHERE id = ?", (rule_id,)).rowcount

    def take_fault(self, provider: str) -> ChaosFault | None:
        """Whether chaos fails this request of ``provider``: the first armed rule for it (or
        for ``*``) that fires is consumed, atomically across processes."""
        with self._write() as db:
            rows = db.execute(
                "SELECT id, category, remaining, share, message FROM chaos "
                "WHERE provider IN ('*', ?) ORDER BY id",
                (provider,),
            ).fetchall()
            for rule_id, category, remaining, share, message in rows:
                if share < 1.0 and self._random.random() >= share:
                    continue
                if remaining is not None and remaining <= 1:
                    db.execute("DELETE FROM chaos WHERE id = ?", (rule_id,))
                else:
                    db.execute(
                        "UPDATE chaos SET hits = hits + 1, "
                        "remaining = CASE WHEN remaining IS NULL THEN NULL ELSE remaining - 1 END "
                        "WHERE id = ?",
                        (rule_id,),
                    )
                return ChaosFault(
                    category=ErrorCategory(category),
                    message=message or f"chaos: {category}",
                    rule=rule_id,
                )
        return None

    def seed(self, seed: int | None) -> None:
        """Seed the draws of chaos shares (for reproducible tests)."""
        self._random.seed(seed)

    # -- templates --------------------------------------------------------------------------

    def add_template(self, template_id: str, body: str) -> None:
        """Register a template body so template sends from any process show rendered."""
        if len(body) > MAX_TEXT:
            raise ValueError(f"the template body is longer than {MAX_TEXT} characters")
        with self._write() as db:
            db.execute(
                "INSERT INTO templates VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = ?",
                (template_id, body, body),
            )

    def template_body(self, template_id: str) -> str | None:
        """A registered template body."""
        rows = self._read("SELECT body FROM templates WHERE id = ?", (template_id,))
        return str(rows[0][0]) if rows else None

    def templates(self) -> dict[str, str]:
        """Every registered template."""
        return {str(key): str(body) for key, body in self._read("SELECT id, body FROM templates")}

    def clear(self) -> None:
        """Forget every message and chaos rule (templates are kept)."""
        with self._write() as db:
            db.execute("DELETE FROM messages")
            db.execute("DELETE FROM chaos")


_OPEN: dict[tuple[int, Path], InboxStore] = {}
_OPEN_LOCK = threading.Lock()


def open_store(path: str | Path) -> InboxStore:
    """The process's one open store for ``path`` (fake providers of one file share it)."""
    resolved = Path(path).expanduser().resolve()
    key = (os.getpid(), resolved)  # a connection must not cross a fork
    with _OPEN_LOCK:
        store = _OPEN.get(key)
        if store is None:
            store = _OPEN[key] = InboxStore(resolved)
        return store
