"""The Postgres journal: many campaigns in one database, written by many workers at once.

It keeps the SQLite journal's semantics (``_sqlite.py``) for a campaign sent by workers on
several machines. A campaign is named by a URL, ``postgresql://user@host/db?campaign=NAME``
(the ``campaign`` parameter is smsbridge's; the rest goes to libpq as it is).

Every input recipient is a row of ``recipients``, written once when the campaign is created,
with its position and its E.164 number; only its ``state`` moves, and only forward:

- ``pending`` → ``in flight``: a worker **claims** rows with one
  ``UPDATE … WHERE state = pending … RETURNING`` that also records the request as a *flight*
  (one row per request, with a lease), committed before the request is written. Two copies of
  one task cannot both claim a row: the second finds nothing and exits.
- ``in flight`` → ``settled``: the outcomes are upserted into ``outcomes`` and the flight is
  deleted, in one transaction.
- a flight whose lease ran out (its worker died, or lost the database for longer than the
  lease) is **recovered**: its rows get an ``unknown`` outcome and are never re-sent
  automatically, exactly as the SQLite journal treats a request interrupted by ``kill -9``. A
  worker that was only slow still lands its real outcomes afterwards, replacing the
  ``unknown``.
- retryable rejections (nothing went out) and, on the caller's decision, unknown rows go back
  to ``pending`` (:meth:`PostgresJournal.requeue_retryable`, :meth:`~PostgresJournal.
  requeue_unknown`).

The lease is the request's own deadline (the engine's ``timeout``) plus a grace period, so it
needs no heartbeat: a request that is still running cannot outlive its deadline. Leases are
read on the database's clock (``now()``), never a worker's.

The schema lives in the ``smsbridge`` schema of the database and is created (and migrated) by
smsbridge on first use, under an advisory lock.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Final, LiteralString
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from smsbridge._chunks import CheckedChunk
from smsbridge._models import DeliveryStatus, RecipientResult, SendStatus
from smsbridge.exceptions import ConfigurationError, ErrorCategory, JournalError, SmsBridgeError
from smsbridge.journal import JournalView
from smsbridge.journal._model import CampaignIdentity, JournalRow, JournalTotals, RowState

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "SCHEMA_VERSION",
    "JournalUnavailableError",
    "PostgresJournal",
    "PostgresJournalView",
    "is_postgres_url",
    "split_journal_url",
]

SCHEMA_VERSION: Final = 1
_LOCK_SCHEMA: Final = 0x534D5342  # "SMSB": the advisory lock taken while creating the schema

# States of a recipient row. PENDING, IN_FLIGHT, REJECTED (an invalid number) and DUPLICATE
# mean what they mean in the SQLite journal; SETTLED means "has an outcome".
PENDING, IN_FLIGHT, ACCEPTED, REJECTED, UNKNOWN, DUPLICATE, SETTLED = range(7)
_OUTCOME_STATES: Final = {
    ACCEPTED: RowState.ACCEPTED,
    REJECTED: RowState.REJECTED,
    UNKNOWN: RowState.UNKNOWN,
}
_STATUS_CODES: Final = {
    SendStatus.ACCEPTED: ACCEPTED,
    SendStatus.REJECTED: REJECTED,
    SendStatus.UNKNOWN: UNKNOWN,
}
INTERRUPTED: Final = (
    "the worker sending this request stopped (or lost the journal) while it was in flight"
)
_PAGE: Final = 1000

_MIGRATIONS: Final[tuple[LiteralString, ...]] = (
    # 1: the first schema.
    f"""
    CREATE TABLE smsbridge.campaigns (
        name text PRIMARY KEY,
        id text UNIQUE NOT NULL,
        identity jsonb NOT NULL,
        message jsonb NOT NULL,
        source jsonb,
        finished jsonb,
        created double precision NOT NULL
    );
    CREATE TABLE smsbridge.recipients (
        campaign text NOT NULL REFERENCES smsbridge.campaigns (id) ON DELETE CASCADE,
        position integer NOT NULL,
        raw text,
        recipient text,
        state smallint NOT NULL,
        error text,
        duplicate_of integer,
        origin text,
        flight uuid,
        PRIMARY KEY (campaign, position)
    );
    CREATE INDEX recipients_open ON smsbridge.recipients (campaign, position)
        WHERE state IN ({PENDING}, {IN_FLIGHT});
    CREATE INDEX recipients_flight ON smsbridge.recipients (flight) WHERE flight IS NOT NULL;
    CREATE TABLE smsbridge.outcomes (
        campaign text NOT NULL,
        position integer NOT NULL,
        state smallint NOT NULL,
        message_id text,
        segments integer NOT NULL DEFAULT 0,
        category text,
        provider_code text,
        error text,
        retryable boolean NOT NULL DEFAULT false,
        provider text,
        attempts integer NOT NULL DEFAULT 0,
        delivery text,
        at double precision,
        PRIMARY KEY (campaign, position)
    );
    CREATE INDEX outcomes_unknown ON smsbridge.outcomes (campaign, position)
        WHERE state = {UNKNOWN};
    CREATE INDEX outcomes_retryable ON smsbridge.outcomes (campaign, position)
        WHERE retryable;
    CREATE TABLE smsbridge.numbers (
        campaign text NOT NULL,
        number bigint NOT NULL,
        position integer NOT NULL,
        PRIMARY KEY (campaign, number)
    );
    CREATE TABLE smsbridge.flights (
        id uuid PRIMARY KEY,
        campaign text NOT NULL,
        positions integer[] NOT NULL,
        at double precision NOT NULL,
        lease_until timestamptz NOT NULL,
        worker text,
        task text
    );
    CREATE INDEX flights_lease ON smsbridge.flights (campaign, lease_until);
    """,
)

_RECIPIENT: Final = (
    "SELECT position, COALESCE(raw, recipient), recipient, state, error, duplicate_of, origin, "
    "flight FROM smsbridge.recipients"
)
_OUTCOME: Final = (
    "SELECT position, state, message_id, segments, category, provider_code, error, delivery, "
    "provider, attempts FROM smsbridge.outcomes"
)


_UPSERT: Final = """
    INSERT INTO smsbridge.outcomes (campaign, position, state, message_id, segments, category,
        provider_code, error, retryable, provider, attempts, at)
    SELECT %(campaign)s, position, state, message_id, segments, category, provider_code,
        error, retryable, provider, attempts, at
    FROM (SELECT (e->>0)::integer AS position, (e->>1)::smallint AS state,
            e->>2 AS message_id, (e->>3)::integer AS segments, e->>4 AS category,
            e->>5 AS provider_code, e->>6 AS error, (e->>7)::boolean AS retryable,
            e->>8 AS provider, (e->>9)::integer AS attempts, (e->>10)::double precision AS at
          FROM jsonb_array_elements(%(rows)s::jsonb) AS e) AS given %(filter)s
    ON CONFLICT (campaign, position) DO UPDATE SET state = EXCLUDED.state,
        message_id = EXCLUDED.message_id, segments = EXCLUDED.segments,
        category = EXCLUDED.category, provider_code = EXCLUDED.provider_code,
        error = EXCLUDED.error, retryable = EXCLUDED.retryable, provider = EXCLUDED.provider,
        attempts = EXCLUDED.attempts, at = EXCLUDED.at
