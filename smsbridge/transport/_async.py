"""The asyncio HTTP/1.1 transport: h11 over asyncio streams, with the same rules as ``_sync``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncGenerator
from typing import Final

from smsbridge.transport._base import AsyncBaseTransport
from smsbridge.transport._errors import ConnectError, ReplyLost, ReplyTimeout, TransportError
from smsbridge.transport._models import Request, Response
from smsbridge.transport._wire import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Exchange,
    Route,
    TunnelExchange,
    VerifyTypes,
    environment_proxies,
    new_connection,
    route_for,
    tls_context,
)

__all__ = ["AsyncHTTPTransport"]

_READ: Final = 65536
_MAX_IDLE: Final = 256


class _Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.route = route
        self.h11 = new_connection()

    def stale(self) -> bool:
        """True when the server closed the idle connection or sent something unasked."""
        # Bytes already waiting are a reply nobody asked for: not a connection to reuse.
        waiting = getattr(self.reader, "_buffer", b"")
        return self.writer.is_closing() or self.reader.at_eof() or bool(waiting)

    def close(self) -> None:
        transport = self.writer.transport
        loop: asyncio.AbstractEventLoop | None = getattr(transport, "_loop", None)
        if loop is not None and loop.is_closed():
            # Its event loop was closed without shutting down async generators (so the guard
            # below did not run): mark the transport closed and close the socket directly.
            with contextlib.suppress(RuntimeError):
                transport.close()
            raw = getattr(transport, "_sock", None)
            if raw is not None:
                with contextlib.suppress(OSError):
                    raw.close()
            return
        # abort(): no waiting for a flush on a connection that is being thrown away.
        with contextlib.suppress(Exception):
            transport.abort()

    async def exchange(
        self, request: Request, deadline: float, max_bytes: int
    ) -> tuple[Response, bool]:
        exchange = Exchange(self.h11, request, self.route, max_bytes)
        data = exchange.outgoing()
        loop = asyncio.get_running_loop()
        written = False
        try:
            async with asyncio.timeout_at(loop.time() + (deadline - time.monotonic())):
                self.writer.write(data)
                await self.writer.drain()
                written = True
                while True:
                    try:
                        chunk = await self.reader.read(_READ)
                    except OSError as error:
                        raise ReplyLost(
                            f"the connection failed mid-reply ({type(error).__name__})"
                        ) from None
                    response = exchange.receive(chunk)
                    if response is not None:
                        return response, exchange.reusable
        except TimeoutError:
            if not written:
                raise ConnectError("the deadline passed while writing the request") from None
            raise ReplyTimeout("the deadline passed while reading the reply") from None
        except OSError as error:
            if not written:
                raise ConnectError(
                    f"the request could not be written ({type(error).__name__})"
                ) from None
            raise ReplyLost(f"the connection failed ({type(error).__name__})") from None


class AsyncHTTPTransport(AsyncBaseTransport):
    """Async twin of :class:`~smsbridge.transport.HTTPTransport`, same rules.

    Connections belong to the event loop that opened them; used from a new loop (a second
    ``asyncio.run``), the transport drops the old loop's connections and opens new ones.
    """

    def __init__(
        self,
        *,
        verify: VerifyTypes = True,
        trust_env: bool = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        proxies: dict[str, str] | None = None,
    ) -> None:
        self.verify = verify
        self.trust_env = trust_env
        self.max_response_bytes = max_response_bytes
        self._proxies = (
            proxies if proxies is not None else (environment_proxies() if trust_env else {})
        )
        self._idle: dict[Route, list[_Connection]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._tls: ssl.SSLContext | None = None

    async def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            # Loading a CA bundle takes tens of milliseconds: not on the event loop.
            self._tls = await asyncio.to_thread(tls_context, self.verify, trust_env=self.trust_env)
        return self._tls

    async def _bind_loop(self) -> None:
        """Tie the pool to the running loop, and close it when that loop shuts down.

        ``asyncio.run`` finalises the loop's async generators before closing it; the guard is
        one, so the connections are closed while their loop can still close them.
        """
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._drop_all()
        self._loop = loop

        async def guard() -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                if self._loop is loop:
                    self._drop_all()
                    self._loop = None

        self._guard = guard()
        await self._guard.asend(None)

    def _pool(self) -> dict[Route, list[_Connection]]:
        return self._idle

    def _drop_all(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _checkout(self, route: Route) -> _Connection | None:
        idle = self._pool().get(route)
        while idle:
            connection = idle.pop()
            if not connection.stale():
                return connection
            connection.close()
        return None

    def _checkin(self, connection: _Connection) -> None:
        idle = self._pool().setdefault(connection.route, [])
        if len(idle) < _MAX_IDLE:
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, route: Route, deadline: float) -> _Connection:
        context = await self._context() if route.scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + (deadline - time.monotonic())):
                direct_tls = context is not None and not route.tunnel
                reader, writer = await asyncio.open_connection(
                    *route.address,
                    ssl=context if direct_tls else None,
                    server_hostname=route.host if direct_tls else None,
                    limit=_READ * 4,
                )
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if route.tunnel:
                    await self._open_tunnel(reader, writer, route)
                    assert context is not None  # noqa: S101 - tunnels are for https
                    await writer.start_tls(context, server_hostname=route.host)
        except TimeoutError:
            raise ConnectError("connecting timed out") from None
        except socket.gaierror:
            raise ConnectError(f"the host {route.address[0]!r} could not be resolved") from None
        except ssl.SSLError as error:
            raise ConnectError(f"the TLS handshake failed ({error.reason or error})") from None
        except OSError as error:
            raise ConnectError(f"cannot connect ({type(error).__name__})") from None
        return _Connection(reader, writer, route)

    @staticmethod
    async def _open_tunnel(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route
    ) -> None:
        tunnel = TunnelExchange(route)
        writer.write(tunnel.outgoing())
        await writer.drain()
        while True:
            leftover = tunnel.receive(await reader.read(_READ))
            if leftover is not None:
                if leftover:
                    raise ConnectError("the proxy sent data before the tunnel opened")
                return

    async def handle_async_request(self, request: Request, *, timeout: float) -> Response:
        deadline = time.monotonic() + timeout
        await self._bind_loop()
        route = route_for(request.url, self._proxies)
        connection = self._checkout(route) or await self._connect(route, deadline)
        try:
            response, reusable = await connection.exchange(
                request, deadline, self.max_response_bytes
            )
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._checkin(connection)
        else:
            connection.close()
        return response

    async def aclose(self) -> None:
        self._drop_all()

    def close_sync(self) -> None:
        """Drop every connection without awaiting (for a blocking ``close()``)."""
        self._drop_all()


_ = TransportError  # re-exported type for readers of this module's raises
