"""The threaded HTTP/1.1 server an emulator runs on, and how it applies injected faults."""

from __future__ import annotations

import contextlib
import errno
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self, cast
from urllib.parse import urlsplit

import attrs

from ._admin import ADMIN_PREFIX, AdminRoute, AdminRoutes
from ._faults import Fault, FaultInjector, FaultKind
from ._messages import Handler, Operation, Reply, Request
from ._state import ServiceState

__all__ = ["DEFAULT_MAX_BODY", "LISTEN_BACKLOG", "EmulatorServer", "PortInUseError"]

DEFAULT_MAX_BODY: Final = 16 * 1024 * 1024
LISTEN_BACKLOG: Final = 1024
"""Connections the kernel queues before the server accepts them. socketserver's default of 5
loses connections (and so requests) when a few dozen clients connect at once."""
_STOP_GRACE: Final = 5.0
"""Seconds stop() waits for requests being handled to end (woken by the stop)."""


class PortInUseError(OSError):
    """The port is taken: another server (often another emulator) already listens there."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        super().__init__(
            errno.EADDRINUSE,
            f"port {port} is already in use on {host}; stop whatever listens there or pick "
            "another port (0 picks a free one)",
        )

    def __str__(self) -> str:
        return str(self.strerror)


class _Once:
    """Call ``function`` the first time only: a request leaves the in-flight count once."""

    def __init__(self, function: Callable[[], None]) -> None:
        self._function: Callable[[], None] | None = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection per worker
    # Without this, Nagle's algorithm and the client's delayed ACK stall each reply ~40 ms.
    disable_nagle_algorithm = True

    @property
    def _owner(self) -> EmulatorServer:
        return cast("_Server", self.server).owner

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a library's test server must not write to stderr per request."""

    def do_GET(self) -> None:
        """Every method goes through :meth:`_handle`."""
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- reading ------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding") is not None:
            self._refuse_request(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        length = self.headers.get("Content-Length")
        if length is None:
            return b""  # no Content-Length and no Transfer-Encoding: no body (RFC 9112)
        if not length.strip().isdigit():
            self._refuse_request(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return None
        if int(length) > self._owner.max_body:
            self._refuse_request(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request too large")
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):  # the client hung up mid-body
            self.close_connection = True
            return None
        return body

    def _refuse_request(self, status: HTTPStatus, text: str) -> None:
        self._send(attrs.evolve(Reply.text(status, text), close=True))

    def _handle(self) -> None:
        owner = self._owner
        arrived = owner.state.now()
        received = time.monotonic()  # for response times: the state's clock may be manual
        parts = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers=tuple(self.headers.items()),
            body=body,
        )
        if parts.path.startswith(ADMIN_PREFIX):
            self._send(owner.admin.handle(request))
            return
        try:
            outcome = owner.handler(request)
        except Exception as exc:  # an emulator bug must still reach the client as a reply
            self._send(Reply.text(HTTPStatus.INTERNAL_SERVER_ERROR, f"emulator error: {exc!r}"))
            return
        if isinstance(outcome, Reply):
            self._send(outcome)
        else:
            self._operate(outcome, request, arrived, received)

    # -- answering ----------------------------------------------------------------------

    def _encode(self, reply: Reply) -> bytes:
        if reply.close:
            self.close_connection = True
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = ""
        head = (
            f"HTTP/1.1 {reply.status} {phrase}\r\n"
            f"Content-Type: {reply.content_type}\r\n"
            f"Content-Length: {len(reply.body)}\r\n"
            f"Server: {self._owner.server_header}\r\n"
        )
        head += "".join(f"{name}: {value}\r\n" for name, value in reply.headers)
        if self.close_connection:
            head += "Connection: close\r\n"
        return head.encode("latin-1") + b"\r\n" + reply.body

    def _send(self, reply: Reply, done: Callable[[], None] | None = None) -> None:
        data = self._encode(reply)
        if done is not None:
            done()  # before the write: a client never sees a reply still counted in flight
        # One write: headers and body in separate segments is what triggers the Nagle stall.
        self.wfile.write(data)

    def _operate(
        self, operation: Operation, request: Request, arrived: float, received: float
    ) -> None:
        owner = self._owner
        rule = owner.faults.take(operation.name) if operation.faultable else None
        fault = None if rule is None else rule.fault
        owner.state.log.start(
            operation.name,
            at=arrived,
            recipients=operation.recipients,
            fault=None if fault is None else fault.name,
        )
        done = _Once(owner.state.log.finish)
        try:
            if fault is None:
                self._send(operation.run(), done)
            else:
                self._apply(fault, operation, request, done, received)
        finally:
            done()

    def _apply(
        self,
        fault: Fault,
        operation: Operation,
        request: Request,
        done: Callable[[], None],
        received: float,
    ) -> None:
        kind = fault.kind
        if kind is FaultKind.DELAY:
            if self._owner.stopping.wait(fault.seconds):
                self.close_connection = True
                return
            self._send(operation.run(), done)
        elif kind is FaultKind.LATENCY:
            reply = operation.run()
            if self._owner.stopping.wait(max(received + fault.seconds - time.monotonic(), 0)):
                self.close_connection = True
                return
            self._send(reply, done)
        elif kind is FaultKind.STATUS:
            reply = Reply(status=fault.status, body=fault.body, content_type=fault.content_type)
            self._send(reply, done)
        elif kind is FaultKind.REDIRECT:
            location = fault.location or self._owner.url(request.path, request.header("Host"))
            self._send(Reply(status=fault.status, headers=(("Location", location),)), done)
        elif kind is FaultKind.REFUSE:
            done()
            self._reset()
        else:
            reply = operation.run()
            if kind is FaultKind.DROP:
                # The work is done and recorded; the client just never hears about it.
                done()
                self.close_connection = True
            elif kind is FaultKind.REPLY:
                swapped = Reply(
                    status=fault.status, body=fault.body, content_type=fault.content_type
                )
                self._send(swapped, done)
            elif kind is FaultKind.OVERSIZE:
                padded = reply.body + b" " * max(fault.size - len(reply.body), 0)
                self._send(attrs.evolve(reply, body=padded), done)
            else:
                self._trickle(self._encode(reply), fault.seconds, done)

    def _trickle(self, data: bytes, seconds: float, done: Callable[[], None]) -> None:
        for index in range(len(data)):
            if self._owner.stopping.wait(seconds):
                self.close_connection = True
                return
            if index == len(data) - 1:
                done()
            self.wfile.write(data[index : index + 1])

    def _reset(self) -> None:
        """Close with a TCP reset, as a server that never read the request would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    # On Windows SO_REUSEADDR lets a second server bind a port in use; elsewhere it only
    # allows rebinding over TIME_WAIT, and a busy port still fails with EADDRINUSE.
    allow_reuse_address = sys.platform != "win32"

    def __init__(self, address: tuple[str, int], owner: EmulatorServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.handlers: set[threading.Thread] = set()
        self.connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also looks the host up with getfqdn(), a DNS query that can
        # take seconds; nothing here uses the name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.handlers.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.handlers.discard(threading.current_thread())

    def join_handlers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in all for the connections' threads to end."""
        deadline = time.monotonic() + timeout
        with self.connections_lock:
            handlers = list(self.handlers)
        for handler in handlers:
            handler.join(max(deadline - time.monotonic(), 0.0))

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-reply (timeouts, fault tests, stop()) is routine here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections so they exit."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            # OSError: the client already closed it.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """An emulator on a real socket: its state, its service routes, and the kit's parts.

    It serves HTTP/1.1 with keep-alive from a daemon thread, one thread per connection, and
    answers each reply in a single write with Nagle's algorithm off. Requests under
    ``/_emulator/`` go to the admin endpoints; every other request goes to ``handler``, and
    the :class:`~smsbridge.testing.server.Operation` it returns is logged in ``state.log`` and
    may be faulted by ``faults``.

    :param state: the emulator's state (its clock and request log are used).
    :param handler: the emulator's service routes.
    :param faults: the fault injector (a fresh one by default).
    :param admin: extra admin endpoints by ``(method, name)``, e.g. ``("GET", "accounts")``.
    :param host: the address to listen on.
    :param port: the port; 0 picks a free one (read :attr:`port` after :meth:`start`).
    :param max_body: larger request bodies are answered 413.
    :param server_header: the ``Server`` header of every reply.
    :param name: the serving thread's name.
    """

    def __init__(
        self,
        state: ServiceState,
        handler: Handler,
        *,
        faults: FaultInjector | None = None,
        admin: Mapping[tuple[str, str], AdminRoute] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body: int = DEFAULT_MAX_BODY,
        server_header: str = "smsbridge-emulator",
        name: str = "emulator",
    ) -> None:
        self.state = state
        self.handler = handler
        self.faults = FaultInjector() if faults is None else faults
        self.admin = AdminRoutes(state, self.faults, admin)
        self.host = host
        self.port = port
        self.max_body = max_body
        self.server_header = server_header
        self.name = name
        self.stopping = threading.Event()
        """Set by :meth:`stop`; delays and trickles wait on it so they end with the server."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        running = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.name} {self.host}:{self.port} {running}>"

    @property
    def running(self) -> bool:
        """Whether :meth:`start` has bound the socket (and :meth:`stop` has not closed it)."""
        return self._server is not None

    @property
    def socket(self) -> socket.socket | None:
        """The listening socket while running (to read its options), else None."""
        return None if self._server is None else self._server.socket

    @property
    def base_url(self) -> str:
        """``http://host:port``, valid once started."""
        if self._server is None:
            msg = f"the {self.name} is not running; call start() first"
            raise RuntimeError(msg)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The absolute URL of ``path`` here (``host`` replaces ``host:port``, as a Host
        header would)."""
        base = self.base_url if host is None else f"http://{host}"
        return base + path

    @property
    def admin_url(self) -> str:
        """Base URL of the JSON admin endpoints."""
        return self.base_url + ADMIN_PREFIX

    def start(self) -> Self:
        """Bind the socket and serve in a background thread; returns self.

        :raises PortInUseError: when something already listens on the port.
        :raises OSError: when the address cannot be bound for another reason.
        """
        if self._server is not None:
            return self
        try:
            server = _Server((self.host, self.port), self)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(self.host, self.port) from exc
            raise
        self.port = server.server_address[1]
        self.stopping = threading.Event()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{self.name}-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; close the listening socket and every open connection, idle ones
        included, and wait (a few seconds at most) for requests being handled to end.
        Harmless when not running."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        # Woken by the stop, requests end at once; a handler stuck in an emulator's own code
        # is left behind (its thread is a daemon) rather than hanging stop().
        server.join_handlers(_STOP_GRACE)
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
