"""Real servers for the transport tests: a raw socket server driven by a per-connection script,
an HTTP proxy (forwarding and CONNECT), and a self-signed certificate."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

Script = Callable[[socket.socket], None]


def read_request(sock: socket.socket) -> bytes:
    """Read one HTTP request (head and Content-Length body) from ``sock``; b"" at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def reply(status: int, body: bytes = b"ok", headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response."""
    lines = [f"HTTP/1.1 {status} X"]
    fields = {"Content-Length": str(len(body)), "Content-Type": "text/plain"}
    fields.update(headers or {})
    lines.extend(f"{k}: {v}" for k, v in fields.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class ScriptServer:
    """Accepts connections on 127.0.0.1 and runs ``script(conn)`` for each in a thread.

    ``requests`` collects every request head+body the scripts read through :meth:`read`.
    """

    def __init__(self, script: Script, *, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stopped = False

    def url(self, path: str = "/send", scheme: str | None = None) -> str:
        scheme = scheme or ("https" if self.tls else "http")
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    def read(self, sock: socket.socket) -> bytes:
        request = read_request(sock)
        if request:
            with self._lock:
                self.requests.append(request)
        return request

    def _serve(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.script(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def __enter__(self) -> ScriptServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self._listener.close()


class Proxy:
    """A minimal HTTP proxy on 127.0.0.1: absolute-form forwarding and CONNECT tunnels.

    ``seen`` lists each request line it received; ``auth`` the Proxy-Authorization values.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.auth: list[str | None] = []
        self.server = ScriptServer(self._handle)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def _handle(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if not request:
            return
        head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        self.seen.append(head[0])
        auth = next(
            (
                h.split(":", 1)[1].strip()
                for h in head
                if h.lower().startswith("proxy-authorization:")
            ),
            None,
        )
        self.auth.append(auth)
        method, target, _ = head[0].split(" ")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                self._pipe(conn, upstream)
            return
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        upstream = socket.create_connection((parts.hostname, parts.port or 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        first = f"{method} {path} HTTP/1.1".encode()
        upstream.sendall(first + request[request.index(b"\r\n") :])
        conn.sendall(upstream.recv(65536))
        upstream.close()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        thread = threading.Thread(target=pump, args=(b, a), daemon=True)
        thread.start()
        pump(a, b)
        thread.join(5)

    def __enter__(self) -> Proxy:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and its key, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
