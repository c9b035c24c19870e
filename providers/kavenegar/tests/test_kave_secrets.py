"""Hunting the API key: it is a path segment of every request URL, so every failure path is
run (a wrong key, each return code, 5xx HTML pages, bodies that are not JSON, timeouts,
redirects, lost replies, resets, bad URLs, the command line) and everything smsbridge hands
back is searched for it: results, reports, exceptions (their reprs, and tracebacks rendered
by rich with their locals), DEBUG logs, journals, report files and CLI output. Replies that
echo the key (as an error page or a return message might) are part of the hunt."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from kave_support import closed_port, kave_url
from rich.console import Console
from rich.traceback import Traceback
from smsbridge_kavenegar import KavenegarProvider
from smsbridge_kavenegar._codes import RETURN_CODES, SUCCESS
from smsbridge_kavenegar.emulator import Account, Emulator, EmulatorState

import smsbridge
from smsbridge import Template
from smsbridge.config import ProviderURL

SECRET = "Kv9+s3cr/et=KEY_ab"
"""The API key under hunt: reserved characters, so its encoded spellings differ."""
RAW = SECRET.encode()
SPELLINGS = sorted(
    {
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET, safe="").lower(),
        quote_plus(SECRET, safe=""),
        quote_plus(SECRET, safe="").lower(),
        base64.b64encode(RAW).decode(),
        base64.b64encode(RAW).decode().rstrip("="),
        base64.urlsafe_b64encode(RAW).decode(),
        json.dumps(SECRET)[1:-1],
        SECRET.lower(),
    }
)
ECHO = " ".join(spelling for spelling in SPELLINGS if spelling != SECRET.lower())
"""What a misbehaving reply echoes back: the key in every spelling smsbridge scrubs (the
lower-cased one is only looked for: a URL's host is lower-cased when parsed)."""
SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}


def assert_clean(text: str, where: str) -> None:
    """No spelling of the key in ``text``."""
    for spelling in SPELLINGS:
        assert spelling not in text, f"the key ({spelling!r}) leaked into {where}:\n{text}"


def rendered(error: BaseException) -> str:
    """The traceback rich prints with every local, from the frame below the caller's."""
    console = Console(file=io.StringIO(), width=250, color_system=None)
    trace = error.__traceback__
    console.print(
        Traceback.from_exception(
            type(error),
            error,
            trace.tb_next if trace is not None else None,
            show_locals=True,
            extra_lines=0,
            locals_max_length=10_000,
            locals_max_string=100_000,
        )
    )
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


class Hunt:
    """Everything the client hands back during one failure path."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def keep(self, where: str, value: object) -> None:
        self.texts.append((where, f"{value}\n{value!r}"))
        if hasattr(value, "to_dict"):
            self.texts.append((where, json.dumps(value.to_dict(), ensure_ascii=False)))
        if isinstance(value, BaseException):
            self.texts.append((f"{where} (traceback)", rendered(value)))
            for name in ("message", "provider_text", "provider_code"):
                self.texts.append((f"{where}.{name}", str(getattr(value, name, ""))))

    def run(self, where: str, call: Callable[[], object]) -> None:
        try:
            self.keep(where, call())
        except Exception as error:
            self.keep(where, error)

    def check(self, caplog: pytest.LogCaptureFixture) -> None:
        for record in caplog.records:
            self.texts.append((f"log {record.name}", f"{record.getMessage()} {vars(record)!r}"))
        assert self.texts
        for where, text in self.texts:
            assert_clean(text, where)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The demo emulator with an account whose API key is SECRET."""
    state = EmulatorState.demo()
    demo = next(iter(state.accounts.values()))
    state.add_account(
        Account(
            name="hunted",
            api_key=SECRET,
            credit=demo.credit,
            lines=demo.lines,
            default_line=demo.default_line,
            templates=demo.templates,
        )
    )
    with Emulator(state) as running:
        yield running


Arm = Callable[[Emulator], str]
"""Sets a failure path up on the emulator; returns the endpoint to use."""


def _code(code: int) -> Arm:
    def arm(emulator: Emulator) -> str:
        emulator.faults.code(code, count=None, message=f"refused for {ECHO}")
        return emulator.url

    return arm


def _fault(name: str, **params: Any) -> Arm:
    def arm(emulator: Emulator) -> str:
        getattr(emulator.faults, name)(count=None, **params)
        return emulator.url

    return arm


def _wrong_key(emulator: Emulator) -> str:
    emulator.state.accounts.pop(SECRET)
    return emulator.url


