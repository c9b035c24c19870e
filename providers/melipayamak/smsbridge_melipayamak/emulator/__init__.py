"""A local emulator of Melipayamak's SOAP service ``Send.asmx``, for tests and demos.

Start one with ``Emulator().start()`` (or as a context manager), point a client at
``emulator.url`` (or zeep at ``emulator.wsdl_url``) and inspect ``emulator.state``. It is
built on the test-server kit, ``smsbridge.testing.server``. See docs/emulator.md.
"""

from smsbridge.testing.server import ManualClock, PortInUseError

from ._faults import Fault, FaultInjector, FaultRule
from ._rules import DeliveryCode, SendCode, normalise_mobile
from ._server import SERVICE_PATH, Emulator
from ._state import Account, EmulatorState, RequestRecord, SendOutcome, SentMessage

__all__ = [
    "SERVICE_PATH",
    "Account",
    "DeliveryCode",
    "Emulator",
    "EmulatorState",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "ManualClock",
    "PortInUseError",
    "RequestRecord",
    "SendCode",
    "SendOutcome",
    "SentMessage",
    "normalise_mobile",
]