"""
"""Outcomes from one JSON parameter: psycopg dumps one string instead of a value per cell."""


def _outcome_rows(
    outcomes: Iterable[tuple[int, RecipientResult, str | None]], attempts: int
) -> str:
    now = time.time()
    rows = []
    for position, result, provider in outcomes:
        error = result.error
        code = None if error is None else error.provider_code
        rows.append(
            (
                position,
                _STATUS_CODES[result.status],
                result.message_id,
                result.segments,
                None if error is None else error.category.value,
                None if code is None else str(code),
                None if error is None else error.message,
                error is not None and error.retryable,
                provider,
                # The result's own count of provider requests (retries, failover).
                result.attempts * attempts,
                now,
            )
        )
    return json.dumps(rows, ensure_ascii=False)


class JournalUnavailableError(SmsBridgeError):
    """The journal's database cannot be reached (down, restarting, network); nothing was
    changed by the operation that raised it, and it may be tried again."""

    category = ErrorCategory.UNEXPECTED
    retryable = True


def is_postgres_url(value: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) journal URL."""
    return isinstance(value, str) and value.lower().startswith(("postgresql://", "postgres://"))


def split_journal_url(url: str) -> tuple[str, str | None]:
    """``(libpq connection URL, campaign name)``: the ``campaign`` parameter taken out."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    names = [value for key, value in params if key == "campaign"]
    rest = urlencode([(key, value) for key, value in params if key != "campaign"])
    return urlunsplit(parts._replace(query=rest)), (names[-1] if names else None)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError(
            "a postgresql:// journal needs psycopg: pip install 'smsbridge[postgres]'"
        ) from None
    return psycopg


class PostgresJournal:
    """The journal of one campaign in a Postgres database.

    :param url: ``postgresql://…?campaign=NAME``.
    :param read_only: a view that never writes (and never creates the schema).
    :param connect_timeout: seconds to wait for the server when connecting.
    """

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        conninfo, name = split_journal_url(url)
        if not name:
            raise ConfigurationError(
                f"the journal URL {redacted(url)} names no campaign: add ?campaign=NAME"
            )
        self.url = url
        self.name = name
        self.read_only = read_only
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._db: psycopg.Connection[Any] | None = None
        self._id: str | None = None
        self.created = False
        self._lock_db: psycopg.Connection[Any] | None = None
        try:
            with self._errors():
                if not read_only:
                    self._migrate()
                elif not self._schema_version():
                    raise JournalError(f"{self.where}: this database holds no smsbridge journal")
                row = self._one("SELECT id FROM smsbridge.campaigns WHERE name = %s", (name,))
            if row is None and read_only:
                raise JournalError(f"{self.where}: no campaign {name!r} in this journal")
        except BaseException:
            self.close()
            raise
        self._id = None if row is None else str(row[0])

    # -- connections ----------------------------------------------------------------------

    @property
    def where(self) -> str:
        """The journal as messages name it (no password)."""
        return redacted(self.url)

    def _connect(self) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self._conninfo:
            options["connect_timeout"] = max(int(self._connect_timeout), 1)
        if self.read_only:
            options["options"] = "-c default_transaction_read_only=on"
        connection: psycopg.Connection[Any] = _psycopg().connect(self._conninfo, **options)
        return connection

    @property
    def db(self) -> psycopg.Connection[Any]:
        """The connection, (re)opened when needed."""
        if self._db is None or self._db.closed or self._db.broken:
            with self._errors():
                self._db = self._connect()
        return self._db

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Database failures as smsbridge errors: a lost server is retryable."""
        psycopg = _psycopg()
        try:
            yield
        except psycopg.OperationalError as error:
            if self._db is not None and self._db.broken:
                self._db = None
            raise JournalUnavailableError(
                f"{self.where}: the journal's database is unavailable "
                f"({str(error).strip().splitlines()[0] if str(error).strip() else error})"
            ) from error
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction) as e:
            raise JournalError(f"{self.where}: {str(e).strip()}") from e

    def _one(self, query: LiteralString, params: Sequence[object] | dict[str, Any] = ()) -> Any:
        with self._errors():
            row: Any = self.db.execute(query, params).fetchone()
        return row

    def _all(self, query: LiteralString, params: Sequence[object] | dict[str, Any] = ()) -> Any:
        with self._errors():
            rows: Any = self.db.execute(query, params).fetchall()
        return rows

    def close(self) -> None:
        """Close the connections; safe to call twice."""
        for connection in (self._db, self._lock_db):
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
        self._db = self._lock_db = None

    def __enter__(self) -> PostgresJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------

    def _schema_version(self) -> int:
        row = self._one("SELECT to_regclass('smsbridge.meta') IS NOT NULL")
        if not row[0]:
            return 0
        found = self._one("SELECT value FROM smsbridge.meta WHERE key = 'schema'")
        version = 0 if found is None else int(found[0])
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.where}: the journal's schema is version {version}; this smsbridge "
                f"knows version {SCHEMA_VERSION}. Upgrade smsbridge"
            )
        return version

    def _migrate(self) -> None:
        """Create the schema, or bring it up to date; one process at a time."""
        if self._schema_version() == SCHEMA_VERSION:
            return
        with self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_SCHEMA,))
            self.db.execute("CREATE SCHEMA IF NOT EXISTS smsbridge")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS smsbridge.meta (key text PRIMARY KEY, value text)"
            )
            found = self.db.execute(
                "SELECT value FROM smsbridge.meta WHERE key = 'schema'"
            ).fetchone()
            version = 0 if found is None else int(found[0])
            for step in _MIGRATIONS[version:]:
                self.db.execute(step)
            self.db.execute(
                "INSERT INTO smsbridge.meta VALUES ('schema', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (str(SCHEMA_VERSION),),
            )

    # -- the campaign -----------------------------------------------------------------------

    @property
    def campaign_id(self) -> str:
        """A random id made when the campaign was created: with a row's position, it names that
        recipient's send uniquely (providers that deduplicate key on ``<id>:<position>``)."""
        return self._id or ""

    def _campaign(self, column: LiteralString) -> Any:
        if self._id is None:
            return None
        row = self._one(
            "SELECT " + column + " FROM smsbridge.campaigns WHERE id = %s",
            (self._id,),
        )
        return None if row is None else row[0]

    def identity(self) -> CampaignIdentity | None:
        """The identity of the campaign, None before it is created."""
        raw = self._campaign("identity")
        return None if raw is None else CampaignIdentity(**raw)

    def message(self) -> dict[str, Any] | None:
        """The message the workers send, as stored when the campaign was created."""
        raw = self._campaign("message")
        return None if raw is None else dict(raw)

    def bind(self, identity: CampaignIdentity, message: dict[str, Any]) -> bool:
        """Create the campaign for ``identity``; True when it already existed (a resume).

        :raises JournalError: listing what differs when the name holds another campaign.
        """
        with self._errors(), self.db.transaction():
            self.db.execute(
                "INSERT INTO smsbridge.campaigns (name, id, identity, message, created) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (self.name, uuid.uuid4().hex, json.dumps(identity.to_dict()), json.dumps(message),
                 time.time()),
            )  # fmt: skip
            row = self.db.execute(
                "SELECT id, identity, message FROM smsbridge.campaigns WHERE name = %s",
                (self.name,),
            ).fetchone()
        assert row is not None  # noqa: S101 - just inserted or already there
        existing = CampaignIdentity(**row[1])
        differences = identity.differences(existing)
        if not differences and row[2] != message:
            differences = ["the message options (reference) differ"]
        if differences:
            raise JournalError(
                f"the campaign {self.name!r} in {self.where} is another campaign: "
                + "; ".join(differences)
                + ". Nothing was sent; give a new campaign name for a new campaign"
            )
        resumed = self._id is not None
        self._id = str(row[0])
        self.created = not resumed
        return resumed

    def delete(self) -> None:
        """Remove the campaign and everything it holds (a new campaign refused whole)."""
        campaign = self._need_id()
        with self._errors(), self.db.transaction():
            for table in ("flights", "numbers", "outcomes", "recipients"):
                self.db.execute(
                    "DELETE FROM smsbridge." + table + " WHERE campaign = %s",
                    (campaign,),
                )
            self.db.execute("DELETE FROM smsbridge.campaigns WHERE id = %s", (campaign,))
        self._id = None

    def lock_for_enqueue(self) -> None:
        """Hold the campaign for filling until :meth:`close`; a second filler is refused."""
        with self._errors():
            self._lock_db = self._connect()
            row = self._lock_db.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                (f"smsbridge:{self.name}",),
            ).fetchone()
        if row is None or not row[0]:
            self._lock_db.close()
            self._lock_db = None
            raise JournalError(
                f"the campaign {self.name!r} in {self.where} is being created by another "
                "process; wait for it to finish enqueueing"
            )

    def source_state(self) -> dict[str, Any]:
        """How far the source was read: rows, byte offset, line, fingerprint, done."""
        raw = self._campaign("source")
        return {} if raw is None else dict(raw)

    @property
    def enqueued(self) -> bool:
        """True once every input recipient has a row."""
        return bool(self.source_state().get("done"))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._errors(), self.db.transaction():
            yield

    def _need_id(self) -> str:
        if self._id is None:
            raise JournalError(f"no campaign {self.name!r} in {self.where}")
        return self._id

    # -- filling ----------------------------------------------------------------------------

    def enqueue(self, chunk: CheckedChunk, source: dict[str, Any]) -> None:
        """Add a chunk of checked input rows and the source state after them (inside a
        :meth:`transaction`); a number seen before becomes a duplicate of its first position."""
        campaign, db = self._need_id(), self.db
        if chunk:
            raws, numbers, reasons = chunk.raws, chunk.numbers, chunk.reasons
            indexes = range(len(chunk))
            origins = {index: chunk.origin(index) for index in reasons}
            db.execute(
                "INSERT INTO smsbridge.recipients "
                "(campaign, position, raw, recipient, state, error, origin) "
                "SELECT %s, * FROM unnest(%s::integer[], %s::text[], %s::text[], "
                "%s::smallint[], %s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                (
                    campaign,
                    list(range(chunk.first, chunk.end)),
                    [None if r == n else r for r, n in zip(raws, numbers, strict=True)],
                    list(numbers),
                    [PENDING if index not in reasons else REJECTED for index in indexes],
                    [reasons.get(index) for index in indexes],
                    [origins.get(index) for index in indexes],
                ),
            )
            first, last = chunk.first, chunk.end - 1
            valid = len(chunk) - len(reasons)
            inserted = db.execute(
                "INSERT INTO smsbridge.numbers (campaign, number, position) "
                "SELECT campaign, substr(recipient, 2)::bigint, min(position) "
                "FROM smsbridge.recipients WHERE campaign = %s AND position BETWEEN %s AND %s "
                f"AND state = {PENDING} GROUP BY 1, 2 ORDER BY 2 ON CONFLICT DO NOTHING",
                (campaign, first, last),
            ).rowcount
            if inserted != valid:
                db.execute(
                    f"UPDATE smsbridge.recipients r SET state = {DUPLICATE}, "
                    "duplicate_of = n.position FROM smsbridge.numbers n "
                    "WHERE r.campaign = %s AND r.position BETWEEN %s AND %s "
                    f"AND r.state = {PENDING} AND n.campaign = r.campaign "
                    "AND n.number = substr(r.recipient, 2)::bigint AND n.position != r.position",
                    (campaign, first, last),
                )
        self._set_source(source)

    def _set_source(self, source: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE smsbridge.campaigns SET source = %s WHERE id = %s",
            (json.dumps(source), self._need_id()),
        )

    def finish_enqueue(self, source: dict[str, Any]) -> None:
        """Record that every input recipient has a row (inside a :meth:`transaction`)."""
        self._set_source({**source, "done": True})

    def analyze(self) -> None:
        """Refresh the planner's statistics after a campaign was filled: autovacuum would only
        get to tables filled this fast a minute or more later, and until then the planner
        takes them for empty."""
        with self._errors():
            for table in ("recipients", "numbers", "outcomes", "flights"):
                self.db.execute("ANALYZE smsbridge." + table)

    def row_count(self) -> int:
        """How many input recipients have a row."""
        row = self._one(
            "SELECT count(*) FROM smsbridge.recipients WHERE campaign = %s", (self.campaign_id,)
        )
        return int(row[0])

    # -- dispatching ------------------------------------------------------------------------

    def pending_after(self, after: int, limit: int) -> list[int]:
        """Up to ``limit`` pending positions after ``after``, in order (for fanning out)."""
        rows = self._all(
            "SELECT position FROM smsbridge.recipients WHERE campaign = %s AND position > %s "
            f"AND state = {PENDING} ORDER BY position LIMIT %s",
            (self._need_id(), after, limit),
        )
        return [int(row[0]) for row in rows]

    def pending_of(self, positions: Sequence[int]) -> list[tuple[int, str]]:
        """The rows among ``positions`` still pending, as ``(position, E.164)`` (no lock)."""
        rows = self._all(
            "SELECT position, recipient FROM smsbridge.recipients WHERE campaign = %s "
            "AND position BETWEEN %s AND %s "
            f"AND position = ANY(%s::integer[]) AND state = {PENDING} ORDER BY position",
            (
                self._need_id(),
                min(positions, default=0),
                max(positions, default=-1),
                list(positions),
            ),
        )
        return [(int(position), str(number)) for position, number in rows]

    def claim(
        self,
        positions: Sequence[int],
        flight: uuid.UUID,
        *,
        lease: float,
        worker: str | None = None,
        task: str | None = None,
    ) -> list[tuple[int, str]]:
        """Atomically take the rows among ``positions`` that are still pending, recording the
        request that carries them as ``flight`` with a lease of ``lease`` seconds; returns
        them as ``(position, E.164)``. Committed before it returns: call it right before
        the request is written. Empty when another task took them first.

        One statement (one round trip, one transaction): the rows and their flight record are
        committed together or not at all."""
        listed = list(positions)
        rows = self._all(
            "WITH claimed AS ("
            f"UPDATE smsbridge.recipients SET state = {IN_FLIGHT}, flight = %(flight)s "
            "WHERE campaign = %(campaign)s AND position BETWEEN %(low)s AND %(high)s "
            f"AND position = ANY(%(positions)s::integer[]) AND state = {PENDING} "
            "RETURNING position, recipient), "
            "flight AS (INSERT INTO smsbridge.flights "
            "(id, campaign, positions, at, lease_until, worker, task) "
            "SELECT %(flight)s, %(campaign)s, array_agg(position ORDER BY position), %(at)s, "
            "now() + make_interval(secs => %(lease)s), %(worker)s, %(task)s FROM claimed "
            "HAVING count(*) > 0) "
            "SELECT position, recipient FROM claimed ORDER BY position",
            {
                "flight": flight,
                "campaign": self._need_id(),
                "low": min(listed, default=0),
                "high": max(listed, default=-1),
                "positions": listed,
                "at": time.time(),
                "lease": lease,
                "worker": worker,
                "task": task,
            },
        )
        return [(int(position), str(number)) for position, number in rows]

    def release(self, flight: uuid.UUID) -> int:
        """Give back the rows of a flight whose request was never written (a claim whose
        commit could not be confirmed); returns how many went back to pending."""
        with self._errors(), self.db.transaction():
            cursor = self.db.execute(
                f"UPDATE smsbridge.recipients SET state = {PENDING}, flight = NULL "
                f"WHERE campaign = %s AND flight = %s AND state = {IN_FLIGHT}",
                (self._need_id(), flight),
            )
            self.db.execute("DELETE FROM smsbridge.flights WHERE id = %s", (flight,))
        return int(cursor.rowcount)

    def land(
        self,
        flight: uuid.UUID,
        outcomes: Iterable[tuple[int, RecipientResult, str | None]],
        *,
        attempted: bool = True,
    ) -> int:
        """Store the outcomes of ``flight``'s rows and end the flight, in one statement (one
        transaction). Safe to repeat; an outcome replaces the ``unknown`` of a flight recovered
        meanwhile, but never touches a row re-queued since (it left the flight). Returns the
        rows settled."""
        row = self._one(
            "WITH mine AS ("
            f"UPDATE smsbridge.recipients SET state = {SETTLED} "
            "WHERE campaign = %(campaign)s AND flight = %(flight)s "
            f"AND state IN ({IN_FLIGHT}, {SETTLED}) RETURNING position), "
            "ended AS (DELETE FROM smsbridge.flights WHERE id = %(flight)s), "
            "stored AS (" + _UPSERT.replace("%(filter)s", "JOIN mine USING (position)")
            + " RETURNING 1) SELECT count(*) FROM stored",
            {
                "campaign": self._need_id(),
                "flight": flight,
                "rows": _outcome_rows(outcomes, 1 if attempted else 0),
            },
        )  # fmt: skip
        return int(row[0])

    def write_outcomes(
        self,
        outcomes: Iterable[tuple[int, RecipientResult, str | None]],
        *,
        attempted: bool,
        flight: int | None = None,
    ) -> None:
        """Write ``(position, result, provider)`` outcomes of rows no worker holds (settling
        unknown rows); inside a :meth:`transaction`. ``flight`` is the SQLite journal's and
        unused here (workers land with :meth:`land`)."""
        del flight
        listed = list(outcomes)
        self.db.execute(
            f"UPDATE smsbridge.recipients SET state = {SETTLED} WHERE campaign = %s "
            f"AND position = ANY(%s::integer[]) AND state IN ({PENDING}, {SETTLED})",
            (self._need_id(), [position for position, _, _ in listed]),
        )
        self._upsert(listed, 1 if attempted else 0)

    def _upsert(
        self, outcomes: list[tuple[int, RecipientResult, str | None]], attempts: int
    ) -> None:
        if outcomes:
            self.db.execute(
                _UPSERT.replace("%(filter)s", ""),
                {"campaign": self._need_id(), "rows": _outcome_rows(outcomes, attempts)},
            )

    # -- dead workers and resuming ---------------------------------------------------------

    def recover(self, *, expired_only: bool = True) -> int:
        """Rows of flights past their lease (their worker died) become ``unknown``; returns
        how many. ``expired_only=False`` recovers every flight (no worker may be running)."""
        campaign = self._need_id()
        condition: LiteralString = "AND lease_until < now()" if expired_only else ""
        with self._errors(), self.db.transaction():
            flights = self.db.execute(
                "DELETE FROM smsbridge.flights WHERE id IN (SELECT id FROM smsbridge.flights "
                "WHERE campaign = %s " + condition + " FOR UPDATE SKIP LOCKED) RETURNING id, at",
                (campaign,),
            ).fetchall()
            if not flights:
                return 0
            when = dict(flights)
            lost = self.db.execute(
                f"UPDATE smsbridge.recipients SET state = {SETTLED} WHERE campaign = %s "
                f"AND flight = ANY(%s::uuid[]) AND state = {IN_FLIGHT} RETURNING position, flight",
                (campaign, list(when)),
            ).fetchall()
            if lost:
                self.db.execute(
                    "INSERT INTO smsbridge.outcomes "
                    "(campaign, position, state, category, error, attempts, at) "
                    f"SELECT %s, p, {UNKNOWN}, %s, %s, 1, a "
                    "FROM unnest(%s::integer[], %s::double precision[]) AS t(p, a) "
                    "ON CONFLICT DO NOTHING",
                    (
                        campaign,
                        ErrorCategory.OUTCOME_UNKNOWN.value,
                        INTERRUPTED,
                        [int(position) for position, _ in lost],
                        [float(when[flight]) for _, flight in lost],
                    ),
                )
                self._unfinish()
        return len(lost)

    def _requeue(self, where: LiteralString) -> int:
        campaign = self._need_id()
        with self._errors(), self.db.transaction():
            gone = self.db.execute(
                "DELETE FROM smsbridge.outcomes WHERE campaign = %s AND " + where
                + " RETURNING position",
                (campaign,),
            ).fetchall()  # fmt: skip
            if gone:
                self.db.execute(
                    f"UPDATE smsbridge.recipients SET state = {PENDING}, flight = NULL "
                    "WHERE campaign = %s AND position = ANY(%s::integer[])",
                    (campaign, [int(p) for (p,) in gone]),
                )
                self._unfinish()
        return len(gone)

    def requeue_retryable(self) -> int:
        """Rejections that may succeed unchanged (nothing went out) become pending again."""
        return self._requeue(f"retryable AND state = {REJECTED}")

    def requeue_unknown(self) -> int:
        """Unknown rows become pending again: the caller decided to re-send them."""
        return self._requeue(f"state = {UNKNOWN}")

    def requeue_positions(self, positions: Sequence[int]) -> int:
        """The retryable rejections among ``positions`` become pending again (a task that
        retries its own batch)."""
        campaign = self._need_id()
        with self._errors(), self.db.transaction():
            gone = self.db.execute(
                "DELETE FROM smsbridge.outcomes WHERE campaign = %s "
                "AND position = ANY(%s::integer[]) "
                f"AND retryable AND state = {REJECTED} RETURNING position",
                (campaign, list(positions)),
            ).fetchall()
            if gone:
                self.db.execute(
                    f"UPDATE smsbridge.recipients SET state = {PENDING}, flight = NULL "
                    "WHERE campaign = %s AND position = ANY(%s::integer[])",
                    (campaign, [int(p) for (p,) in gone]),
                )
                self._unfinish()
        return len(gone)

    def in_flight(self) -> set[int]:
        """Positions whose request is being written or awaited (any worker)."""
        rows = self._all(
            "SELECT position FROM smsbridge.recipients WHERE campaign = %s "
            f"AND state = {IN_FLIGHT}",
            (self.campaign_id,),
        )
        return {int(row[0]) for row in rows}

    def live_flights(self) -> int:
        """Requests in flight within their lease."""
        row = self._one(
            "SELECT count(*) FROM smsbridge.flights WHERE campaign = %s AND lease_until >= now()",
            (self.campaign_id,),
        )
        return int(row[0])

    def open_rows(self) -> bool:
        """True while some row is pending or in flight."""
        row = self._one(
            "SELECT EXISTS (SELECT 1 FROM smsbridge.recipients WHERE campaign = %s "
            f"AND state IN ({PENDING}, {IN_FLIGHT}))",
            (self.campaign_id,),
        )
        return bool(row[0])

    def interrupted(self) -> int:
        """Rows that became unknown because their worker stopped mid-request."""
        row = self._one(
            "SELECT count(*) FROM smsbridge.outcomes WHERE campaign = %s "
            f"AND state = {UNKNOWN} AND error = %s",
            (self.campaign_id, INTERRUPTED),
        )
        return int(row[0])

    # -- the finished marker ----------------------------------------------------------------

    def _unfinish(self) -> None:
        self.db.execute(
            "UPDATE smsbridge.campaigns SET finished = NULL WHERE id = %s", (self._need_id(),)
        )

    def finished(self) -> tuple[JournalTotals, dict[str, int]] | None:
        """Totals and reasons stored when the campaign finished; None while it has work."""
        raw = self._campaign("finished")
        if raw is None:
            return None
        return JournalTotals(**raw["totals"]), dict(raw["reasons"])

    def mark_finished(self) -> tuple[JournalTotals, dict[str, int]]:
        """Count the campaign and, if nothing is left to send, remember the counts."""
        totals, reasons = self.totals(), self.reasons()
        if self.enqueued and not self.open_rows():
            payload = {
                "totals": {
                    "total": totals.total,
                    "accepted": totals.accepted,
                    "rejected": totals.rejected,
                    "unknown": totals.unknown,
                    "pending": totals.pending,
                    "segments": totals.segments,
                },
                "reasons": reasons,
            }
            with self._errors():
                self.db.execute(
                    "UPDATE smsbridge.campaigns SET finished = %s WHERE id = %s "
                    "AND NOT EXISTS (SELECT 1 FROM smsbridge.recipients WHERE campaign = %s "
                    f"AND state IN ({PENDING}, {IN_FLIGHT}))",
                    (json.dumps(payload), self._id, self._id),
                )
        return totals, reasons

    # -- reading ----------------------------------------------------------------------------

    @property
    def locked_by_another(self) -> bool:
        """True while some worker holds a request of this campaign in flight (within its
        lease), or a process is still creating it."""
        if self.live_flights():
            return True
        row = self._one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(%s, 0))",
            (f"smsbridge:{self.name}",),
        )
        return bool(row[0])

    def _assemble(self, page: list[Any]) -> list[JournalRow]:
        """Journal rows for a page of recipient rows: their outcomes (a duplicate's first's)
        and, for rows in flight, whether their flight's lease ran out. A few indexed look-ups
        per page, whatever the planner's statistics say."""
        campaign = self.campaign_id
        own = {int(values[0]): values for values in page}
        firsts = {
            int(values[5]) if int(values[3]) == DUPLICATE else int(values[0]) for values in page
        }
        missing = sorted(firsts - own.keys())
        for values in self._all(
            _RECIPIENT + " WHERE campaign = %s AND position = ANY(%s::integer[])",
            (campaign, missing),
        ):
            own.setdefault(int(values[0]), values)
        outcomes = {
            int(values[0]): values
            for values in self._all(
                _OUTCOME + " WHERE campaign = %s AND position = ANY(%s::integer[])",
                (campaign, sorted(firsts)),
            )
        }
        flights = sorted(
            {str(own[f][7]) for f in firsts if int(own[f][3]) == IN_FLIGHT and own[f][7]}
        )
        live = {
            str(row[0])
            for row in self._all(
                "SELECT id FROM smsbridge.flights WHERE id = ANY(%s::uuid[]) "
                "AND lease_until >= now()",
                (flights,),
            )
        }
        rows = []
        for values in page:
            position, state = int(values[0]), int(values[3])
            first = int(values[5]) if state == DUPLICATE else position
            outcome = outcomes.get(first)
            head = own[first]
            flying = outcome is None and state != REJECTED and int(head[3]) == IN_FLIGHT
            rows.append(_row(values, outcome, flying, flying and str(head[7]) not in live))
        return rows

    def _rows(
        self, where: LiteralString = "TRUE", params: Sequence[object] = ()
    ) -> Iterator[JournalRow]:
        """Recipient rows matching ``where`` (on ``smsbridge.recipients`` alone) in input
        order, a page at a time (no long transaction)."""
        campaign = self.campaign_id
        after = -1
        query: LiteralString = (
            _RECIPIENT + " WHERE campaign = %s AND position > %s AND (" + where
            + ") ORDER BY position LIMIT %s"
        )  # fmt: skip
        while True:
            page = self._all(query, (campaign, after, *params, _PAGE))
            yield from self._assemble(page)
            if len(page) < _PAGE:
                return
            after = int(page[-1][0])

    def rows(self) -> Iterator[JournalRow]:
        """Every row in input order, duplicates showing their first occurrence's outcome."""
        return self._rows()

    def final_rows(self) -> Iterator[JournalRow]:
        """Rows with an outcome, in input order; duplicates left out."""
        return self._rows(f"state IN ({REJECTED}, {SETTLED})")

    def duplicates(self) -> Iterator[JournalRow]:
        """Rows of numbers given more than once, with their first occurrence's outcome."""
        return self._rows(f"state = {DUPLICATE}")

    def unknown(self) -> Iterator[JournalRow]:
        """Rows whose outcome is unknown, rows of expired flights (dead workers) included."""
        campaign = self.campaign_id
        firsts = {
            int(p)
            for (p,) in self._all(
                "SELECT position FROM smsbridge.outcomes WHERE campaign = %s "
                f"AND state = {UNKNOWN}",
                (campaign,),
            )
        }
        firsts |= {
            int(p)
            for (p,) in self._all(
                "SELECT r.position FROM smsbridge.recipients r LEFT JOIN smsbridge.flights fl "
                f"ON fl.id = r.flight WHERE r.campaign = %s AND r.state = {IN_FLIGHT} "
                "AND (fl.id IS NULL OR fl.lease_until < now())",
                (campaign,),
            )
        }
        if not firsts:
            return iter(())
        copies = {
            int(p)
            for (p,) in self._all(
                "SELECT position FROM smsbridge.recipients WHERE campaign = %s "
                f"AND state = {DUPLICATE} AND duplicate_of = ANY(%s::integer[])",
                (campaign, sorted(firsts)),
            )
        }
        wanted = sorted(firsts | copies)

        def pages() -> Iterator[JournalRow]:
            for start in range(0, len(wanted), _PAGE):
                page = self._all(
                    _RECIPIENT + " WHERE campaign = %s AND position = ANY(%s::integer[]) "
                    "ORDER BY position",
                    (campaign, wanted[start : start + _PAGE]),
                )
                yield from self._assemble(page)

        return pages()

    def invalid(self) -> Iterator[JournalRow]:
        """Rows that are not valid numbers."""
        return self._rows(f"state = {REJECTED}")

    def reasons(self) -> dict[str, int]:
        """Rejected and unknown rows counted by category."""
        campaign = self.campaign_id
        found: dict[str, int] = {}
        for category, count in self._all(
            "SELECT COALESCE(category, 'unknown'), count(*) FROM smsbridge.outcomes "
            f"WHERE campaign = %s AND state IN ({REJECTED}, {UNKNOWN}) GROUP BY 1",
            (campaign,),
        ):
            found[str(category)] = found.get(str(category), 0) + int(count)
        invalid = self._one(
            f"SELECT count(*) FROM smsbridge.recipients WHERE campaign = %s AND state = {REJECTED}",
            (campaign,),
        )[0]
        if invalid:
            name = ErrorCategory.INVALID_RECIPIENT.value
            found[name] = found.get(name, 0) + int(invalid)
        return dict(sorted(found.items(), key=lambda item: -item[1]))

    def _counts(self) -> dict[str, int]:
        """Rows by recipient state, outcomes by state (first occurrences), duplicates by their
        first's outcome, accepted parts, and rows of expired flights (with their duplicates).

        Plain aggregates on one table or one equality join each: whatever the planner thinks
        of a freshly filled table, none of them can turn quadratic."""
        campaign = self.campaign_id
        found = dict.fromkeys(
            ("rows", "pending", "in_flight", "invalid", "duplicate", "segments", "lost"), 0
        )
        for state, count in self._all(
            "SELECT state, count(*) FROM smsbridge.recipients WHERE campaign = %s GROUP BY 1",
            (campaign,),
        ):
            found["rows"] += int(count)
            name = {PENDING: "pending", IN_FLIGHT: "in_flight", REJECTED: "invalid"}.get(
                int(state), "duplicate" if int(state) == DUPLICATE else None
            )
            if name is not None:
                found[name] += int(count)
        for state, count, parts in self._all(
            "SELECT state, count(*), COALESCE(sum(segments), 0) FROM smsbridge.outcomes "
            "WHERE campaign = %s GROUP BY 1",
            (campaign,),
        ):
            found[_OUTCOME_STATES[int(state)].value] = int(count)
            if int(state) == ACCEPTED:
                found["segments"] = int(parts)
        for state, count in self._all(
            "SELECT o.state, count(*) FROM smsbridge.recipients r JOIN smsbridge.outcomes o "
            "ON o.campaign = r.campaign AND o.position = r.duplicate_of "
            f"WHERE r.campaign = %s AND r.state = {DUPLICATE} GROUP BY 1",
            (campaign,),
        ):
            found["duplicate_" + _OUTCOME_STATES[int(state)].value] = int(count)
        if found["in_flight"]:
            expired = self._one(
                "SELECT count(*) FROM smsbridge.recipients r LEFT JOIN smsbridge.flights fl "
                "ON fl.id = r.flight WHERE r.campaign = %s "
                f"AND r.state = {IN_FLIGHT} AND (fl.id IS NULL OR fl.lease_until < now())",
                (campaign,),
            )[0]
            copies = self._one(
                "SELECT count(*) FROM smsbridge.recipients r JOIN smsbridge.recipients f "
                "ON f.campaign = r.campaign AND f.position = r.duplicate_of "
                "LEFT JOIN smsbridge.flights fl ON fl.id = f.flight "
                f"WHERE r.campaign = %s AND r.state = {DUPLICATE} AND f.state = {IN_FLIGHT} "
                "AND (fl.id IS NULL OR fl.lease_until < now())",
                (campaign,),
            )[0]
            found["lost"] = int(expired) + int(copies)
        return found

    def totals(self) -> JournalTotals:
        """Counts by outcome, duplicates counted with their first occurrence's outcome; rows
        of a dead worker's request (past its lease) count as unknown, as they will be."""
        found = self._counts()

        def outcome(name: str) -> int:
            return found.get(name, 0) + found.get("duplicate_" + name, 0)

        accepted = outcome("accepted")
        rejected = outcome("rejected") + found["invalid"]
        unknown = outcome("unknown") + found["lost"]
        total = found["rows"]
        return JournalTotals(
            total=total,
            accepted=accepted,
            rejected=rejected,
            unknown=unknown,
            pending=total - accepted - rejected - unknown,
            segments=found["segments"],
        )

    def progress_counts(self) -> dict[str, int]:
        """Rows by state, duplicates left out (they follow their first occurrence)."""
        found = self._counts()
        return {
            "pending": found["pending"],
            "in_flight": found["in_flight"],
            "accepted": found.get("accepted", 0),
            "rejected": found.get("rejected", 0) + found["invalid"],
            "unknown": found.get("unknown", 0),
        }

    def record_delivery(self, statuses: Iterable[tuple[int, str]]) -> None:
        """Store ``(position, delivery status)`` pairs from a delivery-status check."""
        pairs = list(statuses)
        with self._errors(), self.db.transaction():
            self.db.execute(
                "UPDATE smsbridge.outcomes o SET delivery = t.status "
                "FROM unnest(%s::integer[], %s::text[]) AS t(position, status) "
                f"WHERE o.campaign = %s AND o.position = t.position AND o.state = {ACCEPTED}",
                ([p for p, _ in pairs], [s for _, s in pairs], self._need_id()),
            )

    def delivery_counts(self) -> dict[str, int]:
        """Accepted messages by their last checked delivery status (``unchecked`` if none)."""
        rows = self._all(
            "SELECT COALESCE(delivery, 'unchecked'), count(*) FROM smsbridge.outcomes "
            f"WHERE campaign = %s AND state = {ACCEPTED} GROUP BY 1 ORDER BY 1",
            (self.campaign_id,),
        )
        return {str(status): int(count) for status, count in rows}

    def unknown_since(
        self, since: float, provider: str | EllipsisType | None = ...
    ) -> list[tuple[int, int, float]]:
        """``(position, segments, when)`` of unknown rows without a message id, sent after
        ``since`` (epoch seconds): the ones a provider may still be asked about. ``provider``
        keeps those one provider left unknown (None: those no provider is recorded for)."""
        where, params = _by_provider(provider)
        rows = self._all(
            "SELECT position, segments, at FROM smsbridge.outcomes WHERE campaign = %s "
            f"AND state = {UNKNOWN} AND message_id IS NULL AND COALESCE(at, 0) >= %s"
            + where
            + " ORDER BY position",
            (self.campaign_id, since, *params),
        )
        return [(int(p), int(s or 0), float(a or 0)) for p, s, a in rows]

    def accepted_ids(
        self, page: int = 1000, provider: str | EllipsisType | None = ...
    ) -> Iterator[tuple[int, str]]:
        """``(position, message_id)`` of accepted rows (those ``provider`` accepted, when
        given), a page at a time."""
        where, params = _by_provider(provider)
        after = -1
        while rows := self._all(
            "SELECT position, message_id FROM smsbridge.outcomes WHERE campaign = %s "
            f"AND state = {ACCEPTED} AND message_id IS NOT NULL AND position > %s"
            + where
            + " ORDER BY position LIMIT %s",
            (self.campaign_id, after, *params, page),
        ):
            for position, message_id in rows:
                yield int(position), str(message_id)
            after = int(rows[-1][0])

    def providers(self) -> list[str | None]:
        """Every provider the outcomes name (None for outcomes that name none)."""
        rows = self._all(
            "SELECT DISTINCT provider FROM smsbridge.outcomes WHERE campaign = %s",
            (self.campaign_id,),
        )
        return [value for (value,) in rows]


