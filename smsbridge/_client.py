"""The facades applications use: ``Client`` (blocking, with async twins) and ``AsyncClient``.

Both are thin: they build an :class:`~smsbridge._engine._engine.Engine` from a URL or a
provider instance and forward every call to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs

from smsbridge import _intercept
from smsbridge._boundary import public_async_errors, public_errors
from smsbridge._engine._engine import Engine
from smsbridge._engine._failover import Retry, labels_for, make_route
from smsbridge._engine._health import Breaker
from smsbridge._engine._prepare import MessageOptions, coerce_message
from smsbridge._engine._settings import URL_PARAMS, DuplicatePolicy, Settings
from smsbridge._models import (
    Balance,
    DeliveryReport,
    Message,
    ProviderHealth,
    SendReport,
    Template,
)
from smsbridge._plugins import PluginHost
from smsbridge.config import ProviderURL, url_from_env
from smsbridge.exceptions import ConfigurationError
from smsbridge.provider import BaseProvider

if TYPE_CHECKING:
    from smsbridge._engine._bulk import BulkProgress, BulkSummary
    from smsbridge._report import ReportWriter
    from smsbridge.transport import AsyncBaseTransport, BaseTransport

__all__ = ["AsyncClient", "Client"]


ProviderSpec = str | BaseProvider
"""A provider URL or a provider instance."""

TemplateIds = Mapping[str, Mapping[str, str | Callable[[Template], Template]]]
"""For each template id, each provider's own id for it (or a function building its template)."""

_TEMPLATE_PARAM = "template."


def _specs(
    url: ProviderSpec | Sequence[ProviderSpec] | None, provider: BaseProvider | None
) -> list[object]:
    """The providers asked for, in order: ``provider``, else ``url`` (one or a list), else
    ``SMSBRIDGE_URL`` (one URL, or several separated by spaces)."""
    if provider is not None:
        if url is not None:
            raise ConfigurationError("give a URL or a provider instance, not both")
        return [provider]
    if url is None:
        url = url_from_env()
        if url is not None:
            return list(url.split())
        raise ConfigurationError(
            "no provider configured: pass a URL such as 'fake://' or set SMSBRIDGE_URL"
        )
    if isinstance(url, str | BaseProvider):  # one URL, or one provider given first
        return [url]
    specs: list[object] = list(url)
    if not specs:
        raise ConfigurationError("the list of providers is empty")
    return specs


def _provider_from_url(
    url: str, host: PluginHost
) -> tuple[BaseProvider, dict[str, str], dict[str, str]]:
    """A provider from its URL, with the engine's and the template parameters taken out."""
    parsed = ProviderURL.parse(url)
    params = {k: v for k, v in parsed.params.items() if k in URL_PARAMS}
    templates = {
        k[len(_TEMPLATE_PARAM) :]: v
        for k, v in parsed.params.items()
        if k.startswith(_TEMPLATE_PARAM)
    }
    own = attrs.evolve(
        parsed,
        params={
            k: v
            for k, v in parsed.params.items()
            if k not in URL_PARAMS and not k.startswith(_TEMPLATE_PARAM)
        },
    )
    provider = host.provider_class(parsed.scheme).from_url(own)
    host.provider_created(provider)
    # Test tooling may stand in for a provider configured by URL (never for an instance the
    # caller built and passed in: that is already the caller's explicit choice).
    return _intercept.provider_for(provider, str(parsed)), params, templates


def _build_engine(  # noqa: PLR0917 - private, called once
    url: ProviderSpec | Sequence[ProviderSpec] | None,
    provider: BaseProvider | None,
    plugins: Sequence[object],
    autoload_plugins: bool | None,
    transport: tuple[BaseTransport, AsyncBaseTransport] | None,
    options: dict[str, Any],
    failover: tuple[Retry | None, Breaker | None, TemplateIds | None],
) -> Engine:
    host = PluginHost(plugins, autoload=autoload_plugins)
    built: list[tuple[BaseProvider, dict[str, str], dict[str, str]]] = []
    for spec in _specs(url, provider):
        if isinstance(spec, str):
            built.append(_provider_from_url(spec, host))
        elif isinstance(spec, BaseProvider):
            built.append((spec, {}, {}))
        else:
            raise ConfigurationError(
                f"a provider must be a URL or a BaseProvider, not {type(spec).__name__}"
            )
    if transport is not None and len(built) > 1:
        raise ConfigurationError("a transport can be given only to a client of one provider")
    retry, breaker, templates = failover
    labels = labels_for([entry[0] for entry in built])
    unknown = sorted({label for ids in (templates or {}).values() for label in ids} - set(labels))
    if unknown:
        raise ConfigurationError(
            f"templates name {', '.join(map(repr, unknown))}, which this client does not have "
            f"(it has {', '.join(labels)})"
        )
    routes = []
    for label, (instance, params, from_url) in zip(labels, built, strict=True):
        own: dict[str, str | Callable[[Template], Template]] = dict(from_url)
        for template_id, ids in (templates or {}).items():
            if label in ids:
                own[template_id] = ids[label]
        routes.append(
            make_route(
                label,
                instance,
                Settings.build(params, **options),
                host,
                breaker or Breaker(),
                templates=own,
                transports=transport,
            )
        )
    return Engine(routes, host, retry or Retry())


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
        url: ProviderSpec | Sequence[ProviderSpec] | None = None,
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
        retry: Retry | None = None,
        breaker: Breaker | None = None,
        templates: TemplateIds | None = None,
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
            (retry, breaker, templates),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.engine.name!r}>"

    @property
    def provider(self) -> BaseProvider:
        """The provider every send goes through (with failover, the first one)."""
        return self.engine.provider

    @property
    def providers(self) -> dict[str, BaseProvider]:
        """Every provider, by its name in this client (``melipayamak#2`` for a second one), in
        the order they are tried."""
        return {route.label: route.provider for route in self.engine.routes}

    def health(self) -> list[ProviderHealth]:
        """Each provider's circuit breaker (closed, open or half-open), in order."""
        return self.engine.health()

    @property
    def retry(self) -> Retry:
        """How a provider is tried again after a retryable not-sent outcome; may be replaced
        (``client.retry = Retry(attempts=1)``), taking effect for the next batch."""
        return self.engine.router.retry

    @retry.setter
    def retry(self, policy: Retry) -> None:
        if not isinstance(policy, Retry):
            raise ConfigurationError(f"retry must be a Retry, not {type(policy).__name__}")
        self.engine.router.retry = policy

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


