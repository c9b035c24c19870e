"""Fault injection: make the next N service requests, or a share of them, misbehave.

A :class:`Fault` says what the server does instead of answering normally; a
:class:`FaultRule` is a fault armed for some requests; the :class:`FaultInjector` holds the
rules and hands one out per service request. Emulators add *presets*: named faults shaped like
their service's own failures (an IIS error page, a SOAP Fault, a truncated reply), which the
``/_emulator/faults`` endpoint can arm by name.
"""

from __future__ import annotations

import enum
import math
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

__all__ = [
    "DEFAULT_OVERSIZE",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultPreset",
    "FaultRule",
]

DEFAULT_OVERSIZE: Final = 8 * 1024 * 1024
"""Bytes of an oversized reply: twice smsbridge's default ``max_response_bytes``."""


class FaultKind(enum.Enum):
    """What the server does to a faulted request. The value is its JSON name."""

    DELAY = "delay"
    """Wait ``seconds``, then process the request and answer normally."""
    LATENCY = "latency"
    """Process the request, then answer once ``seconds`` have passed since it arrived: a
    service's response time, its work done during the wait (so many requests at once are not
    slowed by the emulator's own processing, as they are under ``delay``)."""
    STATUS = "status"
    """Answer ``status`` with ``body`` (an error page); the request is not processed."""
    DROP = "drop"
    """Process the request, then close the connection without a reply (the reply is lost)."""
    REPLY = "reply"
    """Process the request, then answer ``body`` instead of the real reply (garbage, wrong
    shape)."""
    TRICKLE = "trickle"
    """Process the request, then send the reply one byte every ``seconds``."""
    REDIRECT = "redirect"
    """Answer a 3xx ``status`` with a ``Location``; the request is not processed."""
    OVERSIZE = "oversize"
    """Process the request, then answer the real reply padded with spaces to ``size`` bytes."""
    REFUSE = "refuse"
    """Reset the connection without processing the request or replying."""

    @property
    def processed(self) -> bool:
        """Whether the emulator's operation still runs (its effects happen) under this fault."""
        return self not in {FaultKind.STATUS, FaultKind.REDIRECT, FaultKind.REFUSE}


_DEFAULT_STATUS: Final = {FaultKind.STATUS: 500, FaultKind.REDIRECT: 302, FaultKind.REPLY: 200}


def _default_name(fault: Fault) -> str:
    return fault.kind.value


def _default_status(fault: Fault) -> int:
    return _DEFAULT_STATUS.get(fault.kind, 200)


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        msg = f"{attribute.name} must be a finite number >= 0, got {value!r}"
        raise ValueError(msg)


def _status_code(fault: Fault, _: attrs.Attribute[int], value: int) -> None:
    low, high = (300, 399) if fault.kind is FaultKind.REDIRECT else (100, 599)
    if not low <= value <= high:
        msg = f"status must be {low}-{high} for a {fault.kind.value} fault, got {value}"
        raise ValueError(msg)


