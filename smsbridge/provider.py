"""The provider seam: what a plugin implements to add a provider.

Providers are sans-I/O, like h11: a provider turns one request's worth of a send (a
:class:`Batch`) into a :class:`~smsbridge.transport.Request`, and the
:class:`~smsbridge.transport.Response` into one result per recipient. It never opens a socket,
sleeps or retries. The engine does the rest, once for every provider: validation, batching,
concurrency, rate limits, hooks, logging, and the transport (deadlines, size caps, redirects
refused, TLS, proxies, and which transport faults mean "not sent" or "may have been sent").
Because nothing here does I/O, each method is written once (no sync/async twins) and can be
tested by feeding it bytes.

A provider:

- declares ``scheme`` (its URL scheme) and ``capabilities``;
- builds itself from a :class:`~smsbridge.config.ProviderURL` in ``from_url``;
- names its ``secrets`` (password, API key), which smsbridge then scrubs from every text a
  provider hands back;
- refuses what it cannot send in ``validate_message``/``validate_template`` (before any I/O);
- implements ``request_for`` and ``results_from`` (and, where it can, the delivery-status and
  balance pairs);
- reports a failure of the whole request by raising a :mod:`smsbridge.exceptions` error from
  ``results_from`` (every recipient of the request gets it), and a failure of single recipients
  by returning rejected results;
- may supply its own ``transport`` (the fake provider answers in memory); otherwise the engine's
  HTTP transports carry its requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import attrs

from smsbridge._boundary import public_errors
from smsbridge._models import (
    Balance,
    Capabilities,
    DeliveryReport,
    Message,
    RecipientResult,
    Settlement,
    Template,
    accepted_results,
)
from smsbridge.exceptions import (
    ConfigurationError,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    UnknownProviderError,
)

if TYPE_CHECKING:
    from smsbridge.config import ProviderURL
    from smsbridge.transport import AsyncBaseTransport, BaseTransport, Request, Response

__all__ = ["BaseProvider", "Batch", "accepted_results", "http_status_error"]


@attrs.frozen(kw_only=True)
class Batch:
    """One request's worth of a send: the message or template and its recipients."""

    message: Message | Template
    recipients: tuple[str, ...]
    """E.164 numbers, validated, at most the provider's batch size."""
    segments: int = 0
    """SMS parts per recipient (0 when the provider renders the text, as for templates)."""
    keys: Sequence[str] | None = None
    """A stable key per recipient for providers that deduplicate on their side (Kavenegar's
    ``localid``): the same send retried carries the same keys. None when the caller gave no
    ``reference`` and no journal row identifies the recipients. A campaign's keys are a
    sequence that spells each key when it is read (most providers never read them)."""

    @property
    def template(self) -> Template | None:
        """The template, when this is a template send."""
        return self.message if isinstance(self.message, Template) else None


