"""An smsbridge plugin from outside the project: the provider ``echo://``.

It accepts every recipient, sends nothing, and numbers its message ids. ``echo://?prefix=X``
sets the id prefix. Registered through the entry point ``echo`` in the group ``smsbridge``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Self

from smsbridge import (
    BaseProvider,
    Capabilities,
    ConfigurationError,
    Message,
    ProviderURL,
    RecipientResult,
    SendStatus,
    hookimpl,
)

_ids = itertools.count(1)


class EchoProvider(BaseProvider):
    """Accepts everything, two recipients per request."""

    scheme = "echo"
    capabilities = Capabilities(max_batch_size=2)

    def __init__(self, prefix: str = "echo") -> None:
        self.prefix = prefix
        self.requests: list[list[str]] = []

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        unknown = set(url.params) - {"prefix"}
        if unknown:
            raise ConfigurationError(f"echo:// does not take {', '.join(sorted(unknown))}")
        return cls(prefix=url.params.get("prefix", "echo"))

    def send(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        self.requests.append(list(recipients))
        return [
            RecipientResult(
                recipient=number,
                status=SendStatus.ACCEPTED,
                message_id=f"{self.prefix}-{next(_ids)}",
            )
            for number in recipients
        ]


@hookimpl
def smsbridge_register_providers() -> Iterable[type[BaseProvider]]:
    """Contribute echo://."""
    return [EchoProvider]
