"""Campaign sends end to end: the real ``smsbridge`` command against the emulator on 127.0.0.1.

The send runs in a child process so it can really be killed (``kill -9``); what reached the
"provider" is counted on the emulator's side. Each recipient of a campaign carries a localid
derived from the campaign's key for its row, so a lost reply can be settled by asking the
service, and a resend of it is refused by the service instead of sent twice.
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
from kave_support import KEY, kave_url
from smsbridge_kavenegar.emulator import Emulator, EmulatorState

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
# The child must find the kavenegar plugin through its entry point.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
BATCH = 200  # Kavenegar's receptors per call
DEADLINE = 15.0
TEXT = "کمپین smsbridge"


def smsbridge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script to completion."""
    return subprocess.run(
        [SMSBRIDGE, *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=120,
        check=False,
    )  # fmt: skip


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after a generous deadline."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh demo emulator on the real clock (10,000,000 rials: enough for 80,000 parts)."""
    with Emulator(EmulatorState.demo()) as running:
        yield running


class Campaign:
    """One campaign: a numbers file, a journal, and the command that sends it."""

    def __init__(self, workdir: Path, emulator: Emulator, size: int, concurrency: int = 1) -> None:
        self.workdir = workdir
        self.emulator = emulator
        self.numbers = [f"+98912{i:07d}" for i in range(size)]
        (workdir / "numbers.txt").write_text(
            "".join(f"0{n[3:]}\n" for n in self.numbers), encoding="utf-8"
        )
        self.url = kave_url(emulator.url, extra=f"&concurrency={concurrency}")
        self.args = [
            "send", "--url", self.url, "--to-file", "numbers.txt", "--text", TEXT,
            "--journal", "j.sqlite", "--no-progress",
        ]  # fmt: skip

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [SMSBRIDGE, *self.args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=self.workdir, env=ENV,
        )  # fmt: skip

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return smsbridge(*self.args, *extra, cwd=self.workdir)

    def journal(self, *args: str) -> subprocess.CompletedProcess[str]:
        return smsbridge("journal", "j.sqlite", *args, cwd=self.workdir)

    def settle(self) -> dict[str, int]:
        """``smsbridge journal j.sqlite --settle --url ... --json``."""
        done = self.journal("--settle", "--url", self.url, "--json")
        assert done.returncode == 0, done.stderr
        assert KEY not in done.stdout + done.stderr
        counts: dict[str, int] = json.loads(done.stdout)["settled"]
        return counts

    def received(self) -> Counter[str]:
        """How many times each recipient got the message, counted by the emulator."""
        sent = self.emulator.state.sent_messages()
        assert all(message.text == TEXT for message in sent)
        return Counter(message.recipient for message in sent)

    def requests(self) -> list[int]:
        """Receptors of each sms/send call the emulator received."""
        return [r.recipients for r in self.emulator.state.log.of("sms/send")]

    def unknown(self) -> set[str]:
        """The recipients ``smsbridge journal --unknown --json`` lists."""
        done = self.journal("--unknown", "--json")
        assert done.returncode == 0, done.stderr
        return {json.loads(line)["recipient"] for line in done.stdout.splitlines()}

    def everyone_once(self) -> None:
        received = self.received()
        assert set(received) == set(self.numbers), "someone was skipped"
        assert set(received.values()) == {1}, "someone received it twice"


class TestCampaign:
    """``smsbridge send --url kavenegar://...&endpoint=<emulator> --journal``."""

    def test_5000_numbers_in_25_requests(self, emulator: Emulator, tmp_path: Path) -> None:
        """5,000 numbers go out as 25 calls of 200, each receptor with its own localid."""
        campaign = Campaign(tmp_path, emulator, 5000, concurrency=4)
        done = campaign.run("--json")
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert (summary["total"], summary["accepted"], summary["unknown"]) == (5000, 5000, 0)
        assert campaign.requests() == [BATCH] * 25
        campaign.everyone_once()
        localids = {m.localid for m in emulator.state.sent}
        assert len(localids) == 5000
        assert None not in localids
        assert KEY not in done.stdout + done.stderr

    def lost_reply(self, emulator: Emulator, tmp_path: Path) -> Campaign:
        """1,000 numbers whose second call's reply is lost after the service sent it."""
        campaign = Campaign(tmp_path, emulator, 1000)
        emulator.faults.next("delay", seconds=0.0)  # the first call goes through
        emulator.faults.drop_connection()
        first = campaign.run()
        assert first.returncode == 4, first.stderr
        assert len(campaign.unknown()) == BATCH
        return campaign

    def test_lost_reply_is_settled_and_the_resume_sends_nobody_twice(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """Settling by localid finds every unknown row (accepted, with its message id); the
        resume makes no call and nobody has the message twice."""
        campaign = self.lost_reply(emulator, tmp_path)
        assert campaign.settle() == {"accepted": BATCH, "not_sent": 0, "unknown": 0}
        assert campaign.unknown() == set()
        totals = json.loads(campaign.journal("--json").stdout)
        assert (totals["accepted"], totals["unknown"]) == (1000, 0)
        campaign.run()
        assert campaign.requests() == [BATCH] * 5, "the resume made no call"
        campaign.everyone_once()
        export = tmp_path / "report.jsonl"
        assert campaign.journal("--export", str(export)).returncode == 0
        rows = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
        assert {row["status"] for row in rows} == {"accepted"}
        assert {row["message_id"] for row in rows} == {
            str(m.message_id) for m in emulator.state.sent
        }

    def test_resume_after_settling_reports_the_settled_counts(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """After settling, running the campaign again reports everyone accepted (exit 0)."""
        campaign = self.lost_reply(emulator, tmp_path)
        campaign.settle()
        resumed = campaign.run()
        assert resumed.returncode == 0, resumed.stderr + resumed.stdout

    def test_request_never_run_is_settled_as_not_sent(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """A call reset before the service ran it: unknown to the client; settling finds no
        localid (not sent), and the resume sends exactly those 200."""
        campaign = Campaign(tmp_path, emulator, 600)
        emulator.faults.next("delay", seconds=0.0)
        emulator.faults.refuse()
        first = campaign.run()
        assert first.returncode == 4, first.stderr
        assert len(emulator.state.sent) == 400
        assert campaign.settle() == {"accepted": 0, "not_sent": BATCH, "unknown": 0}
        resumed = campaign.run()
        assert resumed.returncode == 0, resumed.stderr + resumed.stdout
        assert campaign.requests() == [BATCH] * 4  # three answered, one reset, one resent
        campaign.everyone_once()

    def test_resending_unknown_is_deduplicated_by_localid(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """--resend-unknown after a lost reply: the same localids go out again and the service
        answers from its records; nobody gets it twice."""
        campaign = Campaign(tmp_path, emulator, 400)
        emulator.faults.drop_connection()
        assert campaign.run().returncode == 4
        again = campaign.run("--resend-unknown")
        assert again.returncode == 0, again.stderr + again.stdout
        assert emulator.state.deduplicated == BATCH
        campaign.everyone_once()
        assert campaign.unknown() == set()

    def test_template_campaign_is_not_settled_by_key(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """verify/lookup carries no localid: a template campaign's lost replies cannot be
        looked up, so settling refuses (exit 3) and leaves them unknown rather than calling
        sent codes "not sent" for the resume to send again."""
        listing = tmp_path / "otp.txt"
        listing.write_text("09121234567\n09121234568\n", encoding="utf-8")
        journal = tmp_path / "otp.sqlite"
        emulator.faults.drop_connection()
        first = smsbridge(
            "send", "--url", kave_url(emulator.url), "--template", "verify", "--var",
            "token=4821", "--to-file", str(listing), "--journal", str(journal),
            "--retries", "0", "--no-progress", cwd=tmp_path,
        )  # fmt: skip
        assert first.returncode == 4, first.stderr
        settled = smsbridge(
            "journal", str(journal), "--settle", "--url", kave_url(emulator.url), cwd=tmp_path
        )
        assert settled.returncode == 3, settled.stderr
        assert "cannot look up by key" in settled.stderr
        unknown = smsbridge("journal", str(journal), "--unknown", "--json", cwd=tmp_path)
        assert len(unknown.stdout.splitlines()) == 1  # the lost one stays unknown

    def test_template_otp(self, emulator: Emulator, tmp_path: Path) -> None:
        """--template/--var send through verify/lookup."""
        done = smsbridge(
            "send", "--url", kave_url(emulator.url), "--template", "verify", "--var",
            "token=4821", "--to", "09121234567", "--json", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (result,) = json.loads(done.stdout)["results"]
        (message,) = emulator.state.sent
        assert (result["status"], result["message_id"]) == ("accepted", str(message.message_id))
        assert (message.text, message.template) == ("کد ورود شما: 4821", "verify")
        assert [r.operation for r in emulator.state.requests] == ["verify/lookup"]


class TestKilledCampaign:
    """A campaign killed mid-send resumes with the same journal: nobody twice, nobody skipped."""

    def interrupt(self, campaign: Campaign) -> None:
        """Start the send slowed by a delay fault and kill -9 it with calls in flight; wait
        until the emulator has finished the calls it was holding."""
        emulator = campaign.emulator
        emulator.faults.delay(0.1, count=None)
        child = campaign.start()

        def in_server() -> bool:
            answered = len(emulator.state.sent) // BATCH
            return answered >= 2 and len(emulator.state.log.of("sms/send")) > answered

        try:
            wait_for(in_server, "the send to be under way")
            os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=DEADLINE)
        finally:
            if child.poll() is None:
                child.kill()
            child.communicate()
        assert child.returncode == -signal.SIGKILL
        emulator.faults.clear()
        wait_for(lambda: emulator.state.log.in_flight == 0, "the held calls to finish")
        assert 0 < len(emulator.state.sent) < len(campaign.numbers), "not stopped mid-send"

    def test_kill_9_then_resume_and_resend_unknown(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        """Resume sends the rest and leaves the in-flight rows unknown; resending them is
        refused by the service for those it had run (same localids): everyone exactly once."""
        campaign = Campaign(tmp_path, emulator, 2000, concurrency=2)
        self.interrupt(campaign)
        resumed = campaign.run()
        assert resumed.returncode == 4, resumed.stderr
        assert "(resumed)" in resumed.stdout
        unknown = campaign.unknown()
        assert 0 < len(unknown) <= 2 * BATCH
        ran = unknown & set(campaign.received())
        assert ran, "the call the emulator held was run"
        again = campaign.run("--resend-unknown")
        assert again.returncode == 0, again.stderr + again.stdout
        assert emulator.state.deduplicated == len(ran)
        campaign.everyone_once()

    def test_kill_9_then_resume_then_settle(self, emulator: Emulator, tmp_path: Path) -> None:
        """The resume turns the killed run's in-flight rows unknown; settling finds those the
        service ran (accepted) and those it never got (not sent); the next run sends only the
        latter: everyone exactly once, nothing deduplicated."""
        campaign = Campaign(tmp_path, emulator, 2000, concurrency=2)
        self.interrupt(campaign)
        assert campaign.run().returncode == 4
        unknown = campaign.unknown()
        ran = unknown & set(campaign.received())
        assert ran
        assert campaign.settle() == {
            "accepted": len(ran),
            "not_sent": len(unknown - ran),
            "unknown": 0,
        }
        assert campaign.unknown() == set()
        campaign.run()
        assert emulator.state.deduplicated == 0
        campaign.everyone_once()
