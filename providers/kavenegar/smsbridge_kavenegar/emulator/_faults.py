"""Fault injection for the emulator: the kit's faults plus the ways Kavenegar's API fails."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, Final

from smsbridge.testing import server as kit
from smsbridge.testing.server import FaultKind, FaultRule

from ._state import CODE_TEXT

__all__ = ["JSON", "Fault", "FaultInjector", "FaultRule", "error_body"]

JSON: Final = "application/json; charset=utf-8"
_HTML_500: Final = (
    b"<html><head><title>500 Internal Server Error</title></head><body>"
    b"<center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center>"
    b"</body></html>"
)
_FULL: Final = json.dumps(
    {"return": {"status": 200, "message": CODE_TEXT[200]}, "entries": [{"messageid": 1}]},
    ensure_ascii=False,
).encode()
# A reply cut off mid-object, as when a proxy or a crashing worker truncates the stream.
_GARBAGE: Final = _FULL[: _FULL.index(b'"entries"') + 12]
_WRONG_SHAPE: Final = b'{"result": "ok", "entries": []}'


def error_body(code: int, message: str | None = None) -> bytes:
    """The body the service answers a return code other than 200 with."""
    text = message if message is not None else CODE_TEXT.get(code, "error")
    return json.dumps(
        {"return": {"status": code, "message": text}, "entries": None}, ensure_ascii=False
    ).encode()


class Fault(enum.Enum):
    """What goes wrong. The value is the name used by the ``/_emulator/faults`` endpoint."""

    DELAY = "delay"
    """Wait ``seconds``, then answer normally."""
    HTTP_500 = "http_500"
    """HTTP 500 with an HTML page (a web server's, before the API ran); not processed."""
    CODE = "code"
    """Answer return code ``code`` (HTTP status and body, e.g. 409) without processing."""
    DROP = "drop"
    """Process the request, then close the socket without a reply (the reply was lost)."""
    GARBAGE = "garbage"
    """Process the request, then answer 200 with truncated JSON."""
    WRONG_SHAPE = "wrong_shape"
    """Process the request, then answer valid JSON without ``return``."""
    TRICKLE = "trickle"
    """Process the request, then send the reply one byte every ``seconds`` (default 1)."""
    REDIRECT = "redirect"
    """Answer 302 with a ``Location``; not processed."""
    OVERSIZE = "oversize"
    """Process the request, then answer its reply padded to ``size`` bytes (default 8 MiB)."""
    REFUSE = "refuse"
    """Reset the connection without processing the request."""


def _code(params: Mapping[str, Any]) -> kit.Fault:
    code = int(params.get("code") or 409)
    message = params.get("message")
    return kit.Fault(
        kind=FaultKind.STATUS,
        name=Fault.CODE.value,
        # The kit's faults stop at HTTP 599; the body still carries the code (607 is a tag's).
        status=code if code < 600 else 400,
        body=error_body(code, None if message is None else str(message)),
        content_type=JSON,
        detail=str(code),
    )


_PRESETS: Final[dict[str, kit.FaultPreset]] = {
    Fault.HTTP_500.value: lambda _: kit.Fault(
        kind=FaultKind.STATUS,
        name=Fault.HTTP_500.value,
        status=500,
        body=_HTML_500,
        content_type="text/html",
    ),
    Fault.CODE.value: _code,
    Fault.GARBAGE.value: lambda _: kit.Fault(
        kind=FaultKind.REPLY, name=Fault.GARBAGE.value, body=_GARBAGE, content_type=JSON
    ),
    Fault.WRONG_SHAPE.value: lambda _: kit.Fault(
        kind=FaultKind.REPLY, name=Fault.WRONG_SHAPE.value, body=_WRONG_SHAPE, content_type=JSON
    ),
}


class FaultInjector(kit.FaultInjector):
    """Armed faults, consumed by API calls in the order they were armed.

    Besides the kit's faults (``delay``, ``latency``, ``drop_connection``, ``trickle``,
    ``redirect``, ``oversize``, ``refuse``, ``http_status``, ``reply``) it knows the API's own
    failures. Every method takes ``count`` (``None``: until :meth:`clear`); the kit's ``arm*``
    methods also take ``probability`` and ``operation`` (``"sms/send"``, ``"verify/lookup"``...).
    """

    def __init__(self, *, seed: int | None = 0) -> None:
        super().__init__(seed=seed)
        for name, build in _PRESETS.items():
            self.add_preset(name, build)

    def next(self, fault: Fault | str, count: int | None = 1, **params: Any) -> FaultRule:
        """Arm ``fault`` for the next ``count`` calls (``None``: until :meth:`clear`)."""
        name = fault.value if isinstance(fault, Fault) else Fault(fault).value
        return self.arm_named(name, count, **params)

    def http_500(self, count: int | None = 1) -> None:
        """Answer HTTP 500 with an HTML page."""
        self.next(Fault.HTTP_500, count)

    def code(self, code: int, count: int | None = 1, *, message: str | None = None) -> None:
        """Answer return code ``code`` as the service does, without processing the call."""
        self.next(Fault.CODE, count, code=code, message=message)

    def garbage(self, count: int | None = 1) -> None:
        """Process, then reply with truncated JSON."""
        self.next(Fault.GARBAGE, count)

    def wrong_shape(self, count: int | None = 1) -> None:
        """Process, then reply with JSON that has no ``return``."""
        self.next(Fault.WRONG_SHAPE, count)
