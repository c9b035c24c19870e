"""The transport seam and smsbridge's HTTP/1.1 transports.

A provider never opens a socket: it turns a send into a :class:`Request` and a
:class:`Response` into results. The engine hands requests to a transport:
:class:`HTTPTransport` (blocking) or :class:`AsyncHTTPTransport`, both h11 with keep-alive, a
total deadline, a reply size cap, TLS verification, proxies from the environment and no
redirects; or :class:`MockTransport`, which calls a function (for tests without a server).
Failures are :class:`TransportError` subclasses that say whether the request may have gone out.
"""

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
