"""One provider request, start to finish: build it, carry it, and settle every recipient.

Written once for sync and async: only the line that calls the transport differs. Whatever
happens — the provider refuses the batch, the transport fails before or after writing, the
reply is a redirect, empty, malformed or inconsistent, the provider's parser crashes — every
recipient of the batch leaves with exactly one result, and a result says ``unknown`` only when
the request may really have gone out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from smsbridge import _logging as log
from smsbridge._engine._outgoing import BatchTimer, checked_results, results_for_error, scrub_error
from smsbridge._engine._settings import Settings
from smsbridge._models import RecipientResult
from smsbridge._redact import Redactor, mask_number
from smsbridge.exceptions import (
    ConfigurationError,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    SmsBridgeError,
)
from smsbridge.provider import BaseProvider, Batch
from smsbridge.transport import (
    AsyncBaseTransport,
    AsyncHTTPTransport,
    BaseTransport,
    HTTPTransport,
    Request,
    Response,
    TransportError,
)

__all__ = ["Dispatcher", "redirect_error", "transport_error"]

_LOCATION_SHOWN = 200
T = TypeVar("T")


def transport_error(provider: str, error: TransportError, *, idempotent: bool) -> ProviderError:
    """The outcome a transport failure means: not sent, or may have been sent."""
    if not error.sent:
        return ProviderUnavailableError(
            f"{provider}: {error.message}; nothing was sent", provider=provider
        )
    if idempotent:
        return ProviderUnavailableError(f"{provider}: {error.message}", provider=provider)
    return OutcomeUnknownError(
        f"{provider}: {error.message} after the request was written; it may have been sent",
        provider=provider,
    )


def redirect_error(provider: str, response: Response, redactor: Redactor) -> ConfigurationError:
    """A 3xx is refused: following it would carry the request and its credentials elsewhere."""
    location = redactor.scrub(response.header("location") or "nowhere")[:_LOCATION_SHOWN]
    return ConfigurationError(
        f"{provider} redirected the request to {location} (HTTP {response.status_code}); "
        "redirects are never followed, so nothing was sent: point the endpoint at the final "
        "address",
        provider=provider,
        provider_code=response.status_code,
    )


class Dispatcher:
    """Sends batches for one provider through its transports."""

    def __init__(
        self,
        provider: BaseProvider,
        settings: Settings,
        transports: tuple[BaseTransport, AsyncBaseTransport] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.provider = provider
        self.name = name or provider.name
        """The provider's name in its client (``melipayamak#2`` for a second one)."""
        self.settings = settings
        self.redactor = Redactor(provider.secrets())
        self._given = transports or provider.transport()
        self._sync: BaseTransport | None = None
        self._async: AsyncBaseTransport | None = None
        self._lock = threading.Lock()

    # -- transports ---------------------------------------------------------------------------

    @property
    def sync_transport(self) -> BaseTransport:
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = (
                        self._given[0]
                        if self._given is not None
                        else HTTPTransport(max_response_bytes=self.settings.max_response_bytes)
                    )
        return self._sync

    @property
    def async_transport(self) -> AsyncBaseTransport:
        if self._async is None:
            with self._lock:
                if self._async is None:
                    self._async = (
                        self._given[1]
                        if self._given is not None
                        else AsyncHTTPTransport(max_response_bytes=self.settings.max_response_bytes)
                    )
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
        if isinstance(self._async, AsyncHTTPTransport):
            self._async.close_sync()

    async def aclose(self) -> None:
        if self._sync is not None:
            self._sync.close()
        if self._async is not None:
            await self._async.aclose()

    # -- one batch ----------------------------------------------------------------------------

    def build(self, batch: Batch) -> Request | list[RecipientResult]:
        """The request, or results for every recipient when the provider refuses the batch.

        Nothing has been written yet, so a refusal here is never ``unknown``.
        """
        try:
            return self.provider.request_for(batch)
        except SmsBridgeError as error:
            return results_for_error(
                scrub_error(error, self.redactor), batch.recipients, batch.segments, self.name
            )
        except Exception as error:  # a provider bug, before any I/O
            log.error(
                "sms_request_build_crashed",
                provider=self.name,
                error_type=type(error).__name__,
                first_recipient=mask_number(batch.recipients[0]),
            )
            failure = ProviderError(
                f"{self.name} could not build its request ({type(error).__name__}); "
                "nothing was sent",
                provider=self.name,
            )
            return results_for_error(failure, batch.recipients, batch.segments, self.name)

    def _settle(
        self, batch: Batch, request: Request, outcome: Response | BaseException
    ) -> list[RecipientResult]:
        numbers, parts = batch.recipients, batch.segments
        if isinstance(outcome, TransportError):
            error: SmsBridgeError = transport_error(
                self.name, outcome, idempotent=request.idempotent
            )
            return results_for_error(error, numbers, parts, self.name)
        if isinstance(outcome, BaseException):
            log.error(
                "sms_transport_crashed",
                provider=self.name,
                error_type=type(outcome).__name__,
                first_recipient=mask_number(numbers[0]),
            )
            error = OutcomeUnknownError(
                f"{self.name}: the transport failed unexpectedly ({type(outcome).__name__}); "
                "the request may have been sent",
                provider=self.name,
            )
            return results_for_error(error, numbers, parts, self.name)
        status = outcome.status_code
        if 300 <= status < 400:
            return results_for_error(
                redirect_error(self.name, outcome, self.redactor), numbers, parts, self.name
            )
        if 200 <= status < 300 and not outcome.content:
            error = OutcomeUnknownError(
                f"{self.name} answered HTTP {status} with no body; the request may have been sent",
                provider=self.name,
                provider_code=status,
            )
            return results_for_error(error, numbers, parts, self.name)
        try:
            results = self.provider.results_from(outcome, batch)
        except SmsBridgeError as failure:
            return results_for_error(scrub_error(failure, self.redactor), numbers, parts, self.name)
        except Exception as failure:  # a parser bug: the request did go out
            log.error(
                "sms_reply_parse_crashed",
                provider=self.name,
                error_type=type(failure).__name__,
                first_recipient=mask_number(numbers[0]),
            )
            error = OutcomeUnknownError(
                f"{self.name} could not read its reply ({type(failure).__name__}); "
                "the request may have been sent",
                provider=self.name,
            )
            return results_for_error(error, numbers, parts, self.name)
        return checked_results(self.name, numbers, results, parts, self.redactor)

    def send(self, batch: Batch, index: int) -> list[RecipientResult]:
        """Send one batch, blocking."""
        timer = BatchTimer(self.name, index, len(batch.recipients))
        request = self.build(batch)
        if isinstance(request, list):
            results = request
        else:
            outcome: Response | BaseException
            try:
                outcome = self.sync_transport.handle_request(request, timeout=self.settings.timeout)
            except Exception as error:
                outcome = error
            results = self._settle(batch, request, outcome)
        timer.done(results)
        return results

    async def asend(self, batch: Batch, index: int) -> list[RecipientResult]:
        """Send one batch on the running event loop."""
        request = self.build(batch)
        if isinstance(request, list):
            BatchTimer(self.name, index, len(batch.recipients)).done(request)
            return request
        return await self.acarry(batch, request, index)

    async def acarry(
        self, batch: Batch, request: Request, index: int, *, quiet: bool = False
    ) -> list[RecipientResult]:
        """Carry a request built by :meth:`build` and settle every recipient of its batch
        (``quiet``: a failed batch logs at INFO, for campaigns)."""
        timer = BatchTimer(self.name, index, len(batch.recipients), quiet=quiet)
        outcome: Response | BaseException
        try:
            outcome = await self.async_transport.handle_async_request(
                request, timeout=self.settings.timeout
            )
        except Exception as error:
            outcome = error
        results = self._settle(batch, request, outcome)
        timer.done(results)
        return results

    # -- queries (delivery status, balance) --------------------------------------------------

    def _checked_reply(self, request: Request, outcome: Response | BaseException) -> Response:
        if isinstance(outcome, TransportError):
            raise transport_error(self.name, outcome, idempotent=True) from None
        if isinstance(outcome, BaseException):
            raise ProviderUnavailableError(
                f"{self.name}: the transport failed unexpectedly ({type(outcome).__name__})",
                provider=self.name,
            ) from None
        if 300 <= outcome.status_code < 400:
            raise redirect_error(self.name, outcome, self.redactor)
        if 200 <= outcome.status_code < 300 and not outcome.content:
            raise ProviderUnavailableError(
                f"{self.name} answered HTTP {outcome.status_code} with no body",
                provider=self.name,
                provider_code=outcome.status_code,
            )
        return outcome

    def query(self, request: Request) -> Response:
        """Carry an idempotent request; failures raise (scrubbed) provider errors."""
        try:
            outcome: Response | BaseException = self.sync_transport.handle_request(
                request, timeout=self.settings.timeout
            )
        except Exception as error:
            outcome = error
        return self._checked_reply(request, outcome)

    async def aquery(self, request: Request) -> Response:
        """Async twin of :meth:`query`."""
        try:
            outcome: Response | BaseException = await self.async_transport.handle_async_request(
                request, timeout=self.settings.timeout
            )
        except Exception as error:
            outcome = error
        return self._checked_reply(request, outcome)

    def parsed(self, parse: Callable[..., T], *args: Any) -> T:
        """Run a provider parser; its errors are scrubbed, its crashes become provider errors."""
        try:
            return parse(*args)
        except SmsBridgeError as error:
            raise scrub_error(error, self.redactor) from None
        except Exception as error:
            raise ProviderUnavailableError(
                f"{self.name} could not read its reply ({type(error).__name__})", provider=self.name
            ) from None
