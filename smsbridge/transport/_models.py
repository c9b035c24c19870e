"""What goes over the wire: one request and its response, with nothing secret in their reprs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

__all__ = ["Headers", "Request", "Response"]

Headers = tuple[tuple[str, str], ...]


def _headers(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), str(item)) for name, item in items)


def _find(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@attrs.frozen(kw_only=True, repr=False)
class Request:
    """One HTTP request a provider wants sent.

    ``idempotent`` says the request changes nothing (a delivery or balance query): a reply lost
    after it was written then means "unavailable, try again", not "may have been sent".
    The repr shows the method and origin only: paths, queries, headers and bodies can hold
    credentials (Kavenegar puts its API key in the path).
    """

    method: str
    url: str
    headers: Headers = attrs.field(default=(), converter=_headers)
    content: bytes = b""
    idempotent: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _find(self.headers, name)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the URL, safe to show."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.origin}>"

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        # rich prints attrs instances field by field, ignoring __repr__ (tracebacks with
        # show_locals would show the URL, key and all): this is what it shows instead.
        yield "method", self.method
        yield "origin", self.origin


@attrs.frozen(kw_only=True, repr=False)
class Response:
    """The complete response to a :class:`Request` (body already read, capped and decoded)."""

    status_code: int
    headers: Headers = attrs.field(default=(), converter=_headers)
    content: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _find(self.headers, name)

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased (``text/xml``)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not)."""
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {len(self.content)} bytes>"

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        # See Request.__rich_repr__: a body can echo the request's credentials.
        yield "status_code", self.status_code
        yield "size", len(self.content)
