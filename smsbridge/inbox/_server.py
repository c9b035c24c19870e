"""The inbox's web server: the page, its REST API and the live-update stream.

The standard library's ``ThreadingHTTPServer``: the inbox is a local tool serving one
developer's browser and a test suite, so a thread per connection is plenty and nothing has to
be installed. Safety, in order of each request: the Host header must name this machine's
loopback (a DNS-rebinding page cannot read the inbox) unless a token protects the instance;
with a token every API call needs it; bodies must declare their length and stay under the
cap; state changes need a JSON body or no body, so a cross-site form cannot make them.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from smsbridge.exceptions import InvalidRecipientError
from smsbridge.inbox._model import CHAOS_CATEGORIES, ChaosRule, InboxError, MessageStatus
from smsbridge.inbox._reporter import SentRecord, StoreReporter
from smsbridge.inbox._store import MAX_TEXT, InboxStore, open_store

__all__ = ["DEFAULT_PORT", "HostedService", "InboxServer"]

DEFAULT_PORT: Final = 8090
MAX_BODY: Final = 1024 * 1024
MAX_STREAMS: Final = 32
_COOKIE: Final = "smsbridge_inbox_token"
_JSON: Final = "application/json; charset=utf-8"
_STATIC: Final = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/inbox.js": ("inbox.js", "text/javascript; charset=utf-8"),
    "/inbox.css": ("inbox.css", "text/css; charset=utf-8"),
}
# Nothing but this origin: no CDN, no inline script, no frames, no form posts elsewhere.
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_LABELS: Final = {
    "provider_unavailable": "not sent (provider unavailable)",
    "outcome_unknown": "unknown (reply lost after sending)",
    "recipient_rejected": "blacklisted / rejected number",
    "insufficient_credit": "insufficient credit",
    "rate_limited": "rate limited",
    "content_rejected": "content rejected (filtered word, link)",
    "sender_rejected": "sender line rejected",
    "authentication": "wrong credentials",
    "account_restricted": "account restricted",
}
_STATUS_NAMES: Final = "status must be one of " + ", ".join(s.value for s in MessageStatus)


class _Refused(Exception):
    """An API error: answered with its status and ``{"error": message}``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> _Refused:
    return _Refused(HTTPStatus.BAD_REQUEST, message)


def _number(value: str) -> str:
    from smsbridge.phone import normalize_number

    try:
        return normalize_number(value, landlines=True)
    except InvalidRecipientError:
        raise _bad(f"{value!r} is not a phone number") from None


def _int(params: Mapping[str, str], name: str, default: int | None, top: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not raw.isascii():
        raise _bad(f"{name} must be a whole number")
    return min(int(raw), top)


def _flag(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "").lower() in {"1", "true", "yes"}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HostedService:
    """A service the inbox runs and lists on its page (an emulator, reporting in-process)."""

    def __init__(self, name: str, url: str, stop: Callable[[], None]) -> None:
        self.name = name
        self.url = url
        self.stop = stop

    def to_json(self) -> dict[str, str]:
        """What ``/api/v1/info`` lists."""
        return {"name": self.name, "url": self.url}


class _Watcher:
    """One thread that watches the store's revision and wakes everyone waiting for a change.

    It also ages simulated deliveries and prunes the oldest messages, so statuses change over
    time even when nothing else happens.
    """

    def __init__(self, server: InboxServer, interval: float = 0.1) -> None:
        self.server = server
        self.interval = interval
        self.revision = server.store.revision()
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="smsbridge-inbox-watch", daemon=True)

    def _run(self) -> None:
        store = self.server.store
        last_prune = 0.0
        while not self.stopping.wait(self.interval):
            with contextlib.suppress(Exception):  # a busy or vanished file: try next tick
                store.advance_deliveries(self.server.delivery_delay)
                now = time.monotonic()
                if now - last_prune > 5.0:
                    last_prune = now
                    store.prune(self.server.max_messages)
                revision = store.revision()
                if revision != self.revision:
                    with self.changed:
                        self.revision = revision
                        self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """The revision once it differs from ``seen`` (or after ``timeout``)."""
        with self.changed:
            self.changed.wait_for(
                lambda: self.revision != seen or self.stopping.is_set(), timeout=timeout
            )
            return self.revision

    def stop(self) -> None:
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        self.thread.join(timeout=5)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    inbox: InboxServer


