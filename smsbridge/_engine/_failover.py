"""Retries and failover: where a batch's recipients go next, and when.

Written once, without I/O, as a generator of steps that the blocking, async and campaign
drivers run: an :class:`Attempt` to carry, a :class:`Pause` to sleep through. The policy is the
taxonomy's. A recipient moves to the next provider only when it was definitely not sent and
the provider was the cause (``ErrorCategory.fails_over``); the same provider is tried again
only for a cause it calls retryable; nothing that may have been sent is ever tried again.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import attrs

from smsbridge import _logging as log
from smsbridge._engine._dispatch import Dispatcher
from smsbridge._engine._health import Breaker, Health
from smsbridge._engine._pacer import RequestPacer
from smsbridge._engine._prepare import batch_size, check_message
from smsbridge._engine._settings import Settings
from smsbridge._models import AttemptReport, Failover, RecipientResult, SendStatus, Template
from smsbridge.exceptions import ConfigurationError, ErrorCategory, InvalidInputError

if TYPE_CHECKING:
    from smsbridge._models import Message
    from smsbridge._plugins import PluginHost
    from smsbridge.provider import BaseProvider, Batch
    from smsbridge.transport import AsyncBaseTransport, BaseTransport

__all__ = [
    "Attempt",
    "AttemptReport",
    "Failover",
    "Pause",
    "Retry",
    "Route",
    "Router",
    "TemplateMap",
    "labels_for",
    "make_route",
]

TemplateMap = Mapping[str, str | Callable[[Template], Template]]
"""A provider's own id for each template id (or a function building its template)."""

_MAX_ATTEMPTS: Final = 20


def _positive(name: str, *, zero: bool = False) -> Callable[[object, object, object], None]:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigurationError(f"{name} must be a number, got {value!r}")
        if value < 0 or (value == 0 and not zero) or math.isinf(value):
            raise ConfigurationError(f"{name} must be a positive finite number, got {value!r}")

    return check


