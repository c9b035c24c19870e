"""The library prints nothing, ever, and is steered through stdlib ``logging`` (trust issue,
item 2).

A script that sends through the Melipayamak emulator, fails (a closed port, a text refused
before any I/O) and runs a campaign prints its own JSON lines; in a real process, whatever the
application does about logging, stdout is exactly those lines. Logging set up by the
application shows smsbridge's events on stderr, ``setLevel`` on the ``smsbridge`` logger
silences them, and an application that configures structlog's stdlib integration gets them as
structured events.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from smsbridge_melipayamak.emulator import Emulator

pytestmark = pytest.mark.sms_real_providers  # the script's clients reach the emulator

SCRIPT = """
import json, sys
from smsbridge import Client, Retry

url, down, journal = sys.argv[1:4]
with Client(url, autoload_plugins=True) as client:
    report = client.send("hello لغو11", ["09121234567", "09351234567"])
    print(json.dumps({"accepted": report.accepted}))
with Client(down, autoload_plugins=True, retry=Retry(attempts=1)) as client:
    print(json.dumps({"rejected": client.send("hello", ["09121234567"]).rejected}))
    try:
        client.send("bad \\ud800", ["09121234567"])
    except ValueError as error:
        print(json.dumps({"refused": type(error).__name__}))
with Client(url, autoload_plugins=True) as client:
    numbers = [f"0912{n:07d}" for n in range(250)] + ["not a number"]
    summary = client.send_bulk("hello لغو11", numbers, journal=journal)
    print(json.dumps({"campaign": summary.totals.accepted, "rejected": summary.totals.rejected}))
print("done")
"""
PRINTED = (
    '{"accepted": 2}\n{"rejected": 1}\n{"refused": "InvalidMessageError"}\n'
    '{"campaign": 250, "rejected": 1}\ndone\n'
)
"""Exactly what the script prints itself."""

SETUPS = {
    "nothing configured": "",
    "structlog configured, stdlib logging not": (
        "import logging, structlog\n"
        "structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))\n"
    ),
    "logging at DEBUG on stderr": "import logging\nlogging.basicConfig(level=logging.DEBUG)\n",
    "logging at DEBUG, smsbridge silenced": (
        "import logging\nlogging.basicConfig(level=logging.DEBUG)\n"
        "logging.getLogger('smsbridge').setLevel(logging.CRITICAL)\n"
    ),
    "structlog's stdlib integration": (
        "import logging, structlog\n"
        "handler = logging.StreamHandler()\n"
        "handler.setFormatter(structlog.stdlib.ProcessorFormatter(\n"
        "    processor=structlog.processors.JSONRenderer(),\n"
        "    foreign_pre_chain=[structlog.stdlib.ExtraAdder(), structlog.stdlib.add_log_level],\n"
        "))\n"
        "logging.getLogger('smsbridge').addHandler(handler)\n"
        "logging.getLogger('smsbridge').setLevel(logging.INFO)\n"
        "structlog.configure(\n"
        "    processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],\n"
        "    logger_factory=structlog.stdlib.LoggerFactory(),\n"
        ")\n"
    ),
}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run(setup: str, emulator: Emulator, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    url = emulator.provider_url()
    down = url.replace(f":{emulator.port}/", f":{closed_port()}/")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-c", setup + SCRIPT, url, down, str(tmp_path / "j.sqlite")],
        capture_output=True,
        text=True,
        env={**environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def smsbridge_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "sms_" in line]


@pytest.mark.parametrize("setup", SETUPS)
def test_stdout_is_exactly_what_the_script_printed(
    setup: str, emulator: Emulator, tmp_path: Path
) -> None:
    """Sends, failures and a campaign: stdout holds the script's own lines and nothing else,
    whatever the application did about logging."""
    done = run(SETUPS[setup], emulator, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == PRINTED
    assert len(emulator.state.sent) == 252


def test_silent_until_logging_is_configured(emulator: Emulator, tmp_path: Path) -> None:
    """With nothing configured (or only structlog), not even the warnings of failed requests
    reach stderr: the library adds only a NullHandler."""
    for setup in ("nothing configured", "structlog configured, stdlib logging not"):
        done = run(SETUPS[setup], emulator, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


def test_stdlib_logging_shows_and_silences_the_events(emulator: Emulator, tmp_path: Path) -> None:
    """basicConfig shows the events on stderr (failures as warnings); setLevel on the
    ``smsbridge`` logger silences them."""
    shown = smsbridge_lines(run(SETUPS["logging at DEBUG on stderr"], emulator, tmp_path).stderr)
    assert any(line.startswith("INFO:smsbridge:sms_send_started") for line in shown), shown
    assert any(line.startswith("WARNING:smsbridge:sms_batch_failed") for line in shown), shown
    assert any("sms_bulk_finished" in line for line in shown), shown
    silenced = run(SETUPS["logging at DEBUG, smsbridge silenced"], emulator, tmp_path).stderr
    assert smsbridge_lines(silenced) == []


def test_structured_events_through_structlogs_stdlib_integration(
    emulator: Emulator, tmp_path: Path
) -> None:
    """With ``ProcessorFormatter`` and ``ExtraAdder`` every event is a JSON object carrying
    its name and fields (numbers masked, no text)."""
    done = run(SETUPS["structlog's stdlib integration"], emulator, tmp_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]
    names = {event["event"] for event in events}
    assert {"sms_send_started", "sms_batch_sent", "sms_batch_failed", "sms_send_finished"} <= names
    assert {"sms_bulk_started", "sms_bulk_finished"} <= names
    failed = next(event for event in events if event["event"] == "sms_batch_failed")
    assert failed["level"] == "warning"
    assert failed["provider"] == "melipayamak"
    assert failed["category"] == "provider_unavailable"
    finished = next(e for e in events if e["event"] == "sms_send_finished")
    assert (finished["accepted"], finished["rejected"]) == (2, 0)
    assert "hello" not in done.stderr
    assert "9121234567" not in done.stderr
