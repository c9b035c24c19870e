"""The smsbridge-kavenegar command: the demo and the plugin's start-up cost."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from smsbridge_kavenegar import cli

ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
COMMAND = [sys.executable, "-m", "smsbridge_kavenegar.cli", "demo"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=120, env=ENV, check=False
    )


class TestDemo:
    """``smsbridge-kavenegar demo`` sends through a temporary emulator."""

    def test_subprocess(self) -> None:
        """Exit 0: a Persian send, an OTP through verify/lookup, delivery statuses, rials."""
        done = run()
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert f"Summary: {len(cli.DEMO_NUMBERS)} accepted, 0 rejected, 0 unknown" in out
        assert "OTP through verify/lookup" in out
        assert f"کد ورود شما: {cli.DEMO_OTP}" in out
        assert "delivered" in out
        assert "11 (undelivered" in out
        assert "rials" in out
        assert "سلام" in out
        assert "demo-api-key" not in out + done.stderr
        assert done.stderr == ""

    def test_verbose_shows_the_send_events(self) -> None:
        """demo -v shows smsbridge's events on stderr, one line each, without the key."""
        loud = run("-v")
        assert loud.returncode == 0, loud.stderr
        events = [line.split()[1:3] for line in loud.stderr.splitlines()]
        assert ["info", "sms_send_started"] in events
        assert ["info", "sms_batch_sent"] in events
        assert "provider=kavenegar" in loud.stderr
        assert "demo-api-key" not in loud.stderr

    def test_in_process(self) -> None:
        """run_demo writes to the stream it is given."""
        out = io.StringIO()
        assert cli.run_demo(out) == 0
        assert "Balance (account/info): 9,999,400 rials" in out.getvalue()

    def test_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        """No command is a usage error."""
        with pytest.raises(SystemExit) as caught:
            cli.main([])
        assert caught.value.code == 2
        assert "demo" in capsys.readouterr().err


def test_plugin_import_is_cheap() -> None:
    """Loading the entry point imports neither the provider nor the emulator."""
    code = (
        "import sys, smsbridge_kavenegar._plugin;"
        "print(sorted(m for m in sys.modules if m.startswith('smsbridge_kavenegar')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "['smsbridge_kavenegar', 'smsbridge_kavenegar._plugin']"


def test_providers_command_lists_kavenegar() -> None:
    """``smsbridge providers`` finds it through the entry point."""
    done = subprocess.run(
        [str(os.path.join(os.path.dirname(sys.executable), "smsbridge")), "providers"],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "kavenegar" in done.stdout
