"""Campaign sends end to end: the real ``smsbridge`` command against the emulator on 127.0.0.1.

The send runs in a child process so it can really be killed (``kill -9``) or interrupted
(SIGINT) mid-send; what reached the "provider" is counted on the emulator's side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from meli_support import LINE, OPT_OUT, PASSWORD, meli_url
from smsbridge_melipayamak.emulator import Emulator, EmulatorState

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
# The child must find the melipayamak plugin through its entry point.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
CONCURRENCY = 2
BATCH = 100  # Melipayamak's per-request limit
DEADLINE = 15.0
TEXT = f"Campaign سلام {OPT_OUT}"


def smsbridge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script to completion."""
    return subprocess.run(
        [SMSBRIDGE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=60,
        check=False,
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after a generous deadline."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def e164(emulator_recipient: str) -> str:
    """The emulator stores ``989xxxxxxxxx``; smsbridge reports ``+989xxxxxxxxx``."""
    return "+" + emulator_recipient


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh demo emulator on the real clock (its demo account has credit for 1,000,000)."""
    with Emulator(EmulatorState.demo()) as running:
        yield running


class Campaign:
    """One campaign: a numbers file, a journal, and the command that sends it."""

    def __init__(self, workdir: Path, emulator: Emulator, size: int) -> None:
        self.workdir = workdir
        self.emulator = emulator
        self.numbers = [f"+98912{i:07d}" for i in range(size)]
        (workdir / "numbers.txt").write_text(
            "".join(f"0{n[3:]}\n" for n in self.numbers), encoding="utf-8"
        )
        url = meli_url(emulator.url, extra=f"&concurrency={CONCURRENCY}")
        self.args = [
            "send",
            "--url",
            url,
            "--to-file",
            "numbers.txt",
            "--text",
            TEXT,
            "--journal",
            "j.sqlite",
            "--no-progress",
        ]

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [SMSBRIDGE, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
            env=ENV,
        )

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return smsbridge(*self.args, *extra, cwd=self.workdir)

    def received(self) -> Counter[str]:
        """How many times each recipient got the message, counted by the emulator."""
        sent = list(self.emulator.state.sent)
        assert all(message.text == TEXT for message in sent)
        return Counter(e164(message.recipient) for message in sent)

    def unknown(self) -> set[str]:
        """The recipients ``smsbridge journal --unknown --json`` lists."""
        done = smsbridge("journal", "j.sqlite", "--unknown", "--json", cwd=self.workdir)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert all(row["status"] == "unknown" for row in rows)
        return {row["recipient"] for row in rows}

    def request_in_server(self) -> bool:
        """At least two requests answered, and one more held by the delay fault right now.

        A request the server is holding was claimed and committed in flight before it was
        written, so killing now is guaranteed to leave unknown rows.
        """
        state = self.emulator.state
        sends = sum(1 for request in state.requests if request.operation == "SendSms")
        answered = len(state.sent) // BATCH
        return answered >= 2 and sends > answered

    def interrupt(self, sig: signal.Signals) -> subprocess.CompletedProcess[str]:
        """Start the send slowed by a delay fault, deliver ``sig`` mid-send, collect the child."""
        self.emulator.faults.delay(0.1, count=None)
        child = self.start()
        try:
            wait_for(self.request_in_server, "the send to be under way")
            os.kill(child.pid, sig)
            out, err = child.communicate(timeout=DEADLINE)
        finally:
            if child.poll() is None:
                child.kill()
            child.communicate()
        self.emulator.faults.clear()
        assert 0 < len(self.emulator.state.sent) < len(self.numbers), "not stopped mid-send"
        return subprocess.CompletedProcess(child.args, child.returncode, out, err)

    def check_resumed_campaign(self) -> set[str]:
        """Nobody twice, nobody skipped: each recipient got it once or is listed unknown."""
        received = self.received()
        twice = {number for number, count in received.items() if count > 1}
        assert not twice, f"received twice: {sorted(twice)[:5]}"
        unknown = self.unknown()
        assert len(unknown) <= CONCURRENCY * BATCH
        assert unknown, "requests were in flight at the interruption"
        skipped = set(self.numbers) - set(received) - unknown
        assert not skipped, f"skipped: {sorted(skipped)[:5]}"
        # A recipient the journal calls unknown may well have been sent (the server
        # processed the request; only the reply was lost), but never one reported accepted.
        return unknown


class TestInterruptedCampaign:
    """A campaign stopped mid-send resumes with the same journal: nobody twice, nobody skipped."""

    def test_kill_9_then_resume(self, emulator: Emulator, tmp_path: Path) -> None:
        """kill -9 mid-send; resume sends the rest; in-flight recipients are unknown, not resent."""
        campaign = Campaign(tmp_path, emulator, 2000)
        stopped = campaign.interrupt(signal.SIGKILL)
        assert stopped.returncode == -signal.SIGKILL

        resumed = campaign.run()
        assert resumed.returncode == 4, resumed.stderr  # partial: the unknown ones
        assert "(resumed)" in resumed.stdout
        assert "smsbridge journal j.sqlite --unknown" in resumed.stderr
        unknown = campaign.check_resumed_campaign()
        before = campaign.received()

        # The caller decides to resend the unknown ones. The server may already have
        # processed a request whose reply the killed process never read, so those
        # recipients can now have the message twice: that is exactly why resending unknown
        # is the caller's explicit decision and never the default.
        again = campaign.run("--resend-unknown")
        assert again.returncode == 0, again.stderr + again.stdout
        after = campaign.received()
        assert set(after) == set(campaign.numbers), "everyone has it at least once"
        twice = {number for number, count in after.items() if count > 1}
        assert twice <= unknown, "only recipients of unknown outcome can be duplicated"
        assert all(after[n] == before[n] + 1 for n in unknown)
        assert all(after[n] == 1 for n in set(campaign.numbers) - unknown)
        assert campaign.unknown() == set()

    def test_ctrl_c_then_resume(self, emulator: Emulator, tmp_path: Path) -> None:
        """SIGINT mid-send: a non-zero exit, a resume hint and no traceback; resume completes."""
        campaign = Campaign(tmp_path, emulator, 1500)
        stopped = campaign.interrupt(signal.SIGINT)
        assert stopped.returncode == 130, stopped.stderr
        assert "Traceback" not in stopped.stderr, (
            f"BUG: Ctrl-C printed a traceback instead of one line:\n{stopped.stderr}"
        )
        assert "smsbridge: error: interrupted" in stopped.stderr
        assert "run the same command again to resume from j.sqlite" in stopped.stderr

        resumed = campaign.run()
        assert resumed.returncode == 4, resumed.stderr
        campaign.check_resumed_campaign()


class TestCliWithMelipayamakUrl:
    """``smsbridge send --url melipayamak://...&endpoint=<emulator>``."""

    def test_json_reports_the_emulators_message_ids(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """--json: every result's message_id is the emulator's recId; Persian text intact."""
        text = f"سلام، پیام آزمایشی {OPT_OUT}"
        done = smsbridge(
            "send",
            "--url",
            meli_url(emulator.url),
            "--to",
            "09121111111",
            "--to",
            "09122222222",
            "--text",
            text,
            "--json",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert PASSWORD not in done.stdout + done.stderr
        results = json.loads(done.stdout)["results"]
        by_recipient = {e164(m.recipient): m for m in emulator.state.sent}
        assert [r["recipient"] for r in results] == ["+989121111111", "+989122222222"]
        for result in results:
            sent = by_recipient[result["recipient"]]
            assert result["status"] == "accepted"
            assert result["message_id"] == str(sent.rec_id)
            assert sent.text == text
            assert sent.sender == LINE

    def test_streamed_send_of_250_with_report(self, emulator: Emulator, tmp_path: Path) -> None:
        """--journal/--report: 3 requests on the wire, 250 report lines with the emulator's ids."""
        numbers = [f"0912{i:07d}" for i in range(250)]
        (tmp_path / "numbers.txt").write_text("\n".join(numbers) + "\n", encoding="utf-8")
        done = smsbridge(
            "send",
            "--url",
            meli_url(emulator.url),
            "--to-file",
            "numbers.txt",
            "--text",
            TEXT,
            "--journal",
            "j.sqlite",
            "--report",
            "report.jsonl",
            "--json",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert (summary["total"], summary["accepted"], summary["unknown"]) == (250, 250, 0)
        sends = [r for r in emulator.state.requests if r.operation == "SendSms"]
        assert sorted(r.recipients for r in sends) == [50, 100, 100]
        lines = (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 250
        rows = [json.loads(line) for line in lines]
        ids = {e164(m.recipient): str(m.rec_id) for m in emulator.state.sent}
        assert len(ids) == 250
        assert {row["recipient"]: row["message_id"] for row in rows} == ids
        assert sorted(row["position"] for row in rows) == list(range(250))
        assert {row["status"] for row in rows} == {"accepted"}
