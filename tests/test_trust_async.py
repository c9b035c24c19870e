"""Async never blocks the event loop for long (trust issue, item 24).

``bench/run.py`` (section ``stall``) measures the longest stall; these tests prove the
structure that keeps it short, without timing anything: while a campaign runs, a profiler set
on the event loop's thread alone (``sys.setprofile`` is per thread) records every SQLite call,
every call into the journal, the report writer and the recipients file, and the recipients
iterable records the thread that reads it. None of it may happen on the loop's thread. The
first ``asend`` over TLS loads its CA bundle off the loop too, and so does normalising a long
list of recipients. ``send_bulk`` called inside a running loop says to use ``asend_bulk``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import sqlite3
import ssl
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from transport_support import ScriptServer, reply, self_signed

import smsbridge
from smsbridge import BaseProvider, Batch, Capabilities, Client, RecipientResult, SendStatus
from smsbridge.journal import open_journal
from smsbridge.sources import NumberFile
from smsbridge.testing import FakeOutbox
from smsbridge.transport import Request, Response

PACKAGE = Path(smsbridge.__file__).resolve().parent
WATCHED = {
    "journal": PACKAGE / "journal",
    "report writer": PACKAGE / "_report.py",
    "recipients file": PACKAGE / "sources.py",
}
"""Code that does file or database I/O, by what it is."""


def numbers(count: int) -> list[str]:
    """Distinct mobiles, clear of the fake's magic numbers (``0912 000 0001``-``0006``)."""
    return [f"+98912{n:07d}" for n in range(1000, 1000 + count)]


class LoopProbe:
    """What ran on one thread (the event loop's), as a profiler sees it."""

    def __init__(self, watched: dict[str, Path]) -> None:
        self.watched = {name: str(path) for name, path in watched.items()}
        self.seen: dict[str, set[str]] = {}
        self.calls = 0

    def _note(self, what: str, where: str) -> None:
        self.seen.setdefault(what, set()).add(where)

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        self.calls += 1
        # Functions only: a module or class body running is an import, not the module's work.
        if event == "call" and frame.f_code.co_flags & inspect.CO_NEWLOCALS:
            filename = frame.f_code.co_filename
            for name, prefix in self.watched.items():
                if filename.startswith(prefix):
                    self._note(name, f"{Path(filename).name}:{frame.f_code.co_qualname}")
        elif event == "c_call":
            owner = getattr(arg, "__self__", None)
            if isinstance(owner, sqlite3.Connection | sqlite3.Cursor):
                self._note("sqlite", f"{type(owner).__name__}.{arg.__name__}")
            elif isinstance(owner, ssl.SSLContext) and arg.__name__ == "load_verify_locations":
                self._note("CA bundle", arg.__name__)

    def __enter__(self) -> LoopProbe:
        sys.setprofile(self)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)


def run_on_probed_loop(coroutine: Any, watched: dict[str, Path] = WATCHED) -> LoopProbe:
    """Run ``coroutine`` on a new event loop whose thread is probed."""
    probe = LoopProbe(watched)

    async def main() -> None:
        with probe:
            await coroutine

    asyncio.run(main())
    assert probe.calls > 1000, "the probe saw nothing: it cannot fail"
    return probe