def _check_campaign_rate(settings: Settings, rate_limit: float | None) -> None:
    """A campaign's own rate limit is checked as the client's is, before anything is opened."""
    if rate_limit is not None:
        attrs.evolve(settings, rate_limit=rate_limit)


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

    @public_errors
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

    @public_async_errors
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

    @public_async_errors
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

        _check_campaign_rate(self.settings, rate_limit)
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

    @public_errors
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
                for route in self.engine.routes:
                    await route.dispatcher.aclose()

        return asyncio.run(run())

    @public_errors
    def delivery_status(
        self, message_ids: Sequence[str], *, provider: str | None = None
    ) -> list[DeliveryReport]:
        """The delivery status of each message id, in order.

        :param provider: with several providers, the one that accepted them (a result's
            ``provider``); by default the first.
        """
        return self.engine.delivery_status(message_ids, provider)

    @public_async_errors
    async def adelivery_status(
        self, message_ids: Sequence[str], *, provider: str | None = None
    ) -> list[DeliveryReport]:
        """Async twin of :meth:`delivery_status`."""
        return await self.engine.adelivery_status(message_ids, provider)

    @public_errors
    def balance(self, *, provider: str | None = None) -> Balance:
        """The account's credit, in the provider's unit (messages or rials).

        :param provider: with several providers, whose (by name); by default the first's.
        """
        return self.engine.balance(provider)

    @public_async_errors
    async def abalance(self, *, provider: str | None = None) -> Balance:
        """Async twin of :meth:`balance`."""
        return await self.engine.abalance(provider)

    @public_errors
    def check_journal_deliveries(self, journal: str | Path) -> dict[str, int]:
        """Check the delivery of every message a campaign's journal records as accepted; the
        statuses are stored in the journal and counted."""
        from smsbridge._engine._reconcile import check_deliveries
        from smsbridge.journal._sqlite import SqliteJournal

        if not any(p.capabilities.delivery_status for p in self.providers.values()):
            raise ConfigurationError(f"{self.engine.name} does not report delivery status")
        # Checked read-only first, so a file that is not a journal is refused untouched.
        SqliteJournal(journal, read_only=True).close()
        with SqliteJournal(journal) as book:
            return check_deliveries(self.engine, book)

    @public_errors
    def settle_journal(self, journal: str | Path) -> dict[str, int]:
        """Ask the provider what became of a campaign's unknown rows (where it can look sends up
        by key, within its window): ``accepted`` ones get their message id, ``not_sent`` ones
        are sent when the campaign resumes, the rest stay ``unknown``."""
        from smsbridge._engine._reconcile import settle_unknown
        from smsbridge.journal._sqlite import SqliteJournal

        if all(p.capabilities.settle_window is None for p in self.providers.values()):
            raise ConfigurationError(f"{self.engine.name} cannot look sends up by key")
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

    @public_async_errors
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

    @public_async_errors
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

        _check_campaign_rate(self.settings, rate_limit)
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

    @public_async_errors
    async def delivery_status(
        self, message_ids: Sequence[str], *, provider: str | None = None
    ) -> list[DeliveryReport]:
        """The delivery status of each message id, in order (see :meth:`Client.delivery_status`)."""
        return await self.engine.adelivery_status(message_ids, provider)

    @public_async_errors
    async def balance(self, *, provider: str | None = None) -> Balance:
        """The account's credit, in the provider's unit (see :meth:`Client.balance`)."""
        return await self.engine.abalance(provider)

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