def _closed(emulator: Emulator) -> str:
    return f"http://127.0.0.1:{closed_port()}"


PATHS: dict[str, Arm] = {
    "wrong key": _wrong_key,
    **{f"code {row.code}": _code(row.code) for row in RETURN_CODES if row.code != SUCCESS},
    "5xx HTML echoing the key": lambda e: (
        e.faults.http_status(500, f"<html>{ECHO}</html>", count=None),
        e.url,
    )[1],
    "502 echoing the key": lambda e: (
        e.faults.http_status(502, f"<html>{ECHO}</html>", count=None),
        e.url,
    )[1],
    "not JSON, echoing the key": _fault("reply", body=f"oops {ECHO}"),
    "JSON without return": _fault("reply", body=json.dumps({"error": ECHO}), status=403),
    "truncated JSON": _fault("garbage"),
    "timeout": _fault("delay", seconds=1.0),
    "trickle": _fault("trickle", seconds_per_byte=0.05),
    "redirect to the same path": _fault("redirect"),
    "redirect echoing the key": _fault(
        "redirect", location=f"http://elsewhere.invalid/{quote(SECRET, safe='')}?k={SECRET}"
    ),
    "lost reply": _fault("drop_connection"),
    "reset": _fault("refuse"),
    "oversized reply": _fault("oversize", size=5 * 1024 * 1024),
    "connection refused": _closed,
}


