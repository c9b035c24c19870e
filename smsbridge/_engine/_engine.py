"""The send engine: prepare, batch, dispatch and settle, for every provider and both APIs.

``Client`` and ``AsyncClient`` are thin facades over one :class:`Engine`; campaigns
(``_bulk``) and delivery reconciliation use the engine directly.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import attrs

from smsbridge import _logging as log
from smsbridge._engine._failover import Attempt, Retry, Route, Router
from smsbridge._engine._outgoing import OutgoingSend
from smsbridge._engine._prepare import Prepared, batch_size, prepare
from smsbridge._models import (
    Balance,
    DeliveryReport,
    DeliveryStatus,
    Message,
    ProviderHealth,
    RecipientResult,
    SendReport,
    Settlement,
    Template,
)
from smsbridge._plugins import PluginHost
from smsbridge.exceptions import ConfigurationError
from smsbridge.provider import Batch

__all__ = ["Engine", "Plan"]

# Normalising more numbers than this off the event loop keeps asend from stalling it.
_OFF_LOOP: Final = 2000


@attrs.frozen
class Plan:
    """A send that passed every check and the before-send hooks; nothing has been sent."""

    outgoing: OutgoingSend
    segments: int
    prepared: Prepared
    started: float


class Engine:
    """Everything between a caller's ``send`` and a provider's request, once.

    Its providers are routes tried in order (one, for most clients); the first one's settings
    are the send's (region, duplicates, concurrency).
    """

    def __init__(self, routes: Sequence[Route], host: PluginHost, retry: Retry) -> None:
        self.router = Router(routes, retry, host)
        self.routes = self.router.routes
        first = self.routes[0]
        self.provider = first.provider
        self.settings = first.settings
        self.dispatcher = first.dispatcher
        self.pacer = first.pacer
        self.host = host
        self.name = ">".join(route.label for route in self.routes)
        """The provider's name; with failover, every provider's, in order (``a>b``)."""
        self._landlines = all(route.provider.capabilities.landlines for route in self.routes)
        self._indexes = itertools.count()

    def health(self) -> list[ProviderHealth]:
        """Each provider's circuit breaker, in order."""
        return [route.health.snapshot() for route in self.routes]

    # -- planning (no I/O) --------------------------------------------------------------------

    def check(self, message: Message | Template) -> int:
        """SMS parts per recipient, or the InvalidInputError that stops the send; the message
        must suit every provider the send may use."""
        parts = self.routes[0].check(message)
        for route in self.routes[1:]:
            route.check(message)
        return parts

    def normalise(self, recipients: Iterable[str] | str, *, skip_invalid: bool = False) -> Prepared:
        """Every recipient in E.164 form (an InvalidRecipientError lists every bad one, unless
        ``skip_invalid`` sets them aside to be reported rejected)."""
        settings = self.settings
        return prepare(
            recipients,
            settings.region,
            settings.duplicates,
            landlines=self._landlines,
            skip_invalid=skip_invalid,
        )

    def plan(self, message: Message | Template, prepared: Prepared) -> Plan:
        """Check the message, run the before-send hooks, and log the start."""
        started = time.perf_counter()
        segments = self.check(message)
        outgoing = OutgoingSend(
            message=message,
            recipients=tuple(prepared.numbers[i] for i in prepared.outgoing),
            provider=self.name,
        )
        self.host.before_send(outgoing)
        if outgoing.message is not message:
            # A hook replaced the message, so the new one is checked too.
            segments = self.check(outgoing.message)
        log.info(
            "sms_send_started",
            provider=self.name,
            recipients=len(prepared.numbers),
            unique_recipients=len(outgoing.recipients),
            segments=segments,
            template=isinstance(outgoing.message, Template),
            reference=outgoing.message.reference,
        )
        return Plan(outgoing=outgoing, segments=segments, prepared=prepared, started=started)

    @staticmethod
    def keys_for(message: Message | Template, numbers: Sequence[str]) -> tuple[str, ...] | None:
        """Stable per-recipient keys from the caller's reference (None without one)."""
        if message.reference is None:
            return None
        return tuple(f"{message.reference}:{number}" for number in numbers)

    def _batches(self, plan: Plan) -> tuple[list[RecipientResult | None], list[list[int]]]:
        """Pre-filled results for vetoed recipients, and the positions to send in batches."""
        outgoing = plan.outgoing
        slots: list[RecipientResult | None] = [None] * len(outgoing.recipients)
        pending: list[int] = []
        if outgoing.veto_reason is None and not outgoing.rejections:
            pending = list(range(len(outgoing.recipients)))  # no hook stopped anyone
        else:
            for position, number in enumerate(outgoing.recipients):
                slots[position] = outgoing.vetoed_result(number, plan.segments)
                if slots[position] is None:
                    pending.append(position)
        size = batch_size(plan.outgoing.message, self.provider)
        return slots, [pending[i : i + size] for i in range(0, len(pending), size)]

    def batch(self, plan: Plan, positions: Sequence[int]) -> Batch:
        """The batch for some positions of a plan's unique recipients."""
        numbers = tuple(plan.outgoing.recipients[p] for p in positions)
        return Batch(
            message=plan.outgoing.message,
            recipients=numbers,
            segments=plan.segments,
            keys=self.keys_for(plan.outgoing.message, numbers),
        )

    def finish(self, plan: Plan, slots: Sequence[RecipientResult | None]) -> SendReport:
        """The report, in input order; logs the end and runs the after-send hooks."""
        sent = [slot for slot in slots if slot is not None]
        report = SendReport(plan.prepared.assemble(sent), provider=self.name)
        log.info(
            "sms_send_finished",
            provider=self.name,
            accepted=report.accepted,
            rejected=report.rejected,
            unknown=report.unknown,
            duration_ms=round((time.perf_counter() - plan.started) * 1000, 2),
            reference=plan.outgoing.message.reference,
        )
        self.host.after_send(plan.outgoing, report)
        return report

    # -- dispatching ---------------------------------------------------------------------------

    def dispatch(
        self, batch: Batch, *, permit: Callable[[Route, Batch], None] | None = None
    ) -> list[RecipientResult]:
        """Send one batch, blocking: each request after its provider's rate limit allows it,
        retried and failed over as the policy says.

        :param permit: called before every request but the first (a retry, a failover), with
            its provider and batch: a caller holding a limit of its own for the first request
            (a distributed campaign's global one) takes one for each further request there.
        """
        steps = self.router.steps(batch)
        outcome = None
        first = True
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if not isinstance(step, Attempt):
                time.sleep(step.seconds)
                outcome = None
                continue
            route = step.route
            if permit is not None and not first:
                permit(route, step.batch)
            first = False
            route.pacer.wait_blocking()
            began = time.perf_counter()
            results = route.dispatcher.send(step.batch, next(self._indexes))
            outcome = (results, time.perf_counter() - began)

    async def adispatch(self, batch: Batch) -> list[RecipientResult]:
        """Async twin of :meth:`dispatch`."""
        steps = self.router.steps(batch)
        outcome = None
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if not isinstance(step, Attempt):
                await asyncio.sleep(step.seconds)
                outcome = None
                continue
            route = step.route
            await route.pacer.wait()
            began = time.perf_counter()
            results = await route.dispatcher.asend(step.batch, next(self._indexes))
            outcome = (results, time.perf_counter() - began)

    def send(
        self,
        message: Message | Template,
        recipients: Iterable[str] | str,
        *,
        skip_invalid: bool = False,
    ) -> SendReport:
        """Validate, send every batch (``concurrency`` threads), and report."""
        plan = self.plan(message, self.normalise(recipients, skip_invalid=skip_invalid))
        slots, batches = self._batches(plan)

        def run(positions: list[int]) -> None:
            for position, result in zip(
                positions, self.dispatch(self.batch(plan, positions)), strict=True
            ):
                slots[position] = result

        workers = min(self.settings.concurrency, len(batches))
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="smsbridge-send") as pool:
                list(pool.map(run, batches))
        else:
            for positions in batches:
                run(positions)
        return self.finish(plan, slots)

    async def asend(
        self,
        message: Message | Template,
        recipients: Iterable[str] | str,
        *,
        skip_invalid: bool = False,
    ) -> SendReport:
        """Async twin of :meth:`send`: batches run concurrently up to ``concurrency``."""
        listed = [recipients] if isinstance(recipients, str) else list(recipients)
        if len(listed) > _OFF_LOOP:
            prepared = await asyncio.to_thread(self.normalise, listed, skip_invalid=skip_invalid)
        else:
            prepared = self.normalise(listed, skip_invalid=skip_invalid)
        plan = self.plan(message, prepared)
        slots, batches = self._batches(plan)
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def run(positions: list[int]) -> None:
            async with limit:
                results = await self.adispatch(self.batch(plan, positions))
            for position, result in zip(positions, results, strict=True):
                slots[position] = result

        await asyncio.gather(*(run(positions) for positions in batches))
        return self.finish(plan, slots)

    # -- delivery status and balance ------------------------------------------------------------

    def _route(self, provider: str | None, capability: str, what: str) -> Route:
        route = self.router.route(provider)
        if not getattr(route.provider.capabilities, capability):
            raise ConfigurationError(f"{route.label} does not report {what}")
        return route

    @staticmethod
    def _chunks(route: Route, items: Sequence[str]) -> list[list[str]]:
        size = route.provider.capabilities.max_delivery_batch
        listed = list(items)
        return [listed[i : i + size] for i in range(0, len(listed), size)]

    @staticmethod
    def _delivery_chunk(route: Route, chunk: list[str], response: object) -> list[DeliveryReport]:
        reports = route.dispatcher.parsed(route.provider.delivery_from, response, chunk)
        by_id = {report.message_id: report for report in reports}
        # One report per id asked, in order, whatever the provider returned.
        return [
            by_id.get(mid) or DeliveryReport(message_id=mid, status=DeliveryStatus.UNKNOWN)
            for mid in chunk
        ]

    def delivery_status(
        self, message_ids: Sequence[str], provider: str | None = None
    ) -> list[DeliveryReport]:
        """The delivery status of each message id, in order (asked of ``provider``, by default
        the first)."""
        route = self._route(provider, "delivery_status", "delivery status")
        reports: list[DeliveryReport] = []
        for chunk in self._chunks(route, message_ids):
            request = route.provider.delivery_request_for(chunk)
            response = None if request is None else route.dispatcher.query(request)
            reports.extend(self._delivery_chunk(route, chunk, response))
        return reports

    async def adelivery_status(
        self, message_ids: Sequence[str], provider: str | None = None
    ) -> list[DeliveryReport]:
        """Async twin of :meth:`delivery_status`."""
        route = self._route(provider, "delivery_status", "delivery status")
        reports: list[DeliveryReport] = []
        for chunk in self._chunks(route, message_ids):
            request = route.provider.delivery_request_for(chunk)
            response = None if request is None else await route.dispatcher.aquery(request)
            reports.extend(self._delivery_chunk(route, chunk, response))
        return reports

    def settle(self, keys: Sequence[str], provider: str | None = None) -> list[Settlement]:
        """What became of the sends made under ``keys`` (one settlement each, in order)."""
        route = self.router.route(provider)
        if route.provider.capabilities.settle_window is None:
            raise ConfigurationError(f"{route.label} cannot look sends up by key")
        settlements: list[Settlement] = []
        for chunk in self._chunks(route, keys):
            request = route.provider.settle_request_for(chunk)
            response = None if request is None else route.dispatcher.query(request)
            found = route.dispatcher.parsed(route.provider.settled_from, response, chunk)
            by_key = {settlement.key: settlement for settlement in found}
            settlements.extend(by_key.get(key) or Settlement(key=key, sent=None) for key in chunk)
        return settlements

    def balance(self, provider: str | None = None) -> Balance:
        """The account's credit (``provider``'s, by default the first's)."""
        route = self._route(provider, "balance", "its balance")
        response = route.dispatcher.query(route.provider.balance_request_for())
        return route.dispatcher.parsed(route.provider.balance_from, response)

    async def abalance(self, provider: str | None = None) -> Balance:
        """Async twin of :meth:`balance`."""
        route = self._route(provider, "balance", "its balance")
        response = await route.dispatcher.aquery(route.provider.balance_request_for())
        return route.dispatcher.parsed(route.provider.balance_from, response)

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close connections and the providers."""
        for route in self.routes:
            route.dispatcher.close()
            route.provider.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        for route in self.routes:
            await route.dispatcher.aclose()
            await route.provider.aclose()
