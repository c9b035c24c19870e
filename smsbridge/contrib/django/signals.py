"""Django signals around every send through an alias, and for delivery and inbound events.

- ``pre_send(sender=OutgoingSend, using, send)``: before a request goes out. A receiver may
  replace ``send.message``, drop single recipients with ``send.reject(number, reason)`` (a
  suppression list), or cancel the whole send by raising :class:`CancelSend`. Dropped and
  cancelled recipients are reported ``rejected`` with category ``vetoed``.
- ``post_send(sender=SendReport, using, send, report)``: after, with the per-recipient report.
- ``delivery_status(sender=DeliveryEvent, event)``: a message's delivery status, from a
  webhook or from polling.
- ``inbound(sender=InboundEvent, event)``: an SMS received, from a webhook.

Receivers run inside the send (or the webhook request) and their exceptions propagate: a
failing ``inbound`` receiver makes the webhook answer 500 so the provider retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import attrs
from django.db import close_old_connections
from django.dispatch import Signal

from smsbridge import DeliveryStatus, OutgoingSend, SendReport, hookimpl
from smsbridge.testing import outbox

if TYPE_CHECKING:
    from smsbridge.contrib.django._conf import SenderConfig

__all__ = [
    "CancelSend",
    "DeliveryEvent",
    "InboundEvent",
    "SignalBridge",
    "delivery_status",
    "inbound",
    "post_send",
    "pre_send",
]

pre_send = Signal()
"""Sent before each request of a send through an alias (``using``, ``send``)."""
post_send = Signal()
"""Sent after a send through an alias, or each request of a campaign
(``using``, ``send``, ``report``)."""
delivery_status = Signal()
"""Sent for each delivery status learnt (``event``: a :class:`DeliveryEvent`)."""
inbound = Signal()
"""Sent for each SMS received (``event``: an :class:`InboundEvent`)."""


class CancelSend(Exception):
    """Raised by a ``pre_send`` receiver: send to nobody; the report says ``vetoed``."""

    def __init__(self, reason: str = "cancelled by a pre_send receiver") -> None:
        super().__init__(reason)
        self.reason = reason


def _raw(fields: Mapping[str, str]) -> dict[str, str]:
    return dict(fields)


@attrs.frozen(kw_only=True)
class InboundEvent:
    """An SMS someone sent to one of the application's lines, in provider-neutral form."""

    provider: str
    """Which webhook received it (``melipayamak``, ``generic``)."""
    sender: str
    """The number it came from, in E.164 when it reads as a phone number."""
    recipient: str
    """The line it was sent to, as the provider gave it."""
    text: str
    received_at: dt.datetime
    """When the webhook received it (aware, UTC)."""
    event_id: str | None = None
    """The provider's id for the message, when it gives one."""
    raw: Mapping[str, str] = attrs.field(factory=dict, converter=_raw, repr=False)
    """The provider's fields as received (without the webhook's secret)."""


@attrs.frozen(kw_only=True)
class DeliveryEvent:
    """Where one sent message stands, from a delivery webhook or from polling."""

    provider: str
    message_id: str
    status: DeliveryStatus
    timestamp: dt.datetime
    """When it was learnt (aware, UTC)."""
    source: str
    """``webhook`` or ``poll``."""
    using: str | None = None
    """The alias that was polled (None for a webhook)."""
    recipient: str | None = None
    provider_code: str | int | None = None
    provider_text: str | None = None
    raw: Mapping[str, str] = attrs.field(factory=dict, converter=_raw, repr=False)


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _off_loop(function: Callable[[], object]) -> None:
    """Run ``function`` here, or, when this thread runs an event loop (a campaign, or
    ``await client.asend``), on a worker thread without one, the loop waiting: receivers may
    then use the ORM, which refuses to run inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        function()
        return
    global _worker  # noqa: PLW0603 - one worker thread for the process, made on first use
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(1, thread_name_prefix="smsbridge-signals")

    def run() -> None:
        try:
            function()
        finally:
            close_old_connections()

    _worker.submit(run).result()


class SignalBridge:
    """The plugin every alias client carries: smsbridge's send hooks as Django signals."""

    def __init__(self, sender: SenderConfig, *, fake: bool) -> None:
        self.using = sender.alias
        # In tests the fake provider renders configured templates with their approved text.
        self._fake_templates = (
            {t.id: t.text for t in sender.templates.values() if t.text is not None} if fake else {}
        )

    @hookimpl
    def smsbridge_before_send(self, send: OutgoingSend) -> None:
        """Run ``pre_send``; :class:`CancelSend` vetoes the send."""
        for template_id, text in self._fake_templates.items():
            outbox.add_template(template_id, text)

        def run() -> None:
            try:
                pre_send.send(sender=OutgoingSend, using=self.using, send=send)
            except CancelSend as cancel:
                send.veto(cancel.reason)

        _off_loop(run)

    @hookimpl
    def smsbridge_after_send(self, send: OutgoingSend, report: SendReport) -> None:
        """Run ``post_send``."""
        _off_loop(
            lambda: post_send.send(sender=SendReport, using=self.using, send=send, report=report)
        )
