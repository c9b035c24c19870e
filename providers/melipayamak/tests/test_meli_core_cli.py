"""The ``smsbridge`` command (the installed script, in a child process) on melipayamak:// URLs
for both APIs against the emulator: ``balance`` and template sends (``send --template``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from meli_support import APIS, OTP_TEXT, PASSWORD, Api, endpoint_of, meli_url
from smsbridge_melipayamak.emulator import DEMO_PATTERN, Emulator

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
# The child must find the melipayamak plugin through its entry point.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
SECRET = "S3cret-pw&+ك"


def smsbridge(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the console script to completion."""
    return subprocess.run(
        [SMSBRIDGE, *args],
        capture_output=True,
        text=True,
        env={**ENV, **env},
        timeout=60,
        check=False,
    )


def url_for(emulator: Emulator, api: Api, password: str = PASSWORD) -> str:
    """The demo account's URL over ``api``, the password percent-encoded."""
    return meli_url(endpoint_of(emulator, api), password=quote(password, safe=""), api=api)


class TestBalance:
    """``smsbridge balance`` reads GetCredit over either API."""

    @APIS
    def test_text_and_json(self, emulator: Emulator, api: Api) -> None:
        """One line with the amount and unit; --json the Balance; both ask GetCredit."""
        emulator.state.accounts["demo"].credit = 1234567.5
        done = smsbridge("balance", "--url", url_for(emulator, api))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "melipayamak: 1,234,567.5 messages\n"
        done = smsbridge("balance", "--json", SMSBRIDGE_URL=url_for(emulator, api))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {
            "amount": 1234567.5,
            "unit": "messages",
            "provider": "melipayamak",
        }
        operation = "rest/GetCredit" if api == "rest" else "GetCredit"
        assert [r.operation for r in emulator.state.requests] == [operation, operation]

    def test_wrong_password_over_rest(self, emulator: Emulator) -> None:
        """REST says wrong credentials (SOAP can only say 0): a provider failure, exit 5,
        one line, and the password nowhere."""
        emulator.state.accounts["demo"].password = "other"
        done = smsbridge("balance", "--url", url_for(emulator, "rest", SECRET))
        assert done.returncode == 5, done.stderr
        assert done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith("smsbridge: error: ")
        assert "wrong username or password" in line
        assert "S3cret" not in done.stdout + done.stderr

    @APIS
    def test_unavailable(self, emulator: Emulator, api: Api) -> None:
        """A service that fails every request: exit 5 and a one-line reason."""
        emulator.faults.http_500(count=None)
        done = smsbridge("balance", "--url", url_for(emulator, api, SECRET), "--timeout", "5")
        assert done.returncode == 5, done.stderr
        assert "unavailable" in done.stderr
        assert "S3cret" not in done.stdout + done.stderr


class TestTemplateSend:
    """``smsbridge send --template ID --var VALUE`` sends a pattern."""

    @APIS
    def test_otp(self, emulator: Emulator, api: Api) -> None:
        """--json: each recipient accepted with the emulator's recId; the handsets get the
        rendered pattern."""
        done = smsbridge(
            "send",
            "--url",
            url_for(emulator, api),
            "--to",
            "09121111111",
            "--to",
            "09122222222",
            "--template",
            str(DEMO_PATTERN),
            "--var",
            "4821",
            "--json",
        )
        assert done.returncode == 0, done.stderr
        results = json.loads(done.stdout)["results"]
        ids = {"+" + m.recipient: str(m.rec_id) for m in emulator.state.sent}
        assert {r["recipient"]: r["message_id"] for r in results} == ids
        assert len(ids) == 2
        assert {m.text for m in emulator.state.sent} == {OTP_TEXT}

    @APIS
    def test_semicolon_is_an_input_error(self, emulator: Emulator, api: Api) -> None:
        """A ';' in --var: exit 2, one line naming the way out, nothing sent."""
        done = smsbridge(
            "send",
            "--url",
            url_for(emulator, api),
            "--to",
            "09121111111",
            "--template",
            str(DEMO_PATTERN),
            "--var",
            "48;21",
        )
        assert done.returncode == 2, done.stderr
        assert "replace_semicolon" in done.stderr
        assert emulator.state.requests == []

    @APIS
    def test_pattern_code(self, emulator: Emulator, api: Api) -> None:
        """An unknown pattern: the recipient rejected with -4, exit 5."""
        done = smsbridge(
            "send",
            "--url",
            url_for(emulator, api),
            "--to",
            "09121111111",
            "--template",
            "424242",
            "--var",
            "1",
            "--json",
        )
        assert done.returncode == 5, done.stderr
        (result,) = json.loads(done.stdout)["results"]
        assert result["error"]["provider_code"] == -4
        assert result["error"]["category"] == "content_rejected"
