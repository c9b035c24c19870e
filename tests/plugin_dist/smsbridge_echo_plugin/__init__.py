"""An smsbridge plugin from outside the project: the provider ``echo://``.

It accepts every recipient, sends nothing, and numbers its message ids. ``echo://?prefix=X``
sets the id prefix. Registered through the entry point ``echo`` in the group ``smsbridge``.

Like every provider it is sans-I/O: ``request_for`` builds a JSON request and ``results_from``
reads the reply. Since there is no service to send to, it brings its own transport, which
answers in memory (``EchoProvider.requests`` and ``.sent`` show what it received).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable
from typing import Self

from smsbridge import (
    BaseProvider,
    Batch,
    Capabilities,
    ConfigurationError,
    Message,
    ProviderURL,
    RecipientResult,
    SendStatus,
    UnknownProviderError,
    hookimpl,
)
from smsbridge.transport import MockTransport, Request, Response

_ids = itertools.count(1)


class EchoProvider(BaseProvider):
    """Accepts everything, two recipients per request."""

    scheme = "echo"
    capabilities = Capabilities(max_batch_size=2)

    def __init__(self, prefix: str = "echo") -> None:
        self.prefix = prefix
        self.requests: list[list[str]] = []
        """The recipients of each request the in-memory service received."""
        self.sent: list[tuple[str, str]] = []
        """``(recipient, text)`` of every message it took, in order."""
        self._lock = threading.Lock()
        transport = MockTransport(self._service)
        self._transports = (transport, transport)

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        unknown = set(url.params) - {"prefix"}
        if unknown:
            raise ConfigurationError(f"echo:// does not take {', '.join(sorted(unknown))}")
        return cls(prefix=url.params.get("prefix", "echo"))

    def transport(self) -> tuple[MockTransport, MockTransport]:
        return self._transports

    def request_for(self, batch: Batch) -> Request:
        assert isinstance(batch.message, Message)  # no template capability declared
        body = {"to": list(batch.recipients), "text": batch.message.text}
        return Request(
            method="POST",
            url="http://echo.invalid/send",
            headers=[("Content-Type", "application/json")],
            content=json.dumps(body, ensure_ascii=False).encode(),
        )

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        if response.status_code != 200:
            raise UnknownProviderError(
                f"echo answered HTTP {response.status_code}",
                provider=self.name,
                provider_code=response.status_code,
            )
        ids = response.json()["ids"]
        return [
            RecipientResult(recipient=number, status=SendStatus.ACCEPTED, message_id=message_id)
            for number, message_id in zip(batch.recipients, ids, strict=True)
        ]

    def _service(self, request: Request) -> Response:
        """The in-memory service: takes every message, one id each."""
        body = json.loads(request.content)
        with self._lock:
            self.requests.append(list(body["to"]))
            self.sent.extend((number, body["text"]) for number in body["to"])
            ids = [f"{self.prefix}-{next(_ids)}" for _ in body["to"]]
        return Response(
            status_code=200,
            headers=[("Content-Type", "application/json")],
            content=json.dumps({"ids": ids}).encode(),
        )


@hookimpl
def smsbridge_register_providers() -> Iterable[type[BaseProvider]]:
    """Contribute echo://."""
    return [EchoProvider]
