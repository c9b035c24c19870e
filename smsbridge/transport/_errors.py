"""Transport failures, split by the one fact that matters: could the request have been sent?

    TransportError
    ├── ConnectError        the request was never written: refused, DNS, TLS, proxy, connect
    │                       timeout. Nothing was sent.
    └── AfterWriteError     the request may have reached the server:
        ├── ReplyTimeout        the total deadline passed while waiting for the reply
        ├── ReplyLost           the connection closed before a complete reply
        ├── ProtocolError       the reply is not valid HTTP/1.1
        └── ResponseTooLarge    the reply (after decoding) is over the size cap

The engine turns these into outcomes: a ConnectError is "not sent" (``provider_unavailable``),
an AfterWriteError is "may have been sent" (``outcome_unknown``) unless the request was
idempotent. Messages never quote the request: it may hold a password.
"""

from __future__ import annotations

__all__ = [
    "AfterWriteError",
    "ConnectError",
    "ProtocolError",
    "ReplyLost",
    "ReplyTimeout",
    "ResponseTooLarge",
    "TransportError",
]


class TransportError(Exception):
    """Base of every transport failure; ``sent`` tells whether the request may have gone out."""

    sent: bool = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectError(TransportError):
    """The request was never written to the server."""

    sent = False


class AfterWriteError(TransportError):
    """The request was written (at least partly read by the server); its outcome is unknown."""


class ReplyTimeout(AfterWriteError):
    """The total deadline passed after the request was written."""


class ReplyLost(AfterWriteError):
    """The connection ended before a complete reply arrived."""


class ProtocolError(AfterWriteError):
    """The reply is not valid HTTP/1.1 (or uses a content encoding that cannot be read)."""


class ResponseTooLarge(AfterWriteError):
    """The reply is larger than the transport's ``max_response_bytes``."""
