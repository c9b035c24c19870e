"""The smsbridge-melipayamak command, start-up cost, and building clients with no network."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest
from smsbridge_melipayamak import cli

PLUGIN_AUTOLOAD = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}


def python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=PLUGIN_AUTOLOAD,
        check=False,
    )


class TestDemo:
    """``smsbridge-melipayamak demo`` sends through a temporary emulator."""

    def test_subprocess(self) -> None:
        """The demo exits 0 and shows every recipient accepted, then delivery statuses."""
        done = subprocess.run(
            [sys.executable, "-m", "smsbridge_melipayamak.cli", "demo"],
            capture_output=True,
            text=True,
            timeout=120,
            env=PLUGIN_AUTOLOAD,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert f"Summary: {len(cli.DEMO_NUMBERS)} accepted, 0 rejected, 0 unknown" in out
        assert out.count("accepted  3") == len(cli.DEMO_NUMBERS)
        assert "delivered" in out
        assert "failed" in out
        assert "demo-password" not in out + done.stderr
        assert "سلام" in out

    def test_in_process(self) -> None:
        """run_demo writes its table to the given stream."""
        out = io.StringIO()
        assert cli.run_demo(out) == 0
        assert "+989121234567" in out.getvalue()


class TestEmulatorCommand:
    """``smsbridge-melipayamak emulator`` hands its arguments to the emulator."""

    def test_help_is_the_emulators(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help after 'emulator' shows the emulator's own options."""
        with pytest.raises(SystemExit) as exited:
            cli.main(["emulator", "--help"])
        assert exited.value.code == 0
        assert "--port" in capsys.readouterr().out

    def test_requires_a_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a command, usage is printed and the exit status is 2."""
        with pytest.raises(SystemExit) as exited:
            cli.main([])
        assert exited.value.code == 2
        assert "demo" in capsys.readouterr().err


class TestStartUp:
    """Importing the plugin, and building a client, do not load zeep."""

    def test_plugin_import_is_cheap(self) -> None:
        """smsbridge and the plugin module import without zeep, lxml or httpx."""
        done = python(
            """
            import sys
            import smsbridge, smsbridge_melipayamak._plugin
            heavy = sorted({"zeep", "lxml", "httpx", "requests"} & set(sys.modules))
            print(heavy)
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"

    def test_client_construction_is_cheap(self) -> None:
        """Resolving melipayamak:// through the entry point still does not load zeep."""
        done = python(
            """
            import sys
            import smsbridge
            client = smsbridge.Client("melipayamak://u:p@/?from=1", autoload_plugins=True)
            print(type(client.provider).__name__, "zeep" in sys.modules)
            client.close()
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["MelipayamakProvider", "False"]


class TestOffline:
    """The packaged WSDL builds both clients with every network call impossible."""

    def test_wsdl_loads_without_network(self) -> None:
        """With connect and getaddrinfo disabled, sync and async services are still built."""
        done = python(
            """
            import asyncio, socket

            def refuse(*args, **kwargs):
                raise AssertionError(f"network use: {args!r}")

            socket.socket.connect = refuse
            socket.socket.connect_ex = refuse
            socket.getaddrinfo = refuse
            socket.create_connection = refuse

            from smsbridge_melipayamak import MelipayamakProvider

            meli = MelipayamakProvider(
                username="u", password="p", endpoint="http://127.0.0.1:9/post/Send.asmx"
            )
            assert meli._clients.service() is not None

            async def build():
                assert meli._clients.aservice() is not None
                await meli.aclose()

            asyncio.run(build())
            print("built offline")
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "built offline"
