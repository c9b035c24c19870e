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
    by ``smsbridge journal FILE --unknown`` for a person to decide on.

    :raises ConfigurationError: when the provider does not report delivery status.
    """
    rows = journal.accepted_ids()
    while batch := list(itertools.islice(rows, chunk)):
        reports = engine.delivery_status([message_id for _, message_id in batch])
        # One report per id asked, in order: each goes back to its row by position.
        journal.record_delivery(
            (position, report.status.value)
            for (position, _), report in zip(batch, reports, strict=True)
        )
    return journal.delivery_counts()