class BaseProvider:
    """Base class of every provider. Subclasses implement ``request_for`` and ``results_from``."""

    scheme: ClassVar[str] = ""
    """The URL scheme the provider registers under, e.g. ``"melipayamak"``."""
    capabilities: Capabilities = Capabilities()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A provider is built from credentials, often in the application's code: an error
        # while building it must not carry the frames that held them (a traceback printed with
        # its locals would show the password).
        init = cls.__dict__.get("__init__")
        if init is not None:
            setattr(cls, "__init__", public_errors(init))  # noqa: B010 - mypy forbids cls.__init__ =

    @property
    def name(self) -> str:
        """The provider's name in logs, errors and reports."""
        return self.scheme or type(self).__name__

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        """Build the provider from its URL; raise ConfigurationError for a bad one."""
        raise ConfigurationError(f"the {cls.__name__} provider cannot be configured by URL")

    def secrets(self) -> Sequence[str]:
        """Values that must never appear in any output (passwords, API keys)."""
        return ()

    def account(self) -> str:
        """Who sends, without secrets (a user name, a masked key): part of a campaign's identity."""
        return ""

    def sender_for(self, message: Message | Template) -> str | None:
        """The sender ``message`` goes out from (the provider's default when it names none)."""
        return message.sender

    # -- checks before any I/O ------------------------------------------------------------

    def validate_message(self, message: Message) -> None:
        """Refuse a message this provider cannot send (default: accept).

        Called once per send after the capabilities were checked; raise
        :class:`~smsbridge.exceptions.InvalidMessageError` (the caller's input is wrong) or
        :class:`~smsbridge.exceptions.ConfigurationError` (the provider's setup is).
        """

    def validate_template(self, template: Template) -> None:
        """Refuse template variables that break this provider's rules (default: accept)."""

    # -- the sans-I/O pairs ---------------------------------------------------------------

    def request_for(self, batch: Batch) -> Request:
        """The request that sends ``batch``."""
        raise NotImplementedError

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        """One result per recipient of ``batch``, in order, read from ``response``."""
        raise NotImplementedError

    def delivery_request_for(self, message_ids: Sequence[str]) -> Request | None:
        """The request asking the status of ``message_ids`` (at most
        ``capabilities.max_delivery_batch``); None when none of them can be asked about."""
        raise NotImplementedError(f"{self.name} does not report delivery status")

    def delivery_from(
        self, response: Response | None, message_ids: Sequence[str]
    ) -> list[DeliveryReport]:
        """One report per id, in order (``response`` is None when no request was needed)."""
        raise NotImplementedError(f"{self.name} does not report delivery status")

    def settle_request_for(self, keys: Sequence[str]) -> Request | None:
        """The request asking what became of the sends made under ``keys`` (at most
        ``capabilities.max_delivery_batch``); only when ``capabilities.settle_window``."""
        raise NotImplementedError(f"{self.name} cannot look sends up by key")

    def settled_from(self, response: Response | None, keys: Sequence[str]) -> list[Settlement]:
        """One settlement per key, in order."""
        raise NotImplementedError(f"{self.name} cannot look sends up by key")

    def balance_request_for(self) -> Request:
        """The request asking the account's credit."""
        raise NotImplementedError(f"{self.name} does not report its balance")

    def balance_from(self, response: Response) -> Balance:
        """The credit read from ``response``."""
        raise NotImplementedError(f"{self.name} does not report its balance")

    # -- transport and lifetime -----------------------------------------------------------

    def transport(self) -> tuple[BaseTransport, AsyncBaseTransport] | None:
        """Own transports (sync, async) for providers that do not speak HTTP; None: the
        engine's HTTP transports."""
        return None

    def close(self) -> None:
        """Release anything the provider holds. Safe to call more than once."""

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


def http_status_error(response: Response, provider: str, *, sending: bool) -> ProviderError:
    """The error for a reply that is not the provider's own format, by its HTTP status.

    For a provider's ``results_from`` when the body is an error page rather than an answer:

    - 502/504 while sending: ``outcome_unknown`` (a gateway gave up; the service may still have
      processed the request);
    - other 5xx: ``provider_unavailable`` (the application never ran the request);
    - a 2xx or 4xx that is not the provider's format: ``unknown_provider_error`` (check the
      endpoint); while sending a 2xx is ``outcome_unknown``, since the request was accepted.
    """
    status = response.status_code
    text = f"HTTP {status}"
    if status in (502, 504) and sending:
        return OutcomeUnknownError(
            f"a gateway in front of {provider} answered HTTP {status}; "
            "the request may have been sent",
            provider=provider,
            provider_code=status,
            provider_text=text,
        )
    if status >= 500:
        return ProviderUnavailableError(
            f"{provider} is unavailable (HTTP {status})",
            provider=provider,
            provider_code=status,
            provider_text=text,
        )
    if 200 <= status < 300 and sending:
        return OutcomeUnknownError(
            f"{provider} answered HTTP {status} with a body it cannot read; "
            "the request may have been sent",
            provider=provider,
            provider_code=status,
            provider_text=text,
        )
    return UnknownProviderError(
        f"{provider} answered HTTP {status} in an unexpected format; check the endpoint",
        provider=provider,
        provider_code=status,
        provider_text=text,
    )