def _utf8(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


@attrs.frozen(kw_only=True)
class Fault:
    """One way to misbehave; only the fields its :attr:`kind` uses matter.

    >>> Fault(kind=FaultKind.STATUS, status=503, body=b"busy").name
    'status'
    """

    kind: FaultKind = attrs.field(converter=FaultKind)
    name: str = attrs.field(default=attrs.Factory(_default_name, takes_self=True))
    """Shown in the request log and the admin endpoints; presets use their own name."""
    seconds: float = attrs.field(default=0.0, converter=float, validator=_non_negative)
    """DELAY: how long to wait; LATENCY: the response time; TRICKLE: the pause before each
    byte."""
    status: int = attrs.field(
        default=attrs.Factory(_default_status, takes_self=True), validator=_status_code
    )
    """STATUS, REDIRECT and REPLY: the HTTP status answered."""
    body: bytes = attrs.field(default=b"", converter=_utf8, repr=False)
    """STATUS and REPLY: the body answered."""
    content_type: str = "text/plain; charset=utf-8"
    """STATUS and REPLY: the body's media type."""
    location: str | None = None
    """REDIRECT: where to; by default the requested path on the same server."""
    size: int = attrs.field(default=DEFAULT_OVERSIZE, validator=_non_negative)
    """OVERSIZE: the reply's size in bytes."""
    detail: str = ""
    """Free text for people reading the fault list (a preset's parameter, say)."""


def _count(count: int | None) -> int | None:
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        msg = f"count must be an integer of at least 1, or None for every request; got {count!r}"
        raise ValueError(msg)
    return count


def _probability(_: object, __: attrs.Attribute[float], value: float) -> None:
    if not 0.0 < value <= 1.0:
        msg = f"probability must be more than 0 and at most 1, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class FaultRule:
    """A fault armed for some service requests."""

    fault: Fault
    remaining: int | None = attrs.field(default=1, converter=_count)
    """Requests it still applies to; ``None`` while it stays armed until cleared."""
    probability: float = attrs.field(default=1.0, converter=float, validator=_probability)
    """The share of matching requests it hits (a hit counts against ``remaining``)."""
    operation: str | None = None
    """Only requests of this operation match; ``None`` matches every operation."""


FaultPreset = Callable[[Mapping[str, Any]], Fault]
"""Builds a fault from the parameters given when arming it by name (the JSON body of
``POST /_emulator/faults`` minus ``fault``, ``count``, ``probability`` and ``operation``)."""


def _param(params: Mapping[str, Any], name: str, default: Any) -> Any:
    value = params.get(name)
    return default if value is None else value


_BUILTIN: Final[dict[str, FaultPreset]] = {
    "delay": lambda p: Fault(kind=FaultKind.DELAY, seconds=_param(p, "seconds", 0.0)),
    "latency": lambda p: Fault(kind=FaultKind.LATENCY, seconds=_param(p, "seconds", 0.0)),
    "status": lambda p: Fault(
        kind=FaultKind.STATUS,
        status=int(_param(p, "status", 500)),
        body=_param(p, "body", b""),
        content_type=str(_param(p, "content_type", "text/plain; charset=utf-8")),
    ),
    "drop": lambda _: Fault(kind=FaultKind.DROP),
    "reply": lambda p: Fault(
        kind=FaultKind.REPLY,
        status=int(_param(p, "status", 200)),
        body=_param(p, "body", b""),
        content_type=str(_param(p, "content_type", "text/plain; charset=utf-8")),
    ),
    "trickle": lambda p: Fault(kind=FaultKind.TRICKLE, seconds=_param(p, "seconds", 1.0)),
    "redirect": lambda p: Fault(
        kind=FaultKind.REDIRECT,
        status=int(_param(p, "status", 302)),
        location=p.get("location"),
    ),
    "oversize": lambda p: Fault(
        kind=FaultKind.OVERSIZE, size=int(_param(p, "size", DEFAULT_OVERSIZE))
    ),
    "refuse": lambda _: Fault(kind=FaultKind.REFUSE),
}
_RULE_KEYS: Final = frozenset({"fault", "count", "probability", "operation"})


class FaultInjector:
    """The armed faults, tried in the order they were armed; one is applied per request.

    For each service request the first rule that matches its operation (and wins its draw,
    for a rule with a ``probability`` below 1) applies and uses up one of its ``remaining``.
    Draws come from a private ``random.Random(seed)``, so a seeded run repeats.

    >>> faults = FaultInjector()
    >>> faults.http_status(503, count=2)
    >>> faults.take("send").fault.status, faults.take("send").fault.status, faults.take("send")
    (503, 503, None)
    """

    def __init__(self, *, seed: int | None = 0) -> None:
        self._rules: list[FaultRule] = []
        self._presets: dict[str, FaultPreset] = dict(_BUILTIN)
        self._random = random.Random(seed)  # noqa: S311 - fault draws, not cryptography
        self._lock = threading.Lock()

    # -- arming --------------------------------------------------------------------------

    def arm(
        self,
        fault: Fault,
        count: int | None = 1,
        *,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> FaultRule:
        """Arm ``fault`` for the next ``count`` matching requests (``None``: until cleared)."""
        rule = FaultRule(fault=fault, remaining=count, probability=probability, operation=operation)
        with self._lock:
            self._rules.append(rule)
        return rule

    def add_preset(self, name: str, build: FaultPreset) -> None:
        """Make a named fault armable with :meth:`arm_named` and ``POST /_emulator/faults``."""
        self._presets[name] = build

    @property
    def presets(self) -> list[str]:
        """The names :meth:`arm_named` accepts, sorted."""
        return sorted(self._presets)

    def arm_named(
        self,
        name: str,
        count: int | None = 1,
        *,
        probability: float = 1.0,
        operation: str | None = None,
        **params: Any,
    ) -> FaultRule:
        """Arm the preset ``name`` built with ``params``.

        :raises ValueError: for an unknown name or a bad parameter.
        """
        build = self._presets.get(name)
        if build is None:
            msg = f"unknown fault {name!r}; known: {', '.join(self.presets)}"
            raise ValueError(msg)
        fault = build(params)
        if fault.name != name:
            fault = attrs.evolve(fault, name=name)
        return self.arm(fault, count, probability=probability, operation=operation)

    def arm_json(self, spec: object) -> FaultRule:
        """Arm a fault from a decoded JSON object ``{"fault": NAME, "count": 1, ...}``.

        ``count`` defaults to 1 and ``null`` keeps it armed; ``probability`` and ``operation``
        are optional; every other key is a parameter of the preset.

        :raises ValueError: when ``spec`` is not such an object.
        """
        if not isinstance(spec, Mapping):
            msg = 'expected a JSON object like {"fault": "drop", "count": 1}'
            raise TypeError(msg)
        name = spec.get("fault")
        if not isinstance(name, str):
            msg = f'"fault" must name a fault; known: {", ".join(self.presets)}'
            raise ValueError(msg)
        operation = spec.get("operation")
        if operation is not None and not isinstance(operation, str):
            msg = f'"operation" must be a string or null, got {operation!r}'
            raise ValueError(msg)
        params = {key: value for key, value in spec.items() if key not in _RULE_KEYS}
        return self.arm_named(
            name,
            spec.get("count", 1),
            probability=float(spec.get("probability", 1.0)),
            operation=operation,
            **params,
        )

    # -- conveniences, one per kind ------------------------------------------------------

    def delay(
        self,
        seconds: float,
        count: int | None = 1,
        *,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Answer ``seconds`` late (the request is processed after the wait)."""
        self.arm(
            Fault(kind=FaultKind.DELAY, seconds=seconds),
            count,
            probability=probability,
            operation=operation,
        )

    def latency(
        self,
        seconds: float,
        count: int | None = 1,
        *,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Answer ``seconds`` after the request arrived, processing it meanwhile (a response
        time, for throughput measurements at a provider's latency)."""
        self.arm(
            Fault(kind=FaultKind.LATENCY, seconds=seconds),
            count,
            probability=probability,
            operation=operation,
        )

    def http_status(
        self,
        status: int = 500,
        body: bytes | str = b"",
        *,
        content_type: str = "text/plain; charset=utf-8",
        count: int | None = 1,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Answer ``status`` with ``body`` without processing the request."""
        fault = Fault(kind=FaultKind.STATUS, status=status, body=body, content_type=content_type)
        self.arm(fault, count, probability=probability, operation=operation)

    def drop_connection(
        self, count: int | None = 1, *, probability: float = 1.0, operation: str | None = None
    ) -> None:
        """Process the request, then close the connection without replying."""
        self.arm(Fault(kind=FaultKind.DROP), count, probability=probability, operation=operation)

    def reply(
        self,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        name: str = "reply",
        count: int | None = 1,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Process the request, then answer ``body`` instead of the real reply."""
        fault = Fault(
            kind=FaultKind.REPLY, name=name, status=status, body=body, content_type=content_type
        )
        self.arm(fault, count, probability=probability, operation=operation)

    def trickle(
        self,
        seconds_per_byte: float,
        count: int | None = 1,
        *,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Process the request, then send the reply one byte every ``seconds_per_byte``."""
        self.arm(
            Fault(kind=FaultKind.TRICKLE, seconds=seconds_per_byte),
            count,
            probability=probability,
            operation=operation,
        )

    def redirect(
        self,
        location: str | None = None,
        *,
        status: int = 302,
        count: int | None = 1,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Answer a redirect to ``location`` (default: the same path) without processing."""
        fault = Fault(kind=FaultKind.REDIRECT, status=status, location=location)
        self.arm(fault, count, probability=probability, operation=operation)

    def oversize(
        self,
        size: int = DEFAULT_OVERSIZE,
        count: int | None = 1,
        *,
        probability: float = 1.0,
        operation: str | None = None,
    ) -> None:
        """Process the request, then answer its reply padded to ``size`` bytes."""
        self.arm(
            Fault(kind=FaultKind.OVERSIZE, size=size),
            count,
            probability=probability,
            operation=operation,
        )

    def refuse(
        self, count: int | None = 1, *, probability: float = 1.0, operation: str | None = None
    ) -> None:
        """Reset the connection without processing the request or replying."""
        self.arm(Fault(kind=FaultKind.REFUSE), count, probability=probability, operation=operation)

    # -- consuming -----------------------------------------------------------------------

    def _hits(self, rule: FaultRule, operation: str | None) -> bool:
        if rule.operation is not None and rule.operation != operation:
            return False
        return rule.probability >= 1.0 or self._random.random() < rule.probability

    def take(self, operation: str | None = None) -> FaultRule | None:
        """The rule that applies to one request of ``operation``, using up one of its uses;
        None when no armed rule applies."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not self._hits(rule, operation):
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 1:
                        del self._rules[index]
                    else:
                        self._rules[index] = attrs.evolve(rule, remaining=rule.remaining - 1)
                return rule
            return None

    @property
    def pending(self) -> list[FaultRule]:
        """The armed rules, oldest first."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._rules.clear()

    def seed(self, seed: int | None) -> None:
        """Restart the draws of share-of-requests rules from ``seed``."""
        with self._lock:
            self._random.seed(seed)
