"""A local emulator of Melipayamak's SOAP service ``Send.asmx`` and its REST API, for tests
and demos.

Start one with ``Emulator().start()`` (or as a context manager), point a client at
``emulator.provider_url()`` (or ``provider_url(api="rest")``, or zeep at ``emulator.wsdl_url``)
and inspect ``emulator.state``. It is built on the test-server kit,
``smsbridge.testing.server``. See docs/emulator.md.
"""

from smsbridge.testing.server import ManualClock, PortInUseError

from ._faults import Fault, FaultInjector, FaultRule
from ._rules import DeliveryCode, PatternCode, SendCode, normalise_mobile
from ._server import REST_PATH, SERVICE_PATH, Emulator
from ._state import (
    DEMO_PATTERN,
    DEMO_SERVICE_LINE,
    Account,
    EmulatorState,
    Pattern,
    PatternOutcome,
    RequestRecord,
    SendOutcome,
    SentMessage,
)

__all__ = [
    "DEMO_PATTERN",
    "DEMO_SERVICE_LINE",
    "REST_PATH",
    "SERVICE_PATH",
    "Account",
    "DeliveryCode",
    "Emulator",
    "EmulatorState",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "ManualClock",
    "Pattern",
    "PatternCode",
    "PatternOutcome",
    "PortInUseError",
    "RequestRecord",
    "SendCode",
    "SendOutcome",
    "SentMessage",
    "normalise_mobile",
]
