"""Fault injection for Send.asmx: the kit's faults plus the ways ASMX itself fails."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

from smsbridge.testing import server as kit
from smsbridge.testing.server import FaultKind, FaultRule

from . import _soap

__all__ = ["XML", "Fault", "FaultInjector", "FaultRule"]

XML: Final = "text/xml; charset=utf-8"
_DEFAULT_MESSAGE: Final = "Server was unable to process request."
_HTML_500: Final = (
    b"<html><head><title>Runtime Error</title></head><body>"
    b"<h1>Server Error in '/' Application.</h1><p>Runtime Error</p></body></html>"
)
_FULL: Final = _soap.envelope(
    f'<SendSmsResponse xmlns="{_soap.TNS}"><SendSmsResult>1</SendSmsResult></SendSmsResponse>'
)
# A reply cut off mid-element, as when a proxy or a crashing worker truncates the stream.
_GARBAGE: Final = _FULL[: _FULL.index(b"</SendSmsResult>")] + b"</Send"
_WRONG_SHAPE: Final = _soap.envelope(
    f'<UnexpectedResponse xmlns="{_soap.TNS}"><Result>1</Result></UnexpectedResponse>'
)


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
    TRICKLE = "trickle"
    """Process the request, then send the reply one byte every ``seconds`` (default 1)."""
    REDIRECT = "redirect"
    """Answer 302 with a ``Location``; not processed."""
    OVERSIZE = "oversize"
    """Process the request, then answer its reply padded to ``size`` bytes (default 8 MiB)."""
    REFUSE = "refuse"
    """Reset the connection without processing the request."""


def _soap_fault(params: Mapping[str, Any]) -> kit.Fault:
    message = str(params.get("message") or _DEFAULT_MESSAGE)
    return kit.Fault(
        kind=FaultKind.STATUS,
        name=Fault.SOAP_FAULT.value,
        status=500,
        body=_soap.fault_envelope(message, "Server"),
        content_type=XML,
        detail=message,
    )


_PRESETS: Final[dict[str, kit.FaultPreset]] = {
    Fault.HTTP_500.value: lambda _: kit.Fault(
        kind=FaultKind.STATUS,
        name=Fault.HTTP_500.value,
        status=500,
        body=_HTML_500,
        content_type="text/html; charset=utf-8",
    ),
    Fault.SOAP_FAULT.value: _soap_fault,
    Fault.GARBAGE.value: lambda _: kit.Fault(
        kind=FaultKind.REPLY, name=Fault.GARBAGE.value, body=_GARBAGE, content_type=XML
    ),
    Fault.WRONG_SHAPE.value: lambda _: kit.Fault(
        kind=FaultKind.REPLY, name=Fault.WRONG_SHAPE.value, body=_WRONG_SHAPE, content_type=XML
    ),
}


class FaultInjector(kit.FaultInjector):
    """Armed faults, consumed by SOAP POSTs in the order they were armed.

    Besides the kit's faults (``delay``, ``latency``, ``drop_connection``, ``trickle``,
    ``redirect``, ``oversize``, ``refuse``, ``http_status``, ``reply``) it knows Send.asmx's own
    failures. Every method takes ``count`` (``None``: until :meth:`clear`), and the kit's
    ``arm*`` methods also take ``probability`` and ``operation`` (``"SendSms"``).
    """

    def __init__(self, *, seed: int | None = 0) -> None:
        super().__init__(seed=seed)
        for name, build in _PRESETS.items():
            self.add_preset(name, build)

    def next(
        self,
        fault: Fault | str,
        count: int | None = 1,
        *,
        seconds: float | None = None,
        message: str | None = None,
    ) -> FaultRule:
        """Arm ``fault`` for the next ``count`` POSTs (``None``: until :meth:`clear`)."""
        name = fault.value if isinstance(fault, Fault) else Fault(fault).value
        params: dict[str, Any] = {
            key: value
            for key, value in (("seconds", seconds), ("message", message))
            if value is not None
        }
        return self.arm_named(name, count, **params)

    def http_500(self, count: int | None = 1) -> None:
        """Answer HTTP 500 with an HTML page."""
        self.next(Fault.HTTP_500, count)

    def soap_fault(self, message: str = _DEFAULT_MESSAGE, count: int | None = 1) -> None:
        """Answer HTTP 500 with a SOAP ``soap:Server`` Fault."""
        self.next(Fault.SOAP_FAULT, count, message=message)

    def garbage(self, count: int | None = 1) -> None:
        """Process, then reply with malformed XML."""
        self.next(Fault.GARBAGE, count)

    def wrong_shape(self, count: int | None = 1) -> None:
        """Process, then reply with a well-formed but unexpected SOAP body."""
        self.next(Fault.WRONG_SHAPE, count)
