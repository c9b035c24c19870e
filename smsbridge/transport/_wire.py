"""The HTTP/1.1 exchange itself, sans-I/O, on h11: bytes out, bytes in, a Response at the end.

Both drivers (blocking sockets in ``_sync``, asyncio streams in ``_async``) feed this the bytes
they read; everything about the protocol (framing, the size cap, content decoding, whether the
connection can be reused) lives here once. Also here: where a request goes (directly, through
an HTTP proxy, or through a CONNECT tunnel) and the TLS context.
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
import zlib
from typing import Any, Final, NamedTuple
from urllib.parse import unquote, urlsplit

import h11

from smsbridge.transport._errors import ConnectError, ProtocolError, ReplyLost, ResponseTooLarge
from smsbridge.transport._models import Request, Response

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Exchange",
    "Route",
    "TunnelExchange",
    "VerifyTypes",
    "route_for",
    "tls_context",
]

DEFAULT_MAX_RESPONSE_BYTES: Final = 4 * 1024 * 1024
"""Replies over this (after decoding) are refused; a send's reply is a few kilobytes."""
_MAX_HEAD: Final = 64 * 1024
_USER_AGENT: Final = "smsbridge"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

VerifyTypes = bool | str | ssl.SSLContext


class Route(NamedTuple):
    """Where the bytes of a request to one origin go."""

    scheme: str
    host: str
    port: int
    proxy: tuple[str, int] | None = None
    proxy_authorization: str | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the socket connects to (the proxy's, when there is one)."""
        return self.proxy or (self.host, self.port)

    @property
    def tunnel(self) -> bool:
        """True when TLS runs inside a CONNECT tunnel through the proxy."""
        return self.proxy is not None and self.scheme == "https"

    @property
    def forward(self) -> bool:
        """True when a plain-HTTP request is forwarded by the proxy (absolute-form target)."""
        return self.proxy is not None and self.scheme == "http"

    @property
    def authority(self) -> str:
        """``host[:port]`` as the Host header writes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def _proxy_for(
    scheme: str, host: str, proxies: dict[str, str]
) -> tuple[tuple[str, int], str | None]:
    url = proxies.get(scheme) or proxies.get("all")
    assert url is not None  # noqa: S101 - the caller checked
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ConnectError(
            f"the {scheme} proxy from the environment must be an http:// URL with a host"
        )
    auth = None
    if parts.username:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
    return (parts.hostname, parts.port or 80), auth


def route_for(url: str, proxies: dict[str, str]) -> Route:
    """The route of ``url``; ``proxies`` maps a scheme to a proxy URL (as ``getproxies``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConnectError("the request URL is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConnectError(f"cannot send to a {scheme or 'scheme-less'} URL without a host")
    host = parts.hostname
    port = port or _DEFAULT_PORTS[scheme]
    if (proxies.get(scheme) or proxies.get("all")) and not _bypassed(host, proxies):
        proxy, auth = _proxy_for(scheme, host, proxies)
        return Route(scheme, host, port, proxy, auth)
    return Route(scheme, host, port)


def _bypassed(host: str, proxies: dict[str, str]) -> bool:
    import urllib.request  # tens of milliseconds to import; only needed with a proxy

    bypass: Any = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - not in typeshed
    return bool(bypass(host, proxies))


def environment_proxies() -> dict[str, str]:
    """``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` as urllib reads them."""
    import os as _os

    if not any(key.lower().endswith("_proxy") for key in _os.environ):
        return {}  # the common case, without importing urllib.request
    import urllib.request

    return urllib.request.getproxies_environment()


@functools.lru_cache(maxsize=8)
def _default_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


def tls_context(verify: VerifyTypes, *, trust_env: bool) -> ssl.SSLContext:
    """The TLS context for ``verify``: True (certifi, or SSL_CERT_FILE/SSL_CERT_DIR from the
    environment), a CA bundle path, a ready context, or False (no verification; never the
    default). Built once per process and setting: loading a CA bundle costs tens of ms."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        return _default_context(verify, None)
    if trust_env and (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")):
        return _default_context(
            os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None
        )
    return _default_context(None, None)


def _target(request: Request, route: Route) -> str:
    if route.forward:
        return request.url.split("#", 1)[0]
    parts = urlsplit(request.url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class _Decoder:
    """The body as the server encoded it, decoded, never past ``limit`` bytes."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.chunks: list[bytes] = []
        name = (encoding or "identity").strip().lower()
        if name in ("gzip", "x-gzip"):
            self._zlib: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)
        elif name == "identity":
            self._zlib = None
        else:
            raise ProtocolError(f"the reply uses a content encoding smsbridge cannot read ({name})")

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise ResponseTooLarge(
                f"the reply is larger than {self.limit} bytes (max_response_bytes); "
                "it was not read further"
            )
        self.chunks.append(data)

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._keep(data)
            return
        try:
            # max_length stops a small compressed body from expanding without bound.
            self._keep(self._zlib.decompress(data, self.limit - self.size + 1))
        except zlib.error:
            raise ProtocolError("the reply's compressed body is corrupt") from None

    def finish(self) -> bytes:
        if self._zlib is not None:
            try:
                self._keep(self._zlib.flush())
            except zlib.error:
                raise ProtocolError("the reply's compressed body is corrupt") from None
        return b"".join(self.chunks)


class Exchange:
    """One request and its response on an h11 connection."""

    def __init__(
        self, connection: h11.Connection, request: Request, route: Route, max_bytes: int
    ) -> None:
        self.connection = connection
        self.request = request
        self.route = route
        self.max_bytes = max_bytes
        self._status: int | None = None
        self._headers: list[tuple[str, str]] = []
        self._decoder: _Decoder | None = None

    def outgoing(self) -> bytes:
        """Every byte of the request, to be written in one go."""
        request = self.request
        headers = [
            ("Host", self.route.authority),
            ("User-Agent", _USER_AGENT),
            ("Accept-Encoding", "gzip, deflate"),
        ]
        if self.route.forward and self.route.proxy_authorization:
            headers.append(("Proxy-Authorization", self.route.proxy_authorization))
        given = {name.lower() for name, _ in request.headers}
        headers = [(name, value) for name, value in headers if name.lower() not in given]
        headers.extend(request.headers)
        headers.append(("Content-Length", str(len(request.content))))
        conn = self.connection
        try:
            data = conn.send(
                h11.Request(
                    method=request.method, target=_target(request, self.route), headers=headers
                )
            )
            if request.content:
                data += conn.send(h11.Data(data=request.content))
            data += conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError as error:
            raise ConnectError(f"the request cannot be written as HTTP/1.1 ({error})") from None
        return data

    def receive(self, data: bytes) -> Response | None:
        """Feed bytes read from the socket (``b""`` at end of file); the Response once complete."""
        conn = self.connection
        conn.receive_data(data)
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as error:
                if not data:  # end of file: the server hung up mid-reply
                    what = "before any reply" if self._status is None else "mid-reply"
                    raise ReplyLost(f"the connection closed {what}") from None
                raise ProtocolError(f"the reply is not valid HTTP/1.1 ({error})") from None
            if event is h11.NEED_DATA:
                if not data:
                    raise ReplyLost("the connection closed in the middle of the reply")
                return None
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                self._status = event.status_code
                self._headers = [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in event.headers
                ]
                encoding = next(
                    (v for k, v in self._headers if k.lower() == "content-encoding"), None
                )
                self._decoder = _Decoder(encoding, self.max_bytes)
                continue
            if isinstance(event, h11.Data):
                assert self._decoder is not None  # noqa: S101 - h11 sends Response first
                self._decoder.feed(bytes(event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                assert self._decoder is not None  # noqa: S101 - h11 sent Response first
                assert self._status is not None  # noqa: S101
                return Response(
                    status_code=self._status,
                    headers=self._headers,
                    content=self._decoder.finish(),
                )
            if isinstance(event, h11.ConnectionClosed):
                raise ReplyLost("the connection closed before a complete reply")
            return None  # pragma: no cover - h11 has no other event types

    @property
    def reusable(self) -> bool:
        """True when the connection can carry another request (and is reset for it)."""
        conn = self.connection
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            return True
        return False


def new_connection() -> h11.Connection:
    """A client-side h11 connection with a cap on the size of the reply's head."""
    return h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)


class TunnelExchange:
    """The CONNECT request that opens a tunnel through a proxy, and its answer."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.connection = new_connection()

    def outgoing(self) -> bytes:
        """The CONNECT request."""
        authority = f"{self.route.host}:{self.route.port}"
        headers = [("Host", authority)]
        if self.route.proxy_authorization:
            headers.append(("Proxy-Authorization", self.route.proxy_authorization))
        conn = self.connection
        return conn.send(
            h11.Request(method="CONNECT", target=authority, headers=headers)
        ) + conn.send(h11.EndOfMessage())

    def receive(self, data: bytes) -> bytes | None:
        """Feed the proxy's bytes; once it agreed, the bytes already read past its answer."""
        conn = self.connection
        conn.receive_data(data)
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                raise ConnectError("the proxy's answer to CONNECT is not valid HTTP") from None
            if event is h11.NEED_DATA:
                if not data:
                    raise ConnectError("the proxy closed the connection during CONNECT")
                return None
            if isinstance(event, h11.Response):
                if not 200 <= event.status_code < 300:
                    raise ConnectError(f"the proxy refused the tunnel (HTTP {event.status_code})")
                continue
            if event is h11.PAUSED:
                return bytes(conn.trailing_data[0])
            raise ConnectError("the proxy answered CONNECT with a body")  # pragma: no cover
