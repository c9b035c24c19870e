"""The emulator: Send.asmx's SOAP 1.1 endpoint and its ``?wsdl``, and the REST API, on the
test-server kit."""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from smsbridge.testing.server import EmulatorServer, Operation, Reply, Request, ServedEmulator

from . import _operations, _rest, _soap
from ._faults import XML, FaultInjector
from ._rest import REST_PATH
from ._soap import Call, SoapError
from ._state import EmulatorState, Pattern

__all__ = ["REST_PATH", "SERVICE_PATH", "Emulator"]

SERVICE_PATH: Final = "/post/Send.asmx"
_WSDL_PATH: Final = Path(__file__).resolve().parent.parent / "Send.wsdl"
_WSDL_ADDRESS: Final = 'location="https://api.payamak-panel.com/post/Send.asmx"'
_HOST: Final = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_NOT_FOUND: Final = Reply.text(HTTPStatus.NOT_FOUND, "Not Found")
_PAGE: Final = Reply(
    body=b"<html><body>Send Web Service</body></html>", content_type="text/html; charset=utf-8"
)


def _fault(message: str, code: str) -> Reply:
    return Reply(
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        body=_soap.fault_envelope(message, code),
        content_type=XML,
    )


class Emulator(ServedEmulator):
    """A local Send.asmx and REST API on a real socket, serving from a daemon thread.

    >>> with Emulator() as emulator:  # doctest: +SKIP
    ...     client = zeep.Client(emulator.wsdl_url)

    ``state`` is the :class:`EmulatorState`, ``faults`` the :class:`FaultInjector`, and
    ``server`` the kit's :class:`~smsbridge.testing.server.EmulatorServer` underneath.
    """

    def __init__(
        self, state: EmulatorState | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = EmulatorState.demo() if state is None else state
        self.faults = FaultInjector()
        self.wsdl_template = _WSDL_PATH.read_text(encoding="utf-8")
        self.server = EmulatorServer(
            self.state,
            self._handle,
            faults=self.faults,
            admin={
                ("GET", "accounts"): self._accounts,
                ("GET", "patterns"): self._patterns,
                ("POST", "patterns"): self._add_pattern,
            },
            host=host,
            port=port,
            server_header="Microsoft-IIS/10.0 smsbridge-emulator",
            name="melipayamak-emulator",
        )

    @property
    def url(self) -> str:
        """The SOAP endpoint, ``http://host:port/post/Send.asmx`` (valid once started)."""
        return self.server.url(SERVICE_PATH)

    @property
    def rest_url(self) -> str:
        """The REST API's base, ``http://host:port/api/SendSMS`` (valid once started)."""
        return self.server.url(REST_PATH)

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served, with its address pointing back at :attr:`url`."""
        return self.url + "?wsdl"

    def provider_url(
        self,
        username: str | None = None,
        sender: str | None = None,
        api: Literal["soap", "rest"] = "soap",
    ) -> str:
        """A ``melipayamak://`` URL for an account (default: the first) against this emulator,
        over SOAP or (``api="rest"``) the REST API.

        ``sender`` defaults to the account's first line in sorted order.
        """
        name = next(iter(self.state.accounts)) if username is None else username
        account = self.state.accounts[name]
        line = sender if sender is not None else min(account.lines, default=None)
        query = "" if line is None else f"from={quote(line, safe='')}&"
        endpoint = f"api=rest&endpoint={self.rest_url}" if api == "rest" else f"endpoint={self.url}"
        return (
            f"melipayamak://{quote(account.username, safe='')}:"
            f"{quote(account.password, safe='')}@/?{query}{endpoint}"
        )

    # -- the service ---------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply | Operation:
        if request.path.lower() != SERVICE_PATH.lower():
            rest = _rest.handle(self.state, request)
            return _NOT_FOUND if rest is None else rest
        if request.method == "GET":
            if request.query.lower() == "wsdl":
                return Reply(body=self._wsdl(request), content_type=XML)
            return _PAGE
        if request.method != "POST":
            return Reply.text(HTTPStatus.METHOD_NOT_ALLOWED, "Method Not Allowed")
        if request.media_type != "text/xml":
            # ASMX answers SOAP 1.1 only for text/xml; anything else is not this binding.
            return Reply.text(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
        try:
            call = _soap.parse_call(request.body)
            _operations.check(call, request.header("SOAPAction"))
        except SoapError as exc:
            refusal = _fault(exc.message, exc.code)
            return Operation(name="", run=lambda: refusal, faultable=False)
        return Operation(
            name=call.operation,
            recipients=_operations.recipient_count(call),
            run=lambda: self._run(call),
        )

    def _run(self, call: Call) -> Reply:
        try:
            response = _operations.dispatch(self.state, call)
        except SoapError as exc:
            return _fault(exc.message, exc.code)
        except Exception as exc:  # any bug must still reach the client as a Fault
            return _fault(f"Server was unable to process request. ---> {exc!r}", "Server")
        return Reply(body=response, content_type=XML)

    def _wsdl(self, request: Request) -> bytes:
        host = request.header("Host") or ""
        if not _HOST.fullmatch(host):
            host = f"{self.host}:{self.port}"
        location = f"location={quoteattr(f'http://{host}{SERVICE_PATH}')}"
        return self.wsdl_template.replace(_WSDL_ADDRESS, location).encode()

    def _accounts(self, _: Any) -> list[dict[str, Any]]:
        """``GET /_emulator/accounts``: every account without its password."""
        return [
            {
                "username": account.username,
                "credit": account.credit,
                "active": account.active,
                "documents_complete": account.documents_complete,
                "lines": sorted(account.lines),
                "daily_limit": account.daily_limit,
                "volume_limit": account.volume_limit,
                "min_recipients": account.min_recipients,
                "service_line": account.service_line,
                "pattern_access": account.pattern_access,
                "hourly_pattern_limit": account.hourly_pattern_limit,
            }
            for account in list(self.state.accounts.values())
        ]

    def _patterns(self, _: Any) -> list[dict[str, Any]]:
        """``GET /_emulator/patterns``: every registered pattern."""
        return [_pattern_json(p) for p in sorted(self.state.patterns.values(), key=_body_id)]

    def _add_pattern(self, payload: Any) -> dict[str, Any]:
        """``POST /_emulator/patterns``: ``{"body": "…{0}…", "body_id": N, "approved": true}``
        (only ``body`` is required); answers the pattern."""
        if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
            msg = 'expected {"body": "text with {0}, {1}...", "body_id": N, "approved": true}'
            raise ValueError(msg)
        body_id = payload.get("body_id")
        approved = payload.get("approved", True)
        if body_id is not None and (isinstance(body_id, bool) or not isinstance(body_id, int)):
            msg = "body_id must be an integer"
            raise ValueError(msg)
        if not isinstance(approved, bool):
            msg = "approved must be true or false"
            raise ValueError(msg)
        pattern = self.state.add_pattern(payload["body"], body_id, approved=approved)
        return _pattern_json(pattern)


def _body_id(pattern: Pattern) -> int:
    return pattern.body_id


def _pattern_json(pattern: Pattern) -> dict[str, Any]:
    return {
        "body_id": pattern.body_id,
        "body": pattern.body,
        "approved": pattern.approved,
        "variables": pattern.variables,
    }
