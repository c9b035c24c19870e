"""The test-server kit (smsbridge.testing.server) over real sockets, through a tiny emulator of
its own: a JSON ``POST /send`` service. What Melipayamak's emulator adds is tested in
test_emulator.py; here is what every emulator built on the kit gets."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from smsbridge.testing.server import (
    LISTEN_BACKLOG,
    Clock,
    EmulatorServer,
    Fault,
    FaultInjector,
    FaultKind,
    ManualClock,
    Operation,
    PortInUseError,
    Reply,
    Request,
    ServiceState,
)

DEADLINE = 15.0


@attrs.define(kw_only=True)
class Notes(ServiceState):
    """A tiny service: ``POST /send`` with a JSON list of recipients 'sends' to each."""

    sent: list[str] = attrs.field(factory=list)
    gate: threading.Event | None = None
    """When set to an event, every send waits for it (to hold requests in flight)."""

    def sent_messages(self) -> list[str]:
        return list(self.sent)

    def reset(self) -> None:
        super().reset()
        self.sent.clear()


def notes_handler(state: Notes) -> Any:
    """The service routes of the tiny emulator."""

    def handle(request: Request) -> Reply | Operation:
        if (request.method, request.path) == ("GET", "/boom"):
            raise RuntimeError("emulator bug")
        if (request.method, request.path) == ("GET", "/"):
            return Reply.text(200, "notes service")
        if (request.method, request.path) != ("POST", "/send"):
            return Reply.text(404, "Not Found")
        try:
            to = json.loads(request.body)
        except ValueError:
            refusal = Reply.json({"error": "not JSON"}, 400)
            return Operation(name="", run=lambda: refusal, faultable=False)

        def run() -> Reply:
            if state.gate is not None:
                state.gate.wait(DEADLINE)
            state.sent.extend(to)
            return Reply.json({"accepted": len(to)})

        name = "balance" if not to else "send"
        return Operation(name=name, recipients=len(to), run=run)

    return handle


@pytest.fixture
def notes() -> Notes:
    return Notes(clock=ManualClock())


@pytest.fixture
def server(notes: Notes) -> Iterator[EmulatorServer]:
    with EmulatorServer(
        notes,
        notes_handler(notes),
        admin={("GET", "count"): lambda _: {"count": len(notes.sent)}},
        max_body=1024,
    ) as running:
        yield running


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: EmulatorServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEADLINE,
) -> Answer:
    """One request on a fresh connection (http.client sends Content-Length: 0 for a POST
    without a body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def roundtrip(conn: http.client.HTTPConnection, body: bytes) -> bytes:
    """One send on an open connection."""
    conn.request("POST", "/send", body)
    return conn.getresponse().read()


def send(server: EmulatorServer, *to: str, timeout: float = DEADLINE) -> Answer:
    return call(server, "POST", "/send", json.dumps(list(to)).encode(), timeout=timeout)


def bare_post(server: EmulatorServer, path: str) -> Answer:
    """A POST with no body and no Content-Length header at all, as ``curl -X POST`` sends."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
    try:
        conn.putrequest("POST", path)
        conn.endheaders()
        response = conn.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def raw_exchange(server: EmulatorServer, request: bytes) -> bytes:
    """Write ``request`` on a plain socket and read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def send_request(*to: str) -> bytes:
    body = json.dumps(list(to)).encode()
    return (
        b"POST /send HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


class TestServing:
    """The server itself."""

    def test_keep_alive_and_content_length(self, server: EmulatorServer, notes: Notes) -> None:
        """Several requests share one HTTP/1.1 connection; each reply has Content-Length."""
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
        try:
            for n in range(3):
                conn.request("POST", "/send", json.dumps([f"+98912000000{n}"]).encode())
                response = conn.getresponse()
                assert response.getheader("Content-Length") is not None
                assert response.getheader("Connection") is None
                assert json.loads(response.read()) == {"accepted": 1}
        finally:
            conn.close()
        assert len(notes.sent) == 3

    def test_plain_replies_are_not_logged(self, server: EmulatorServer, notes: Notes) -> None:
        """A page or a 404 is not a service request: not logged, never faulted."""
        server.faults.http_status(503, count=None)
        assert call(server, "GET", "/").body == b"notes service"
        assert call(server, "GET", "/nowhere").status == 404
        assert notes.requests == []
        assert len(server.faults.pending) == 1

    def test_refused_request_logged_not_faulted(self, server: EmulatorServer, notes: Notes) -> None:
        """A request the emulator refuses is logged with operation "" and uses up no fault."""
        server.faults.http_status(503)
        assert call(server, "POST", "/send", b"{not json").status == 400
        assert [(r.operation, r.fault) for r in notes.requests] == [("", None)]
        assert send(server, "a").status == 503

    def test_emulator_bug_is_a_500(self, server: EmulatorServer) -> None:
        """An exception in the handler still answers the client, and the server goes on."""
        answer = call(server, "GET", "/boom")
        assert answer.status == 500
        assert b"emulator bug" in answer.body
        assert send(server, "a").status == 200

    def test_body_cap(self, server: EmulatorServer, notes: Notes) -> None:
        """A body over max_body is 413 and closes the connection; nothing runs."""
        answer = call(server, "POST", "/send", json.dumps(["x" * 2000]).encode())
        assert answer.status == 413
        assert answer.headers["connection"] == "close"
        assert notes.sent == []

    def test_chunked_body_refused(self, server: EmulatorServer) -> None:
        """A body without Content-Length (chunked) is 411."""
        reply = raw_exchange(
            server,
            b"POST /send HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        )
        assert reply.startswith(b"HTTP/1.1 411 ")

    def test_quiet(self, server: EmulatorServer, capfd: pytest.CaptureFixture[str]) -> None:
        """Nothing is written to stdout or stderr per request."""
        send(server, "a")
        call(server, "GET", "/nowhere")
        assert capfd.readouterr() == ("", "")

    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux TCP_INFO")
    def test_listen_backlog(self, server: EmulatorServer) -> None:
        """The kernel queues 1024 connections (or somaxconn, if lower) for the server to
        accept: with socketserver's 5, dozens of clients connecting at once lost requests."""
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text(encoding="ascii"))
        assert server.socket is not None
        info = server.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        # For a listening socket, tcpi_unacked/tcpi_sacked are the accept queue's length
        # and its capacity.
        queued, capacity = struct.unpack_from("II", info, 24)
        assert LISTEN_BACKLOG == 1024
        assert capacity == min(LISTEN_BACKLOG, somaxconn)
        assert queued == 0

    def test_url_needs_start(self, notes: Notes) -> None:
        """URLs are only known once the socket is bound; stopping a stopped server is harmless."""
        server = EmulatorServer(notes, notes_handler(notes), name="notes emulator")
        with pytest.raises(RuntimeError, match="notes emulator is not running"):
            _ = server.base_url
        server.stop()
        with server:
            assert server.port != 0
            assert server.url("/send") == f"http://127.0.0.1:{server.port}/send"
            assert server.admin_url == f"http://127.0.0.1:{server.port}/_emulator/"

    def test_stop_closes_idle_connections(self, notes: Notes) -> None:
        """stop() ends idle keep-alive connections instead of waiting for the client."""
        server = EmulatorServer(notes, notes_handler(notes)).start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
        conn.request("POST", "/send", b'["a"]')
        conn.getresponse().read()
        server.stop()
        with pytest.raises(ConnectionError):  # on writing, or on reading the reply
            roundtrip(conn, b'["b"]')
        conn.close()
        assert notes.sent == ["a"]

    def test_stop_ends_a_long_delay(self, notes: Notes) -> None:
        """A request held by a long delay does not keep stop() waiting, nor run afterwards."""
        server = EmulatorServer(notes, notes_handler(notes)).start()
        server.faults.delay(600)
        outcome: list[object] = []

        def caller() -> None:
            try:
                outcome.append(send(server, "a"))
            except (ConnectionError, http.client.HTTPException) as exc:
                outcome.append(exc)

        thread = threading.Thread(target=caller)
        thread.start()
        wait_for(lambda: notes.log.in_flight == 1, "the request to be held")
        server.stop()
        thread.join(DEADLINE)
        assert not thread.is_alive()
        assert isinstance(outcome[0], ConnectionError)  # no reply: the server went away
        assert notes.sent == []
        assert notes.log.in_flight == 0


class TestBusyPort:
    """A port in use is one clear error."""

    def test_port_in_use(self, notes: Notes) -> None:
        """PortInUseError (an OSError) names the port and says what to do."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = EmulatorServer(notes, notes_handler(notes), port=port)
            with pytest.raises(PortInUseError) as raised:
                server.start()
        assert isinstance(raised.value, OSError)
        assert raised.value.port == port
        assert str(raised.value).startswith(f"port {port} is already in use on 127.0.0.1")
        assert "0 picks a free one" in str(raised.value)
        assert not server.running

    def test_second_server_on_the_same_port(self, server: EmulatorServer, notes: Notes) -> None:
        """Two emulators cannot share a port; the first keeps serving."""
        with pytest.raises(PortInUseError):
            EmulatorServer(notes, notes_handler(notes), port=server.port).start()
        assert send(server, "a").status == 200


class TestAdmin:
    """The JSON endpoints under /_emulator/."""

    @pytest.mark.parametrize("how", ["no Content-Length", "Content-Length: 0"])
    def test_empty_body_posts(self, server: EmulatorServer, notes: Notes, how: str) -> None:
        """POST reset needs no body at all; advance and faults answer 400 saying what they
        need, never 411."""
        send(server, "a")
        server.faults.drop_connection()

        def post(path: str) -> Answer:
            return (
                bare_post(server, path)
                if how == "no Content-Length"
                else call(server, "POST", path)
            )

        answer = post("/_emulator/reset")
        assert (answer.status, answer.json()) == (200, {"reset": True})
        assert (notes.sent, notes.requests, server.faults.pending) == ([], [], [])
        advance = post("/_emulator/advance")
        assert advance.status == 400
        assert "seconds" in advance.json()["error"]
        faults = post("/_emulator/faults")
        assert faults.status == 400
        assert "fault" in faults.json()["error"]

    def test_sent_requests_and_stats(self, server: EmulatorServer, notes: Notes) -> None:
        """GET sent, requests and stats show what the service saw."""
        send(server, "a", "b")
        assert call(server, "GET", "/_emulator/sent").json() == ["a", "b"]
        (record,) = call(server, "GET", "/_emulator/requests").json()
        assert record == {
            "operation": "send",
            "recipients": 2,
            "fault": None,
            "at": notes.now(),
            "in_flight": 1,
        }
        stats = call(server, "GET", "/_emulator/stats").json()
        assert stats == {"requests": 1, "in_flight": 0, "max_in_flight": 1, "now": notes.now()}

    def test_arm_list_and_clear_faults(self, server: EmulatorServer) -> None:
        """POST faults arms by name with count, probability and operation; DELETE disarms."""
        answer = call(
            server,
            "POST",
            "/_emulator/faults",
            json.dumps(
                {"fault": "status", "status": 503, "count": None, "probability": 0.5}
            ).encode(),
        )
        assert answer.status == 200
        (armed,) = answer.json()["armed"]
        assert armed["fault"] == "status"
        assert (armed["status"], armed["remaining"], armed["probability"]) == (503, None, 0.5)
        call(server, "POST", "/_emulator/faults", b'{"fault": "drop", "operation": "send"}')
        listed = call(server, "GET", "/_emulator/faults").json()
        assert [(f["fault"], f["operation"]) for f in listed] == [
            ("status", None),
            ("drop", "send"),
        ]
        assert call(server, "DELETE", "/_emulator/faults").json() == {"cleared": 2}
        assert server.faults.pending == []

    @pytest.mark.parametrize(
        "body",
        [
            b'{"fault": "meteor"}',
            b'{"count": 1}',
            b"[1]",
            b'{"fault": "drop", "count": 0}',
            b'{"fault": "drop", "probability": 2}',
            b'{"fault": "redirect", "status": 200}',
            b'{"fault": "delay", "seconds": -1}',
            b"{not json",
        ],
    )
    def test_bad_fault(self, server: EmulatorServer, body: bytes) -> None:
        """A bad fault is 400 with a message, and nothing is armed."""
        answer = call(server, "POST", "/_emulator/faults", body)
        assert answer.status == 400
        assert answer.json()["error"]
        assert server.faults.pending == []

    def test_advance(self, server: EmulatorServer, notes: Notes) -> None:
        """advance moves the emulator's clock; backwards is refused."""
        before = notes.now()
        answer = call(server, "POST", "/_emulator/advance", b'{"seconds": 90}')
        assert answer.json() == {"now": before + 90}
        assert notes.now() == before + 90
        assert call(server, "POST", "/_emulator/advance", b'{"seconds": -5}').status == 400
        assert notes.now() == before + 90

    def test_extra_routes_and_index(self, server: EmulatorServer) -> None:
        """An emulator's own endpoints sit beside the kit's; the index lists them all."""
        send(server, "a")
        assert call(server, "GET", "/_emulator/count").json() == {"count": 1}
        index = call(server, "GET", "/_emulator/").json()
        assert "GET /_emulator/count" in index["endpoints"]
        assert "POST /_emulator/reset" in index["endpoints"]
        assert {"delay", "latency", "drop", "trickle", "redirect", "oversize", "refuse"} <= set(
            index["faults"]
        )
        assert call(server, "GET", "/_emulator/nothing").status == 404


class TestFaults:
    """Each fault over a real socket: what the client sees, and whether the request ran."""

    def test_trickle(self, server: EmulatorServer, notes: Notes) -> None:
        """The reply arrives whole, a byte at a time; the request was processed."""
        server.faults.trickle(0.001)
        reply = raw_exchange(server, send_request("a"))
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert reply.endswith(b'\r\n\r\n{"accepted": 1}')
        assert notes.sent == ["a"]
        assert notes.requests[0].fault == "trickle"

    def test_latency_processes_during_the_wait(self, server: EmulatorServer, notes: Notes) -> None:
        """A response time: the request is processed at once and the reply held until the
        time has passed since it arrived (``delay`` would not have processed it yet)."""
        server.faults.latency(1.5, count=None)
        answers: list[Answer] = []
        started = time.monotonic()
        thread = threading.Thread(target=lambda: answers.append(send(server, "a")))
        thread.start()
        wait_for(lambda: notes.sent == ["a"], "the request to be processed")
        processed = time.monotonic() - started
        assert not answers  # processed, the reply still held
        thread.join(DEADLINE)
        assert processed < 1.2 <= 1.5 <= time.monotonic() - started
        assert answers[0].json() == {"accepted": 1}
        assert notes.requests[0].fault == "latency"

    def test_latency_is_armed_by_name(self, server: EmulatorServer, notes: Notes) -> None:
        """``POST /_emulator/faults {"fault": "latency"}`` arms it, as the benchmark does."""
        armed = call(server, "POST", "/_emulator/faults", b'{"fault": "latency", "seconds": 0.05}')
        assert armed.status == 200
        assert send(server, "a").json() == {"accepted": 1}
        assert [r.fault for r in notes.requests] == ["latency"]

    def test_redirect(self, server: EmulatorServer, notes: Notes) -> None:
        """A 302 to the same URL by default, or to the given one; nothing is processed."""
        server.faults.redirect()
        server.faults.redirect("https://elsewhere.invalid/send", status=307)
        first = send(server, "a")
        assert (first.status, first.headers["location"]) == (
            302,
            f"http://127.0.0.1:{server.port}/send",
        )
        second = send(server, "a")
        assert (second.status, second.headers["location"]) == (
            307,
            "https://elsewhere.invalid/send",
        )
        assert notes.sent == []
        assert [r.fault for r in notes.requests] == ["redirect", "redirect"]

    def test_oversize(self, server: EmulatorServer, notes: Notes) -> None:
        """The real reply padded to the size asked: still valid JSON, and processed."""
        server.faults.oversize(100_000)
        answer = send(server, "a")
        assert answer.status == 200
        assert len(answer.body) == int(answer.headers["content-length"]) == 100_000
        assert answer.json() == {"accepted": 1}
        assert notes.sent == ["a"]

    def test_refuse(self, server: EmulatorServer, notes: Notes) -> None:
        """The connection is reset without a reply; nothing is processed, the server goes on."""
        server.faults.refuse()
        with pytest.raises(ConnectionError):  # a reset, or a close before any reply
            send(server, "a")
        assert notes.sent == []
        assert [r.fault for r in notes.requests] == ["refuse"]
        assert send(server, "b").status == 200

    def test_drop_processes(self, server: EmulatorServer, notes: Notes) -> None:
        """drop: the request ran, the reply never comes."""
        server.faults.drop_connection()
        with pytest.raises(http.client.RemoteDisconnected):
            send(server, "a")
        assert notes.sent == ["a"]

    def test_status_and_reply(self, server: EmulatorServer, notes: Notes) -> None:
        """http_status answers an error page without running; reply swaps the real reply."""
        server.faults.http_status(500, "<html>IIS</html>", content_type="text/html")
        server.faults.reply(b"{garbage", name="garbage")
        error = send(server, "a")
        assert (error.status, error.headers["content-type"], error.body) == (
            500,
            "text/html",
            b"<html>IIS</html>",
        )
        swapped = send(server, "b")
        assert (swapped.status, swapped.body) == (200, b"{garbage")
        assert notes.sent == ["b"]
        assert [r.fault for r in notes.requests] == ["status", "garbage"]

    def test_count_and_persistent(self, server: EmulatorServer) -> None:
        """count=N hits N requests; count=None every request until cleared."""
        server.faults.http_status(503, count=2)
        assert [send(server, "a").status for _ in range(3)] == [503, 503, 200]
        server.faults.http_status(503, count=None)
        assert [send(server, "a").status for _ in range(3)] == [503, 503, 503]
        server.faults.clear()
        assert send(server, "a").status == 200

    def test_operation_filter(self, server: EmulatorServer) -> None:
        """A fault armed for one operation leaves the others alone."""
        server.faults.http_status(503, operation="send")
        assert call(server, "POST", "/send", b"[]").status == 200  # the "balance" operation
        assert send(server, "a").status == 503

    def test_share_of_requests(self, server: EmulatorServer, notes: Notes) -> None:
        """probability=0.5 fails about half the requests, and the others go through."""
        server.faults.http_status(503, count=None, probability=0.5)
        statuses = [send(server, f"n{n}").status for n in range(200)]
        failed = statuses.count(503)
        assert 50 < failed < 150
        assert statuses.count(200) == 200 - failed == len(notes.sent)
        assert [r.fault == "status" for r in notes.requests] == [s == 503 for s in statuses]

    def test_share_with_a_count(self) -> None:
        """With a count, a share rule stops after that many hits."""
        faults = FaultInjector(seed=7)
        faults.http_status(503, count=3, probability=0.3)
        hits = [faults.take("send") is not None for _ in range(500)]
        assert hits.count(True) == 3
        assert faults.pending == []

    def test_share_is_seeded(self) -> None:
        """The same seed draws the same requests; another seed others."""

        def pattern(seed: int) -> list[bool]:
            faults = FaultInjector(seed=seed)
            faults.drop_connection(count=None, probability=0.3)
            return [faults.take("send") is not None for _ in range(100)]

        assert pattern(1) == pattern(1)
        assert pattern(1) != pattern(2)

    def test_rules_in_order(self) -> None:
        """Rules are tried oldest first; a rule that misses its draw lets the next one apply."""
        faults = FaultInjector(seed=3)
        faults.arm(Fault(kind=FaultKind.DROP), count=None, probability=0.5)
        faults.arm(Fault(kind=FaultKind.REFUSE), count=None)
        rules = [faults.take("x") for _ in range(50)]
        assert {rule.fault.kind for rule in rules if rule is not None} == {
            FaultKind.DROP,
            FaultKind.REFUSE,
        }
        assert None not in rules

    def test_bad_arguments(self) -> None:
        """Nonsense is refused when arming, not when a request arrives."""
        faults = FaultInjector()
        with pytest.raises(ValueError, match="count"):
            faults.delay(1.0, count=0)
        with pytest.raises(ValueError, match="probability"):
            faults.refuse(probability=0)
        with pytest.raises(ValueError, match="status"):
            faults.redirect(status=200)
        with pytest.raises(ValueError, match="seconds"):
            faults.trickle(-1)
        with pytest.raises(ValueError, match="unknown fault 'meteor'"):
            faults.arm_named("meteor")
        assert faults.pending == []


class TestRequestLog:
    """The log proves, from the server's side, how many requests overlapped."""

    def test_in_flight_counting(self, server: EmulatorServer, notes: Notes) -> None:
        """Five requests held at once are five in flight; each record says how many were in
        flight when it arrived; the high-water mark stays after they finish."""
        notes.gate = threading.Event()
        callers = [threading.Thread(target=send, args=(server, f"n{n}")) for n in range(5)]
        for caller in callers:
            caller.start()
        wait_for(lambda: notes.log.in_flight == 5, "five requests in flight")
        assert notes.log.max_in_flight == 5
        notes.gate.set()
        for caller in callers:
            caller.join(DEADLINE)
        assert notes.log.in_flight == 0
        assert notes.log.max_in_flight == 5
        assert sorted(r.in_flight for r in notes.requests) == [1, 2, 3, 4, 5]
        assert len(notes.sent) == 5

    def test_sequential_requests_never_overlap(self, server: EmulatorServer, notes: Notes) -> None:
        """A reply is never seen while its request still counts in flight: one client sending
        one request after another keeps the high-water mark at 1."""
        for n in range(20):
            send(server, f"n{n}")
        assert notes.log.max_in_flight == 1
        assert [r.in_flight for r in notes.requests] == [1] * 20

    def test_faulted_requests_leave_the_count(self, server: EmulatorServer, notes: Notes) -> None:
        """Dropped, refused and redirected requests are no longer in flight afterwards."""
        server.faults.drop_connection()
        server.faults.refuse()
        server.faults.redirect()
        for _ in range(3):
            with contextlib.suppress(ConnectionError):
                send(server, "a")
        wait_for(lambda: notes.log.in_flight == 0, "the faulted requests to finish")
        assert [r.fault for r in notes.requests] == ["drop", "refuse", "redirect"]

    def test_reset_keeps_running_requests_counted(
        self, server: EmulatorServer, notes: Notes
    ) -> None:
        """Reset forgets the records; the high-water mark restarts from what is running."""
        send(server, "a")
        notes.reset()
        assert (notes.requests, notes.log.max_in_flight) == ([], 0)
        assert notes.log.of("send") == []

    def test_arrival_on_the_emulators_clock(self, server: EmulatorServer, notes: Notes) -> None:
        """Records are stamped with the emulator's clock, advanced or not."""
        send(server, "a")
        notes.advance(3600)
        send(server, "b")
        first, second = notes.log.of("send")
        assert second.at - first.at == 3600


class TestClocks:
    """Clock and ManualClock."""

    def test_manual_clock(self) -> None:
        """It stands still; ``now`` can be set, ``advance`` only moves forward."""
        clock = ManualClock(start=1000.0)
        assert clock() == clock() == 1000.0
        clock.now += 5
        clock.advance(2.5)
        assert clock() == clock.now == 1007.5
        clock.now = 10.0
        assert clock() == 10.0
        with pytest.raises(ValueError, match="seconds"):
            clock.advance(-1)

    def test_clock_over_a_source(self) -> None:
        """A Clock adds its offset to any source, which can be swapped."""
        source = ManualClock(start=50.0)
        clock = Clock(source)
        clock.advance(10)
        assert (clock(), clock.offset) == (60.0, 10.0)
        source.now = 100.0
        assert clock() == 110.0
        assert abs(Clock()() - time.time()) < 60

    def test_state_wraps_callables(self) -> None:
        """A state's clock may be given or assigned as any callable."""
        state = Notes(clock=lambda: 5.0)
        state.advance(1)
        assert state.now() == 6.0
        state.clock = ManualClock(start=7.0)
        assert isinstance(state.clock, Clock)
        assert state.now() == 7.0
