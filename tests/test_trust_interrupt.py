"""After Ctrl-C the hint and the totals are true at once (trust issue, item 13).

A real ``smsbridge send --journal`` campaign against the Melipayamak emulator, slowed by a delay
fault so that requests are in flight, gets SIGINT. Without any resume, ``smsbridge journal``
then lists as unknown exactly the recipients whose request was in flight: the ones the emulator
received and the journal does not list accepted.
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
from smsbridge_melipayamak.emulator import Emulator

pytestmark = pytest.mark.sms_real_providers  # a real CLI process against the emulator

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
TEXT = "hi لغو11"
BATCH = 100  # SendSms takes 100 numbers a request
DEADLINE = 60.0


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def smsbridge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SMSBRIDGE, *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=DEADLINE,
        check=False,
    )  # fmt: skip


def e164(wire: str) -> str:
    return "+98" + wire.lstrip("0")[-10:]


def test_in_flight_rows_are_listed_unknown_right_after_ctrl_c(
    emulator: Emulator, tmp_path: Path
) -> None:
    """SIGINT mid-campaign: exit 130 with a hint naming ``journal --unknown``; then, with no
    resume, the journal's totals add up and its unknown rows are exactly the recipients of the
    requests that were in flight."""
    numbers = [f"+98912{n:07d}" for n in range(1000, 2500)]
    (tmp_path / "numbers.txt").write_text("".join(f"0{n[3:]}\n" for n in numbers), "utf-8")
    emulator.faults.delay(0.3, count=None)
    args = ["send", "--url", emulator.provider_url() + "&concurrency=4", "--to-file",
            "numbers.txt", "--text", TEXT, "--journal", "j.sqlite", "--no-progress"]  # fmt: skip
    child = subprocess.Popen(
        [SMSBRIDGE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    try:
        # Two waves answered and a third held by the delay: requests are in flight now.
        wait_for(lambda: len(emulator.state.sent) >= 4 * BATCH, "two waves of requests")
        wait_for(
            lambda: (
                sum(1 for r in emulator.state.requests if r.operation == "SendSms")
                > len(emulator.state.sent) // BATCH
            ),
            "a request held in flight",
        )
        os.kill(child.pid, signal.SIGINT)
        _, stderr = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "smsbridge journal j.sqlite --unknown" in stderr

    # Whatever the emulator was holding, it has now answered (to nobody). A request written
    # just before the stop may reach its handler a moment later: idle twice, apart, is settled.
    def idle() -> bool:
        requests = sum(1 for r in emulator.state.requests if r.operation == "SendSms")
        return emulator.state.log.in_flight == 0 and len(emulator.state.sent) == requests * BATCH

    wait_for(idle, "the held requests to end")
    time.sleep(0.5)
    wait_for(idle, "the held requests to end")

    totals = json.loads(smsbridge("journal", "j.sqlite", "--json", cwd=tmp_path).stdout)
    listed = smsbridge("journal", "j.sqlite", "--unknown", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    unknown = [json.loads(line) for line in listed.stdout.splitlines()]
    assert totals["running"] is False
    assert totals["total"] == len(numbers)
    assert (
        totals["accepted"] + totals["rejected"] + totals["unknown"] + totals["pending"]
        == totals["total"]
    )
    assert totals["unknown"] == len(unknown) > 0
    assert all(row["error"]["category"] == "outcome_unknown" for row in unknown)

    received = Counter(e164(message.recipient) for message in emulator.state.sent)
    assert max(received.values()) == 1
    exported = tmp_path / "rows.jsonl"
    assert smsbridge("journal", "j.sqlite", "--export", str(exported), cwd=tmp_path).returncode == 0
    rows = [json.loads(line) for line in exported.read_text("utf-8").splitlines()]
    accepted = {row["recipient"] for row in rows if row["status"] == "accepted"}
    assert accepted <= set(received)
    # Every recipient sent but not accepted is listed unknown. A listed one may also never
    # have reached the emulator: its flight was committed, then the stop came before the
    # request was written (in flight means "may have been sent"): at most one request per
    # connection.
    listed_unknown = {row["recipient"] for row in unknown}
    assert set(received) - accepted <= listed_unknown
    assert len(listed_unknown - set(received)) <= 4 * BATCH  # concurrency=4
    # Pending: never in flight, so never received.
    assert totals["pending"] == len(numbers) - len(received) - len(listed_unknown - set(received))
