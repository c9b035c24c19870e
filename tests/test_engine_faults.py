"""What the engine makes of each kind of reply, end to end over real sockets.

A small JSON provider (defined here, as a plugin author would) sends through the engine's HTTP
transport to a scripted server; each test gives the server one way to misbehave and checks the
outcome every recipient gets.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence

import pytest
from transport_support import ScriptServer, reply

from smsbridge import (
    BaseProvider,
    Batch,
    Capabilities,
    Client,
    ErrorCategory,
    RecipientResult,
    SendStatus,
    UnknownProviderError,
)
from smsbridge.transport import Request, Response

PASSWORD = "s3cr3t p@ss/wörd"
TWO = ["09121111111", "09122222222"]


class JsonProvider(BaseProvider):
    """POSTs ``{"to": [...], "text": ..., "password": ...}``; reads ``{"ids": [...]}``."""

    scheme = "jsontest"
    capabilities = Capabilities(max_batch_size=10)

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def secrets(self) -> Sequence[str]:
        return (PASSWORD,)

    def request_for(self, batch: Batch) -> Request:
        body = {"to": list(batch.recipients), "text": "x", "password": PASSWORD}
        return Request(method="POST", url=self.endpoint, content=json.dumps(body).encode())

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        data = response.json()
        if "error" in data:
            raise UnknownProviderError(
                "refused", provider=self.name, provider_code=401, provider_text=data["error"]
            )
        return [
            RecipientResult(recipient=n, status=SendStatus.ACCEPTED, message_id=str(i))
            for n, i in zip(batch.recipients, data["ids"], strict=True)
        ]


def answering(answer: bytes, *, delay: float = 0) -> ScriptServer:
    server = ScriptServer(lambda s: None)

    def script(sock: socket.socket) -> None:
        while server.read(sock):
            time.sleep(delay)
            sock.sendall(answer)

    server.script = script
    return server


def send(server: ScriptServer, **options: object) -> list[RecipientResult]:
    with Client(provider=JsonProvider(server.url()), **options) as client:  # type: ignore[arg-type]
        return list(client.send("hello", TWO))


class TestRedirects:
    """A redirect is refused, reported, and never followed (item: nothing re-POSTed)."""

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_rejected_with_the_location(self, status: int) -> None:
        """Every recipient is rejected (nothing was sent), the error names where it pointed,
        and the target of the redirect never sees the request."""
        target = answering(reply(200, b'{"ids": [1, 2]}'))
        with target:
            origin = answering(reply(status, b"", {"Location": target.url("/elsewhere")}))
            with origin:
                results = send(origin)
        assert [r.status for r in results] == [SendStatus.REJECTED] * 2
        error = results[0].error
        assert error is not None
        assert error.category is ErrorCategory.CONFIGURATION
        assert target.url("/elsewhere") in error.message
        assert target.requests == []
        assert len(origin.requests) == 1


class TestEmptyAndInconsistentReplies:
    """Replies that cannot be trusted make the request's recipients unknown."""

    @pytest.mark.parametrize("status", [200, 202, 204])
    def test_success_without_a_body_is_unknown(self, status: int) -> None:
        """A 2xx with no body after a send: the service took it, but said nothing."""
        with answering(reply(status, b"")) as server:
            results = send(server)
        assert [r.status for r in results] == [SendStatus.UNKNOWN] * 2
        assert results[0].error is not None
        assert results[0].error.category is ErrorCategory.OUTCOME_UNKNOWN

    def test_duplicate_ids_for_different_recipients_are_unknown(self) -> None:
        """Two recipients with one message id: which is which cannot be trusted."""
        with answering(reply(200, b'{"ids": [7, 7]}')) as server:
            results = send(server)
        assert [r.status for r in results] == [SendStatus.UNKNOWN] * 2
        assert results[0].error is not None
        assert "same message id" in results[0].error.message


class TestBounded:
    """The deadline and the size cap hold through the engine."""

    def test_a_trickling_server_cannot_hold_a_send_past_the_timeout(self) -> None:
        """One byte every 0.1 s, timeout 0.5 s: the send returns within about a second, unknown."""
        server = ScriptServer(lambda s: None)

        def trickle(sock: socket.socket) -> None:
            server.read(sock)
            for byte in reply(200, b'{"ids": [1, 2]}' + b" " * 200):
                sock.sendall(bytes([byte]))
                time.sleep(0.1)

        server.script = trickle
        with server:
            started = time.monotonic()
            results = send(server, timeout=0.5)
            spent = time.monotonic() - started
        assert [r.status for r in results] == [SendStatus.UNKNOWN] * 2
        assert spent < 1.5

    def test_an_oversized_reply_is_unknown(self) -> None:
        """A reply over the cap may still mean the request was processed: unknown."""
        with answering(reply(200, b'{"ids": [1, 2]}' + b" " * 5_000_000)) as server:
            results = send(server)
        assert [r.status for r in results] == [SendStatus.UNKNOWN] * 2
        assert results[0].error is not None
        assert "larger than" in results[0].error.message

    def test_the_cap_comes_from_the_url(self) -> None:
        """``max_response_bytes`` is a client setting (URL or code)."""
        with answering(reply(200, b'{"ids": [1, 2]}' + b" " * 2_000)) as server:
            assert [r.status for r in send(server, max_response_bytes=1000)] == [
                SendStatus.UNKNOWN
            ] * 2
            assert [r.status for r in send(server)] == [SendStatus.ACCEPTED] * 2


class TestEchoedSecrets:
    """A provider text that echoes the request keeps no secret."""

    @pytest.mark.parametrize(
        "echo",
        [
            PASSWORD,
            "s3cr3t%20p%40ss%2Fw%C3%B6rd",  # percent-encoded
            "s3cr3t%20p%40ss%2fw%c3%b6rd",  # percent-encoded, lower-case hex
            "s3cr3t+p%40ss%2Fw%C3%B6rd",  # form-encoded
            "czNjcjN0IHBAc3Mvd8O2cmQ=",  # base64
        ],
    )
    def test_scrubbed_from_results(self, echo: str) -> None:
        """The password, plain, percent-encoded or base64, is masked in the kept text."""
        body = json.dumps({"error": f"bad request: password={echo}"}).encode()
        with answering(reply(200, body)) as server:
            results = send(server)
        error = results[0].error
        assert error is not None
        assert error.provider_text is not None
        assert echo not in error.provider_text
        assert "********" in error.provider_text
