"""The provider seam: one class a plugin implements to add a provider.

Modelled on httpx's ``BaseTransport``: a provider sends one request's worth of recipients and
returns one result per recipient; the :class:`~smsbridge.Client` does everything else (validation,
batching, hooks, logging, reports). A provider:

- declares ``scheme`` (its URL scheme) and ``capabilities``;
- builds itself from a :class:`~smsbridge.config.ProviderURL` in ``from_url``;
- may refuse a message it cannot send in ``validate_message`` (called before any I/O);
- implements ``send`` (and, where it has real async I/O, ``asend``) for at most
  ``capabilities.max_batch_size`` recipients, already validated and in E.164 form;
- reports a failure of the whole request by raising a :mod:`smsbridge.exceptions` error (the
  client turns it into a result for each recipient of that request), and a failure of single
  recipients by returning rejected results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from smsbridge._models import Capabilities, DeliveryReport, Message, RecipientResult
from smsbridge.exceptions import ConfigurationError

if TYPE_CHECKING:
    from smsbridge.config import ProviderURL

__all__ = ["BaseProvider"]


class BaseProvider:
    """Base class of every provider. Subclasses override ``send`` and usually ``asend``."""

    scheme: ClassVar[str] = ""
    """The URL scheme the provider registers under, e.g. ``"melipayamak"``."""
    capabilities: Capabilities = Capabilities()

    @property
    def name(self) -> str:
        """The provider's name in logs, errors and reports."""
        return self.scheme or type(self).__name__

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        """Build the provider from its URL; raise ConfigurationError for a bad one."""
        raise ConfigurationError(f"the {cls.__name__} provider cannot be configured by URL")

    def validate_message(self, message: Message) -> None:
        """Refuse a message this provider cannot send, before any I/O (default: accept).

        The client calls it once per send, after checking ``capabilities``; raise
        :class:`~smsbridge.exceptions.InvalidMessageError` (the caller's input is wrong) or
        :class:`~smsbridge.exceptions.ConfigurationError` (the provider's setup is).
        """

    def send(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        """Send ``message`` to ``recipients`` (one request) and return one result each, in order."""
        raise NotImplementedError

    async def asend(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        """Async twin of :meth:`send`. The default runs ``send`` in a worker thread."""
        return await asyncio.to_thread(self.send, message, recipients)

    def delivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """One delivery report per id, in order; only when ``capabilities.delivery_status``."""
        raise NotImplementedError(f"{self.name} does not report delivery status")

    async def adelivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """Async twin of :meth:`delivery_status`. The default runs it in a worker thread."""
        return await asyncio.to_thread(self.delivery_status, message_ids)

    def close(self) -> None:
        """Release connections. Safe to call more than once."""

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
