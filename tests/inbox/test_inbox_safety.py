"""Safe by default: loopback only, DNS rebinding refused, optional token, capped bodies, JSON
only for writes, no cross-origin writes, and a page that can never run a message as HTML."""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from inbox_support import Api

from smsbridge.inbox import InboxError, InboxServer, InboxStore


def _raw(server: InboxServer, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes or 2 s pass."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=2) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


class _Answer:
    """A response read in full, its connection closed."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def getheader(self, name: str) -> str | None:
        return self.headers.get(name)


def _connect(server: InboxServer) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)


def _request(server: InboxServer, method: str, path: str, headers: dict[str, str]) -> _Answer:
    connection = _connect(server)
    try:
        connection.request(method, path, headers=headers)
        return _Answer(connection.getresponse())
    finally:
        connection.close()


class TestBinding:
    """Where the inbox listens and which names it answers to."""

    def test_loopback_by_default(self, inbox: InboxServer) -> None:
        """It listens on 127.0.0.1."""
        assert inbox.url.startswith("http://127.0.0.1:")

    def test_beyond_loopback_needs_a_token(self, store: InboxStore) -> None:
        """Listening on every interface without a token is refused before binding."""
        with pytest.raises(InboxError, match="give it a token"):
            InboxServer(store, host="0.0.0.0")  # noqa: S104 - the refusal is what is tested

    def test_foreign_host_header_refused(self, inbox: InboxServer) -> None:
        """A page on another name that resolves to 127.0.0.1 (DNS rebinding) reads nothing."""
        response = _request(inbox, "GET", "/api/v1/messages", {"Host": "evil.example:80"})
        assert response.status == 421
        assert b"loopback" in response.body
        ok = _request(inbox, "GET", "/api/v1/messages", {"Host": f"localhost:{inbox.port}"})
        assert ok.status == 200

    def test_allowed_host(self, store: InboxStore) -> None:
        """--allow-host adds a name."""
        with InboxServer(store, allowed_hosts=["devbox.lan"]) as server:
            response = _request(server, "GET", "/api/v1/info", {"Host": "devbox.lan:8090"})
            assert response.status == 200


class TestToken:
    """A shared instance with a token."""

    @pytest.fixture
    def shared(self, store: InboxStore) -> InboxServer:
        with InboxServer(store, token="s3cret-token") as server:
            yield server  # type: ignore[misc]

    def test_api_needs_it(self, shared: InboxServer) -> None:
        """No token or a wrong one: 401; the bearer token: 200; the page itself loads."""
        assert Api(shared.url).call("GET", "/api/v1/messages")[0] == 401
        assert Api(shared.url, token="wrong").call("GET", "/api/v1/messages")[0] == 401
        assert Api(shared.url, token="s3cret-token").call("GET", "/api/v1/messages")[0] == 200
        assert _request(shared, "GET", "/", {}).status == 200

    def test_cookie_for_the_page(self, shared: InboxServer) -> None:
        """/?token= trades the token for an HttpOnly, SameSite=Strict cookie and redirects."""
        response = _request(shared, "GET", "/?token=s3cret-token", {})
        assert response.status == 303
        assert response.getheader("Location") == "/"
        cookie = response.getheader("Set-Cookie") or ""
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        pair = cookie.split(";")[0]
        ok = _request(shared, "GET", "/api/v1/info", {"Cookie": pair})
        assert ok.status == 200
        assert _request(shared, "GET", "/?token=nope", {}).status == 401

    def test_any_host_with_a_token(self, shared: InboxServer) -> None:
        """With a token the Host check is off: the token protects a shared instance."""
        response = _request(
            shared,
            "GET",
            "/api/v1/info",
            {"Host": "inbox.team.lan", "Authorization": "Bearer s3cret-token"},
        )
        assert response.status == 200


class TestBodies:
    """Request bodies: declared, capped, JSON."""

    def test_too_large(self, store: InboxStore) -> None:
        """A body over the cap is refused from its Content-Length, unread, and the
        connection is closed."""
        with InboxServer(store, max_body=1000) as server:
            head = (
                f"POST /api/v1/intake HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
            )
            answer = _raw(server, head.encode() + b"{")
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert b"Connection: close" in answer
        assert store.count() == 0

    def test_chunked_refused(self, inbox: InboxServer) -> None:
        """A chunked body has no length to check: 411."""
        head = (
            f"POST /api/v1/chaos HTTP/1.1\r\nHost: 127.0.0.1:{inbox.port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        assert _raw(inbox, head.encode() + b"2\r\n{}\r\n0\r\n\r\n").startswith(b"HTTP/1.1 411 ")

    def test_json_only(self, api: Api) -> None:
        """A form post (what a cross-site page can send without asking) is 415; bad JSON 400."""
        status, _ = api.call(
            "POST",
            "/api/v1/chaos",
            raw=b"category=rate_limited",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 415
        status, body = api.call(
            "POST", "/api/v1/chaos", raw=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert (status, body) == (400, {"error": "the body is not JSON"})
        assert api.get("/api/v1/chaos") == {"rules": []}

    def test_cross_origin_writes_refused(self, inbox: InboxServer, api: Api) -> None:
        """A write carrying another Origin is 403; the same origin is fine."""
        evil = api.call("DELETE", "/api/v1/messages", headers={"Origin": "http://evil.example"})
        assert evil[0] == 403
        same = api.call(
            "DELETE", "/api/v1/messages", headers={"Origin": f"http://127.0.0.1:{inbox.port}"}
        )
        assert same[0] == 200


class TestPage:
    """The static page: strict headers, no inline script, nothing from elsewhere."""

    def test_headers(self, inbox: InboxServer) -> None:
        """A Content-Security-Policy that allows only this origin's script, no framing."""
        response = _request(inbox, "GET", "/", {})
        csp = response.getheader("Content-Security-Policy") or ""
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("X-Frame-Options") == "DENY"
        assert b'<script src="/inbox.js" defer></script>' in response.body

    def test_assets_are_self_contained(self) -> None:
        """No file of the page names another origin, and the script never builds HTML."""
        static = resources.files("smsbridge.inbox") / "static"
        for name in ("index.html", "inbox.js", "inbox.css"):
            text = (static / name).read_text(encoding="utf-8")
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name
        script = (static / "inbox.js").read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script, sink
        html = (static / "index.html").read_text(encoding="utf-8")
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/inbox.js" defer>']

    def test_message_with_url_is_never_fetched(self, inbox: InboxServer, store_path: Path) -> None:
        """Serving a message that names a URL does not touch that URL."""
        canary = socket.socket()
        canary.bind(("127.0.0.1", 0))
        canary.listen()
        canary.settimeout(0.5)
        hits: list[object] = []

        def watch() -> None:
            with contextlib.suppress(OSError):  # the timeout: nobody came
                hits.append(canary.accept())

        watcher = threading.Thread(target=watch)
        watcher.start()
        port = canary.getsockname()[1]
        from smsbridge import Client

        Client(f"fake://?inbox={store_path}").send(
            f"see http://127.0.0.1:{port}/x", ["09123456789"]
        )
        api = Api(inbox.url)
        api.get("/api/v1/conversations")
        api.get("/api/v1/latest?number=09123456789")
        watcher.join()
        canary.close()
        assert hits == []

    def test_event_streams_capped(self, inbox: InboxServer) -> None:
        """Beyond the cap, a new event stream is 503 instead of another held thread."""
        inbox.streams = threading.BoundedSemaphore(1)
        held = _connect(inbox)
        try:
            held.request("GET", "/api/v1/events")
            first = held.getresponse()
            assert first.status == 200
            first.readline()  # the stream is open and counted
            assert _request(inbox, "GET", "/api/v1/events", {}).status == 503
        finally:
            held.close()
