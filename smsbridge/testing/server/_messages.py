"""What an emulator's handler sees and returns: a :class:`Request` in, a :class:`Reply` or
an :class:`Operation` out."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import attrs

__all__ = ["Handler", "Operation", "Reply", "Request", "to_json"]


@attrs.frozen(kw_only=True)
class Request:
    """One HTTP request as the server read it (the body in full)."""

    method: str
    path: str
    """The path without the query, e.g. ``/post/Send.asmx``."""
    query: str = ""
    """The raw query string, without ``?``."""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = attrs.field(default=b"", repr=False)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (any case), or ``default``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased (``""`` when absent)."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


def to_json(value: Any) -> Any:
    """``value`` with attrs instances, enums, bytes and tuples turned into JSON types."""
    if attrs.has(type(value)):
        return {key: to_json(item) for key, item in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    return value


@attrs.frozen(kw_only=True)
class Reply:
    """An HTTP reply; the server adds Content-Length and writes it in one piece."""

    status: int = 200
    body: bytes = attrs.field(default=b"", repr=False)
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    """Extra headers (Content-Type, Content-Length and Server are written by the server)."""
    close: bool = False
    """Close the connection after this reply."""

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        """A ``text/plain`` reply."""
        return cls(status=status, body=text.encode())

    @classmethod
    def json(cls, payload: Any, status: int = HTTPStatus.OK) -> Reply:
        """A JSON reply; attrs instances and enums are converted, non-ASCII is kept."""
        body = json.dumps(to_json(payload), ensure_ascii=False).encode()
        return cls(status=status, body=body, content_type="application/json; charset=utf-8")


@attrs.frozen(kw_only=True)
class Operation:
    """A service request the emulator recognised, to be logged, faulted, then run.

    ``run`` does the work (changes the state) and returns the real reply; the server calls it
    unless an injected fault says the request is never processed.
    """

    name: str
    """The operation, as the request log and fault rules name it (``SendSms``, ``send``)."""
    run: Callable[[], Reply] = attrs.field(repr=False)
    recipients: int = 0
    """Recipients the request carries, for the request log."""
    faultable: bool = True
    """False for a request the emulator refuses before running anything (a malformed one):
    it is logged, but never faulted and never uses up a fault."""


Handler = Callable[[Request], Reply | Operation]
"""An emulator's service routes: a plain :class:`Reply` (a page, a 404, a refusal that is not
a service call) is sent as it is; an :class:`Operation` is logged and may be faulted."""