class _HttpServer6(_HttpServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "smsbridge-inbox"
    sys_version = ""

    @property
    def inbox(self) -> InboxServer:
        return cast("_HttpServer", self.server).inbox

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: message texts (OTPs) must not end up in a terminal log."""

    # -- answering --------------------------------------------------------------------------

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: object, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), _JSON)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json({"error": message}, status)

    # -- checks -----------------------------------------------------------------------------

    def _host_allowed(self) -> bool:
        inbox = self.inbox
        if inbox.token:
            return True
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return _loopback(name) or name.lower() in inbox.allowed_hosts

    def _authorised(self) -> bool:
        token = self.inbox.token
        if not token:
            return True
        given = ""
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            given = authorization.removeprefix("Bearer ").strip()
        else:
            cookies = SimpleCookie()
            with contextlib.suppress(Exception):
                cookies.load(self.headers.get("Cookie", ""))
            if _COOKIE in cookies:
                given = cookies[_COOKIE].value
        return hmac.compare_digest(given.encode(), token.encode())

    def _body(self) -> object:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        length = self.headers.get("Content-Length")
        if length is None or length == "0":
            return None
        if not length.isdigit() or not length.isascii():
            self.close_connection = True
            raise _bad("Content-Length must be a number")
        if int(length) > self.inbox.max_body:
            self.close_connection = True  # the unread body must not be taken for a request
            raise _Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is larger than {self.inbox.max_body} bytes",
            )
        raw = self.rfile.read(int(length))
        media_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (application/json)")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            raise _bad("the body is not JSON") from None

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:  # not a browser, or a same-origin GET-like request
            return True
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.netloc == self.headers.get("Host", "")

    # -- dispatch ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        """The page, its assets, and the API's reads."""
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        """As GET, without the body."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """API writes."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """API writes."""
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        """API deletions."""
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            if not self._host_allowed():
                raise _Refused(
                    HTTPStatus.MISDIRECTED_REQUEST,
                    "this inbox answers to its loopback address only (see --allow-host)",
                )
            if method == "GET" and path in _STATIC:
                self._static(path, params)
                return
            if not path.startswith("/api/"):
                raise _Refused(HTTPStatus.NOT_FOUND, "not found")
            if not self._authorised():
                raise _Refused(HTTPStatus.UNAUTHORIZED, "this inbox needs its token")
            if method != "GET" and not self._same_origin():
                raise _Refused(HTTPStatus.FORBIDDEN, "cross-origin requests are refused")
            body = self._body() if method in {"POST", "PUT"} else None
            if method == "GET" and path == "/api/v1/events":
                self._events()
                return
            self._api(method, path, params, body)
        except _Refused as refused:
            self._error(refused.status, refused.message)
        except InboxError as exc:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _static(self, path: str, params: Mapping[str, str]) -> None:
        inbox = self.inbox
        token = params.get("token")
        if path == "/" and token is not None and inbox.token:
            # Trade the token in the address for a cookie, then drop it from the address bar.
            if not hmac.compare_digest(token.encode(), inbox.token.encode()):
                raise _Refused(HTTPStatus.UNAUTHORIZED, "wrong token")
            cookie = f"{_COOKIE}={inbox.token}; Path=/; HttpOnly; SameSite=Strict"
            self._send(
                HTTPStatus.SEE_OTHER,
                b"",
                "text/plain",
                [("Location", "/"), ("Set-Cookie", cookie)],
            )
            return
        name, content_type = _STATIC[path]
        headers = [("Content-Security-Policy", _CSP), ("X-Frame-Options", "DENY")]
        self._send(HTTPStatus.OK, inbox.asset(name), content_type, headers)

    def _events(self) -> None:
        """Server-Sent Events: ``change`` with the store's revision whenever it moves."""
        inbox = self.inbox
        if not inbox.streams.acquire(blocking=False):
            raise _Refused(HTTPStatus.SERVICE_UNAVAILABLE, "too many open event streams")
        try:
            self.close_connection = True
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")
            self.end_headers()
            watcher = inbox.watcher
            seen = watcher.revision
            self.wfile.write(f"retry: 1000\nevent: change\ndata: {seen}\n\n".encode())
            self.wfile.flush()
            quiet = 0.0
            while not watcher.stopping.is_set():
                revision = watcher.wait(seen, timeout=1.0)
                if revision != seen:
                    seen = revision
                    quiet = 0.0
                    self.wfile.write(f"event: change\ndata: {seen}\n\n".encode())
                    self.wfile.flush()
                    continue
                quiet += 1.0
                if quiet >= 15.0:  # a comment keeps proxies and the browser from timing out
                    quiet = 0.0
                    self.wfile.write(b": ping\n\n")
                    self.wfile.flush()
        except OSError:
            pass  # the browser went away
        finally:
            inbox.streams.release()

    # -- the API ----------------------------------------------------------------------------

    def _api(self, method: str, path: str, params: Mapping[str, str], body: object) -> None:
        exact = _EXACT.get((method, path))
        if exact is not None:
            exact(self, params, body)
            return
        known = False
        for route_method, pattern, handler in _ITEMS:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            known = True
            if route_method == method:
                handler(self, unquote(match[1]), params, body)
                return
        if known or any(path == route for _, route in _EXACT):
            raise _Refused(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed here")
        raise _Refused(HTTPStatus.NOT_FOUND, "no such endpoint (see docs/inbox.md)")

    def _info(self, _params: Mapping[str, str], _body: object) -> None:
        self._json(self.inbox.info())

    def _messages(self, params: Mapping[str, str], _body: object) -> None:
        self._json({"messages": self._list(params)})

    def _delete_messages(self, params: Mapping[str, str], _body: object) -> None:
        number = _number(params["number"]) if params.get("number") else None
        deleted = self.inbox.store.delete(number=number, query=params.get("q") or None)
        self._json({"deleted": deleted})

    def _conversations(self, params: Mapping[str, str], _body: object) -> None:
        limit = _int(params, "limit", 200, 1000) or 200
        found = self.inbox.store.conversations(query=params.get("q") or None, limit=limit)
        self._json({"conversations": found})

    def _rules(self, _params: Mapping[str, str], _body: object) -> None:
        self._json({"rules": [rule.to_json() for rule in self.inbox.store.rules()]})

    def _arm(self, _params: Mapping[str, str], body: object) -> None:
        try:
            rule = self.inbox.store.arm(ChaosRule.from_json(body))
        except ValueError as exc:
            raise _bad(str(exc)) from None
        self._json(rule.to_json(), HTTPStatus.CREATED)

    def _disarm_all(self, _params: Mapping[str, str], _body: object) -> None:
        self._json({"disarmed": self.inbox.store.disarm()})

    def _take(self, _params: Mapping[str, str], body: object) -> None:
        provider = body.get("provider") if isinstance(body, dict) else None
        if not isinstance(provider, str) or not provider:
            raise _bad('expected {"provider": NAME}')
        fault = self.inbox.store.take_fault(provider)
        self._json({"fault": None if fault is None else fault.to_json()})

    def _templates(self, _params: Mapping[str, str], _body: object) -> None:
        self._json({"templates": self.inbox.store.templates()})

    def _message(self, inbox_id: str, _params: Mapping[str, str], _body: object) -> None:
        message = self.inbox.store.get(int(inbox_id))
        if message is None:
            raise _Refused(HTTPStatus.NOT_FOUND, "no such message")
        self._json(message.to_json())

    def _delete_message(self, inbox_id: str, _params: Mapping[str, str], _body: object) -> None:
        self._json({"deleted": self.inbox.store.delete(inbox_id=int(inbox_id))})

    def _set_status(self, inbox_id: str, _params: Mapping[str, str], body: object) -> None:
        status = body.get("status") if isinstance(body, dict) else None
        try:
            message = self.inbox.store.set_status_of(int(inbox_id), MessageStatus(status))
        except ValueError:
            raise _bad(_STATUS_NAMES) from None
        if message is None:
            raise _Refused(HTTPStatus.NOT_FOUND, "no such message")
        self._json(message.to_json())

    def _conversation(self, raw: str, params: Mapping[str, str], _body: object) -> None:
        number = _number(raw)
        limit = _int(params, "limit", 500, 5000) or 500
        found = self.inbox.store.messages(number=number, limit=limit)
        self._json({"number": number, "messages": [m.to_json() for m in reversed(found)]})

    def _delete_conversation(self, raw: str, _params: Mapping[str, str], _body: object) -> None:
        self._json({"deleted": self.inbox.store.delete(number=_number(raw))})

    def _disarm(self, rule_id: str, _params: Mapping[str, str], _body: object) -> None:
        self._json({"disarmed": self.inbox.store.disarm(int(rule_id))})

    def _put_template(self, template_id: str, _params: Mapping[str, str], body: object) -> None:
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise _bad('expected {"body": "Your code is {0}"}')
        try:
            self.inbox.store.add_template(template_id, text)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        self._json({"id": template_id, "body": text})

    def _list(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        number = _number(params["number"]) if params.get("number") else None
        found = self.inbox.store.messages(
            query=params.get("q") or None,
            number=number,
            provider=params.get("provider") or None,
            after=_int(params, "after", None, 2**62),
            limit=_int(params, "limit", 100, 5000) or 100,
            newest_first=params.get("order", "newest") != "oldest",
        )
        return [message.to_json() for message in found]

    def _latest(self, params: Mapping[str, str], _body: object) -> None:
        if not params.get("number"):
            raise _bad("number is required: /api/v1/latest?number=09123456789")
        number = _number(params["number"])
        wait = min(_int(params, "wait", 0, 30) or 0, 30)
        after = _int(params, "after", None, 2**62)
        store, watcher = self.inbox.store, self.inbox.watcher
        deadline = time.monotonic() + wait
        while True:
            seen = watcher.revision
            found = store.latest(
                number,
                query=params.get("q") or None,
                after=after,
                include_rejected=_flag(params, "include_rejected"),
            )
            left = deadline - time.monotonic()
            if found is not None or left <= 0 or watcher.stopping.is_set():
                break
            watcher.wait(seen, timeout=min(left, 1.0))
        if found is None:
            raise _Refused(HTTPStatus.NOT_FOUND, f"no message to {number}")
        self._json(found.to_json())

    def _intake(self, _params: Mapping[str, str], body: object) -> None:
        items = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or len(items) > 1000:
            raise _bad('expected {"messages": [...]} with 1 to 1000 messages')
        records = []
        for index, item in enumerate(items):
            try:
                records.append(_sent_record(item))
            except (TypeError, ValueError) as exc:
                raise _bad(f"messages[{index}]: {exc}") from None
        reporter = StoreReporter(self.inbox.store)
        for record in records:
            reporter.sent(record)
        self._json({"stored": len(records)}, HTTPStatus.CREATED)

    def _intake_status(self, _params: Mapping[str, str], body: object) -> None:
        if not isinstance(body, dict):
            raise _bad('expected {"provider": ..., "message_id": ..., "status": ...}')
        provider, message_id = body.get("provider"), body.get("message_id")
        if not isinstance(provider, str) or not isinstance(message_id, str):
            raise _bad("provider and message_id must be strings")
        try:
            status = MessageStatus(body.get("status"))
        except ValueError:
            raise _bad(_STATUS_NAMES) from None
        if not self.inbox.store.set_status(message_id, status, provider=provider):
            raise _Refused(HTTPStatus.NOT_FOUND, "no such message")
        self._json({"updated": 1})


_Exact = Callable[["_Handler", Mapping[str, str], object], None]
_Item = Callable[["_Handler", str, Mapping[str, str], object], None]
_EXACT: Final[dict[tuple[str, str], _Exact]] = {
    ("GET", "/api/v1/info"): _Handler._info,
    ("GET", "/api/v1/messages"): _Handler._messages,
    ("DELETE", "/api/v1/messages"): _Handler._delete_messages,
    ("GET", "/api/v1/conversations"): _Handler._conversations,
    ("GET", "/api/v1/latest"): _Handler._latest,
    ("GET", "/api/v1/chaos"): _Handler._rules,
    ("POST", "/api/v1/chaos"): _Handler._arm,
    ("DELETE", "/api/v1/chaos"): _Handler._disarm_all,
    ("POST", "/api/v1/chaos/take"): _Handler._take,
    ("POST", "/api/v1/intake"): _Handler._intake,
    ("POST", "/api/v1/intake/status"): _Handler._intake_status,
    ("GET", "/api/v1/templates"): _Handler._templates,
}
_ITEMS: Final[list[tuple[str, re.Pattern[str], _Item]]] = [
    ("POST", re.compile(r"/api/v1/messages/(\d{1,18})/status"), _Handler._set_status),
    ("GET", re.compile(r"/api/v1/messages/(\d{1,18})"), _Handler._message),
    ("DELETE", re.compile(r"/api/v1/messages/(\d{1,18})"), _Handler._delete_message),
    ("GET", re.compile(r"/api/v1/conversations/([^/]{1,64})"), _Handler._conversation),
    ("DELETE", re.compile(r"/api/v1/conversations/([^/]{1,64})"), _Handler._delete_conversation),
    ("DELETE", re.compile(r"/api/v1/chaos/(\d{1,18})"), _Handler._disarm),
    ("PUT", re.compile(r"/api/v1/templates/([^/]{1,64})"), _Handler._put_template),
]

_RECORD_FIELDS: Final = {
    "provider": str,
    "message_id": str,
    "recipient": str,
    "text": str,
    "sender": str,
    "flash": bool,
    "udh": str,
    "segments": int,
    "status": str,
    "error": str,
    "chaos": bool,
    "reference": str,
    "template_id": str,
}


def _sent_record(item: object) -> SentRecord:
    if not isinstance(item, dict):
        raise TypeError("expected an object")
    unknown = set(item) - {*_RECORD_FIELDS, "variables"}
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name in ("provider", "recipient", "text"):
        if not isinstance(item.get(name), str):
            raise ValueError(f"{name} is required (a string)")
    if item.get("message_id") is None and item.get("status") != "rejected":
        raise ValueError("message_id is required unless the status is rejected")
    values: dict[str, Any] = {
        name: _field(name, kind, item[name])
        for name, kind in _RECORD_FIELDS.items()
        if item.get(name) is not None
    }
    if "status" in values:
        values["status"] = MessageStatus(values["status"])
    variables = item.get("variables")
    if isinstance(variables, dict):
        values["variables"] = {str(k): str(v) for k, v in variables.items()}
    elif isinstance(variables, list):
        values["variables"] = tuple(str(v) for v in variables)
    elif variables is not None:
        raise TypeError("variables must be an object or a list")
    return SentRecord(**values)


def _field(name: str, kind: type, value: object) -> object:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{name} must be a {kind.__name__}")
    if isinstance(value, str) and len(value) > (MAX_TEXT if name == "text" else 200):
        raise ValueError(f"{name} is too long")
    return value


class InboxServer:
    """The inbox: its page, REST API and live updates over an :class:`InboxStore`.

    :param store: the store, or the path of its file.
    :param host: the address to listen on; a non-loopback one needs ``token``.
    :param port: 0 picks a free port (see :attr:`url`).
    :param token: when set, every API call needs it (``Authorization: Bearer``, or the page's
        cookie, set by opening ``/?token=...``).
    :param delivery_delay: seconds until a simulated message moves from pending to delivered.
    :param max_messages: the store keeps only the newest this many.
    :param max_body: the largest request body accepted, in bytes.
    :param allowed_hosts: more names the Host header may carry (a token-less instance answers
        to loopback names only).
    """

    def __init__(
        self,
        store: InboxStore | str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        delivery_delay: float = 2.0,
        max_messages: int = 5000,
        max_body: int = MAX_BODY,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        if not _loopback(host) and not token:
            raise InboxError(
                f"listening on {host} shares the inbox beyond this machine: give it a token"
            )
        self.store = store if isinstance(store, InboxStore) else open_store(store)
        self.host = host
        self.token = token or None
        self.delivery_delay = delivery_delay
        self.max_messages = max_messages
        self.max_body = max_body
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.services: list[HostedService] = []
        self._assets: dict[str, bytes] = {}
        self._port = port
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.watcher = _Watcher(self)

    def __repr__(self) -> str:
        return f"InboxServer({self.url if self._http else 'not started'})"

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        if self._http is None:
            return self._port
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def asset(self, name: str) -> bytes:
        """A file of the page, read once."""
        if name not in self._assets:
            self._assets[name] = (resources.files("smsbridge.inbox") / "static" / name).read_bytes()
        return self._assets[name]

    def info(self) -> dict[str, Any]:
        """What ``GET /api/v1/info`` answers: settings, chaos categories, hosted services."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            smsbridge_version = version("smsbridge")
        except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
            smsbridge_version = "unknown"
        return {
            "version": smsbridge_version,
            "store": str(self.store.path),
            "delivery_delay": self.delivery_delay,
            "max_messages": self.max_messages,
            "max_body": self.max_body,
            "token_required": self.token is not None,
            "categories": [
                {"value": c.value, "label": _LABELS.get(c.value, c.value)} for c in CHAOS_CATEGORIES
            ],
            "statuses": [s.value for s in MessageStatus],
            "providers": sorted(
                {"fake", *self.store.providers(), *(s.name for s in self.services)}
            ),
            "services": [service.to_json() for service in self.services],
            "send_url": f"fake://?inbox={self.store.path}",
        }

    def host_service(self, name: str, url: str, stop: Callable[[], None]) -> HostedService:
        """List a service the inbox runs (stopped with the inbox) on the page."""
        service = HostedService(name, url, stop)
        self.services.append(service)
        return service

    def start(self) -> InboxServer:
        """Listen and serve from daemon threads; returns self."""
        if self._http is not None:
            return self
        server_class = _HttpServer6 if ":" in self.host else _HttpServer
        http = server_class((self.host, self._port), _Handler)
        http.inbox = self
        self._http = http
        self.watcher.thread.start()
        self._thread = threading.Thread(
            target=http.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="smsbridge-inbox",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and every hosted service. Safe to call more than once."""
        for service in reversed(self.services):
            with contextlib.suppress(Exception):
                service.stop()
        self.services.clear()
        if self._http is None:
            return
        self.watcher.stop()
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = None

    def __enter__(self) -> InboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
