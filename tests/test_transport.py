"""The HTTP transports over real sockets: deadlines, caps, redirects, keep-alive, proxies, TLS.

Every test runs against both drivers (blocking and asyncio) through :func:`call`.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from transport_support import Proxy, ScriptServer, reply, self_signed

from smsbridge.transport import (
    AsyncHTTPTransport,
    ConnectError,
    HTTPTransport,
    ProtocolError,
    ReplyLost,
    ReplyTimeout,
    Request,
    Response,
    ResponseTooLarge,
    TransportError,
)

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def post(url: str, body: bytes = b"hello") -> Request:
    return Request(method="POST", url=url, content=body, headers=[("Content-Type", "text/plain")])


def call(mode: str, requests: list[Request], timeout: float = 5, **options: Any) -> list[Response]:
    """Send ``requests`` one after another through one transport of the given kind."""
    if mode == "sync":
        with HTTPTransport(**options) as transport:
            return [transport.handle_request(r, timeout=timeout) for r in requests]

    async def run() -> list[Response]:
        async with AsyncHTTPTransport(**options) as transport:
            return [await transport.handle_async_request(r, timeout=timeout) for r in requests]

    return asyncio.run(run())


def failure(mode: str, request: Request, timeout: float = 5, **options: Any) -> TransportError:
    with pytest.raises(TransportError) as caught:
        call(mode, [request], timeout, **options)
    return caught.value


def serve_forever(server: ScriptServer, answer: bytes) -> Any:
    def script(sock: socket.socket) -> None:
        while server.read(sock):
            sock.sendall(answer)

    return script


@MODES
class TestKeepAlive:
    """Connections are reused, and a connection the server closed is not."""

    def test_one_connection_for_several_requests(self, mode: str) -> None:
        """Three requests in a row share one TCP connection."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, b"yes"))
        with server:
            responses = call(mode, [post(server.url())] * 3)
        assert [r.content for r in responses] == [b"yes"] * 3
        assert server.connections == 1
        assert len(server.requests) == 3

    def test_a_connection_the_server_closed_is_replaced(self, mode: str) -> None:
        """The server hangs up after each reply: the next request opens a new connection,
        and each request reaches the server exactly once."""
        server = ScriptServer(lambda s: None)

        def once(sock: socket.socket) -> None:
            server.read(sock)
            sock.sendall(reply(200, b"one"))
            time.sleep(0.05)  # the close arrives before the client's next request

        server.script = once
        with server:
            if mode == "sync":
                with HTTPTransport() as transport:
                    first = transport.handle_request(post(server.url()), timeout=5)
                    time.sleep(0.2)
                    second = transport.handle_request(post(server.url()), timeout=5)
            else:

                async def run() -> tuple[Response, Response]:
                    async with AsyncHTTPTransport() as transport:
                        a = await transport.handle_async_request(post(server.url()), timeout=5)
                        await asyncio.sleep(0.2)
                        b = await transport.handle_async_request(post(server.url()), timeout=5)
                        return a, b

                first, second = asyncio.run(run())
        assert first.content == second.content == b"one"
        assert len(server.requests) == 2
        assert server.connections == 2


@MODES
class TestDeadline:
    """``timeout`` bounds the whole exchange, not each read."""

    def test_a_trickled_reply_is_cut_at_the_deadline(self, mode: str) -> None:
        """A server sending one byte every 0.1 s cannot hold the request past 0.5 s."""
        body = b"x" * 100

        def trickle(sock: socket.socket) -> None:
            server.read(sock)
            for byte in reply(200, body):
                sock.sendall(bytes([byte]))
                time.sleep(0.1)

        server = ScriptServer(trickle)
        with server:
            started = time.monotonic()
            error = failure(mode, post(server.url()), timeout=0.5)
            spent = time.monotonic() - started
        assert isinstance(error, ReplyTimeout)
        assert error.sent
        assert spent < 1.5

    def test_no_reply_at_all(self, mode: str) -> None:
        """A server that reads the request and says nothing: ReplyTimeout (may have been sent)."""

        def silent(sock: socket.socket) -> None:
            server.read(sock)
            time.sleep(2)

        server = ScriptServer(silent)
        with server:
            error = failure(mode, post(server.url()), timeout=0.3)
        assert isinstance(error, ReplyTimeout)
        assert error.sent


