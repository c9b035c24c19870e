"""The facades applications use: ``Client`` (blocking, with async twins) and ``AsyncClient``.

Both are thin: they build an :class:`~smsbridge._engine._engine.Engine` from a URL or a
provider instance and forward every call to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs

from smsbridge import _intercept
from smsbridge._boundary import public_errors
from smsbridge._engine._engine import Engine
from smsbridge._engine._prepare import MessageOptions, coerce_message
from smsbridge._engine._settings import URL_PARAMS, DuplicatePolicy, Settings
from smsbridge._models import Balance, DeliveryReport, Message, SendReport, Template
from smsbridge._plugins import PluginHost
from smsbridge.config import ProviderURL, url_from_env
from smsbridge.exceptions import ConfigurationError
from smsbridge.provider import BaseProvider

if TYPE_CHECKING:
    from smsbridge._engine._bulk import BulkProgress, BulkSummary
    from smsbridge._report import ReportWriter
    from smsbridge.transport import AsyncBaseTransport, BaseTransport

__all__ = ["AsyncClient", "Client"]


def _build_engine(  # noqa: PLR0917 - private, called once
    url: str | None,
    provider: BaseProvider | None,
    plugins: Sequence[object],
    autoload_plugins: bool | None,
    transport: tuple[BaseTransport, AsyncBaseTransport] | None,
    options: dict[str, Any],
) -> Engine:
    host = PluginHost(plugins, autoload=autoload_plugins)
    params: dict[str, str] = {}
    if provider is None:
        url = url if url is not None else url_from_env()
        if url is None:
            raise ConfigurationError(
                "no provider configured: pass a URL such as 'fake://' or set SMSBRIDGE_URL"
            )
        parsed = ProviderURL.parse(url)
        params = {k: v for k, v in parsed.params.items() if k in URL_PARAMS}
        own = attrs.evolve(
            parsed, params={k: v for k, v in parsed.params.items() if k not in URL_PARAMS}
        )
        provider = host.provider_class(parsed.scheme).from_url(own)
        host.provider_created(provider)
        # Test tooling may stand in for a provider configured by URL (never for an instance
        # the caller built and passed in: that is already the caller's explicit choice).
        provider = _intercept.provider_for(provider, str(parsed))
    elif not isinstance(provider, BaseProvider):
        raise ConfigurationError(f"provider must be a BaseProvider, not {type(provider).__name__}")
    settings = Settings.build(params, **options)
    return Engine(provider, settings, host, transport)


def _options(  # noqa: PLR0917 - private, called once
    region: str | None,
    max_segments: int | None,
    duplicates: DuplicatePolicy | None,
    concurrency: int | None,
    rate_limit: float | None,
    timeout: float | None,
    max_response_bytes: int | None,
) -> dict[str, Any]:
    return {
        "region": region,
        "max_segments": max_segments,
        "duplicates": duplicates,
        "concurrency": concurrency,
        "rate_limit": rate_limit,
        "timeout": timeout,
        "max_response_bytes": max_response_bytes,
    }


class _Facade:
    """What Client and AsyncClient share: construction and properties."""

    engine: Engine

    @public_errors
    def __init__(
        self,
        url: str | None = None,
        *,
        provider: BaseProvider | None = None,
        region: str | None = None,
        max_segments: int | None = None,
        duplicates: DuplicatePolicy | None = None,
        concurrency: int | None = None,
        rate_limit: float | None = None,
        timeout: float | None = None,
        max_response_bytes: int | None = None,
        plugins: Sequence[object] = (),
        autoload_plugins: bool | None = None,
        transport: tuple[BaseTransport, AsyncBaseTransport] | None = None,
    ) -> None:
        self.engine = _build_engine(
            url,
            provider,
            plugins,
            autoload_plugins,
            transport,
            _options(
                region,
                max_segments,
                duplicates,
                concurrency,
                rate_limit,
                timeout,
                max_response_bytes,
            ),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider.name!r}>"

    @property
    def provider(self) -> BaseProvider:
        """The provider every send goes through."""
        return self.engine.provider

    @property
    def settings(self) -> Settings:
        """The validated settings (region, concurrency, rate limit, timeout, ...)."""
        return self.engine.settings

    @property
    def plugins(self) -> PluginHost:
        """This client's plugin host."""
        return self.engine.host

    @property
    def region(self) -> str:
        """How local numbers are read."""
        return self.settings.region

    @property
    def max_segments(self) -> int:
        """Texts longer than this many parts are refused."""
        return self.settings.max_segments

    @property
    def concurrency(self) -> int:
        """Provider requests of one send that may run at once."""
        return self.settings.concurrency

    @property
    def rate_limit(self) -> float | None:
        """Provider requests per second, or None."""
        return self.settings.rate_limit

    @property
    def duplicates(self) -> DuplicatePolicy:
        """What a number given twice means."""
        return self.settings.duplicates


