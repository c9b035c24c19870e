"""Checking the delivery of a bulk send's accepted messages, recorded in its journal."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine
    from smsbridge.journal._sqlite import SqliteJournal

__all__ = ["check_deliveries"]


def check_deliveries(engine: Engine, journal: SqliteJournal, *, chunk: int = 500) -> dict[str, int]:
    """Ask the provider for the delivery status of every accepted message; store and count them.

    Rows of unknown outcome have no message id (it was in the lost reply), so they stay listed
    by :meth:`Journal.unknown` for a person to decide on.

    :raises ConfigurationError: when the provider does not report delivery status.
    """
    ids = (message_id for _, message_id in journal.accepted_ids())
    while batch := list(itertools.islice(ids, chunk)):
        reports = engine.delivery_status(batch)
        journal.record_delivery((report.message_id, report.status.value) for report in reports)
    return journal.delivery_counts()