def _by_provider(provider: str | EllipsisType | None) -> tuple[LiteralString, tuple[object, ...]]:
    """A filter on the outcome's provider: any (``...``), none recorded (None), or one."""
    if provider is Ellipsis:
        return "", ()
    if provider is None:
        return " AND provider IS NULL", ()
    return " AND provider = %s", (provider,)


def _row(
    values: Sequence[Any], outcome: Sequence[Any] | None, flying: bool, lost: bool
) -> JournalRow:
    position, raw, recipient, own, own_error, duplicate_of, origin, _ = values
    message_id = category = code = delivery = provider = None
    segments = attempts = 0
    error = own_error
    if outcome is not None:
        _, _, message_id, segments, category, code, outcome_error, delivery, provider, attempts = (
            outcome
        )
        error = own_error or outcome_error
    if int(own) == REJECTED:
        state = RowState.REJECTED
        category = ErrorCategory.INVALID_RECIPIENT.value
    elif outcome is not None:
        state = _OUTCOME_STATES[int(outcome[1])]
    elif lost:
        state, category, error = RowState.UNKNOWN, ErrorCategory.OUTCOME_UNKNOWN.value, INTERRUPTED
    elif flying:
        state = RowState.IN_FLIGHT
    else:
        state = RowState.PENDING
    if state is RowState.UNKNOWN and category is None:
        category = ErrorCategory.OUTCOME_UNKNOWN.value
    return JournalRow(
        position=int(position),
        raw=str(raw or ""),
        recipient=recipient,
        state=state,
        message_id=message_id,
        segments=int(segments or 0),
        category=None if category is None else ErrorCategory(category),
        provider_code=code,
        error=error,
        duplicate_of=duplicate_of,
        delivery=None if delivery is None else DeliveryStatus(delivery),
        provider=provider,
        attempts=int(attempts or 0),
        origin=origin,
    )


class PostgresJournalView(JournalView):
    """A distributed campaign's journal opened read-only (``open_journal`` returns one for a
    ``postgresql://…?campaign=NAME`` URL). ``path`` is the campaign's name: there is no file.

    While a worker holds a request in flight within its lease the rows read as in flight;
    past the lease (the worker died) they read as ``unknown``, which they become.
    """

    def __init__(self, url: str) -> None:
        store = PostgresJournal(url, read_only=True)
        self.url = store.where
        """The journal's URL, without its password."""
        self.path = Path(store.name)
        # The same reading interface as the SQLite journal (duck-typed).
        self._store = store  # type: ignore[assignment]
