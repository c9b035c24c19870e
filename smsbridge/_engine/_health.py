"""A circuit breaker per provider: skipped for a cool-down after repeated failures, then probed.

Shared by every send of one client (threads of a blocking send, tasks of an async one), so
its state changes under a lock; the healthy path reads two attributes and takes no lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from smsbridge import _logging as log
from smsbridge._models import CircuitState, ProviderHealth, RecipientResult, SendStatus
from smsbridge.exceptions import ConfigurationError, ErrorCategory

__all__ = ["Breaker", "CircuitState", "Health", "ProviderHealth"]

# The provider is down or misbehaving: counted towards the threshold.
_FAILURES: Final = frozenset({ErrorCategory.PROVIDER_UNAVAILABLE, ErrorCategory.OUTCOME_UNKNOWN})
# The account cannot send until a person acts (tops up, fixes the key): skipped at once.
_ACCOUNT: Final = frozenset(
    {
        ErrorCategory.INSUFFICIENT_CREDIT,
        ErrorCategory.AUTHENTICATION,
        ErrorCategory.ACCOUNT_RESTRICTED,
    }
)


def _check(name: str, value: object, *, whole: bool) -> None:
    kinds = int if whole else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not 0 < value < float("inf"):
        kind = "whole number" if whole else "finite number"
        raise ConfigurationError(f"{name} must be a positive {kind}, got {value!r}")


@attrs.frozen(kw_only=True)
class Breaker:
    """When a client stops sending to a provider for a while.

    :param threshold: requests in a row that found the provider unavailable (or lost their
        reply) before it is skipped (default 5). An account that cannot send (no credit, a
        bad key, restricted) is skipped at once.
    :param cooldown: seconds it is skipped for (default 30); then one request probes it.
    """

    threshold: int = attrs.field(default=5)
    cooldown: float = attrs.field(default=30.0)

    def __attrs_post_init__(self) -> None:
        _check("threshold", self.threshold, whole=True)
        _check("cooldown", self.cooldown, whole=False)


class Health:
    """The breaker of one provider in one client."""

    def __init__(
        self,
        label: str,
        breaker: Breaker,
        notify: Callable[[ProviderHealth, CircuitState], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.breaker = breaker
        self._notify = notify
        self._clock = clock
        self.state = CircuitState.CLOSED
        self.failures = 0
        self.reason: ErrorCategory | None = None
        self._until = 0.0
        self._probing = False
        self._lock = threading.Lock()
        self.alone = False
        """The client's only provider: nothing is skipped, so a change is logged at INFO."""

    def snapshot(self) -> ProviderHealth:
        """The breaker as it is now."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> ProviderHealth:
        retry_in = None
        if self.state is CircuitState.OPEN:
            retry_in = max(0.0, round(self._until - self._clock(), 3))
        return ProviderHealth(self.label, self.state, self.failures, self.reason, retry_in)

    def admits(self) -> bool:
        """Whether a request may go to this provider now (claiming the probe when due)."""
        if self.state is CircuitState.CLOSED:
            return True
        with self._lock:
            if self.state is CircuitState.OPEN and self._clock() >= self._until:
                changed = self._move(CircuitState.HALF_OPEN)
            else:
                changed = None
            allowed = self.state is CircuitState.HALF_OPEN and not self._probing
            if allowed:
                self._probing = True
        self._tell(changed)
        return allowed

    def usable(self) -> bool:
        """Whether a retry may go to this provider (its breaker is not open)."""
        return self.state is not CircuitState.OPEN

    def reopens_at(self) -> float:
        """When an open breaker lets a probe through (now, unless open)."""
        return self._until if self.state is CircuitState.OPEN else 0.0

    def record(self, results: Sequence[RecipientResult]) -> None:
        """Judge one request by its results."""
        verdict = _verdict(results)
        if verdict is None and self.failures == 0 and self.state is CircuitState.CLOSED:
            return  # the healthy path
        with self._lock:
            changed = self._judge(verdict)
        self._tell(changed)

    def _judge(self, verdict: tuple[ErrorCategory, bool] | None) -> CircuitState | None:
        """The state left behind when the state changes (None when it does not)."""
        if verdict is None:
            self.failures = 0
            self._probing = False
            return self._move(CircuitState.CLOSED)
        category, at_once = verdict
        if category not in _FAILURES and category not in _ACCOUNT:
            # Neither healthy nor failing (refused before any I/O): a probe is given back.
            self._probing = False
            return None
        self.failures += 1
        self.reason = category
        self._probing = False
        if (
            at_once
            or self.state is CircuitState.HALF_OPEN
            or self.failures >= self.breaker.threshold
        ):
            self._until = self._clock() + self.breaker.cooldown
            return self._move(CircuitState.OPEN)
        return None

    def _move(self, state: CircuitState) -> CircuitState | None:
        previous, self.state = self.state, state
        return None if previous is state else previous

    def _tell(self, previous: CircuitState | None) -> None:
        if previous is None:
            return
        now = self.snapshot()
        emit = log.info if now.state is CircuitState.CLOSED or self.alone else log.warning
        emit(
            "sms_provider_health",
            provider=self.label,
            state=now.state.value,
            previous=previous.value,
            failures=now.failures,
            reason=None if now.reason is None else now.reason.value,
            retry_in_s=now.retry_in,
        )
        self._notify(now, previous)


def _verdict(results: Sequence[RecipientResult]) -> tuple[ErrorCategory, bool] | None:
    """None when the provider answered as a healthy one does; else the failure's category and
    whether it skips the provider at once (CONFIGURATION: refused before any I/O, neutral)."""
    if not results or results[0].status is SendStatus.ACCEPTED:
        return None
    if any(result.status is SendStatus.ACCEPTED for result in results):
        return None
    categories = {result.error.category for result in results if result.error is not None}
    for category in _ACCOUNT:
        if category in categories:
            return category, True
    if categories and categories <= _FAILURES:
        if ErrorCategory.PROVIDER_UNAVAILABLE in categories:
            return ErrorCategory.PROVIDER_UNAVAILABLE, False
        return ErrorCategory.OUTCOME_UNKNOWN, False
    if categories == {ErrorCategory.CONFIGURATION}:
        return ErrorCategory.CONFIGURATION, False
    return None  # recipient-level refusals: the provider is answering
