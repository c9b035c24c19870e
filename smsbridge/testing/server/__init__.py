"""The test-server kit: what every provider emulator shares.

An emulator is a *state* (a :class:`ServiceState` subclass holding the service's records and
rules) and a *handler* for its service routes (a function from :class:`Request` to a
:class:`Reply`, or to an :class:`Operation` the kit logs, may fault, then runs).
:class:`EmulatorServer` gives it the rest:

- a threaded HTTP/1.1 server on 127.0.0.1 (port 0: a free one) with keep-alive, single-write
  replies with Nagle's algorithm off, no output per request, a listen backlog of 1024, a cap on
  request bodies, and a clear :class:`PortInUseError` for a busy port;
- a :class:`RequestLog` of every service request: arrival time on the emulator's clock,
  operation, recipients, fault applied, and how many requests were in flight at once;
- fault injection (:class:`FaultInjector`): delay, an HTTP status with a body, a dropped
  reply, a substituted reply, a trickled reply, a redirect, an oversized reply, a reset
  connection; for the next N requests, every request, or a seeded share of them;
- a :class:`Clock` tests move forward, or a :class:`ManualClock` that stands still;
- JSON admin endpoints under ``/_emulator/``: ``GET sent``, ``GET requests``, ``GET stats``,
  ``GET``/``POST``/``DELETE faults``, ``POST advance``, ``POST reset``, and the emulator's
  own.

:class:`ServedEmulator` is the base of an emulator's public object: start, stop, ``with``, the
address.

docs/testing.md ("Writing an emulator") has a complete example.
"""

from smsbridge.testing.server._admin import ADMIN_PREFIX, AdminRoute, AdminRoutes, rule_json
from smsbridge.testing.server._clock import Clock, ManualClock
from smsbridge.testing.server._faults import (
    DEFAULT_OVERSIZE,
    Fault,
    FaultInjector,
    FaultKind,
    FaultPreset,
    FaultRule,
)
from smsbridge.testing.server._log import RequestLog, RequestRecord
from smsbridge.testing.server._messages import Handler, Operation, Reply, Request, to_json
from smsbridge.testing.server._served import ServedEmulator
from smsbridge.testing.server._server import (
    DEFAULT_MAX_BODY,
    LISTEN_BACKLOG,
    EmulatorServer,
    PortInUseError,
)
from smsbridge.testing.server._state import ServiceState

__all__ = [
    "ADMIN_PREFIX",
    "DEFAULT_MAX_BODY",
    "DEFAULT_OVERSIZE",
    "LISTEN_BACKLOG",
    "AdminRoute",
    "AdminRoutes",
    "Clock",
    "EmulatorServer",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultPreset",
    "FaultRule",
    "Handler",
    "ManualClock",
    "Operation",
    "PortInUseError",
    "Reply",
    "Request",
    "RequestLog",
    "RequestRecord",
    "ServedEmulator",
    "ServiceState",
    "rule_json",
    "to_json",
]
