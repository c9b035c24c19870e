"""The HTTP server: Send.asmx's SOAP 1.1 endpoint, its ``?wsdl`` and the admin endpoints."""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from . import _operations, _soap
from ._admin import PREFIX, handle_admin
from ._faults import Fault, FaultInjector, FaultRule
from ._soap import Call, SoapError
from ._state import EmulatorState

__all__ = ["SERVICE_PATH", "Emulator"]

SERVICE_PATH: Final = "/post/Send.asmx"
_WSDL_PATH: Final = Path(__file__).resolve().parent.parent / "Send.wsdl"
_WSDL_ADDRESS: Final = 'location="https://api.payamak-panel.com/post/Send.asmx"'
_HOST: Final = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_MAX_BODY: Final = 16 * 1024 * 1024
_XML: Final = "text/xml; charset=utf-8"
_JSON: Final = "application/json; charset=utf-8"
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a benchmark reuses one connection
    # Without this, Nagle's algorithm and the client's delayed ACK stall each reply ~40 ms.
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0 smsbridge-emulator"

    @property
    def _emulator(self) -> Emulator:
        return cast("_Server", self.server).emulator

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a library's test server must not write to stderr per request."""

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Server: {self.server_version}\r\n"
        )
        if self.close_connection:
            head += "Connection: close\r\n"
        # One write: headers and body in separate segments is what triggers the Nagle stall.
        self.wfile.write(head.encode("latin-1") + b"\r\n" + body)

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._reply(HTTPStatus.LENGTH_REQUIRED, b"Content-Length required", "text/plain")
            return None
        if int(length) > _MAX_BODY:
            self.close_connection = True
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Request too large", "text/plain")
            return None
        return self.rfile.read(int(length))

    def _route(self) -> tuple[str, str]:
        parts = urlsplit(self.path)
        return parts.path, parts.query

    def do_GET(self) -> None:
        """Serve ``?wsdl``, a tiny service page, or an admin endpoint."""
        path, query = self._route()
        if path.startswith(PREFIX):
            self._admin("GET", path.removeprefix(PREFIX), b"")
        elif path.lower() == SERVICE_PATH.lower() and query.lower() == "wsdl":
            self._reply(HTTPStatus.OK, self._wsdl(), _XML)
        elif path.lower() == SERVICE_PATH.lower():
            self._reply(HTTPStatus.OK, b"<html><body>Send Web Service</body></html>", "text/html")
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    def _wsdl(self) -> bytes:
        host = self.headers.get("Host", "")
        if not _HOST.fullmatch(host):
            host = f"{self._emulator.host}:{self._emulator.port}"
        location = f"location={quoteattr(f'http://{host}{SERVICE_PATH}')}"
        return self._emulator.wsdl_template.replace(_WSDL_ADDRESS, location).encode()

    def do_POST(self) -> None:
        """Handle a SOAP call or an admin command."""
        path, _ = self._route()
        body = self._read_body()
        if body is None:
            return
        if path.startswith(PREFIX):
            self._admin("POST", path.removeprefix(PREFIX), body)
        elif path.lower() == SERVICE_PATH.lower():
            self._soap(body)
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    def _admin(self, method: str, path: str, body: bytes) -> None:
        emulator = self._emulator
        status, payload = handle_admin(emulator.state, emulator.faults, method, path, body)
        self._reply(status, payload, _JSON)

    def _fault(self, message: str, code: str) -> None:
        self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, _soap.fault_envelope(message, code), _XML)

    def _soap(self, body: bytes) -> None:
        media_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type != "text/xml":
            # ASMX answers SOAP 1.1 only for text/xml; anything else is not this binding.
            self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"Unsupported Media Type", "text/plain")
            return
        state = self._emulator.state
        try:
            call = _soap.parse_call(body)
            _operations.check(call, self.headers.get("SOAPAction"))
        except SoapError as exc:
            state.record_request("", 0, None)
            self._fault(exc.message, exc.code)
            return
        rule = self._emulator.faults.take()
        state.record_request(
            call.operation,
            _operations.recipient_count(call),
            None if rule is None else rule.fault.value,
        )
        self._answer(call, rule)

    def _answer(self, call: Call, rule: FaultRule | None) -> None:
        fault = None if rule is None else rule.fault
        if rule is not None and fault is Fault.DELAY:
            time.sleep(rule.seconds)
        if rule is not None and fault is Fault.HTTP_500:
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, _HTML_500, "text/html; charset=utf-8")
            return
        if rule is not None and fault is Fault.SOAP_FAULT:
            self._fault(rule.message, "Server")
            return
        try:
            response = _operations.dispatch(self._emulator.state, call)
        except SoapError as exc:
            self._fault(exc.message, exc.code)
            return
        except Exception as exc:  # any bug must still reach the client as a Fault
            self._fault(f"Server was unable to process request. ---> {exc!r}", "Server")
            return
        if fault is Fault.DROP:
            # The work is done and recorded; the client just never hears about it.
            self.close_connection = True
            return
        if fault is Fault.GARBAGE:
            response = _GARBAGE
        elif fault is Fault.WRONG_SHAPE:
            response = _WRONG_SHAPE
        self._reply(HTTPStatus.OK, response, _XML)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-reply (timeouts, drop tests, stop()) is routine here.
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


class Emulator:
    """A local Send.asmx on a real socket, serving from a daemon thread.

    >>> with Emulator() as emulator:  # doctest: +SKIP
    ...     client = zeep.Client(emulator.wsdl_url)
    """

    def __init__(
        self, state: EmulatorState | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = EmulatorState.demo() if state is None else state
        self.faults = FaultInjector()
        self.host = host
        self.port = port
        self.wsdl_template = _WSDL_PATH.read_text(encoding="utf-8")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The SOAP endpoint, ``http://host:port/post/Send.asmx`` (valid once started)."""
        if self._server is None:
            msg = "the emulator is not running; call start() first"
            raise RuntimeError(msg)
        return f"http://{self.host}:{self.port}{SERVICE_PATH}"

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served, with its address pointing back at :attr:`url`."""
        return self.url + "?wsdl"

    @property
    def admin_url(self) -> str:
        """Base URL of the JSON admin endpoints."""
        return f"http://{self.host}:{self.port}{PREFIX}"

    def start(self) -> Emulator:
        """Bind the socket and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"melipayamak-emulator-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket and any idle connections."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
