"""Fault injection: make the next N SOAP POSTs misbehave the way real networks do."""

from __future__ import annotations

import enum
import threading

import attrs

__all__ = ["Fault", "FaultInjector", "FaultRule"]


class Fault(enum.Enum):
    """What goes wrong. The value is the name used by the ``/_emulator/faults`` endpoint."""

    DELAY = "delay"
    """Sleep ``seconds``, then answer normally."""
    HTTP_500 = "http_500"
    """HTTP 500 with an HTML body (an IIS error page); the request is not processed."""
    SOAP_FAULT = "soap_fault"
    """HTTP 500 with a ``soap:Server`` Fault carrying ``message``; not processed."""
    DROP = "drop"
    """Process the request, then close the socket without a reply (the reply was lost)."""
    GARBAGE = "garbage"
    """Process the request, then answer 200 text/xml with truncated XML."""
    WRONG_SHAPE = "wrong_shape"
    """Process the request, then answer a valid envelope holding an unexpected element."""


@attrs.frozen(kw_only=True)
class FaultRule:
    """One armed fault. ``remaining`` is None for a persistent fault."""

    fault: Fault
    remaining: int | None = 1
    seconds: float = 0.0
    message: str = "Server was unable to process request."


@attrs.define
class FaultInjector:
    """Queue of armed faults, consumed one per SOAP POST in the order they were armed."""

    _rules: list[FaultRule] = attrs.field(factory=list, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def next(
        self,
        fault: Fault | str,
        count: int | None = 1,
        *,
        seconds: float = 0.0,
        message: str = "Server was unable to process request.",
    ) -> None:
        """Arm ``fault`` for the next ``count`` POSTs (``None``: until :meth:`clear`)."""
        if count is not None and count < 1:
            msg = f"count must be at least 1 or None, got {count}"
            raise ValueError(msg)
        rule = FaultRule(fault=Fault(fault), remaining=count, seconds=seconds, message=message)
        with self._lock:
            self._rules.append(rule)

    def delay(self, seconds: float, count: int | None = 1) -> None:
        """Answer the next ``count`` POSTs ``seconds`` late."""
        self.next(Fault.DELAY, count, seconds=seconds)

    def http_500(self, count: int | None = 1) -> None:
        """Answer HTTP 500 with an HTML page."""
        self.next(Fault.HTTP_500, count)

    def soap_fault(
        self, message: str = "Server was unable to process request.", count: int | None = 1
    ) -> None:
        """Answer HTTP 500 with a SOAP ``soap:Server`` Fault."""
        self.next(Fault.SOAP_FAULT, count, message=message)

    def drop_connection(self, count: int | None = 1) -> None:
        """Process, then close the connection without replying."""
        self.next(Fault.DROP, count)

    def garbage(self, count: int | None = 1) -> None:
        """Process, then reply with malformed XML."""
        self.next(Fault.GARBAGE, count)

    def wrong_shape(self, count: int | None = 1) -> None:
        """Process, then reply with a well-formed but unexpected SOAP body."""
        self.next(Fault.WRONG_SHAPE, count)

    def take(self) -> FaultRule | None:
        """Consume one use of the oldest armed fault, or return None when none is armed."""
        with self._lock:
            if not self._rules:
                return None
            rule = self._rules[0]
            if rule.remaining is not None:
                if rule.remaining <= 1:
                    self._rules.pop(0)
                else:
                    self._rules[0] = attrs.evolve(rule, remaining=rule.remaining - 1)
            return rule

    @property
    def pending(self) -> list[FaultRule]:
        """The armed faults, oldest first."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._rules.clear()
