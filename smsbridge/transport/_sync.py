"""The blocking HTTP/1.1 transport: h11 over sockets, a keep-alive pool, a total deadline."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from typing import Final

from smsbridge.transport._base import BaseTransport
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

__all__ = ["HTTPTransport"]

_READ: Final = 65536
_MAX_IDLE: Final = 256


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


class _Connection:
    """One socket (plain, TLS, or TLS in a tunnel) and the h11 state machine on it."""

    def __init__(self, sock: socket.socket, route: Route) -> None:
        self.sock = sock
        self.route = route
        self.h11 = new_connection()

    def stale(self) -> bool:
        """True when the server closed the idle connection (or sent something unasked)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def exchange(self, request: Request, deadline: float, max_bytes: int) -> tuple[Response, bool]:
        exchange = Exchange(self.h11, request, self.route, max_bytes)
        data = exchange.outgoing()
        try:
            self.sock.settimeout(max(_remaining(deadline), 0.001))
            self.sock.sendall(data)
        except (TimeoutError, OSError) as error:
            # Not every byte reached the server, so it cannot act on the request.
            raise ConnectError(
                f"the request could not be written ({type(error).__name__})"
            ) from None
        while True:
            left = _remaining(deadline)
            if left <= 0:
                raise ReplyTimeout("the deadline passed while reading the reply")
            try:
                self.sock.settimeout(left)
                chunk = self.sock.recv(_READ)
            except TimeoutError:
                raise ReplyTimeout("the deadline passed while reading the reply") from None
            except OSError as error:
                raise ReplyLost(
                    f"the connection failed mid-reply ({type(error).__name__})"
                ) from None
            response = exchange.receive(chunk)
            if response is not None:
                return response, exchange.reusable


class HTTPTransport(BaseTransport):
    """Blocking HTTP/1.1 with keep-alive, for every provider that speaks HTTP.

    - ``timeout`` (per call) bounds the whole exchange, not each socket read: a server that
      trickles a byte a second cannot hold a send past it.
    - Redirects are never followed (a 3xx is returned as it is; the engine refuses it), so a
      request and the credentials in it go to the configured origin only.
    - Replies over ``max_response_bytes`` after decoding are refused (gzip bombs included).
    - TLS is verified (``verify``); proxies come from ``HTTP(S)_PROXY``/``NO_PROXY`` when
      ``trust_env``, read once.
    - Thread-safe; connections are pooled per origin and checked before reuse.
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
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = tls_context(self.verify, trust_env=self.trust_env)
        return self._tls

    def _checkout(self, route: Route) -> _Connection | None:
        with self._lock:
            idle = self._idle.get(route)
            while idle:
                connection = idle.pop()
                if not connection.stale():
                    return connection
                connection.close()
        return None

    def _checkin(self, connection: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(connection.route, [])
            if len(idle) < _MAX_IDLE:
                idle.append(connection)
                return
        connection.close()

    def _connect(self, route: Route, deadline: float) -> _Connection:
        try:
            sock = socket.create_connection(route.address, timeout=max(_remaining(deadline), 0.001))
        except TimeoutError:
            raise ConnectError("connecting timed out") from None
        except socket.gaierror:
            raise ConnectError(f"the host {route.address[0]!r} could not be resolved") from None
        except OSError as error:
            raise ConnectError(f"cannot connect ({type(error).__name__})") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if route.tunnel:
                self._open_tunnel(sock, route, deadline)
            if route.scheme == "https":
                sock.settimeout(max(_remaining(deadline), 0.001))
                sock = self._context().wrap_socket(sock, server_hostname=route.host)
        except ssl.SSLError as error:
            sock.close()
            raise ConnectError(f"the TLS handshake failed ({error.reason or error})") from None
        except (TimeoutError, OSError) as error:
            sock.close()
            raise ConnectError(f"cannot connect ({type(error).__name__})") from None
        except TransportError:
            sock.close()
            raise
        return _Connection(sock, route)

    @staticmethod
    def _open_tunnel(sock: socket.socket, route: Route, deadline: float) -> None:
        tunnel = TunnelExchange(route)
        sock.settimeout(max(_remaining(deadline), 0.001))
        sock.sendall(tunnel.outgoing())
        while True:
            sock.settimeout(max(_remaining(deadline), 0.001))
            leftover = tunnel.receive(sock.recv(_READ))
            if leftover is not None:
                if leftover:
                    raise ConnectError("the proxy sent data before the tunnel opened")
                return

    def handle_request(self, request: Request, *, timeout: float) -> Response:
        deadline = time.monotonic() + timeout
        route = route_for(request.url, self._proxies)
        connection = self._checkout(route) or self._connect(route, deadline)
        try:
            response, reusable = connection.exchange(request, deadline, self.max_response_bytes)
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._checkin(connection)
        else:
            connection.close()
        return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
