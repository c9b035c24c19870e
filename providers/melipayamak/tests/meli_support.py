"""Helpers shared by the Melipayamak provider tests (fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest
from smsbridge_melipayamak import MelipayamakProvider
from smsbridge_melipayamak.emulator import DEMO_PATTERN, Emulator, EmulatorState

import smsbridge
from smsbridge import RecipientResult, ResultError, Template
from smsbridge.exceptions import ErrorCategory

LINE = "50004001234567"
PASSWORD = "demo-password"
OPT_OUT = "لغو11"
TWO = ("+989120000001", "+989120000002")
"""Two Iranian mobiles: one SendSms request of two recipients."""
TEXT = f"hi {OPT_OUT}"
"""A text the emulator accepts for several recipients (it carries the opt-out text)."""

Mode = Literal["sync", "async"]
MODES = pytest.mark.parametrize("mode", ["sync", "async"])
"""Run a test once through ``Client.send`` and once through ``await Client.asend``."""
Api = Literal["soap", "rest"]
APIS = pytest.mark.parametrize("api", ["soap", "rest"])
"""Run a test once over SOAP (Send.asmx) and once over the REST API."""
SEND_OPERATIONS = frozenset(
    {"SendSms", "SendByBaseNumber2", "rest/SendSMS", "rest/BaseServiceNumber"}
)
"""The emulator's names of the send requests (SOAP and REST), in its request log."""


def meli_url(endpoint: str, *, password: str = PASSWORD, extra: str = "", api: Api = "soap") -> str:
    """A melipayamak:// URL for the demo account at ``endpoint`` (a REST base for ``api``
    ``"rest"``)."""
    chosen = "&api=rest" if api == "rest" else ""
    return f"melipayamak://demo:{password}@/?from={LINE}{chosen}&endpoint={endpoint}{extra}"


def endpoint_of(emulator: Emulator, api: Api) -> str:
    """The emulator's SOAP endpoint or REST base."""
    return emulator.rest_url if api == "rest" else emulator.url


def client_for(
    emulator: Emulator, api: Api, *, password: str = PASSWORD, extra: str = "", **options: Any
) -> smsbridge.Client:
    """A client on the demo account against ``emulator`` over ``api`` (5 s per request)."""
    url = meli_url(endpoint_of(emulator, api), password=password, api=api, extra=extra)
    return smsbridge.Client(url, autoload_plugins=True, **{"timeout": 5.0, **options})


OTP = Template(id=str(DEMO_PATTERN), variables=["4821"])
"""The demo's OTP pattern with one code."""
OTP_TEXT = "کد ورود شما: 4821"
"""What a handset shows for :data:`OTP`."""


def pattern_reply(api: Api, value: str | None, ret_status: int = 1) -> tuple[bytes, str]:
    """A pattern send's reply as the service writes it over ``api``: body and content type."""
    if api == "rest":
        body = {"Value": value, "RetStatus": ret_status, "StrRetStatus": "Ok"}
        return json.dumps(body).encode(), "application/json; charset=utf-8"
    result = "" if value is None else f"<SendByBaseNumber2Result>{value}</SendByBaseNumber2Result>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<SendByBaseNumber2Response xmlns="http://tempuri.org/">{result}'
        "</SendByBaseNumber2Response></soap:Body></soap:Envelope>"
    ).encode(), "text/xml; charset=utf-8"


def meli_provider(
    endpoint: str, *, password: str = PASSWORD, sender: str | None = LINE
) -> MelipayamakProvider:
    """A provider for the demo account at ``endpoint``, built in code."""
    return MelipayamakProvider(username="demo", password=password, sender=sender, endpoint=endpoint)


def send_through_client(
    mode: Mode,
    endpoint: str,
    *,
    recipients: Sequence[str] = TWO,
    text: str = TEXT,
    timeout: float = 5.0,
    password: str = PASSWORD,
    **send: Any,
) -> list[RecipientResult]:
    """Send ``text`` to ``recipients`` through a fresh ``melipayamak://`` client at
    ``endpoint``, with ``Client.send`` (sync) or ``await Client.asend`` (async); the client is
    closed afterwards, and tries each request once (what one fault means, not what the
    default retries make of it). Returns one result per recipient."""
    url = meli_url(endpoint, password=password)
    once = smsbridge.Retry(attempts=1)
    if mode == "sync":
        with smsbridge.Client(url, timeout=timeout, autoload_plugins=True, retry=once) as client:
            return list(client.send(text, list(recipients), **send))

    async def go() -> list[RecipientResult]:
        async with smsbridge.Client(
            url, timeout=timeout, autoload_plugins=True, retry=once
        ) as client:
            return list(await client.asend(text, list(recipients), **send))

    return asyncio.run(go())


