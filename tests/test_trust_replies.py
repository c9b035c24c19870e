"""A 2xx without a body after a send is ``unknown`` whatever the provider makes of it (trust
issue, item 7).

tests/test_engine_faults.py's provider crashes on an empty body, and a crash is ``unknown`` on
its own, so that test passes even when the engine does not look at empty replies at all. The
provider here reads "no body" the naive way, as "nothing was sent" (every recipient rejected):
the engine must overrule it, since the service took the request and only its answer is
missing. Over real sockets, for ``send`` and ``asend``.
"""

from __future__ import annotations

import asyncio
import socket
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
    ResultError,
    SendStatus,
)
from smsbridge.transport import Request, Response

TWO = ["09121111111", "09122222222"]


class NaiveProvider(BaseProvider):
    """Takes an empty reply for a refusal of every recipient, and ``ids`` for acceptance."""

    scheme = "naive"
    capabilities = Capabilities(max_batch_size=10)

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def request_for(self, batch: Batch) -> Request:
        return Request(
            method="POST", url=self.endpoint, content=b"to=" + ",".join(batch.recipients).encode()
        )

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        if not response.content:
            refused = ResultError(category=ErrorCategory.RECIPIENT_REJECTED, message="no ids")
            return [
                RecipientResult(recipient=number, status=SendStatus.REJECTED, error=refused)
                for number in batch.recipients
            ]
        return [
            RecipientResult(recipient=number, status=SendStatus.ACCEPTED, message_id=str(i))
            for i, number in enumerate(batch.recipients, start=1)
        ]


def answering(answer: bytes) -> ScriptServer:
    server = ScriptServer(lambda s: None)

    def script(sock: socket.socket) -> None:
        while server.read(sock):
            sock.sendall(answer)

    server.script = script
    return server


def send(mode: str, server: ScriptServer) -> list[RecipientResult]:
    with Client(provider=NaiveProvider(server.url())) as client:
        if mode == "sync":
            return list(client.send("hello", TWO))
        return list(asyncio.run(client.asend("hello", TWO)))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_an_empty_success_is_unknown_even_if_the_provider_says_rejected(
    mode: str, status: int
) -> None:
    """Every recipient unknown (may have been sent), with the HTTP status kept; the request
    went out once and is not retried (the send returns after its retries)."""
    with answering(reply(status, b"")) as server:
        results = send(mode, server)
        assert len(server.requests) == 1
    assert [r.status for r in results] == [SendStatus.UNKNOWN] * 2
    for result in results:
        assert result.error is not None
        assert result.error.category is ErrorCategory.OUTCOME_UNKNOWN
        assert result.error.provider_code == status
        assert "no body" in result.error.message


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_control_case(mode: str) -> None:
    """With a body the provider's own reading stands: accepted."""
    with answering(reply(200, b"ok")) as server:
        results: Sequence[RecipientResult] = send(mode, server)
    assert [r.status for r in results] == [SendStatus.ACCEPTED] * 2
