"""``smsbridge inbox`` as a user runs it: a real process, a real port, stopped by a signal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from inbox_support import Api, child_env, kavenegar_client, melipayamak_client, send_elsewhere

from smsbridge import Template

_MAIN = "from smsbridge.cli import main; main()"
# As if smsbridge-kavenegar were not installed: its import fails (plugins are not autoloaded in
# these children, see child_env).
_WITHOUT_KAVENEGAR = "import sys; sys.modules['smsbridge_kavenegar'] = None; " + _MAIN


class Running:
    """A ``smsbridge inbox`` process and what it printed on start."""

    def __init__(self, args: Sequence[str], main: str = _MAIN) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", main, "inbox", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert self.process.stdout is not None
        self.lines = [self.process.stdout.readline().rstrip("\n") for _ in range(3)]
        assert self.lines[0].startswith("smsbridge inbox on http://127.0.0.1:"), self.lines
        self.url = self.lines[0].removeprefix("smsbridge inbox on ")

    def extra_line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().rstrip("\n")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        """Signal it; its exit status and stderr."""
        self.process.send_signal(how)
        _, stderr = self.process.communicate(timeout=10)
        return self.process.returncode, stderr


@pytest.fixture
def running(store_path: Path) -> Iterator[Running]:
    """``smsbridge inbox --store STORE --port 0 --template otp=...``."""
    inbox = Running(["--store", str(store_path), "--template", "otp=Your code is {0}"])
    yield inbox
    if inbox.process.poll() is None:
        inbox.stop()


def test_prints_how_to_send(running: Running, store_path: Path) -> None:
    """The start lines name the page, the store and the provider URL to send with."""
    assert running.lines[1] == f"store: {store_path}"
    assert running.lines[2] == f"send with: SMSBRIDGE_URL='fake://?inbox={store_path}'"


def test_serves_sends_from_another_process(running: Running, store_path: Path) -> None:
    """A send from another process is in the API of the running inbox."""
    send_elsewhere(store_path, "سلام", ["09123456789"])
    api = Api(running.url)
    assert api.get("/api/v1/latest?number=09123456789")["text"] == "سلام"
    assert api.get("/api/v1/templates") == {"templates": {"otp": "Your code is {0}"}}


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_cleanly(running: Running, how: signal.Signals) -> None:
    """SIGTERM and Ctrl-C stop it with status 0 and one line."""
    status, stderr = running.stop(how)
    assert (status, stderr) == (0, "inbox stopped\n")


def test_hosts_melipayamak(store_path: Path) -> None:
    """--melipayamak-port runs the emulator and prints its provider URL; its sends show."""
    pytest.importorskip("smsbridge_melipayamak")

    inbox = Running(["--store", str(store_path), "--melipayamak-port", "0"])
    try:
        line = inbox.extra_line()
        assert line.startswith("melipayamak emulator: SMSBRIDGE_URL='melipayamak://demo:")
        url = line.split("=", 1)[1].strip("'")
        with melipayamak_client(url) as client:
            assert client.send("hi", ["09123456789"]).all_accepted
        assert Api(inbox.url).get("/api/v1/latest?number=09123456789")["provider"] == (
            "melipayamak"
        )
    finally:
        assert inbox.stop()[0] == 0


def test_hosts_kavenegar(store_path: Path) -> None:
    """--kavenegar-port runs the emulator and prints its provider URL; a send and an OTP to
    it show in the API; SIGTERM stops both."""
    pytest.importorskip("smsbridge_kavenegar")

    inbox = Running(["--store", str(store_path), "--kavenegar-port", "0"])
    try:
        line = inbox.extra_line()
        prefix = "kavenegar emulator: SMSBRIDGE_URL='kavenegar://demo-api-key@/?from=10004346&"
        assert line.startswith(prefix + "endpoint=http://127.0.0.1:"), line
        url = line.split("=", 1)[1].strip("'")
        api = Api(inbox.url)
        with kavenegar_client(url) as client:
            report = client.send("hi", ["09123456789"])
            assert report.all_accepted
            latest = api.get("/api/v1/latest?number=09123456789")
            assert (latest["provider"], latest["text"], latest["message_id"]) == (
                "kavenegar",
                "hi",
                report.message_ids[0],
            )
            otp = Template(id="verify", variables={"token": "4821"})
            assert client.send(otp, ["09123456789"]).all_accepted
        assert api.get("/api/v1/latest?number=09123456789")["text"] == "کد ورود شما: 4821"
        services = api.get("/api/v1/info")["services"]
        assert [service["name"] for service in services] == ["kavenegar"]
    finally:
        assert inbox.stop() == (0, "inbox stopped\n")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(_address(url), timeout=1):
        pass  # the emulator stopped with the inbox


def _address(provider_url: str) -> tuple[str, int]:
    endpoint = urlsplit(provider_url.split("endpoint=", 1)[1])
    assert endpoint.hostname is not None
    assert endpoint.port is not None
    return endpoint.hostname, endpoint.port


class TestWithoutKavenegar:
    """Without smsbridge-kavenegar installed the inbox still works; the option says why not."""

    def test_option_says_so(self, tmp_path: Path) -> None:
        """--kavenegar-port is one line naming the missing provider, configuration status."""
        status, stderr = _fails(
            ["--store", str(tmp_path / "k.sqlite"), "--port", "0", "--kavenegar-port", "0"],
            main=_WITHOUT_KAVENEGAR,
        )
        assert (status, stderr) == (
            3,
            "smsbridge: error: --kavenegar-port needs the Kavenegar provider "
            "(smsbridge-kavenegar), which is not installed: pip install -e providers/kavenegar\n",
        )

    def test_inbox_works(self, store_path: Path) -> None:
        """Without the option the inbox serves fake:// sends as ever."""
        inbox = Running(["--store", str(store_path)], main=_WITHOUT_KAVENEGAR)
        try:
            send_elsewhere(store_path, "سلام", ["09123456789"])
            assert Api(inbox.url).get("/api/v1/latest?number=09123456789")["text"] == "سلام"
        finally:
            assert inbox.stop() == (0, "inbox stopped\n")