@MODES
class TestNotSent:
    """Failures before the request was written say so."""

    def test_connection_refused(self, mode: str) -> None:
        """Nothing listens: ConnectError, not sent."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        error = failure(mode, post(f"http://127.0.0.1:{port}/"))
        assert isinstance(error, ConnectError)
        assert not error.sent

    def test_unresolvable_host(self, mode: str) -> None:
        """A .invalid name never resolves: ConnectError naming the host."""
        error = failure(mode, post("http://no-such-host.invalid/"))
        assert isinstance(error, ConnectError)
        assert "no-such-host.invalid" in error.message


@MODES
class TestAfterWrite:
    """Failures after the request was written mean it may have been sent."""

    def test_connection_closed_without_reply(self, mode: str) -> None:
        """The server reads the request and hangs up: ReplyLost."""
        server = ScriptServer(lambda s: None)
        server.script = lambda sock: (server.read(sock), None)[1]
        with server:
            error = failure(mode, post(server.url()))
        assert isinstance(error, ReplyLost)
        assert error.sent
        assert len(server.requests) == 1

    def test_closed_mid_body(self, mode: str) -> None:
        """Half a body, then EOF: ReplyLost."""
        server = ScriptServer(lambda s: None)

        def half(sock: socket.socket) -> None:
            server.read(sock)
            sock.sendall(reply(200, b"0123456789")[:-5])

        server.script = half
        with server:
            error = failure(mode, post(server.url()))
        assert isinstance(error, ReplyLost)

    def test_not_http(self, mode: str) -> None:
        """Bytes that are not HTTP/1.1: ProtocolError."""
        server = ScriptServer(lambda s: None)

        def junk(sock: socket.socket) -> None:
            server.read(sock)
            sock.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

        server.script = junk
        with server:
            error = failure(mode, post(server.url()))
        assert isinstance(error, ProtocolError)
        assert error.sent


@MODES
class TestRedirects:
    """Redirects are returned, never followed: the request goes to one origin only."""

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_not_followed(self, mode: str, status: int) -> None:
        """The redirect target never sees the request (and so never sees its credentials)."""
        target = ScriptServer(lambda s: None)
        target.script = serve_forever(target, reply(200))
        with target:
            origin = ScriptServer(lambda s: None)
            origin.script = serve_forever(
                origin, reply(status, b"", {"Location": target.url("/steal")})
            )
            with origin:
                (response,) = call(mode, [post(origin.url(), b"password=secret")])
        assert response.status_code == status
        assert response.header("location") == target.url("/steal")
        assert len(origin.requests) == 1
        assert target.requests == []


@MODES
class TestSizeCap:
    """Replies over ``max_response_bytes`` are refused, compressed or not."""

    def test_plain_body_over_the_cap(self, mode: str) -> None:
        """A 2 MB body with a 1 MB cap: ResponseTooLarge."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, b"x" * 2_000_000))
        with server:
            error = failure(mode, post(server.url()), max_response_bytes=1_000_000)
        assert isinstance(error, ResponseTooLarge)
        assert error.sent

    def test_gzip_bomb_is_stopped_early(self, mode: str) -> None:
        """200 MB of zeros in ~200 kB of gzip: refused, and memory stays near the cap."""
        bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, bomb, {"Content-Encoding": "gzip"}))
        with server:
            tracemalloc.start()
            try:
                error = failure(mode, post(server.url()), max_response_bytes=1_000_000)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert isinstance(error, ResponseTooLarge)
        assert peak < 20_000_000

    def test_gzip_within_the_cap_is_decoded(self, mode: str) -> None:
        """A gzip reply is decoded transparently."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(
            server, reply(200, gzip.compress("سلام".encode()), {"Content-Encoding": "gzip"})
        )
        with server:
            (response,) = call(mode, [post(server.url())])
        assert response.text == "سلام"

    def test_unknown_encoding(self, mode: str) -> None:
        """An encoding smsbridge cannot read is a ProtocolError, not garbage handed on."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, b"??", {"Content-Encoding": "br"}))
        with server:
            error = failure(mode, post(server.url()))
        assert isinstance(error, ProtocolError)


