"""The transport seam and smsbridge's HTTP/1.1 transports.

A provider never opens a socket: it turns a send into a :class:`Request` and a
:class:`Response` into results. The engine hands requests to a transport:
:class:`HTTPTransport` (blocking) or :class:`AsyncHTTPTransport`, both h11 with keep-alive, a
total deadline, a reply size cap, TLS verification, proxies from the environment and no
redirects; or :class:`MockTransport`, which calls a function (for tests without a server).
Failures are :class:`TransportError` subclasses that say whether the request may have gone out.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from smsbridge.transport._async import AsyncHTTPTransport
    from smsbridge.transport._base import AsyncBaseTransport, BaseTransport, MockTransport
    from smsbridge.transport._errors import (
        AfterWriteError,
        ConnectError,
        ProtocolError,
        ReplyLost,
        ReplyTimeout,
        ResponseTooLarge,
        TransportError,
    )
    from smsbridge.transport._models import Request, Response
    from smsbridge.transport._sync import HTTPTransport
    from smsbridge.transport._wire import DEFAULT_MAX_RESPONSE_BYTES

# Names resolve on first use (PEP 562): a provider module needs Request and Response, not
# asyncio, ssl and h11, so importing a plugin stays cheap.
_EXPORTS: dict[str, str] = {
    "DEFAULT_MAX_RESPONSE_BYTES": "smsbridge.transport._wire",
    "AfterWriteError": "smsbridge.transport._errors",
    "AsyncBaseTransport": "smsbridge.transport._base",
    "AsyncHTTPTransport": "smsbridge.transport._async",
    "BaseTransport": "smsbridge.transport._base",
    "ConnectError": "smsbridge.transport._errors",
    "HTTPTransport": "smsbridge.transport._sync",
    "MockTransport": "smsbridge.transport._base",
    "ProtocolError": "smsbridge.transport._errors",
    "ReplyLost": "smsbridge.transport._errors",
    "ReplyTimeout": "smsbridge.transport._errors",
    "Request": "smsbridge.transport._models",
    "Response": "smsbridge.transport._models",
    "ResponseTooLarge": "smsbridge.transport._errors",
    "TransportError": "smsbridge.transport._errors",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smsbridge.transport' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AfterWriteError",
    "AsyncBaseTransport",
    "AsyncHTTPTransport",
    "BaseTransport",
    "ConnectError",
    "HTTPTransport",
    "MockTransport",
    "ProtocolError",
    "ReplyLost",
    "ReplyTimeout",
    "Request",
    "Response",
    "ResponseTooLarge",
    "TransportError",
]
