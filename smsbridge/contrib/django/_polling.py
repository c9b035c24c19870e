"""Delivery polling, for providers that only poll (Melipayamak): statuses as signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

from django.utils import timezone
from django.utils.module_loading import import_string

from smsbridge import DeliveryReport
from smsbridge.contrib.django._conf import SmsSettingsError
from smsbridge.contrib.django._senders import senders
from smsbridge.contrib.django.signals import DeliveryEvent, delivery_status
from smsbridge.journal import RowState, open_journal

__all__ = ["pending_message_ids", "poll_deliveries", "poll_journal"]

_CHUNK = 500


def _event(using: str, provider: str, report: DeliveryReport) -> DeliveryEvent:
    return DeliveryEvent(
        provider=provider,
        message_id=report.message_id,
        status=report.status,
        timestamp=timezone.now().astimezone(dt.UTC),
        source="poll",
        using=using,
        provider_code=report.provider_code,
        provider_text=report.provider_text,
    )


def poll_deliveries(message_ids: Iterable[str], *, using: str = "default") -> dict[str, int]:
    """Ask ``using``'s provider where each message stands; fire ``delivery_status`` for each
    and return the counts by status. Events repeat on each poll: receivers are idempotent."""
    client = senders[using]
    counts: dict[str, int] = {}
    ids = list(message_ids)
    for start in range(0, len(ids), _CHUNK):
        for report in client.delivery_status(ids[start : start + _CHUNK]):
            delivery_status.send(
                sender=DeliveryEvent, event=_event(using, client.provider.name, report)
            )
            counts[report.status.value] = counts.get(report.status.value, 0) + 1
    return counts


def poll_journal(journal: str | Path, *, using: str = "default") -> dict[str, int]:
    """Check every accepted message of a campaign's journal (stored in it, as
    ``smsbridge journal --delivery`` does) and fire ``delivery_status`` for each."""
    client = senders[using]
    counts = client.check_journal_deliveries(journal)
    with open_journal(journal) as view:
        for row in view.rows():
            if row.state is RowState.ACCEPTED and row.message_id and row.delivery is not None:
                delivery_status.send(
                    sender=DeliveryEvent,
                    event=DeliveryEvent(
                        provider=client.provider.name,
                        message_id=row.message_id,
                        status=row.delivery,
                        timestamp=timezone.now().astimezone(dt.UTC),
                        source="poll",
                        using=using,
                        recipient=row.recipient,
                    ),
                )
    return counts


def pending_message_ids(using: str) -> list[str]:
    """The ids ``SMSBRIDGE["PENDING_MESSAGES"]`` (a dotted path to ``f(using) -> ids``) gives."""
    path = senders.config().pending_messages
    if path is None:
        raise SmsSettingsError(
            "nothing to poll: give message ids, --journal, or set SMSBRIDGE['PENDING_MESSAGES'] "
            "to a function(using) returning the ids still pending"
        )
    function = cast(Callable[[str], Iterable[str]], import_string(path))
    return [str(message_id) for message_id in function(using)]
