"""The part of an emulator's state the kit manages: its clock and its request log."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from ._clock import Clock
from ._log import RequestLog, RequestRecord

__all__ = ["ServiceState"]


def _as_clock(value: Callable[[], float]) -> Clock:
    return value if isinstance(value, Clock) else Clock(value)


@attrs.define(kw_only=True)
class ServiceState:
    """Base of an emulator's state: subclass it and add the service's own records and rules.

    The server stamps requests with :attr:`clock`, logs them in :attr:`log`, lists
    :meth:`sent_messages` at ``GET /_emulator/sent`` and calls :meth:`reset` on
    ``POST /_emulator/reset``. Assigning a plain callable to ``clock`` (``time.time``, a
    ``ManualClock``) wraps it in a :class:`Clock`.
    """

    clock: Clock = attrs.field(factory=Clock, converter=_as_clock)
    log: RequestLog = attrs.field(factory=RequestLog, init=False)

    def now(self) -> float:
        """The emulator's time."""
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Move the emulator's time forward, e.g. to let deliveries complete."""
        self.clock.advance(seconds)

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        return self.log.records

    def record_request(
        self, operation: str, recipients: int = 0, fault: str | None = None
    ) -> RequestRecord:
        """Log a request by hand, stamped now (the server logs service requests itself)."""
        record = RequestRecord(
            operation=operation, recipients=recipients, fault=fault, at=self.now()
        )
        self.log.add(record)
        return record

    def sent_messages(self) -> Sequence[object]:
        """What ``GET /_emulator/sent`` lists (attrs instances or JSON values); override it."""
        return []

    def reset(self) -> None:
        """Forget the request log; subclasses also forget their own records."""
        self.log.clear()
