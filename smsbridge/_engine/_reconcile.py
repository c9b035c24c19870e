"""Reconciling a campaign's journal with the provider: delivery of what was accepted, and what
became of sends whose reply was lost."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

from smsbridge._models import RecipientResult, ResultError, SendStatus
from smsbridge.exceptions import ErrorCategory

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine
    from smsbridge.journal._sqlite import SqliteJournal

__all__ = ["check_deliveries", "settle_unknown"]


def check_deliveries(engine: Engine, journal: SqliteJournal, *, chunk: int = 500) -> dict[str, int]:
    """Ask the provider for the delivery status of every accepted message; store and count them.

    Rows of unknown outcome have no message id (it was in the lost reply): they stay listed by
    ``smsbridge journal FILE --unknown`` for a person, or are settled by :func:`settle_unknown`
    where the provider can look sends up by key.

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


_NO_RECORD = (
    "the provider has no record of this send (looked up by its key), so it was not sent; "
    "the campaign sends it when resumed"
)


def settle_unknown(engine: Engine, journal: SqliteJournal) -> dict[str, int]:
    """Ask the provider what became of each unknown row sent within its settle window.

    A row the provider took becomes ``accepted`` with its message id; one it has no record of
    becomes a retryable rejection (nothing went out), which the next run of the campaign sends;
    the rest stay ``unknown``. Keys are the campaign's own (``<campaign id>:<position>``), the
    ones its requests carried.

    :raises ConfigurationError: when the provider cannot look sends up by key.
    """
    window = engine.provider.capabilities.settle_window
    if window is None:
        from smsbridge.exceptions import ConfigurationError

        raise ConfigurationError(f"{engine.name} cannot look sends up by key")
    rows = journal.unknown_since(time.time() - window)
    prefix = journal.campaign_id
    counts = {"accepted": 0, "not_sent": 0, "unknown": 0}
    size = engine.provider.capabilities.max_delivery_batch
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        settlements = engine.settle([f"{prefix}:{position}" for position, _, _ in part])
        outcomes = []
        for (position, segments, _), settlement in zip(part, settlements, strict=True):
            if settlement.sent:
                result = RecipientResult(
                    recipient="",
                    status=SendStatus.ACCEPTED,
                    message_id=settlement.message_id,
                    segments=segments,
                )
                counts["accepted"] += 1
            elif settlement.sent is False:
                result = RecipientResult(
                    recipient="",
                    status=SendStatus.REJECTED,
                    segments=segments,
                    error=ResultError(
                        category=ErrorCategory.PROVIDER_UNAVAILABLE,
                        message=_NO_RECORD,
                        retryable=True,
                    ),
                )
                counts["not_sent"] += 1
            else:
                counts["unknown"] += 1
                continue
            outcomes.append((position, result, engine.name))
        if outcomes:
            with journal.transaction():
                journal.write_outcomes(outcomes, attempted=False)
    counts["unknown"] += sum(1 for _ in journal.unknown()) - counts["unknown"]
    return counts
