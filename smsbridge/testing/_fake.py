"""The fake provider (``fake://``): sends nothing, records everything, fails on request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import attrs

from smsbridge._models import (
    Capabilities,
    DeliveryReport,
    Message,
    RecipientResult,
    ResultError,
    SendStatus,
)
from smsbridge.config import ProviderURL
from smsbridge.exceptions import ConfigurationError, ErrorCategory, error_for_category
from smsbridge.provider import BaseProvider
from smsbridge.segments import count_segments
from smsbridge.testing._outbox import FakeOutbox, FakeSms
from smsbridge.testing._outbox import outbox as default_outbox

__all__ = ["FakeProvider"]


class FakeProvider(BaseProvider):
    """A provider for tests and demos. ``fake://?batch_size=N`` sets its request size."""

    scheme = "fake"
    capabilities = Capabilities(
        max_batch_size=100, flash=True, udh=True, delivery_status=True, unicode=True
    )
    outbox: FakeOutbox

    def __init__(self, *, outbox: FakeOutbox | None = None, batch_size: int = 100) -> None:
        self.outbox = outbox if outbox is not None else default_outbox
        if batch_size != type(self).capabilities.max_batch_size:
            self.capabilities = attrs.evolve(self.capabilities, max_batch_size=batch_size)
        self.requests = 0
        """How many provider requests this instance received (batches)."""

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        unknown = set(url.params) - {"batch_size"}
        if unknown:
            raise ConfigurationError(f"fake:// does not take {', '.join(sorted(unknown))}")
        return cls(batch_size=url.int_param("batch_size", 100))

    def _record(self, message: Message, number: str, segments: int) -> FakeSms:
        return self.outbox.record(
            recipient=number,
            text=message.text,
            sender=message.sender,
            flash=message.flash,
            udh=message.udh,
            reference=message.reference,
            segments=segments,
        )

    def _result(self, message: Message, number: str, segments: int) -> RecipientResult:
        category = self.outbox.category_for(number)
        if category is None or category is ErrorCategory.OUTCOME_UNKNOWN:
            sms = self._record(message, number, segments)
            if category is None:
                return RecipientResult(
                    recipient=number,
                    status=SendStatus.ACCEPTED,
                    message_id=sms.message_id,
                    segments=segments,
                )
        error = error_for_category(category)(
            f"fake provider: {category.value} for this number", provider="fake"
        )
        status = (
            SendStatus.UNKNOWN if category is ErrorCategory.OUTCOME_UNKNOWN else SendStatus.REJECTED
        )
        return RecipientResult(
            recipient=number,
            status=status,
            segments=segments,
            error=ResultError.from_exception(error),
        )

    def send(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        self.requests += 1
        segments = count_segments(message.text).segments
        scripted = self.outbox.take_scripted_failure()
        if scripted is not None:
            if scripted.lose_reply:
                for number in recipients:
                    self._record(message, number, segments)
            raise scripted.error
        return [self._result(message, number, segments) for number in recipients]

    async def asend(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        return self.send(message, recipients)

    def delivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        return [
            DeliveryReport(message_id=mid, status=self.outbox.delivery_of(mid))
            for mid in message_ids
        ]