def _fails(args: Sequence[str], main: str = _MAIN) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", main, "inbox", *args],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=30,
        check=False,
    )
    assert done.stdout == ""
    return done.returncode, done.stderr


class TestErrors:
    """Each mistake is one line and a status."""

    def test_port_in_use(self, running: Running, tmp_path: Path) -> None:
        """A busy port says so (configuration error)."""
        port = running.url.rsplit(":", 1)[1].strip("/")
        status, stderr = _fails(["--store", str(tmp_path / "b.sqlite"), "--port", port])
        assert (status, stderr) == (
            3,
            f"smsbridge: error: port {port} is in use: give --port N (0 picks a free one)\n",
        )

    def test_shared_without_token(self, tmp_path: Path) -> None:
        """Listening beyond loopback without a token is refused."""
        status, stderr = _fails(["--store", str(tmp_path / "s.sqlite"), "--host", "0.0.0.0"])  # noqa: S104
        assert status == 3
        assert stderr.endswith("shares the inbox beyond this machine: give it a token\n")

    def test_foreign_store(self, tmp_path: Path) -> None:
        """A store that is not an inbox is refused, unchanged."""
        path = tmp_path / "notes.txt"
        path.write_text("mine")
        status, stderr = _fails(["--store", str(path)])
        assert (status, stderr) == (
            3,
            f"smsbridge: error: {path} is not an SQLite file (not a smsbridge inbox)\n",
        )
        assert path.read_text() == "mine"

    def test_bad_template(self, tmp_path: Path) -> None:
        """--template without ID=BODY says how to write it."""
        status, stderr = _fails(["--store", str(tmp_path / "t.sqlite"), "--template", "otp"])
        assert status == 2
        assert "write ID=BODY" in stderr
