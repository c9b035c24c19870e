"""Capturing every client a test's application builds: nothing reaches a real provider.

While installed (the ``sms_outbox`` fixture installs it for each test), a Client built from a
URL — given in code or in ``SMSBRIDGE_URL`` — keeps the real provider's checks (capabilities,
sender rules, template rules) but sends through the fake provider into the outbox, which
records the provider and URL (without secrets) the application asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from smsbridge._models import Capabilities, Message, Template
from smsbridge.provider import BaseProvider
from smsbridge.testing._fake import FakeProvider
from smsbridge.testing._outbox import FakeOutbox

__all__ = ["CapturedProvider", "capture_into"]


class CapturedProvider(FakeProvider):
    """The fake provider standing in for ``real``: its rules, the fake's wire."""

    def __init__(self, real: BaseProvider, outbox: FakeOutbox, url: str) -> None:
        super().__init__(
            outbox=outbox,
            batch_size=real.capabilities.max_batch_size,
            requested_provider=real.name,
            requested_url=url,
        )
        self.real = real
        self.capabilities: Capabilities = real.capabilities

    @property
    def name(self) -> str:
        return self.real.name

    def validate_message(self, message: Message) -> None:
        self.real.validate_message(message)

    def validate_template(self, template: Template) -> None:
        self.real.validate_template(template)

    def sender_for(self, message: Message | Template) -> str | None:
        return self.real.sender_for(message)

    def account(self) -> str:
        return self.real.account()

    def secrets(self) -> Sequence[str]:
        return self.real.secrets()


def capture_into(outbox: FakeOutbox) -> object:
    """An interceptor for :mod:`smsbridge._intercept` that captures into ``outbox``."""

    def intercept(provider: BaseProvider, url: str) -> BaseProvider:
        if isinstance(provider, FakeProvider):
            return provider  # fake:// already writes to an outbox
        return CapturedProvider(provider, outbox, url)

    return intercept