def query_through_client(
    mode: Mode,
    provider: MelipayamakProvider,
    what: Literal["delivery_status", "balance"],
    *args: Any,
    timeout: float = 5.0,
) -> Any:
    """Ask ``what`` through a fresh ``Client(provider=...)``: ``delivery_status``/``balance``
    (sync) or ``adelivery_status``/``abalance`` (async); the client is closed afterwards."""
    if mode == "sync":
        with smsbridge.Client(provider=provider, timeout=timeout) as client:
            return getattr(client, what)(*args)

    async def go() -> Any:
        async with smsbridge.Client(provider=provider, timeout=timeout) as client:
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


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class CannedServer:
    """A real HTTP server answering every POST with one fixed reply, for shapes the emulator
    never produces (mismatched arrays, unknown codes, gateway errors)."""

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/xml",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = dict(headers or {})
        self.posts = 0
        self.bodies: list[bytes] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                canned.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                canned.posts += 1
                self.send_response(HTTPStatus(canned.status))
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                for name, value in canned.headers.items():
                    self.send_header(name, value)
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


def deliveries_reply(codes: list[int]) -> bytes:
    """A GetDeliveriesResponse envelope as ASMX writes it."""
    items = "".join(f"<int>{code}</int>" for code in codes)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<GetDeliveriesResponse xmlns="http://tempuri.org/"><GetDeliveriesResult>'
        f"{items}</GetDeliveriesResult></GetDeliveriesResponse></soap:Body></soap:Envelope>"
    ).encode()


def numbers(count: int) -> list[str]:
    """``count`` distinct Iranian mobiles in E.164."""
    return [f"+98912{n:07d}" for n in range(count)]


Setup = Callable[[EmulatorState], None]


def account(**changes: object) -> Setup:
    """Change the demo account's fields."""

    def apply(state: EmulatorState) -> None:
        for name, value in changes.items():
            setattr(state.accounts["demo"], name, value)

    return apply


def service(**changes: object) -> Setup:
    """Change the emulator state's own fields."""

    def apply(state: EmulatorState) -> None:
        for name, value in changes.items():
            setattr(state, name, value)

    return apply


def nothing(state: EmulatorState) -> None:
    """No state change; the request itself triggers the code."""


# code, category, state change, text, recipients, sender
RETURN_CODES: list[tuple[int, ErrorCategory, Setup, str, list[str], str]] = [
    (0, ErrorCategory.AUTHENTICATION, account(password="changed"), "hi", numbers(1), LINE),
    (2, ErrorCategory.INSUFFICIENT_CREDIT, account(credit=0.0), "hi", numbers(1), LINE),
    (3, ErrorCategory.RATE_LIMITED, account(daily_limit=0), "hi", numbers(1), LINE),
    (4, ErrorCategory.RATE_LIMITED, account(volume_limit=1), f"hi {OPT_OUT}", numbers(2), LINE),
    (5, ErrorCategory.SENDER_REJECTED, nothing, "hi", numbers(1), "50009999999"),
    (6, ErrorCategory.PROVIDER_UNAVAILABLE, service(maintenance=True), "hi", numbers(1), LINE),
    (7, ErrorCategory.CONTENT_REJECTED, nothing, "بازی قمار آنلاین", numbers(1), LINE),
    (8, ErrorCategory.ACCOUNT_RESTRICTED, account(min_recipients=5), "hi", numbers(1), LINE),
    (9, ErrorCategory.SENDER_REJECTED, nothing, "hi", numbers(1), "10002188"),
    (10, ErrorCategory.ACCOUNT_RESTRICTED, account(active=False), "hi", numbers(1), LINE),
    (11, ErrorCategory.RECIPIENT_REJECTED, nothing, "hi", ["+447911123456"], LINE),
    (
        12,
        ErrorCategory.ACCOUNT_RESTRICTED,
        account(documents_complete=False),
        "hi",
        numbers(1),
        LINE,
    ),
    (14, ErrorCategory.CONTENT_REJECTED, nothing, "see https://example.com", numbers(1), LINE),
    (15, ErrorCategory.CONTENT_REJECTED, nothing, "no opt-out", numbers(2), LINE),
]
"""Every SendSms failure code, produced by emulator state rather than by a magic input."""
