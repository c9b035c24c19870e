"""A local emulator of Melipayamak's SOAP service ``Send.asmx``, for tests and demos.

Start one with ``Emulator().start()`` (or as a context manager), point a client at
``emulator.wsdl_url`` and inspect ``emulator.state``. See docs/emulator.md.
"""

from ._faults import Fault, FaultInjector, FaultRule
from ._rules import DeliveryCode, SendCode, normalise_mobile
from ._server import Emulator
from ._state import Account, EmulatorState, RequestRecord, SendOutcome, SentMessage

__all__ = [
    "Account",
    "DeliveryCode",
    "Emulator",
    "EmulatorState",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "RequestRecord",
    "SendCode",
    "SendOutcome",
    "SentMessage",
    "normalise_mobile",
]