def _message(
    message: Message | Template | str,
    sender: str | None,
    flash: bool,
    udh: str | None,
    reference: str | None,
) -> Message | Template:
    return coerce_message(
        message, **MessageOptions(sender=sender, flash=flash, udh=udh, reference=reference)
    )


class Client(_Facade):
    """Send SMS through one provider, named by URL or given as an instance.

    >>> with Client("fake://") as client:
    ...     report = client.send("Your code is 1234", ["09123456789"])
    >>> report[0].recipient, report[0].status.value
    ('+989123456789', 'accepted')

    :param url: the provider URL; defaults to ``SMSBRIDGE_URL``. Besides the provider's own
        parameters it may set ``region``, ``max_segments``, ``concurrency``, ``rate_limit``,
        ``timeout`` and ``max_response_bytes`` (a keyword argument given here wins).
    :param provider: a provider instance, instead of a URL.
    :param region: how local numbers (``0912...``) are read (default ``IR``).
    :param max_segments: longer texts are refused before sending (default 10).
    :param duplicates: ``"merge"`` (default) sends once to a number given twice and reports it
        at every position; ``"send_each"`` sends once per occurrence.
    :param concurrency: provider requests of one send that may run at once (default 4).
    :param rate_limit: at most this many provider requests per second (default: no limit).
    :param timeout: seconds one provider request may take in all (default 30).
    :param max_response_bytes: larger provider replies are refused (default 4 MiB).
    :param plugins: extra plugin objects for this client only.
    :param autoload_plugins: load ``smsbridge`` entry points; default unless
        ``SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD`` is set.
    :param transport: ``(sync, async)`` transports to use instead of HTTP (tests).
    """

    def send(
        self,
        message: Message | Template | str,
        recipients: Iterable[str] | str,
        *,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
        skip_invalid: bool = False,
    ) -> SendReport:
        """Send ``message`` to every recipient; one result per input recipient, in order.

        :param skip_invalid: send to the valid recipients and report the invalid ones rejected
            (category ``invalid_recipient``) instead of raising.
        :raises InvalidInputError: bad text or recipients, before any network I/O.
        """
        return self.engine.send(
            _message(message, sender, flash, udh, reference), recipients, skip_invalid=skip_invalid
        )

    async def asend(
        self,
        message: Message | Template | str,
        recipients: Iterable[str] | str,
        *,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
        skip_invalid: bool = False,
    ) -> SendReport:
        """Async twin of :meth:`send`; requests run concurrently up to ``concurrency``."""
        return await self.engine.asend(
            _message(message, sender, flash, udh, reference), recipients, skip_invalid=skip_invalid
        )

    async def asend_bulk(
        self,
        message: Message | Template | str,
        recipients: Iterable[object],
        *,
        journal: str | Path | None = None,
        report: str | Path | ReportWriter | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
        rate_limit: float | None = None,
        resend_unknown: bool = False,
        skip_invalid: bool = True,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> BulkSummary:
        """Send to a stream of recipients of any length, with memory held flat (see
        docs/bulk.md). With ``journal`` an interrupted campaign resumes where it stopped.

        ``recipients`` is any iterable, or a :class:`smsbridge.sources.NumberFile` (which
        resumes faster: by byte offset, fingerprinted by its bytes). Invalid numbers are
        reported rejected (``skip_invalid``, the default); with ``skip_invalid=False`` every
        recipient is checked first and nothing is sent if one is invalid.
        """
        from smsbridge._engine._bulk import run_bulk

        return await run_bulk(
            self.engine,
            _message(message, sender, flash, udh, reference),
            recipients,
            journal=journal,
            report=report,
            on_progress=on_progress,
            rate_limit=rate_limit,
            resend_unknown=resend_unknown,
            skip_invalid=skip_invalid,
        )

    def send_bulk(
        self,
        message: Message | Template | str,
        recipients: Iterable[object],
        *,
        journal: str | Path | None = None,
        report: str | Path | ReportWriter | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
        rate_limit: float | None = None,
        resend_unknown: bool = False,
        skip_invalid: bool = True,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> BulkSummary:
        """Blocking twin of :meth:`asend_bulk` (runs its own event loop).

        :raises RuntimeError: when called from a running event loop; use ``asend_bulk``.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "send_bulk() blocks, and was called inside a running event loop: "
                "use 'await client.asend_bulk(...)' there instead"
            )

        async def run() -> BulkSummary:
            try:
                return await self.asend_bulk(
                    message,
                    recipients,
                    journal=journal,
                    report=report,
                    on_progress=on_progress,
                    rate_limit=rate_limit,
                    resend_unknown=resend_unknown,
                    skip_invalid=skip_invalid,
                    sender=sender,
                    flash=flash,
                    udh=udh,
                    reference=reference,
                )
            finally:
                # Async connections belong to this event loop, which ends here.
                await self.engine.dispatcher.aclose()

        return asyncio.run(run())

    def delivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """The delivery status of each message id, in order."""
        return self.engine.delivery_status(message_ids)

    async def adelivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """Async twin of :meth:`delivery_status`."""
        return await self.engine.adelivery_status(message_ids)

    def balance(self) -> Balance:
        """The account's credit, in the provider's unit (messages or rials)."""
        return self.engine.balance()

    async def abalance(self) -> Balance:
        """Async twin of :meth:`balance`."""
        return await self.engine.abalance()

    def check_journal_deliveries(self, journal: str | Path) -> dict[str, int]:
        """Check the delivery of every message a campaign's journal records as accepted; the
        statuses are stored in the journal and counted."""
        from smsbridge._engine._reconcile import check_deliveries
        from smsbridge.journal._sqlite import SqliteJournal

        self.engine._require("delivery_status", "delivery status")
        # Checked read-only first, so a file that is not a journal is refused untouched.
        SqliteJournal(journal, read_only=True).close()
        with SqliteJournal(journal) as book:
            return check_deliveries(self.engine, book)

    def settle_journal(self, journal: str | Path) -> dict[str, int]:
        """Ask the provider what became of a campaign's unknown rows (where it can look sends up
        by key, within its window): ``accepted`` ones get their message id, ``not_sent`` ones
        are sent when the campaign resumes, the rest stay ``unknown``."""
        from smsbridge._engine._reconcile import settle_unknown
        from smsbridge.journal._sqlite import SqliteJournal

        if self.provider.capabilities.settle_window is None:
            raise ConfigurationError(f"{self.provider.name} cannot look sends up by key")
        SqliteJournal(journal, read_only=True).close()
        with SqliteJournal(journal) as book:
            return settle_unknown(self.engine, book)

    def close(self) -> None:
        """Close the provider's connections."""
        self.engine.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await self.engine.aclose()

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


class AsyncClient(_Facade):
    """The async facade: the same engine as :class:`Client`, every method awaitable.

    >>> import asyncio
    >>> async def main():
    ...     async with AsyncClient("fake://") as client:
    ...         return (await client.send("hi", "09123456789")).accepted
    >>> asyncio.run(main())
    1
    """

    async def send(
        self,
        message: Message | Template | str,
        recipients: Iterable[str] | str,
        *,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
        skip_invalid: bool = False,
    ) -> SendReport:
        """Send ``message`` to every recipient; one result per input recipient, in order."""
        return await self.engine.asend(
            _message(message, sender, flash, udh, reference), recipients, skip_invalid=skip_invalid
        )

    async def send_bulk(
        self,
        message: Message | Template | str,
        recipients: Iterable[object],
        *,
        journal: str | Path | None = None,
        report: str | Path | ReportWriter | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
        rate_limit: float | None = None,
        resend_unknown: bool = False,
        skip_invalid: bool = True,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> BulkSummary:
        """A campaign through a journal; see :meth:`Client.asend_bulk`."""
        from smsbridge._engine._bulk import run_bulk

        return await run_bulk(
            self.engine,
            _message(message, sender, flash, udh, reference),
            recipients,
            journal=journal,
            report=report,
            on_progress=on_progress,
            rate_limit=rate_limit,
            resend_unknown=resend_unknown,
            skip_invalid=skip_invalid,
        )

    async def delivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """The delivery status of each message id, in order."""
        return await self.engine.adelivery_status(message_ids)

    async def balance(self) -> Balance:
        """The account's credit, in the provider's unit."""
        return await self.engine.abalance()

    async def aclose(self) -> None:
        """Close the provider's connections."""
        await self.engine.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
