"""Helpers shared by the Kavenegar provider tests (fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import quote

import pytest
from smsbridge_kavenegar.emulator import Emulator

import smsbridge
from smsbridge import RecipientResult, ResultError

KEY = "demo-api-key"
LINE = "10004346"
TWO = ("+989120000001", "+989120000002")
"""Two Iranian mobiles: one sms/send request of two receptors."""
TEXT = "سلام"

Mode = Literal["sync", "async"]
MODES = pytest.mark.parametrize("mode", ["sync", "async"])
"""Run a test once through ``Client.send`` and once through ``await Client.asend``."""


def kave_url(endpoint: str, *, key: str = KEY, sender: str | None = LINE, extra: str = "") -> str:
    """A kavenegar:// URL for ``key`` at ``endpoint``."""
    line = "" if sender is None else f"from={sender}&"
    return f"kavenegar://{quote(key, safe='')}@/?{line}endpoint={endpoint}{extra}"


def numbers(count: int, start: int = 0) -> list[str]:
    """``count`` distinct Iranian mobiles in E.164."""
    return [f"+98912{n:07d}" for n in range(start, start + count)]


def send_through_client(
    mode: Mode,
    endpoint: str,
    *,
    recipients: Sequence[str] = TWO,
    text: str = TEXT,
    timeout: float = 5.0,
    key: str = KEY,
    **send: Any,
) -> list[RecipientResult]:
    """Send ``text`` to ``recipients`` through a fresh client at ``endpoint``, with
    ``Client.send`` or ``await Client.asend``; the client is closed afterwards."""
    url = kave_url(endpoint, key=key)
    if mode == "sync":
        with smsbridge.Client(url, timeout=timeout, autoload_plugins=True) as client:
            return list(client.send(text, list(recipients), **send))

    async def go() -> list[RecipientResult]:
        async with smsbridge.Client(url, timeout=timeout, autoload_plugins=True) as client:
            return list(await client.asend(text, list(recipients), **send))

    return asyncio.run(go())


def query_through_client(
    mode: Mode, endpoint: str, what: str, *args: Any, timeout: float = 5.0, key: str = KEY
) -> Any:
    """Ask ``what`` (``delivery_status``/``balance``) through a fresh client, sync or async."""
    url = kave_url(endpoint, key=key)
    if mode == "sync":
        with smsbridge.Client(url, timeout=timeout, autoload_plugins=True) as client:
            return getattr(client, what)(*args)

    async def go() -> Any:
        async with smsbridge.Client(url, timeout=timeout, autoload_plugins=True) as client:
            return await getattr(client, f"a{what}")(*args)

    return asyncio.run(go())


def shared_error(results: Sequence[RecipientResult]) -> ResultError:
    """The one error every result of a failed request carries (they must all carry it)."""
    assert results
    errors = {result.error for result in results}
    assert len(errors) == 1, f"the recipients of one request failed differently: {errors}"
    (error,) = errors
    assert error is not None, "the request did not fail"
    return error


def sends(emulator: Emulator) -> int:
    """Send requests (sms/send and verify/lookup) the emulator received."""
    return sum(1 for r in emulator.state.requests if r.operation in ("sms/send", "verify/lookup"))


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def kave_body(status: int = 200, entries: Any = None, message: str = "ok") -> bytes:
    """A reply body as Kavenegar writes it."""
    return json.dumps(
        {"return": {"status": status, "message": message}, "entries": entries}
    ).encode()


class CannedServer:
    """A real HTTP server answering every request with one fixed reply, for shapes the
    emulator never produces (gateway errors, mismatched entries, unlisted codes)."""

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = dict(headers or {})
        self.paths: list[str] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                canned.paths.append(self.path)
                self.send_response(HTTPStatus(canned.status))
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(canned.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CannedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
