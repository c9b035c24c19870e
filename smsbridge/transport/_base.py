"""The transport seam, modelled on httpx's ``BaseTransport``: one method that sends."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from smsbridge.transport._models import Request, Response

__all__ = ["AsyncBaseTransport", "BaseTransport", "MockTransport"]


class BaseTransport:
    """Sends one :class:`Request` and returns its :class:`Response`, blocking.

    ``timeout`` is a total deadline for the whole exchange (connect, write, every byte of the
    reply). Failures are :mod:`smsbridge.transport` errors; HTTP statuses are not errors.
    Implementations must be safe to call from several threads at once.
    """

    def handle_request(self, request: Request, *, timeout: float) -> Response:
        """Send ``request`` and return the complete response."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the transport opens new ones if used again."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncBaseTransport:
    """Async twin of :class:`BaseTransport`."""

    async def handle_async_request(self, request: Request, *, timeout: float) -> Response:
        """Send ``request`` and return the complete response."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections; the transport opens new ones if used again."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class MockTransport(BaseTransport, AsyncBaseTransport):
    """A transport that calls ``handler(request)`` instead of touching a socket.

    For tests of a provider's request building and reply parsing without a server; the handler
    may return a response or raise a transport error (``ReplyLost`` to model a lost reply).

    >>> transport = MockTransport(lambda request: Response(status_code=200, content=b"ok"))
    >>> transport.handle_request(Request(method="GET", url="http://x/"), timeout=1).content
    b'ok'
    """

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler

    def handle_request(self, request: Request, *, timeout: float) -> Response:
        return self.handler(request)

    async def handle_async_request(self, request: Request, *, timeout: float) -> Response:
        return self.handler(request)
