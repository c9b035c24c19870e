"""A local emulator of Kavenegar's REST API, for tests and demos.

Start one with ``Emulator().start()`` (or as a context manager), point a client at
``emulator.provider_url()`` (the provider's ``endpoint`` is ``emulator.url``) and inspect
``emulator.state``. It is built on the test-server kit, ``smsbridge.testing.server``. See
docs/providers/kavenegar.md.
"""

from smsbridge.testing.server import ManualClock, PortInUseError

from ._faults import Fault, FaultInjector, FaultRule, error_body
from ._server import Emulator
from ._state import (
    CODE_TEXT,
    STATUS_TEXT,
    Account,
    Answer,
    EmulatorState,
    KavenegarTemplate,
    SentMessage,
    normalise_receptor,
)

__all__ = [
    "CODE_TEXT",
    "STATUS_TEXT",
    "Account",
    "Answer",
    "Emulator",
    "EmulatorState",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "KavenegarTemplate",
    "ManualClock",
    "PortInUseError",
    "SentMessage",
    "error_body",
    "normalise_receptor",
]