class TestCampaignOffTheLoop:
    """Journal writes, report lines and reading the recipients happen on another thread."""

    def test_a_file_campaign(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """A campaign of 5,000 numbers from a file, with a journal and a report: no SQLite
        call, no journal, report or file-reading code on the loop's thread."""
        source = tmp_path / "numbers.txt"
        source.write_text("\n".join(numbers(5000)) + "\nnot a number\n", encoding="utf-8")
        journal, report = tmp_path / "j.sqlite", tmp_path / "report.csv"
        with Client("fake://?batch_size=100") as client:
            probe = run_on_probed_loop(
                client.asend_bulk("hi", NumberFile(source), journal=journal, report=report)
            )
        assert probe.seen == {}, f"ran on the event loop's thread: {probe.seen}"
        with open_journal(journal) as view:
            totals = view.totals()
        assert (totals.accepted, totals.rejected) == (5000, 1)
        assert len(report.read_text(encoding="utf-8").splitlines()) == 5002  # header + rows

    def test_the_callers_iterable_is_read_off_the_loop(
        self, tmp_path: Path, sms_outbox: FakeOutbox
    ) -> None:
        """A generator of 3,000 numbers (as an application would stream them from its own
        database) is advanced on a thread that is not the loop's."""
        readers: set[int] = set()

        def stream() -> Iterator[str]:
            for number in numbers(3000):
                readers.add(threading.get_ident())
                yield number

        loop_thread = threading.get_ident()  # asyncio.run runs the loop on this thread
        with Client("fake://?batch_size=100") as client:
            probe = run_on_probed_loop(client.asend_bulk("hi", stream(), journal=tmp_path / "j"))
        assert readers, "the generator was never read"
        assert loop_thread not in readers
        assert probe.seen == {}, f"ran on the event loop's thread: {probe.seen}"
        assert len(sms_outbox) == 3000

    def test_resuming_reads_the_journal_off_the_loop(
        self, tmp_path: Path, sms_outbox: FakeOutbox
    ) -> None:
        """Opening an existing journal (verifying it, fingerprinting the file) is I/O too."""
        source = tmp_path / "numbers.txt"
        source.write_text("\n".join(numbers(2000)) + "\n", encoding="utf-8")
        journal = tmp_path / "j.sqlite"
        with Client("fake://?batch_size=100") as client:
            client.send_bulk("hi", NumberFile(source), journal=journal)
            probe = run_on_probed_loop(client.asend_bulk("hi", NumberFile(source), journal=journal))
        assert probe.seen == {}, f"ran on the event loop's thread: {probe.seen}"
        assert len(sms_outbox) == 2000  # the resume sent nobody again

    def test_the_probe_sees_the_journal_on_the_loop(
        self, tmp_path: Path, sms_outbox: FakeOutbox
    ) -> None:
        """The control case: journal code run on the loop's thread is caught."""
        journal = tmp_path / "j.sqlite"
        with Client("fake://") as client:
            client.send_bulk("hi", numbers(3), journal=journal)

        async def inline() -> None:
            for _ in range(500):
                await asyncio.sleep(0)  # enough calls for the probe to count
            with open_journal(journal) as view:
                view.totals()

        probe = run_on_probed_loop(inline())
        assert {"journal", "sqlite"} <= set(probe.seen)


class TestFirstSend:
    """The first ``asend`` loads what it needs off the loop."""

    def test_the_ca_bundle_is_loaded_off_the_loop(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Over HTTPS, the TLS context (a CA bundle read and parsed, tens of milliseconds) is
        built on another thread; the send itself succeeds."""
        cert, key = self_signed(tmp_path)
        # A bundle of its own: a context cached by an earlier test would load nothing.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = ScriptServer(lambda s: None, tls=context)

        def answer(sock: socket.socket) -> None:
            while server.read(sock):
                sock.sendall(reply(200, b'{"ids": ["1", "2"]}'))

        server.script = answer
        with server, Client(provider=IdsProvider(server.url())) as client:
            probe = run_on_probed_loop(
                _accepted(client, ["09121111111", "09122222222"]), watched={}
            )
        assert probe.seen == {}, f"ran on the event loop's thread: {probe.seen}"
        assert len(server.requests) == 1

    def test_a_long_list_is_normalised_off_the_loop(self, sms_outbox: FakeOutbox) -> None:
        """``asend`` to 5,000 numbers checks them on another thread (phonenumbers' slow path
        costs ~45 µs a number)."""
        phone = {"phone numbers": PACKAGE / "phone.py"}
        with Client("fake://?batch_size=500") as client:
            probe = run_on_probed_loop(_accepted(client, numbers(5000)), watched=phone)
        assert probe.seen == {}, f"ran on the event loop's thread: {probe.seen}"


async def _accepted(client: Client, recipients: Sequence[str]) -> None:
    report = await client.asend("hi", recipients)
    assert report.all_accepted, report


class IdsProvider(BaseProvider):
    """POSTs the recipients as JSON; reads ``{"ids": [...]}``."""

    scheme = "idstest"
    capabilities = Capabilities(max_batch_size=10)

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def request_for(self, batch: Batch) -> Request:
        body = json.dumps({"to": list(batch.recipients)}).encode()
        return Request(method="POST", url=self.endpoint, content=body)

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        ids = response.json()["ids"]
        return [
            RecipientResult(recipient=number, status=SendStatus.ACCEPTED, message_id=mid)
            for number, mid in zip(batch.recipients, ids, strict=True)
        ]


class TestSendBulkInsideALoop:
    """The blocking ``send_bulk`` inside a running loop is a clear error (it cannot run a
    loop of its own there)."""

    def test_points_to_asend_bulk(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        journal = tmp_path / "j.sqlite"

        async def main() -> None:
            with Client("fake://") as client:
                client.send_bulk("hi", numbers(3), journal=journal)

        with pytest.raises(RuntimeError, match=r"running event loop.*await client\.asend_bulk"):
            asyncio.run(main())
        assert not journal.exists()
        sms_outbox.assert_nothing_sent()
