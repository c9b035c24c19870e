"""Hunting the password, the numbers and the text over every failure path (trust issue, items 1,
2 and 4), against the Melipayamak emulator over real sockets.

The application here does what real ones do: it leaves structlog unconfigured (``rich`` is
importable, as in the README's dev install), or configures it with
``make_filtering_bound_logger(DEBUG)``, and logs every exception it catches with
``log.exception`` (a traceback *with local variables*, printed on stdout). It also renders each
exception with rich (locals shown in full), and keeps every result. Everything that comes out
is searched: stdout and stderr, every log record at DEBUG, exception str/repr and their chains,
tracebacks, results, the journal's rows and the report file, and the CLI's output.

The password is searched in every spelling (plain, percent-encoded, base64, JSON- and
XML-escaped) everywhere; a full phone number and the message text in everything but results,
journal rows and reports (which name the recipient on purpose).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import pytest
import structlog
from leak_support import number_ending, whole_number
from rich.console import Console
from rich.traceback import Traceback
from smsbridge_melipayamak import MelipayamakProvider
from smsbridge_melipayamak.emulator import Emulator

import smsbridge
from smsbridge import Batch, RecipientResult
from smsbridge.journal import open_journal
from smsbridge.transport import Response

pytestmark = pytest.mark.sms_real_providers  # real providers: sms_outbox must not stand in

PASSWORD = "Hu&nt+ed/pa ss=Wd9"
"""Reserved characters, so that each encoded spelling differs from the others."""
RAW = PASSWORD.encode()
SPELLINGS = sorted(
    {
        PASSWORD,
        quote(PASSWORD, safe=""),
        quote(PASSWORD, safe="").lower(),
        quote_plus(PASSWORD, safe=""),
        quote_plus(PASSWORD, safe="").lower(),
        base64.b64encode(RAW).decode(),
        base64.b64encode(RAW).decode().rstrip("="),
        base64.urlsafe_b64encode(RAW).decode(),
        json.dumps(PASSWORD)[1:-1],
        escape(PASSWORD),
    }
)
ECHO = " | ".join(SPELLINGS)
"""What a hostile reply echoes back: the password in every spelling."""
LINE = "50004001234567"
NUMBERS = ("09121234567", "09351234567")
PERSONAL = (number_ending("9121234567"), number_ending("9351234567"), whole_number("880022"))
"""A full number in any form (``0912…``, ``+98912…``, ``98912…``) ends in these digits; the text
holds the code as a word of its own. A masked number (``*********4567``) does not, and neither
does a timestamp that happens to contain the digits (a log record's ``relativeCreated``)."""
TEXT = "Your code is 880022 لغو11"
"""The code is what must not leak; ``لغو11`` lets the emulator take several recipients."""
SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


def password_leaks(text: str) -> list[str]:
    return [spelling for spelling in SPELLINGS if spelling in text]


def personal_leaks(text: str) -> list[str]:
    return [found.group() for pattern in PERSONAL if (found := pattern.search(text))]


def rich_rendered(error: BaseException) -> str:
    """The traceback rich prints with every local, strings and containers in full."""
    console = Console(file=io.StringIO(), width=250, color_system=None)
    console.print(
        Traceback.from_exception(
            type(error),
            error,
            error.__traceback__,
            show_locals=True,
            locals_max_length=10_000,
            locals_max_string=100_000,
        )
    )
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def log_with_structlog(where: str) -> None:
    """What an application does in ``except``: ``log.exception`` with structlog left
    unconfigured, then with a filtering bound logger at DEBUG (both print to stdout)."""
    structlog.reset_defaults()
    structlog.get_logger().exception("sms_failed", where=where)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        structlog.get_logger().exception("sms_failed", where=where)
    finally:
        structlog.reset_defaults()


class Hunt:
    """Everything one failure path hands back, by kind."""

    def __init__(self) -> None:
        self.everywhere: list[tuple[str, str]] = []
        """Texts that may hold neither the password nor personal data."""
        self.named: list[tuple[str, str]] = []
        """Texts that name recipients on purpose (results): no password only."""
        self.raised = 0

    def keep(self, where: str, value: object) -> None:
        if isinstance(value, BaseException):
            self.raised += 1
            chain: list[BaseException] = []
            current: BaseException | None = value
            while current is not None and len(chain) < 10:
                chain.append(current)
                current = current.__cause__ or current.__context__
            for error in chain:
                self.everywhere.append((f"{where}: str/repr", f"{error} {error!r}"))
                self.everywhere.append(
                    (f"{where}: its fields", repr({k: repr(v) for k, v in vars(error).items()}))
                )
            self.everywhere.append(
                (f"{where}: traceback", "".join(traceback.format_exception(value)))
            )
            self.everywhere.append((f"{where}: rich traceback with locals", rich_rendered(value)))
            return
        text = f"{value}\n{value!r}"
        if hasattr(value, "to_dict"):
            text += json.dumps(value.to_dict(), ensure_ascii=False)
        self.named.append((where, text))
        self.everywhere.append((f"{where} (the message text)", TEXT if TEXT in text else ""))

    def run(self, where: str, call: Callable[[], object]) -> None:
        # Only `call` (a closure over the client) is a local of this frame: what a traceback
        # shows beyond it comes from smsbridge.
        try:
            value = call()
        except Exception as error:
            log_with_structlog(where)
            self.keep(where, error)
        else:
            self.keep(where, value)

    def check(self) -> None:
        assert self.everywhere
        for where, text in self.everywhere:
            assert password_leaks(text) == [], f"the password leaked into {where}:\n{text}"
            assert personal_leaks(text) == [], f"personal data leaked into {where}:\n{text}"
        for where, text in self.named:
            assert password_leaks(text) == [], f"the password leaked into {where}:\n{text}"


class ParserCrash(MelipayamakProvider):
    """A provider whose parsers crash, with the password and the recipients in the crash."""

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        raise RuntimeError(f"boom {PASSWORD} {batch.recipients} {TEXT}")

    def balance_from(self, response: Response) -> smsbridge.Balance:
        raise RuntimeError(f"boom {PASSWORD}")

    def delivery_from(
        self, response: Response | None, message_ids: object
    ) -> list[smsbridge.DeliveryReport]:
        raise RuntimeError(f"boom {PASSWORD}")


def url_for(endpoint: str, *, password: str = PASSWORD, sender: str = LINE) -> str:
    return (
        f"melipayamak://demo:{quote(password, safe='')}@/?from={quote(sender, safe='')}"
        f"&endpoint={endpoint}&timeout=0.5"
    )


def _default_client(emulator: Emulator) -> smsbridge.Client:
    return smsbridge.Client(
        url_for(emulator.url), autoload_plugins=True, retry=smsbridge.Retry(attempts=1)
    )


class FailurePath:
    """How one failure is set up, and what is sent through it.

    Its repr shows nothing: the test's own frames (which hold one) are the application's, and
    must not be what a traceback shows of the text.
    """

    def __init__(
        self,
        arm: Callable[[Emulator], object] = lambda emulator: None,
        client: Callable[[Emulator], smsbridge.Client] = _default_client,
        text: str = TEXT,
        sender: str | None = None,
    ) -> None:
        self.arm, self.client, self.text, self.sender = arm, client, text, sender

    def __repr__(self) -> str:
        return "<FailurePath>"


def _closed_endpoint(emulator: Emulator) -> smsbridge.Client:
    url = url_for(emulator.url)
    emulator.stop()
    return smsbridge.Client(url, autoload_plugins=True, retry=smsbridge.Retry(attempts=1))


MULTIPART = (
    f'--b\r\nContent-Type: text/xml\r\n\r\n<soap:Envelope xmlns:soap="x">{escape(ECHO)}'
    "</soap:Envelope>\r\n--b--\r\n"
)

PATHS: dict[str, FailurePath] = {
    "a multipart/related reply echoing the password": FailurePath(
        arm=lambda e: e.faults.reply(
            MULTIPART, content_type='multipart/related; boundary="b"; type="text/xml"', count=None
        )
    ),
    "a SOAP Fault echoing the password": FailurePath(
        arm=lambda e: e.faults.soap_fault(message=f"login failed for {ECHO}", count=None)
    ),
    "an HTML 500 page echoing the password": FailurePath(
        arm=lambda e: e.faults.http_status(500, f"<html>{escape(ECHO)}</html>", count=None)
    ),
    "a wrong password": FailurePath(
        arm=lambda e: setattr(e.state.accounts["demo"], "password", "another-one")
    ),
    "a lone surrogate in the text": FailurePath(text=TEXT + "\ud800"),
    "an XML-illegal character in the text": FailurePath(text=TEXT + "\x01"),
    "a control character in the sender": FailurePath(sender="5000\n1234"),
    "a control character in the sender of the URL": FailurePath(
        client=lambda e: smsbridge.Client(url_for(e.url, sender="5000\n1"), autoload_plugins=True)
    ),
    "a control character in the password of the URL": FailurePath(
        client=lambda e: smsbridge.Client(
            url_for(e.url, password=PASSWORD + "\n"), autoload_plugins=True
        )
    ),
    "a control character in the password given in code": FailurePath(
        client=lambda e: smsbridge.Client(
            provider=MelipayamakProvider(
                username="demo", password=PASSWORD + "\x00", sender=LINE, endpoint=e.url
            )
        )
    ),
    "a provider parser crash": FailurePath(
        client=lambda e: smsbridge.Client(
            provider=ParserCrash(username="demo", password=PASSWORD, sender=LINE, endpoint=e.url),
            retry=smsbridge.Retry(attempts=1),
        )
    ),
    "a lost reply": FailurePath(arm=lambda e: e.faults.drop_connection(count=None)),
    "a connection reset": FailurePath(arm=lambda e: e.faults.refuse(count=None)),
    "a timeout": FailurePath(arm=lambda e: e.faults.delay(1.5, count=None)),
    "connection refused": FailurePath(client=_closed_endpoint),
    "a redirect echoing the password": FailurePath(
        arm=lambda e: e.faults.redirect(
            f"http://elsewhere.invalid/{quote(PASSWORD, safe='')}?p={quote(PASSWORD)}",
            status=307,
            count=None,
        )
    ),
    "an oversized reply": FailurePath(arm=lambda e: e.faults.oversize(5 * 1024 * 1024, count=None)),
}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The demo emulator; the demo account's password is PASSWORD."""
    with Emulator() as running:
        running.state.accounts["demo"].password = PASSWORD
        yield running


@pytest.fixture(autouse=True)
def _structlog_restored() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def test_rich_is_what_structlog_renders_with() -> None:
    """The premise: with rich importable, structlog's default renderer prints tracebacks with
    their local variables."""
    assert not structlog.is_configured()
    formatter = structlog.dev.default_exception_formatter
    assert isinstance(formatter, structlog.dev.RichTracebackFormatter)
    assert formatter.show_locals


def exercise(
    hunt: Hunt, client: smsbridge.Client, path: FailurePath, journal: Path, report: Path
) -> None:
    """Every call an application makes, each kept by the hunt."""
    sender = path.sender
    hunt.run("send", lambda: client.send(path.text, NUMBERS, sender=sender))
    hunt.run("asend", lambda: asyncio.run(client.asend(path.text, NUMBERS, sender=sender)))
    hunt.run(
        "send_bulk",
        lambda: client.send_bulk(path.text, NUMBERS, sender=sender, journal=journal, report=report),
    )
    hunt.run("delivery_status", lambda: client.delivery_status(["1000000001"]))
    hunt.run("balance", client.balance)


@pytest.mark.parametrize("name", PATHS)
def test_every_failure_path_through_the_library(
    name: str,
    emulator: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Sends (sync, async, a campaign with journal and report), delivery status and balance,
    with every log record at DEBUG: the password is in nothing that comes back, and no full
    number or text is in any log, printed line, exception or traceback."""
    caplog.set_level(logging.DEBUG)
    path = PATHS[name]
    path.arm(emulator)
    hunt = Hunt()
    journal, report = tmp_path / "j.sqlite", tmp_path / "report.csv"
    built: list[smsbridge.Client] = []
    hunt.run("building the client", lambda: built.append(path.client(emulator)))
    for client in built:
        with client:
            exercise(hunt, client, path, journal, report)
    printed = capfd.readouterr()
    hunt.everywhere.append(("stdout", printed.out))
    hunt.everywhere.append(("stderr", printed.err))
    if hunt.raised:
        # The hunt can fail: what was printed is the traceback with its locals.
        assert printed.out.count("locals") >= 2 * hunt.raised, printed.out
    for record in caplog.records:
        hunt.everywhere.append(
            (f"log record {record.name}", f"{record.getMessage()} {vars(record)!r}")
        )
    if journal.exists():
        with open_journal(journal) as view:
            hunt.named.append(("journal rows", repr(list(view.rows()))))
        hunt.named.append(("journal file", journal.read_bytes().decode("utf-8", "replace")))
    if report.exists():
        hunt.named.append(("report file", report.read_text(encoding="utf-8")))
    for where, text in hunt.named:
        hunt.everywhere.append((f"{where} (the message text)", TEXT if TEXT in text else ""))
    hunt.check()


def test_the_hunt_finds_what_it_hunts() -> None:
    """Each spelling of the password, a full number and the code are found, in a text and in
    a rich traceback of a frame that holds them."""
    for spelling in SPELLINGS:
        assert password_leaks(f"x{spelling}y") == [spelling]
    for number in ("+989121234567", "09121234567", "989121234567"):
        assert personal_leaks(number)
    assert personal_leaks("*********4567") == []

    def fail(url: str, numbers: list[str]) -> None:
        raise ValueError("no")

    try:
        fail(url_for("http://x/"), ["+989351234567"])
    except ValueError as error:
        rendered = rich_rendered(error)
    assert password_leaks(rendered)
    assert personal_leaks(rendered)


# -- the command line ------------------------------------------------------------------------------

CLI_PATHS = [
    "a multipart/related reply echoing the password",
    "a SOAP Fault echoing the password",
    "a wrong password",
    "an XML-illegal character in the text",
    "a control character in the sender",
    "a lost reply",
    "a redirect echoing the password",
    "an oversized reply",
]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
    return subprocess.run(
        [SMSBRIDGE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", CLI_PATHS)
def test_every_failure_path_through_the_cli(name: str, emulator: Emulator, tmp_path: Path) -> None:
    """``smsbridge -vv send`` (a table, --json, a campaign with --journal and --report) and
    ``balance``: the password is in no output and no file; stderr (the logs and error lines)
    holds no full number and no text."""
    path = PATHS[name]
    path.arm(emulator)
    url = url_for(emulator.url)
    text = path.text
    sender = ["--from", path.sender] if path.sender is not None else []
    (tmp_path / "numbers.txt").write_text("\n".join(NUMBERS) + "\n", encoding="utf-8")
    to = ["--to", NUMBERS[0], "--to", NUMBERS[1]]
    runs = [
        cli("-vv", "send", "--url", url, *to, "--text", text, *sender, cwd=tmp_path),
        cli("-vv", "send", "--url", url, *to, "--text", text, *sender, "--json", cwd=tmp_path),
        cli("-vv", "send", "--url", url, "--to-file", "numbers.txt", "--text", text, *sender,
            "--journal", "j.sqlite", "--report", "report.csv", cwd=tmp_path),
        cli("-vv", "balance", "--url", url, cwd=tmp_path),
    ]  # fmt: skip
    for done in runs:
        assert password_leaks(done.stdout + done.stderr) == [], done
        assert personal_leaks(done.stderr) == [], done.stderr
        assert TEXT not in done.stdout
    for file in tmp_path.iterdir():
        content = file.read_bytes().decode("utf-8", "replace")
        assert password_leaks(content) == [], file
        assert TEXT not in content, file
