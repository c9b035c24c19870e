"""Campaigns beyond one machine: workers on a queue, a Postgres journal, one global rate limit.

Queues deliver a job at least once — again after a visibility timeout, after a worker died
with late acks, when the broker replays it — so "exactly once to the handset" comes from the
journal, not the queue:

- :func:`create_campaign` writes every recipient once (its position is the id of its send)
  and hands batches, sized for the provider, to any queue's ``enqueue``; repeating it is safe;
- :class:`CampaignWorker` runs one :class:`BatchJob`: takes the :class:`GlobalRateLimit`
  permit, **claims** the job's pending rows in one atomic update, sends them through the
  blocking engine, and lands the outcomes; a redelivered or duplicated job claims nothing;
- :class:`CampaignHandle` follows progress and totals from the journal.

:mod:`smsbridge.distributed.celery` is the Celery adapter (``smsbridge[celery]``); the queue
part of an adapter is a few dozen lines. See docs/distributed.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smsbridge.distributed._campaign import (
    BatchJob,
    CampaignHandle,
    StartReport,
    create_campaign,
    message_from_dict,
    message_to_dict,
)
from smsbridge.distributed._limit import GlobalRateLimit, RateLimitUnavailableError
from smsbridge.distributed._worker import BatchOutcome, CampaignWorker
from smsbridge.journal._postgres import JournalUnavailableError

if TYPE_CHECKING:
    from smsbridge._client import Client

__all__ = [
    "BatchJob",
    "BatchOutcome",
    "CampaignHandle",
    "CampaignWorker",
    "GlobalRateLimit",
    "JournalUnavailableError",
    "RateLimitUnavailableError",
    "StartReport",
    "create_campaign",
    "message_from_dict",
    "message_to_dict",
    "reconcile_journal",
]


def reconcile_journal(client: Client, journal: str, *, settle: bool = False) -> dict[str, int]:
    """Check the delivery of a distributed campaign's accepted messages, or (``settle``) ask
    the provider what became of its unknown rows by key, as ``Client.check_journal_deliveries``
    and ``Client.settle_journal`` do for a SQLite journal; returns the counts."""
    from typing import cast

    from smsbridge._engine._reconcile import check_deliveries, settle_unknown
    from smsbridge.journal._postgres import PostgresJournal
    from smsbridge.journal._sqlite import SqliteJournal

    with PostgresJournal(journal) as store:
        # The Postgres journal has the SQLite journal's reconciling methods (duck-typed).
        book = cast("SqliteJournal", store)
        if settle:
            return settle_unknown(client.engine, book)
        return check_deliveries(client.engine, book)
