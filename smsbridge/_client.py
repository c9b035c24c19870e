"""The facade applications use: one ``Client`` for every provider, sync and async."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import attrs
import structlog

from smsbridge._bulk import BulkProgress, BulkSummary, run_bulk
from smsbridge._models import DeliveryReport, Message, RecipientResult, SendReport
from smsbridge._plugins import PluginHost
from smsbridge._prepare import (
    DuplicatePolicy,
    MessageOptions,
    Prepared,
    check_message,
    coerce_message,
    prepare,
)
from smsbridge._ratelimit import RequestPacer
from smsbridge._report import ReportWriter
from smsbridge._send import (
    BatchTimer,
    OutgoingSend,
    checked_results,
    results_for_error,
    unexpected_error,
)
from smsbridge.config import ProviderURL, url_from_env
from smsbridge.exceptions import ConfigurationError, SmsBridgeError
from smsbridge.phone import DEFAULT_REGION, is_known_region
from smsbridge.provider import BaseProvider
from smsbridge.segments import Segments

__all__ = ["Client"]

_log = structlog.get_logger("smsbridge")

# URL parameters the client takes for itself; the rest of the URL is the provider's.
_CLIENT_PARAMS: Final = ("concurrency", "max_segments", "rate_limit", "region")


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{name} must be a positive whole number, got {value!r}")
    return value


class Client:
    """Send SMS through one provider, named by URL or given as an instance.

    >>> from smsbridge.testing import FakeOutbox
    >>> with Client("fake://") as client:
    ...     report = client.send("Your code is 1234", ["09123456789"])
    >>> report[0].recipient, report[0].status.value
    ('+989123456789', 'accepted')

    :param url: the provider URL; defaults to ``SMSBRIDGE_URL``.
    :param provider: a provider instance, instead of a URL.
    :param region: how local numbers (``0912...``) are read.
    :param max_segments: longer texts are refused before sending.
    :param duplicates: ``"merge"`` sends once to a number given twice and reports it at every
        position (``duplicate_of`` names the first); ``"send_each"`` sends once per occurrence.
    :param concurrency: how many provider requests of one send may run at once.
    :param rate_limit: at most this many provider requests per second (None: no limit).
    :param plugins: extra plugin objects for this client only.
    :param autoload_plugins: load ``smsbridge`` entry points; default unless
        ``SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        provider: BaseProvider | None = None,
        region: str | None = None,
        max_segments: int | None = None,
        duplicates: DuplicatePolicy = "merge",
        concurrency: int | None = None,
        rate_limit: float | None = None,
        plugins: Sequence[object] = (),
        autoload_plugins: bool | None = None,
    ) -> None:
        self.plugins = PluginHost(plugins, autoload=autoload_plugins)
        params: dict[str, str] = {}
        if provider is None:
            url = url if url is not None else url_from_env()
            if url is None:
                raise ConfigurationError(
                    "no provider configured: pass a URL such as 'fake://' or set SMSBRIDGE_URL"
                )
            parsed = ProviderURL.parse(url)
            params = {k: v for k, v in parsed.params.items() if k in _CLIENT_PARAMS}
            parsed = attrs.evolve(
                parsed,
                params={k: v for k, v in parsed.params.items() if k not in _CLIENT_PARAMS},
            )
            url_options = ProviderURL(scheme=parsed.scheme, params=params)
            provider = self.plugins.provider_class(parsed.scheme).from_url(parsed)
            self.plugins.hook.smsbridge_provider_created(provider=provider)
            # "is None", not "or": an explicit 0 must be refused, not replaced by the default.
            if concurrency is None:
                concurrency = url_options.int_param("concurrency", 4)
            if max_segments is None:
                max_segments = url_options.int_param("max_segments", 10)
            region = region or params.get("region")
            if "rate_limit" in params:
                rate_limit = rate_limit or url_options.float_param("rate_limit", 1.0)
        if duplicates not in ("merge", "send_each"):
            raise ConfigurationError(
                f"duplicates must be 'merge' or 'send_each', not {duplicates!r}"
            )
        self.provider = provider
        self.region = (region or DEFAULT_REGION).upper()
        if not is_known_region(self.region):
            raise ConfigurationError(f"unknown region {self.region!r}; use a code such as 'IR'")
        self.max_segments = _positive("max_segments", 10 if max_segments is None else max_segments)
        self.concurrency = _positive("concurrency", 4 if concurrency is None else concurrency)
        self.duplicates: DuplicatePolicy = duplicates
        if rate_limit is not None and (isinstance(rate_limit, bool) or not rate_limit > 0):
            raise ConfigurationError(f"rate_limit must be a positive number, got {rate_limit!r}")
        self.rate_limit = rate_limit
        self._pacer = RequestPacer(rate_limit)

    def __repr__(self) -> str:
        return f"<Client provider={self.provider.name!r}>"

    # -- sending ----------------------------------------------------------------------------

    def _begin(
        self,
        message: Message | str,
        recipients: Iterable[str] | str,
        options: MessageOptions,
    ) -> tuple[OutgoingSend, Segments, Prepared]:
        """Validate everything and run the before-send hooks; no network I/O happens here."""
        msg = coerce_message(message, **options)
        name = self.provider.name
        segments = check_message(msg, self.provider, self.max_segments)
        prepared = prepare(recipients, self.region, self.duplicates)
        outgoing = OutgoingSend(
            message=msg,
            recipients=tuple(prepared.numbers[i] for i in prepared.outgoing),
            provider=name,
        )
        self.plugins.hook.smsbridge_before_send(send=outgoing)
        if not isinstance(outgoing.message, Message):
            raise ConfigurationError(
                "a smsbridge_before_send hook set send.message to a non-Message"
            )
        if outgoing.message is not msg:
            # A hook replaced the message, so the new one is checked too.
            segments = check_message(outgoing.message, self.provider, self.max_segments)
        _log.info(
            "sms_send_started",
            provider=name,
            recipients=len(prepared.numbers),
            unique_recipients=len(outgoing.recipients),
            segments=segments.segments,
            encoding=segments.encoding,
            reference=outgoing.message.reference,
        )
        return outgoing, segments, prepared

    def _batches(
        self, outgoing: OutgoingSend, parts: int
    ) -> tuple[list[RecipientResult | None], list[list[int]]]:
        """Pre-filled results for vetoed recipients, and the positions to send in batches."""
        slots: list[RecipientResult | None] = []
        pending: list[int] = []
        for position, number in enumerate(outgoing.recipients):
            slots.append(outgoing.vetoed_result(number, parts))
            if slots[-1] is None:
                pending.append(position)
        size = self.provider.capabilities.max_batch_size
        return slots, [pending[i : i + size] for i in range(0, len(pending), size)]

    def _finish(
        self,
        outgoing: OutgoingSend,
        prepared: Prepared,
        slots: list[RecipientResult | None],
        started: float,
    ) -> SendReport:
        sent = [slot for slot in slots if slot is not None]
        report = SendReport(prepared.assemble(sent), provider=outgoing.provider)
        _log.info(
            "sms_send_finished",
            provider=outgoing.provider,
            accepted=report.accepted,
            rejected=report.rejected,
            unknown=report.unknown,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            reference=outgoing.message.reference,
        )
        self.plugins.hook.smsbridge_after_send(send=outgoing, report=report)
        return report

    def _settle(
        self, batch: list[str], parts: int, returned: Sequence[RecipientResult] | Exception
    ) -> list[RecipientResult]:
        """One result per recipient of a request, whatever the provider returned or raised."""
        if isinstance(returned, SmsBridgeError):
            return results_for_error(returned, batch, parts)
        if isinstance(returned, Exception):  # a provider bug must not lose recipients
            return results_for_error(unexpected_error(self.provider, returned), batch, parts)
        return checked_results(self.provider, batch, returned, parts)

    def _send_batch(
        self, message: Message, batch: list[str], index: int, parts: int
    ) -> list[RecipientResult]:
        timer = BatchTimer(self.provider.name, index, len(batch))
        returned: Sequence[RecipientResult] | Exception
        try:
            returned = self.provider.send(message, batch)
        except Exception as exc:
            returned = exc
            if not isinstance(exc, SmsBridgeError):
                timer.crashed(exc, batch[0])
        results = self._settle(batch, parts, returned)
        timer.done(results)
        return results

    async def _asend_batch(
        self, message: Message, batch: list[str], index: int, parts: int
    ) -> list[RecipientResult]:
        timer = BatchTimer(self.provider.name, index, len(batch))
        returned: Sequence[RecipientResult] | Exception
        try:
            returned = await self.provider.asend(message, batch)
        except Exception as exc:
            returned = exc
            if not isinstance(exc, SmsBridgeError):
                timer.crashed(exc, batch[0])
        results = self._settle(batch, parts, returned)
        timer.done(results)
        return results

    def send(
        self,
        message: Message | str,
        recipients: Iterable[str] | str,
        *,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> SendReport:
        """Send ``message`` to every recipient; one result per input recipient, in order.

        :raises InvalidInputError: bad text or recipients, before any network I/O.
        """
        started = time.perf_counter()
        options = MessageOptions(sender=sender, flash=flash, udh=udh, reference=reference)
        outgoing, segments, prepared = self._begin(message, recipients, options)
        slots, batches = self._batches(outgoing, segments.segments)
        numbers = outgoing.recipients

        def run(index: int) -> None:
            positions = batches[index]
            batch = [numbers[p] for p in positions]
            self._pacer.wait_blocking()
            results = self._send_batch(outgoing.message, batch, index, segments.segments)
            for position, result in zip(positions, results, strict=True):
                slots[position] = result

        if self.concurrency > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(self.concurrency, len(batches))) as pool:
                list(pool.map(run, range(len(batches))))
        else:
            for index in range(len(batches)):
                run(index)
        return self._finish(outgoing, prepared, slots, started)

    async def asend(
        self,
        message: Message | str,
        recipients: Iterable[str] | str,
        *,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> SendReport:
        """Async twin of :meth:`send`; requests run concurrently up to ``concurrency``."""
        started = time.perf_counter()
        options = MessageOptions(sender=sender, flash=flash, udh=udh, reference=reference)
        outgoing, segments, prepared = self._begin(message, recipients, options)
        slots, batches = self._batches(outgoing, segments.segments)
        numbers = outgoing.recipients
        limit = asyncio.Semaphore(self.concurrency)

        async def run(index: int) -> None:
            positions = batches[index]
            batch = [numbers[p] for p in positions]
            async with limit:
                await self._pacer.wait()
                results = await self._asend_batch(outgoing.message, batch, index, segments.segments)
            for position, result in zip(positions, results, strict=True):
                slots[position] = result

        await asyncio.gather(*(run(index) for index in range(len(batches))))
        return self._finish(outgoing, prepared, slots, started)

    # -- campaigns ---------------------------------------------------------------------------

    async def asend_bulk(
        self,
        message: Message | str,
        recipients: Iterable[object],
        *,
        journal: str | Path | None = None,
        report: str | Path | ReportWriter | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
        rate_limit: float | None = None,
        resend_unknown: bool = False,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> BulkSummary:
        """Send to a stream of recipients of any length, with memory held flat.

        Recipients are read lazily. Invalid ones are reported rejected (category
        ``invalid_recipient``) instead of stopping the send; duplicates are sent once. With
        ``journal`` (a SQLite file), an interrupted send started again with the same file
        resumes: accepted recipients are not sent again, and those whose request was in flight
        are reported ``unknown`` and listed by :meth:`Journal.unknown` rather than re-sent (pass
        ``resend_unknown=True`` to decide otherwise). ``report`` (``.jsonl`` or ``.csv``)
        receives one line per recipient as outcomes arrive.
        """
        msg = coerce_message(
            message, **MessageOptions(sender=sender, flash=flash, udh=udh, reference=reference)
        )
        writer = ReportWriter(report) if isinstance(report, (str, Path)) else report
        try:
            return await run_bulk(
                self,
                msg,
                recipients,
                journal=journal,
                report=writer,
                on_progress=on_progress,
                rate_limit=rate_limit,
                resend_unknown=resend_unknown,
            )
        finally:
            if writer is not None and writer is not report:
                writer.close()

    def send_bulk(
        self,
        message: Message | str,
        recipients: Iterable[object],
        *,
        journal: str | Path | None = None,
        report: str | Path | ReportWriter | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
        rate_limit: float | None = None,
        resend_unknown: bool = False,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
    ) -> BulkSummary:
        """Blocking twin of :meth:`asend_bulk` (runs its own event loop)."""

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
                    sender=sender,
                    flash=flash,
                    udh=udh,
                    reference=reference,
                )
            finally:
                # Async connections belong to this event loop, which ends here.
                await self.provider.aclose()

        return asyncio.run(run())

    # -- delivery status --------------------------------------------------------------------

    def _check_delivery_capability(self) -> None:
        if not self.provider.capabilities.delivery_status:
            raise ConfigurationError(f"{self.provider.name} does not report delivery status")

    def delivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """The delivery status of each message id, in order."""
        self._check_delivery_capability()
        return self.provider.delivery_status(list(message_ids))

    def check_journal_deliveries(self, journal: str | Path) -> dict[str, int]:
        """Check the delivery of every message a bulk send's journal records as accepted.

        The statuses are stored in the journal (``JournalRow.delivery``) and counted.
        """
        from smsbridge._reconcile import check_deliveries
        from smsbridge.journal import Journal

        self._check_delivery_capability()
        with Journal(journal) as book:
            return check_deliveries(self, book)

    async def adelivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """Async twin of :meth:`delivery_status`."""
        self._check_delivery_capability()
        return await self.provider.adelivery_status(list(message_ids))

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the provider's connections."""
        self.provider.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await self.provider.aclose()

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
