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
        assert out.count("accepted  3") == len(cli.DEMO_NUMBERS) + 2
        assert "delivered" in out
        assert "failed" in out
        assert "demo-password" not in out + done.stderr
        assert "سلام" in out

    def test_otp_through_a_pattern(self) -> None:
        """The demo also sends an OTP through the pattern over SOAP and REST, and prints the
        text the handset shows and the credit left."""
        out = io.StringIO()
        assert cli.run_demo(out) == 0
        lines = out.getvalue().splitlines()
        start = next(n for n, line in enumerate(lines) if "one-time code" in line)
        otp = lines[start:]
        assert "  | کد ورود شما: {0}" in otp
        rows = [line.split() for line in otp if "accepted" in line]
        assert [row[:4] for row in rows] == [
            ["soap", "SendByBaseNumber2", "+989121234567", "accepted"],
            ["rest", "BaseServiceNumber", "+989121234567", "accepted"],
        ]
        assert all(row[4].isdigit() for row in rows)
        shows = otp.index("The handset of +989121234567 shows, from line 5000125475:")
        assert otp[shows + 1] == f"  | کد ورود شما: {cli.DEMO_CODE}"
        # 4 single-part messages, then two one-part OTPs, from the demo's credit
        assert otp[-1] == "Credit left (GetCredit): 999,994 messages"

    def test_verbose_shows_the_send_events(self) -> None:
        """demo -v shows smsbridge's log events on stderr, one line each, without secrets;
        without -v stderr stays empty."""
        command = [sys.executable, "-m", "smsbridge_melipayamak.cli", "demo"]
        quiet = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env=PLUGIN_AUTOLOAD, check=False
        )
        loud = subprocess.run(
            [*command, "-v"],
            capture_output=True,
            text=True,
            timeout=120,
            env=PLUGIN_AUTOLOAD,
            check=False,
        )
        assert (quiet.returncode, quiet.stderr) == (0, "")
        assert loud.returncode == 0, loud.stderr
        lines = loud.stderr.splitlines()
        events = [line.split()[1:3] for line in lines]
        assert (
            events
            == [
                ["info", "sms_send_started"],
                ["info", "sms_batch_sent"],
                ["info", "sms_send_finished"],
            ]
            * 3
        )  # the text, then the OTP over SOAP and over REST
        assert "provider=melipayamak" in lines[0]
        assert "accepted=4" in lines[1]
        assert "template=True" in lines[3]
        assert "demo-password" not in loud.stderr
        assert loud.stdout.splitlines()[2:] == quiet.stdout.splitlines()[2:]

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
    """Importing the plugin is cheap, and zeep is not used at run time at all."""

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
        """Resolving melipayamak:// through the entry point does not load zeep."""
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

    def test_zeep_is_not_used_at_run_time(self) -> None:
        """Sending (sync and async), asking delivery status and credit never import zeep,
        requests or httpx: the provider speaks SOAP through smsbridge's own transport."""
        done = python(
            """
            import asyncio, sys
            import smsbridge
            from smsbridge_melipayamak.emulator import Emulator

            with Emulator() as emulator:
                url = (
                    "melipayamak://demo:demo-password@/?from=50004001234567"
                    f"&endpoint={emulator.url}"
                )
                with smsbridge.Client(url, autoload_plugins=True) as client:
                    report = client.send("hi", ["09121234567"])
                    client.delivery_status(report.message_ids)
                    client.balance()

                async def go():
                    async with smsbridge.Client(url, autoload_plugins=True) as client:
                        report = await client.asend("hi", ["09121234567"])
                        await client.adelivery_status(report.message_ids)
                        await client.abalance()
                        return report

                print(report.accepted, asyncio.run(go()).accepted)
            print(sorted({"zeep", "requests", "httpx"} & set(sys.modules)))
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:2] == ["1 1", "[]"]


class TestOffline:
    """The provider never touches the network itself: it only builds requests and reads
    replies (the engine's transport carries them)."""

    def test_requests_and_replies_without_network(self) -> None:
        """With connect and getaddrinfo disabled, a client and its provider are built, and
        every request is built and every reply read."""
        done = python(
            """
            import socket

            def refuse(*args, **kwargs):
                raise AssertionError(f"network use: {args!r}")

            socket.socket.connect = refuse
            socket.socket.connect_ex = refuse
            socket.getaddrinfo = refuse
            socket.create_connection = refuse

            import smsbridge
            from smsbridge import Batch, Message
            from smsbridge.transport import Response

            client = smsbridge.Client("melipayamak://u:p@/?from=5000", autoload_plugins=True)
            meli = client.provider
            batch = Batch(message=Message(text="hi"), recipients=("+989121234567",))
            requests = [
                meli.request_for(batch),
                meli.delivery_request_for(["3000000000000000001"]),
                meli.balance_request_for(),
            ]
            assert {r.url for r in requests} == {"https://api.payamak-panel.com/post/Send.asmx"}
            envelope = (
                '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                '<soap:Body>{}</soap:Body></soap:Envelope>'
            )
            def reply(operation, inner):
                body = envelope.format(
                    f'<{operation}Response xmlns="http://tempuri.org/">{inner}'
                    f'</{operation}Response>'
                )
                return Response(
                    status_code=200,
                    headers=[("Content-Type", "text/xml; charset=utf-8")],
                    content=body.encode(),
                )
            sent = meli.results_from(
                reply(
                    "SendSms",
                    "<SendSmsResult>1</SendSmsResult><recId><long>7</long></recId>"
                    "<status>AA==</status>",
                ),
                batch,
            )
            delivered = meli.delivery_from(
                reply("GetDeliveries", "<GetDeliveriesResult><int>1</int></GetDeliveriesResult>"),
                ["3000000000000000001"],
            )
            credit = meli.balance_from(reply("GetCredit", "<GetCreditResult>5</GetCreditResult>"))
            client.close()
            print(sent[0].message_id, delivered[0].status.value, credit.amount)
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["7", "delivered", "5.0"]