@MODES
class TestProxies:
    """Proxies from the environment: forwarding for http, CONNECT tunnels for https."""

    def test_http_through_a_forwarding_proxy(
        self, mode: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """HTTP_PROXY carries the request, with the proxy's credentials."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, b"via proxy"))
        with server, Proxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://u:p@"))
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            (response,) = call(mode, [post(server.url("/send?x=1"))])
        assert response.content == b"via proxy"
        assert proxy.seen == [f"POST {server.url('/send?x=1')} HTTP/1.1"]
        assert proxy.auth == ["Basic dTpw"]

    def test_no_proxy_bypasses(self, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """NO_PROXY naming the host sends directly."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, b"direct"))
        with server, Proxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            (response,) = call(mode, [post(server.url())])
        assert response.content == b"direct"
        assert proxy.seen == []

    def test_https_through_a_tunnel(
        self, mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """HTTPS_PROXY opens a CONNECT tunnel; TLS is verified end to end inside it."""
        cert, key = self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = ScriptServer(lambda s: None, tls=context)
        server.script = serve_forever(server, reply(200, b"tunnelled"))
        with server, Proxy() as proxy:
            monkeypatch.setenv("HTTPS_PROXY", proxy.url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            (response,) = call(mode, [post(server.url())], verify=str(cert))
        assert response.content == b"tunnelled"
        assert proxy.seen == [f"CONNECT localhost:{server.port} HTTP/1.1"]


@MODES
class TestTLS:
    """TLS is verified by default."""

    def test_untrusted_certificate_is_refused(self, mode: str, tmp_path: Path) -> None:
        """A self-signed certificate fails the handshake: ConnectError, nothing sent."""
        cert, key = self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = ScriptServer(lambda s: None, tls=context)
        server.script = serve_forever(server, reply(200))
        with server:
            error = failure(mode, post(server.url()))
        assert isinstance(error, ConnectError)
        assert not error.sent
        assert "certificate" in error.message.lower() or "tls" in error.message.lower()
        assert server.requests == []

    def test_trusted_with_its_ca(self, mode: str, tmp_path: Path) -> None:
        """The same server is accepted when its certificate is given as the CA bundle."""
        cert, key = self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = ScriptServer(lambda s: None, tls=context)
        server.script = serve_forever(server, reply(200, b"secure"))
        with server:
            (response,) = call(mode, [post(server.url())], verify=str(cert))
        assert response.content == b"secure"


class TestAsyncLoops:
    """An async transport survives being used from a new event loop."""

    def test_second_asyncio_run(self) -> None:
        """Connections of a finished loop are dropped, and the next loop opens its own."""
        server = ScriptServer(lambda s: None)
        server.script = serve_forever(server, reply(200, b"again"))
        transport = AsyncHTTPTransport()

        async def once() -> bytes:
            return (await transport.handle_async_request(post(server.url()), timeout=5)).content

        with server:
            assert asyncio.run(once()) == b"again"
            assert asyncio.run(once()) == b"again"
        assert server.connections == 2


class TestRepr:
    """Nothing secret shows in a request's or response's repr."""

    def test_request_shows_origin_only(self) -> None:
        """Path, query, headers and body can hold credentials; repr shows method and origin."""
        request = Request(
            method="POST",
            url="https://api.example.com:8443/v1/SECRETKEY/sms/send.json?password=hunter2",
            headers=[("Authorization", "Basic c2VjcmV0")],
            content=b"password=hunter2",
        )
        shown = repr(request)
        assert shown == "<Request POST https://api.example.com:8443>"
        assert "SECRETKEY" not in shown
        assert "hunter2" not in shown
