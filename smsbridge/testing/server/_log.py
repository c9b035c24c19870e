"""The request log: what reached the server, when, and how many requests overlapped."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import attrs

__all__ = ["RequestLog", "RequestRecord"]


@attrs.frozen(kw_only=True)
class RequestRecord:
    """One service request as it arrived, whatever happened to it afterwards."""

    operation: str
    """The operation the emulator recognised; ``""`` for a request it refused to parse."""
    recipients: int = 0
    """Recipients the request carried (0 for operations that send nothing)."""
    fault: str | None = None
    """The name of the injected fault applied to it, if any."""
    at: float
    """Arrival time on the server's clock (when its headers had been read)."""
    in_flight: int = 1
    """Service requests in flight when it arrived, itself included."""


@attrs.define
class RequestLog:
    """Every service request in arrival order, and how many were in flight at once.

    The server calls :meth:`start` when a request is recognised and :meth:`finish` just before
    the last byte of its reply goes out (or the connection closes), so a client can never see
    a reply while the server still counts that request in flight. Thread-safe.
    """

    _records: list[RequestRecord] = attrs.field(factory=list, init=False)
    _in_flight: int = attrs.field(default=0, init=False)
    _max_in_flight: int = attrs.field(default=0, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def start(
        self, operation: str, *, at: float, recipients: int = 0, fault: str | None = None
    ) -> RequestRecord:
        """Log a request and count it in flight until :meth:`finish`."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            record = RequestRecord(
                operation=operation,
                recipients=recipients,
                fault=fault,
                at=at,
                in_flight=self._in_flight,
            )
            self._records.append(record)
            return record

    def finish(self) -> None:
        """One request in flight is done (its reply is going out, or it never will)."""
        with self._lock:
            self._in_flight = max(self._in_flight - 1, 0)

    def add(self, record: RequestRecord) -> None:
        """Log a request that is not tracked in flight (for emulators logging by hand)."""
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[RequestRecord]:
        """A copy of every record, oldest first."""
        with self._lock:
            return list(self._records)

    def of(self, operation: str) -> list[RequestRecord]:
        """The records of one operation, oldest first."""
        return [record for record in self.records if record.operation == operation]

    @property
    def in_flight(self) -> int:
        """Service requests being handled right now."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most service requests in flight at once since the log was created or cleared."""
        return self._max_in_flight

    def clear(self) -> None:
        """Forget the records and restart the high-water mark from the requests now running."""
        with self._lock:
            self._records.clear()
            self._max_in_flight = self._in_flight

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records)
