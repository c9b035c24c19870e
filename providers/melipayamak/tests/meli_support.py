"""Helpers shared by the Melipayamak provider tests (fixtures are in conftest.py)."""

from __future__ import annotations

import base64
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LINE = "50004001234567"
PASSWORD = "demo-password"
OPT_OUT = "لغو11"


class ManualClock:
    """A clock the tests move by hand, so delivery progress needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def meli_url(endpoint: str, *, password: str = PASSWORD, extra: str = "") -> str:
    """A melipayamak:// URL for the demo account at ``endpoint``."""
    return f"melipayamak://demo:{password}@/?from={LINE}&endpoint={endpoint}{extra}"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class CannedServer:
    """A real HTTP server answering every POST with one fixed reply, for shapes the emulator
    never produces (mismatched arrays, unknown codes, gateway errors)."""

    def __init__(self, status: int, body: bytes, content_type: str = "text/xml") -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.posts = 0
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                canned.posts += 1
                self.send_response(HTTPStatus(canned.status))
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.write(canned.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/post/Send.asmx"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CannedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def send_sms_reply(code: int, rec_ids: list[int], status: bytes) -> bytes:
    """A SendSmsResponse envelope as ASMX writes it."""
    ids = "".join(f"<long>{rec_id}</long>" for rec_id in rec_ids)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<SendSmsResponse xmlns="http://tempuri.org/"><SendSmsResult>{code}</SendSmsResult>'
        f"<recId>{ids}</recId><status>{base64.b64encode(status).decode()}</status>"
        "</SendSmsResponse></soap:Body></soap:Envelope>"
    ).encode()
