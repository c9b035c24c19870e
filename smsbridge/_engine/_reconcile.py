"""Reconciling a campaign's journal with the provider: delivery of what was accepted, and what
became of sends whose reply was lost."""

from __future__ import annotations

import itertools
import time
from types import EllipsisType
from typing import TYPE_CHECKING

from smsbridge._models import RecipientResult, ResultError, SendStatus
from smsbridge.exceptions import ConfigurationError, ErrorCategory

if TYPE_CHECKING:
    from smsbridge._engine._engine import Engine
    from smsbridge._engine._failover import Route
    from smsbridge.journal._sqlite import SqliteJournal

__all__ = ["check_deliveries", "settle_unknown"]


def check_deliveries(engine: Engine, journal: SqliteJournal, *, chunk: int = 500) -> dict[str, int]:
    """Ask each provider for the delivery status of every message it accepted; store and count
    them.

    Rows of unknown outcome have no message id (it was in the lost reply): they stay listed by
    ``smsbridge journal FILE --unknown`` for a person, or are settled by :func:`settle_unknown`
    where the provider can look sends up by key.

    :raises ConfigurationError: when no provider of the client reports delivery status.
    """
    routes = [route for route in engine.routes if route.provider.capabilities.delivery_status]
    if not routes:
        raise ConfigurationError(f"{engine.name} does not report delivery status")
    for route in routes:
        # A client of one provider asks it about every row, whatever name the row was
        # written under; with several, each row goes to the provider that accepted it.
        rows = journal.accepted_ids(provider=... if len(engine.routes) == 1 else route.label)
        while batch := list(itertools.islice(rows, chunk)):
            reports = engine.delivery_status(
                [message_id for _, message_id in batch], provider=route.label
            )
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

Row = tuple[int, int, float]


def settle_unknown(engine: Engine, journal: SqliteJournal) -> dict[str, int]:
    """Ask the providers what became of each unknown row sent within their settle window.

    A row a provider took becomes ``accepted`` with its message id; one it has no record of
    becomes a retryable rejection (nothing went out), which the next run of the campaign sends;
    the rest stay ``unknown``. Keys are the campaign's own (``<campaign id>:<position>``), the
    ones its requests carried. With several providers, a row is asked of the one it was sent
    to; a row no provider is recorded for (its run stopped mid-request) is asked of each, and
    is not sent only when every provider says so.

    :raises ConfigurationError: when no provider of the client can look sends up by key.
    """
    routes = [r for r in engine.routes if r.provider.capabilities.settle_window is not None]
    if not routes:
        raise ConfigurationError(f"{engine.name} cannot look sends up by key")
    identity = journal.identity()
    if identity is not None and identity.kind == "template":
        # A template request that carried no key leaves no record to find by it: settling
        # would call every sent code "not sent", and the resume would send it again.
        routes = [r for r in routes if _keyed_templates(r)]
        if not routes:
            raise ConfigurationError(
                f"this campaign sent templates, which {engine.name} cannot look up by key; "
                "its unknown rows stay listed by 'smsbridge journal FILE --unknown'"
            )
    counts = {"accepted": 0, "not_sent": 0, "unknown": 0}
    if len(engine.routes) == 1:
        _settle(engine, journal, routes[0], _since(journal, routes[0], ...), counts, final=True)
    else:
        for route in routes:
            rows = _since(journal, route, route.label)
            _settle(engine, journal, route, rows, counts, final=True)
        # Unattributed rows: sent by any provider, or by none.
        pending = _since(journal, routes[0], None, widest=routes)
        doubtful: set[int] = set()
        every = len(routes) == len(engine.routes)
        for index, route in enumerate(routes):
            if not pending:
                break
            last = every and index == len(routes) - 1
            pending = _settle(engine, journal, route, pending, counts, last, doubtful)
    counts["unknown"] = sum(1 for _ in journal.unknown())
    return counts


def _keyed_templates(route: Route) -> bool:
    templates = route.provider.capabilities.templates
    return templates is not None and templates.keyed


def _since(
    journal: SqliteJournal,
    route: Route,
    provider: str | EllipsisType | None,
    *,
    widest: list[Route] | None = None,
) -> list[Row]:
    windows = [r.provider.capabilities.settle_window or 0 for r in (widest or [route])]
    return journal.unknown_since(time.time() - max(windows), provider=provider)


def _settle(  # noqa: PLR0917 - private
    engine: Engine,
    journal: SqliteJournal,
    route: Route,
    rows: list[Row],
    counts: dict[str, int],
    final: bool,
    doubtful: set[int] | None = None,
) -> list[Row]:
    """Settle ``rows`` through ``route``; those it could not settle are returned. A row the
    provider has no record of is written not sent only when ``final`` (and no earlier
    provider was unsure of it: those are in ``doubtful``)."""
    doubtful = set() if doubtful is None else doubtful
    prefix = journal.campaign_id
    size = route.provider.capabilities.max_delivery_batch
    left: list[Row] = []
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        settlements = engine.settle(
            [f"{prefix}:{position}" for position, _, _ in part], provider=route.label
        )
        outcomes = []
        for row, settlement in zip(part, settlements, strict=True):
            position, segments, _ = row
            if settlement.sent:
                result = RecipientResult(
                    recipient="",
                    status=SendStatus.ACCEPTED,
                    message_id=settlement.message_id,
                    segments=segments,
                    provider=route.label,
                )
                counts["accepted"] += 1
            elif settlement.sent is False and final and position not in doubtful:
                result = RecipientResult(
                    recipient="",
                    status=SendStatus.REJECTED,
                    segments=segments,
                    error=ResultError(
                        category=ErrorCategory.PROVIDER_UNAVAILABLE,
                        message=_NO_RECORD,
                        retryable=True,
                    ),
                    provider=route.label,
                )
                counts["not_sent"] += 1
            else:
                if settlement.sent is None:
                    doubtful.add(position)
                left.append(row)
                continue
            outcomes.append((position, result, route.label))
        if outcomes:
            with journal.transaction():
                journal.write_outcomes(outcomes, attempted=False)
                # The totals kept when the campaign finished are stale now (and "not sent"
                # rows make it unfinished): the next run counts afresh.
                journal._unfinish()
    return left