def _attempts(_instance: object, _attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_ATTEMPTS:
        raise ConfigurationError(
            f"attempts must be a whole number from 1 (no retries) to {_MAX_ATTEMPTS}, got {value!r}"
        )


def _fraction(_instance: object, _attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigurationError(f"jitter must be a number from 0 to 1, got {value!r}")


@attrs.frozen(kw_only=True)
class Retry:
    """How one provider is tried again after a retryable not-sent outcome.

    Only a recipient the provider definitely did not take, for a cause it calls retryable
    (unavailable, a connection refused), is retried; an outcome that may have been sent never
    is.

    :param attempts: tries of one provider, the first included (1: no retries; default 3).
    :param backoff: seconds before the first retry (default 0.5); doubled for each next one.
    :param max_backoff: the longest pause between two tries (default 8).
    :param jitter: each pause is shortened by a random share of up to this much (default 0.5),
        so clients that failed together do not all come back together.
    :param deadline: seconds from a batch's first request after which no retry or failover
        starts (default 60); the recipients left keep their last outcome.
    """

    attempts: int = attrs.field(default=3, validator=_attempts)
    backoff: float = attrs.field(default=0.5, validator=_positive("backoff", zero=True))
    max_backoff: float = attrs.field(default=8.0, validator=_positive("max_backoff", zero=True))
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    deadline: float = attrs.field(default=60.0, validator=_positive("deadline"))

    def pause(self, retry: int, draw: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first)."""
        full = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return float(full * (1 - self.jitter * draw()))


@attrs.frozen
class Attempt:
    """A step: carry ``batch`` through ``route`` and send back ``(results, seconds)``."""

    route: Route
    batch: Batch


@attrs.frozen
class Pause:
    """A step: sleep this many seconds, then send back None."""

    seconds: float


Step = Attempt | Pause
Outcome = tuple[list[RecipientResult], float] | None
Steps = Generator[Step, Outcome, list[RecipientResult]]


@attrs.define(eq=False)
class Route:
    """One provider of a client: how it is reached, paced, judged and how it names templates."""

    label: str
    provider: BaseProvider
    settings: Settings
    dispatcher: Dispatcher
    pacer: RequestPacer
    health: Health
    templates: TemplateMap = attrs.field(factory=dict)

    def message_for(self, message: Message | Template) -> Message | Template:
        """The message as this provider takes it (a template under the provider's own id)."""
        if not isinstance(message, Template) or message.id not in self.templates:
            return message
        mapped = self.templates[message.id]
        if isinstance(mapped, str):
            return attrs.evolve(message, id=mapped)
        built = mapped(message)
        if not isinstance(built, Template):
            raise ConfigurationError(
                f"the template mapping for {message.id!r} on {self.label} returned "
                f"{type(built).__name__}, not a Template"
            )
        return built

    def check(self, message: Message | Template) -> int:
        """Parts per recipient on this provider, or the InvalidInputError that refuses it."""
        own = self.message_for(message)
        try:
            return check_message(own, self.provider, self.settings.max_segments)
        except InvalidInputError as error:
            if own is message and self.label == self.provider.name:
                raise
            raise type(error)(f"{self.label}: {error.message}", provider=self.label) from None


def labels_for(providers: Sequence[BaseProvider]) -> list[str]:
    """Each provider's name in its client: its own, then ``#2``, ``#3`` for repeats."""
    seen: dict[str, int] = {}
    labels = []
    for provider in providers:
        seen[provider.name] = seen.get(provider.name, 0) + 1
        count = seen[provider.name]
        labels.append(provider.name if count == 1 else f"{provider.name}#{count}")
    return labels


def make_route(
    label: str,
    provider: BaseProvider,
    settings: Settings,
    host: PluginHost,
    breaker: Breaker,
    *,
    templates: TemplateMap | None = None,
    transports: tuple[BaseTransport, AsyncBaseTransport] | None = None,
) -> Route:
    """A route with its own connections, rate limit and breaker."""
    return Route(
        label=label,
        provider=provider,
        settings=settings,
        dispatcher=Dispatcher(provider, settings, transports, name=label),
        pacer=RequestPacer(settings.rate_limit),
        health=Health(label, breaker, host.provider_health),
        templates=dict(templates or {}),
    )


def _none_gave_up(results: list[RecipientResult]) -> bool:
    """No recipient to retry or move on (the healthy path checks this for every batch)."""
    statuses = [result.status for result in results]
    if statuses.count(SendStatus.REJECTED) == 0:
        return True
    return not any(map(_gave_up, results))


def _gave_up(result: RecipientResult) -> bool:
    """Definitely not sent, and the provider's doing: another provider may send it."""
    error = result.error
    return result.status is SendStatus.REJECTED and error is not None and error.category.fails_over


class Router:
    """The routes of one client, tried in order for each batch under one retry policy."""

    def __init__(
        self,
        routes: Sequence[Route],
        retry: Retry,
        host: PluginHost,
        *,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if not routes:
            raise ConfigurationError("a client needs at least one provider")
        self.routes = tuple(routes)
        self.retry = retry
        self.host = host
        self.clock = clock
        self.draw = draw
        self.by_label = {route.label: route for route in self.routes}
        if len(self.routes) == 1:
            self.routes[0].health.alone = True

    def route(self, label: str | None) -> Route:
        """The route named ``label``; the first one for None."""
        if label is None:
            return self.routes[0]
        try:
            return self.by_label[label]
        except KeyError:
            names = ", ".join(self.by_label)
            raise ConfigurationError(
                f"no provider {label!r} in this client (it has {names})"
            ) from None

    def _candidates(self) -> Generator[Route, None, None]:
        """Routes to try, in order: those their breaker lets through, or, when it lets none,
        the one whose cool-down ends first (never refusing without trying)."""
        admitted = False
        for route in self.routes:
            if route.health.admits():
                admitted = True
                yield route
        if not admitted:
            yield min(self.routes, key=lambda route: route.health.reopens_at())

    def _parts(
        self, route: Route, batch: Batch, indexes: list[int]
    ) -> list[tuple[list[int], Batch]]:
        """``batch``'s recipients at ``indexes`` as ``route`` takes them, in its batch size."""
        message = route.message_for(batch.message)
        if (
            message is batch.message
            and route is self.routes[0]
            and len(indexes) == len(batch.recipients)
        ):
            return [(indexes, batch)]  # the first try on the first provider: as planned
        segments = batch.segments if message is batch.message else route.check(message)
        size = batch_size(message, route.provider)
        parts = []
        for start in range(0, len(indexes), size):
            chosen = indexes[start : start + size]
            part = attrs.evolve(
                batch,
                message=message,
                recipients=tuple(batch.recipients[i] for i in chosen),
                segments=segments,
                keys=None if batch.keys is None else tuple(batch.keys[i] for i in chosen),
            )
            parts.append((chosen, part))
        return parts

    def steps(self, batch: Batch) -> Steps:
        """The attempts and pauses that settle every recipient of ``batch``; returns their
        results in order."""
        count = len(batch.recipients)
        final: list[RecipientResult | None] = [None] * count
        tries = [0] * count
        last: dict[int, RecipientResult] = {}
        waiting = list(range(count))
        started = self.clock()
        previous: Route | None = None
        deadline = self.retry.deadline
        candidates = self._candidates()
        while waiting:
            if previous is not None and self.clock() - started >= deadline:
                break
            route = next(candidates, None)
            if route is None:
                break
            if previous is not None:
                self._failover(previous, route, batch, waiting, last)
            moving: list[int] = []
            number = 0
            while True:
                number += 1
                retrying: list[int] = []
                for indexes, part in self._parts(route, batch, waiting):
                    outcome = yield Attempt(route, part)
                    results, seconds = outcome or ([], 0.0)
                    route.health.record(results)
                    self.host.attempt(
                        AttemptReport(route.label, number, part.recipients, tuple(results), seconds)
                    )
                    if part is batch and number == 1 and _none_gave_up(results):
                        return results  # the healthy path: the whole batch settled at once
                    for index, result in zip(indexes, results, strict=True):
                        tries[index] += 1
                        if not _gave_up(result):
                            final[index] = _with_attempts(result, tries[index])
                        else:
                            last[index] = result
                            retryable = result.error is not None and result.error.retryable
                            (retrying if retryable else moving).append(index)
                if retrying and self._may_retry(route, number, started):
                    pause = self.retry.pause(number, self.draw)
                    log.info(
                        "sms_retry",
                        provider=route.label,
                        attempt=number + 1,
                        recipients=len(retrying),
                        pause_s=round(pause, 3),
                        reason=_reason(last[retrying[0]]),
                    )
                    yield Pause(pause)
                    waiting = retrying
                    continue
                moving.extend(retrying)
                break
            waiting = sorted(moving)
            previous = route
        for index in waiting:
            final[index] = _with_attempts(last[index], tries[index])
        return [result for result in final if result is not None]

    def _may_retry(self, route: Route, number: int, started: float) -> bool:
        if number >= self.retry.attempts or not route.health.usable():
            return False
        pause = self.retry.pause(number, lambda: 0.0)  # the longest it may be
        return self.clock() - started + pause < self.retry.deadline

    def _failover(
        self,
        previous: Route,
        route: Route,
        batch: Batch,
        waiting: list[int],
        last: Mapping[int, RecipientResult],
    ) -> None:
        error = last[waiting[0]].error
        reason = error.category if error is not None else ErrorCategory.UNEXPECTED
        log.warning(
            "sms_failover",
            provider=previous.label,
            to=route.label,
            recipients=len(waiting),
            reason=reason.value,
        )
        self.host.failover(
            Failover(
                from_provider=previous.label,
                to_provider=route.label,
                recipients=tuple(batch.recipients[i] for i in waiting),
                reason=reason,
            )
        )


def _with_attempts(result: RecipientResult, attempts: int) -> RecipientResult:
    return result if result.attempts == attempts else attrs.evolve(result, attempts=attempts)


def _reason(result: RecipientResult) -> str:
    return result.error.category.value if result.error is not None else "unknown"
