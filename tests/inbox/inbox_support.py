"""Helpers shared by the inbox tests: a JSON client for the API and senders in other
processes (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smsbridge import Client, Retry

ROOT = Path(__file__).resolve().parents[2]
_SENDER = """
import json, sys
from smsbridge import Client, Message
store, text, flash, sender = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
numbers = sys.argv[5:]
message = Message(text=text, flash=flash, sender=sender or None)
with Client("fake://?inbox=" + store) as client:
    report = client.send(message, numbers)
print(json.dumps([
    {"status": r.status.value, "id": r.message_id,
     "category": None if r.error is None else r.error.category.value}
    for r in report
]))
"""


def child_env() -> dict[str, str]:
    """The environment for a sending child process: no ambient provider, no plugins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
    env["SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def send_elsewhere(
    store: Path | str,
    text: str,
    numbers: Sequence[str],
    *,
    flash: bool = False,
    sender: str = "",
) -> list[dict[str, Any]]:
    """Send through ``fake://?inbox=STORE`` from another Python process; its report."""
    done = subprocess.run(
        [sys.executable, "-c", _SENDER, str(store), text, "1" if flash else "0", sender, *numbers],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


class Api:
    """A JSON client for the inbox's REST API (no proxies, real sockets)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        """``(status, decoded JSON body)``; HTTP errors are returned, not raised."""
        sent = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            sent.setdefault("Content-Type", "application/json")
        if self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.base + path, data=data, headers=sent, method=method
        )
        try:
            with self._opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                return error.code, json.loads(payload or b"null")
            except ValueError:
                return error.code, payload.decode("utf-8", "replace")

    def get(self, path: str) -> Any:
        """GET ``path``; asserts a 200 and returns the JSON."""
        status, data = self.call("GET", path)
        assert status == 200, (status, data)
        return data

    def post(self, path: str, body: object) -> Any:
        """POST JSON; asserts a 2xx and returns the JSON."""
        status, data = self.call("POST", path, body)
        assert 200 <= status < 300, (status, data)
        return data

    def delete(self, path: str) -> Any:
        """DELETE ``path``; asserts a 200 and returns the JSON."""
        status, data = self.call("DELETE", path)
        assert status == 200, (status, data)
        return data


def melipayamak_client(url: str, *, retry: Retry | None = None) -> Client:
    """A client for a ``melipayamak://`` URL, its provider built here: a Client given a
    provider object reaches it even where ``sms_outbox`` captures Clients built from URLs.
    It tries each request once unless ``retry`` says otherwise: these tests are about what
    one request's fault looks like."""
    from smsbridge_melipayamak import MelipayamakProvider

    from smsbridge.config import ProviderURL

    provider = MelipayamakProvider.from_url(ProviderURL.parse(url))
    return Client(provider=provider, timeout=5, retry=retry or Retry(attempts=1))


def kavenegar_client(url: str, *, retry: Retry | None = None) -> Client:
    """A client for a ``kavenegar://`` URL, its provider built here, trying each request once
    unless ``retry`` says otherwise (as :func:`melipayamak_client`)."""
    from smsbridge_kavenegar import KavenegarProvider

    from smsbridge.config import ProviderURL

    provider = KavenegarProvider.from_url(ProviderURL.parse(url))
    return Client(provider=provider, timeout=5, retry=retry or Retry(attempts=1))
