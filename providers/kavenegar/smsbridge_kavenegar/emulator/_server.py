"""The emulator: Kavenegar's REST API (``/v1/KEY/scope/method.json``) on the test-server kit."""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote

from smsbridge.testing.server import EmulatorServer, Operation, Reply, Request, ServedEmulator

from ._faults import JSON, FaultInjector, error_body
from ._state import EmulatorState

__all__ = ["Emulator"]

_FORM: Final = "application/x-www-form-urlencoded"


def _params(request: Request) -> dict[str, str]:
    """Query and form parameters (the form wins); undecodable bytes are replaced."""
    params = dict(parse_qsl(request.query, keep_blank_values=True))
    if request.body and request.media_type in ("", _FORM):
        body = request.body.decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    return params


class Emulator(ServedEmulator):
    """Kavenegar's REST API on a real socket, serving from a daemon thread.

    >>> with Emulator() as emulator:  # doctest: +SKIP
    ...     client = smsbridge.Client(emulator.provider_url())

    ``state`` is the :class:`EmulatorState`, ``faults`` the :class:`FaultInjector`, and
    ``server`` the kit's :class:`~smsbridge.testing.server.EmulatorServer` underneath.
    """

    def __init__(
        self, state: EmulatorState | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = EmulatorState.demo() if state is None else state
        self.faults = FaultInjector()
        self.server = EmulatorServer(
            self.state,
            self._handle,
            faults=self.faults,
            admin={("GET", "accounts"): self._accounts},
            host=host,
            port=port,
            server_header="nginx smsbridge-emulator",
            name="kavenegar-emulator",
        )

    def provider_url(self, name: str | None = None, sender: str | None = None) -> str:
        """A ``kavenegar://`` URL for an account (by name; default: the first) against this
        emulator; ``sender`` defaults to the account's default line."""
        accounts = list(self.state.accounts.values())
        account = accounts[0] if name is None else next(a for a in accounts if a.name == name)
        line = sender if sender is not None else account.default_line
        query = "" if line is None else f"from={quote(line, safe='')}&"
        return f"kavenegar://{quote(account.api_key, safe='')}@/?{query}endpoint={self.url}"

    # -- the service ---------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply | Operation:
        parts = request.path.split("/")
        if len(parts) != 5 or parts[1] != "v1" or not parts[4].endswith(".json"):
            return _reply(404)
        # The key is a path segment: percent-decoded like any other.
        api_key, method = unquote(parts[2]), f"{parts[3]}/{parts[4].removesuffix('.json')}"
        params = _params(request)
        receptors = params.get("receptor", "")
        recipients = len(receptors.split(",")) if receptors and method == "sms/send" else 0
        return Operation(
            name=method,
            recipients=1 if method == "verify/lookup" else recipients,
            run=lambda: self._run(api_key, method, params, request.method),
        )

    def _run(self, api_key: str, method: str, params: dict[str, str], http_method: str) -> Reply:
        try:
            answer = self.state.call(api_key, method, params, http_method)
        except Exception as exc:  # any bug must still reach the client as a reply
            return Reply.text(500, f"emulator error: {type(exc).__name__}")
        if answer.code != 200:
            return _reply(answer.code)
        body = {"return": {"status": 200, "message": "تایید شد"}, "entries": answer.entries}
        return Reply(body=json.dumps(body, ensure_ascii=False).encode(), content_type=JSON)

    def _accounts(self, _: Any) -> list[dict[str, Any]]:
        """``GET /_emulator/accounts``: every account without its key."""
        return [
            {
                "name": account.name,
                "credit": account.credit,
                "active": account.active,
                "lines": sorted(account.lines),
                "default_line": account.default_line,
                "templates": sorted(account.templates),
                "advanced": account.advanced,
                "international": account.international,
                "test_mode": account.test_mode,
            }
            for account in list(self.state.accounts.values())
        ]


def _reply(code: int) -> Reply:
    # The service answers its return code as the HTTP status too.
    return Reply(status=code, body=error_body(code), content_type=JSON)