@pytest.mark.parametrize("name", PATHS)
def test_every_failure_path_through_the_library(
    emulator: Emulator, name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Sends (sync, async, template, bulk with journal and report), delivery status, balance
    and settling, with DEBUG logs captured: the key is in none of what comes back. (Return
    codes, all read by the same code, skip the async twins.)"""
    caplog.set_level(logging.DEBUG)
    endpoint = PATHS[name](emulator)
    twins = not name.startswith("code ")
    url = kave_url(endpoint, key=SECRET, extra="&timeout=0.3")
    hunt = Hunt()
    journal, report = tmp_path / "j.sqlite", tmp_path / "report.jsonl"
    with smsbridge.Client(url, autoload_plugins=True) as client:
        hunt.keep("client", client)
        hunt.keep("provider", client.provider)
        hunt.keep("account", client.provider.account())
        hunt.run("send", lambda: client.send("سلام", ["09121234567", "09351234567"]))
        hunt.run("reference send", lambda: client.send("x", ["09121234567"], reference="r1"))
        if twins:
            hunt.run("asend", lambda: asyncio.run(client.asend("x", ["09121234567"])))
        otp = Template(id="verify", variables={"token": "4821"})
        hunt.run("template", lambda: client.send(otp, ["09121234567"]))
        hunt.run("delivery", lambda: client.delivery_status(["100000001", "5"]))
        hunt.run("balance", client.balance)
        if twins:
            hunt.run("adelivery", lambda: asyncio.run(client.adelivery_status(["100000001"])))
            hunt.run("abalance", lambda: asyncio.run(client.abalance()))
        numbers = [f"0912{n:07d}" for n in range(3)]
        hunt.run("bulk", lambda: client.send_bulk("x", numbers, journal=journal, report=report))
        hunt.run("settle", lambda: client.settle_journal(journal))
        hunt.run("settle keys", lambda: client.engine.settle(["c:1"]))
    hunt.check(caplog)
    for path in (journal, report):
        if path.exists():
            assert_clean(path.read_bytes().decode("utf-8", "replace"), path.name)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_hunt_finds_a_planted_key(spelling: str) -> None:
    """The search itself works: each spelling is found in a text, a log and a traceback."""
    with pytest.raises(AssertionError, match="leaked"):
        assert_clean(f"error: {spelling}!", "a planted text")

    def fail(url: str) -> None:
        raise ValueError("no")

    try:
        fail(f"https://api.kavenegar.com/v1/{spelling}/sms/send.json")
    except ValueError as error:
        with pytest.raises(AssertionError, match="leaked"):
            assert_clean(rendered(error), "a planted traceback")


@pytest.mark.parametrize(
    "url",
    [
        f"kavenegar://{quote(SECRET, safe='')}@/?nope=1",
        f"kavenegar://{quote(SECRET, safe='')}@/?endpoint=ftp://h",
        f"kavenegar://{quote(SECRET, safe='')}@/?endpoint=http://h:99999",
        f"kavenegar://{quote(SECRET, safe='')}",
        f"kavenegar://user:{quote(SECRET, safe='')}@/",
        f"kavenegar://{quote(SECRET, safe='')}@api.kavenegar.com/",
        f"kavenegar://{quote(SECRET, safe='')}@/?timeout=-1",
        f"kavenegar://{quote(SECRET, safe='')}:x@host:port/",
    ],
)
def test_configuration_errors(url: str) -> None:
    """A bad URL holding the key is refused without it, in message, repr and traceback."""
    with pytest.raises(smsbridge.ConfigurationError) as caught:
        smsbridge.Client(url, autoload_plugins=True)
    assert_clean(f"{caught.value} {caught.value!r} {rendered(caught.value)}", url)


def test_reprs_and_urls() -> None:
    """The provider, its URL and its requests show no key, in repr or to rich."""
    parsed = ProviderURL.parse(f"kavenegar://{quote(SECRET, safe='')}@/?from=1")
    provider = KavenegarProvider.from_url(parsed)
    request = provider.balance_request_for()
    console = Console(file=io.StringIO(), width=250)
    console.print(parsed, provider, request, vars(provider))
    assert_clean(
        f"{parsed} {parsed!r} {provider!r} {request!r} {console.file.getvalue()}",  # type: ignore[attr-defined]
        "reprs",
    )


# -- the command line -----------------------------------------------------------------------------


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``smsbridge`` and return stdout and stderr together."""
    done = subprocess.run(
        [SMSBRIDGE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or ENV,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


CLI_PATHS = ["wrong key", "code 418", "code 409", "5xx HTML echoing the key",
             "not JSON, echoing the key", "timeout", "redirect to the same path",
             "redirect echoing the key", "lost reply", "connection refused"]  # fmt: skip


@pytest.mark.parametrize("name", CLI_PATHS)
def test_every_failure_path_through_the_cli(emulator: Emulator, name: str, tmp_path: Path) -> None:
    """send (text, --json, template, --journal and --report), balance, journal --settle and
    --delivery, with -vv logs and --debug: no output holds the key."""
    endpoint = PATHS[name](emulator)
    url = kave_url(endpoint, key=SECRET)
    (tmp_path / "numbers.txt").write_text("09121234567\n09351234567\n", encoding="utf-8")
    outputs = [
        cli("-vv", "send", "--url", url, "--to", "09121234567", "--text", "hi", "--timeout",
            "0.3", cwd=tmp_path),
        cli("--debug", "send", "--url", url, "--to", "09121234567", "--text", "hi", "--json",
            "--timeout", "0.3", cwd=tmp_path),
        cli("send", "--url", url, "--to", "09121234567", "--template", "verify", "--var",
            "token=4821", "--timeout", "0.3", cwd=tmp_path),
        cli("-vv", "send", "--url", url, "--to-file", "numbers.txt", "--text", "hi",
            "--journal", "j.sqlite", "--report", "report.csv", "--timeout", "0.3", cwd=tmp_path),
        cli("-vv", "balance", "--url", url, "--timeout", "0.3", cwd=tmp_path),
        cli("balance", "--json", cwd=tmp_path, env={**ENV, "SMSBRIDGE_URL": url}),
        cli("-vv", "journal", "j.sqlite", "--settle", "--url", url, cwd=tmp_path),
        cli("journal", "j.sqlite", "--delivery", "--url", url, "--json", cwd=tmp_path),
        cli("journal", "j.sqlite", "--unknown", "--json", cwd=tmp_path),
    ]  # fmt: skip
    for output in outputs:
        assert_clean(output, f"the CLI output ({name})")
    for path in tmp_path.iterdir():
        assert_clean(path.read_bytes().decode("utf-8", "replace"), path.name)


@pytest.mark.parametrize(
    "url",
    [
        f"kavenegar://{quote(SECRET, safe='')}@/?nope=1",
        f"kavenegar://{quote(SECRET, safe='')}@/?endpoint=ftp://h",
        f"kavenegar://{quote(SECRET, safe='')}",
        f"kavenegar://user:{quote(SECRET, safe='')}@/",
        f"kavenegar://{SECRET}@/?from=1",
    ],
)
def test_cli_configuration_errors(url: str, tmp_path: Path) -> None:
    """Bad URLs given to the CLI: one error line, no key."""
    output = cli("--debug", "send", "--url", url, "--to", "09121234567", "--text", "x",
                 cwd=tmp_path)  # fmt: skip
    assert "error" in output
    assert_clean(output, "the CLI's configuration error")
