"""The command line keeps its promises (trust issue, items 23 and 26).

``--skip-invalid`` works for a one-shot send as it does for a campaign; a campaign where nothing
was accepted says so in one line by reason, not a warning per request; ``-v`` is honoured after
the subcommand; a plugin that fails to load is named with the way to block it, and the exit
status is the configuration one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from smsbridge import ErrorCategory
from smsbridge.cli import (
    EXIT_CONFIGURATION,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER_FAILURE,
    cli,
)
from smsbridge.testing import FakeOutbox

GOOD, OTHER = "09123456789", "09351234567"
BAD = ["123", "09x", "not a number"]
SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


def run(*args: str, input: str | None = None) -> Result:
    runner = CliRunner(env={"SMSBRIDGE_URL": None, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return runner.invoke(cli, list(args), input=input)


def warnings_and_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " warning " in line or " error " in line]


class TestSkipInvalidOneShot:
    """``--skip-invalid`` for a one-shot send (``--to``, ``--to-file``, a template)."""

    def test_to(self, sms_outbox: FakeOutbox) -> None:
        """The valid numbers are sent; each invalid one is a rejected row naming its reason."""
        result = run("send", "--url", "fake://", "--to", GOOD, "--to", BAD[0], "--to", OTHER,
                     "--to", BAD[1], "--text", "hi", "--skip-invalid", "--json")  # fmt: skip
        assert result.exit_code == EXIT_PARTIAL, result.output
        rows = json.loads(result.stdout)["results"]
        assert [row["status"] for row in rows] == ["accepted", "rejected", "accepted", "rejected"]
        assert {rows[1]["error"]["category"], rows[3]["error"]["category"]} == {"invalid_recipient"}
        assert sms_outbox.recipients == ["+989123456789", "+989351234567"]

    def test_without_it_nothing_is_sent(self, sms_outbox: FakeOutbox) -> None:
        """The control case: the same send without the option is refused whole."""
        result = run("send", "--url", "fake://", "--to", GOOD, "--to", BAD[0], "--text", "hi")
        assert result.exit_code == EXIT_INVALID_INPUT
        sms_outbox.assert_nothing_sent()

    def test_to_file(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """From a file, without a journal: the table lists the bad line rejected."""
        numbers = tmp_path / "n.txt"
        numbers.write_text(f"{GOOD}\n{BAD[0]}\n", encoding="utf-8")
        result = run("send", "--url", "fake://", "--to-file", str(numbers), "--text", "hi",
                     "--skip-invalid")  # fmt: skip
        assert result.exit_code == EXIT_PARTIAL, result.output
        assert "invalid_recipient" in result.stdout
        assert sms_outbox.recipients == ["+989123456789"]

    def test_template(self, sms_outbox: FakeOutbox) -> None:
        """A template send takes it too."""
        result = run("send", "--url", "fake://", "--to", GOOD, "--to", BAD[0], "--template",
                     "otp", "--var", "4821", "--skip-invalid", "--json")  # fmt: skip
        assert result.exit_code == EXIT_PARTIAL, result.output
        assert sms_outbox.recipients == ["+989123456789"]

    def test_only_invalid_numbers(self, sms_outbox: FakeOutbox) -> None:
        """When no number is valid there is nothing to send: refused as input, naming them."""
        result = run("send", "--url", "fake://", "--to", BAD[0], "--to", BAD[1], "--text", "hi",
                     "--skip-invalid")  # fmt: skip
        assert result.exit_code == EXIT_INVALID_INPUT, result.output
        assert "2 invalid recipients" in result.stderr
        sms_outbox.assert_nothing_sent()


class TestFullyRejectedCampaign:
    """A campaign where nothing was accepted prints one breakdown line, by reason."""

    def test_one_line_by_reason(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """Fifty requests refused for credit and thirty invalid numbers: the summary, then
        ``not accepted: 50 insufficient_credit, 30 invalid_recipient``; no warning a request."""
        numbers = tmp_path / "n.txt"
        lines = [f"0912{n:07d}" for n in range(100, 150)] + [f"12{n}" for n in range(30)]
        numbers.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=1000)
        result = run("send", "--url", "fake://?batch_size=1", "--to-file", str(numbers),
                     "--text", "hi", "--journal", str(tmp_path / "j.sqlite"), "--no-progress",
                     "--retries", "0", "--skip-invalid")  # fmt: skip
        assert result.exit_code == EXIT_PROVIDER_FAILURE, result.output
        breakdown = [line for line in result.stderr.splitlines() if "not accepted" in line]
        assert breakdown == ["not accepted: 50 insufficient_credit, 30 invalid_recipient"]
        assert len(warnings_and_errors(result.stderr)) <= 1, result.stderr
        assert "sms_batch_failed" not in result.stderr
        assert "80 recipients: 0 accepted, 80 rejected" in result.stdout

    def test_the_json_summary_has_the_reasons(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """With --json, the same breakdown is a field of the one object printed."""
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=1000)
        result = run("send", "--url", "fake://?batch_size=1", "--to", GOOD, "--to", OTHER,
                     "--text", "hi", "--journal", str(tmp_path / "j.sqlite"), "--json",
                     "--retries", "0")  # fmt: skip
        assert result.exit_code == EXIT_PROVIDER_FAILURE, result.output
        summary = json.loads(result.stdout)
        assert summary["reasons"] == {"insufficient_credit": 2}
        assert "sms_batch_failed" not in result.stderr


class TestVerboseAfterTheSubcommand:
    """``-v`` works before the subcommand, after it, and at the end of the line."""

    @pytest.mark.parametrize(
        "placed",
        [
            ["-v", "send", "--url", "fake://", "--to", GOOD, "--text", "hi"],
            ["send", "-v", "--url", "fake://", "--to", GOOD, "--text", "hi"],
            ["send", "--url", "fake://", "--to", GOOD, "--text", "hi", "-v"],
            ["send", "--url", "fake://", "--to", GOOD, "--text", "hi", "--verbose"],
        ],
        ids=["before", "right after", "at the end", "long form"],
    )
    def test_send(self, placed: list[str], sms_outbox: FakeOutbox) -> None:
        result = run(*placed)
        assert result.exit_code == EXIT_OK, result.output
        assert " info sms_send_started provider=fake" in result.stderr
        assert " info sms_send_finished provider=fake accepted=1" in result.stderr

    def test_campaign(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """The campaign commands too (``send --journal`` and ``campaign start``)."""
        numbers = tmp_path / "n.txt"
        numbers.write_text(f"{GOOD}\n{OTHER}\n", encoding="utf-8")
        for command in (["send"], ["campaign", "start"]):
            journal = tmp_path / f"{'-'.join(command)}.sqlite"
            result = run(*command, "-v", "--url", "fake://", "--to-file", str(numbers), "--text",
                         "hi", "--journal", str(journal), "--no-progress")  # fmt: skip
            assert result.exit_code == EXIT_OK, result.output
            assert " info sms_bulk_started provider=fake" in result.stderr

    def test_debug_after_the_subcommand(self, sms_outbox: FakeOutbox) -> None:
        """``-vv`` after the subcommand reaches DEBUG; without it only warnings show."""
        quiet = run("send", "--url", "fake://", "--to", GOOD, "--text", "hi")
        assert quiet.stderr == ""
        loud = run("send", "-vv", "--url", "fake://", "--to", GOOD, "--text", "hi")
        assert " info sms_send_started" in loud.stderr
        assert loud.exit_code == EXIT_OK

    def test_in_a_real_process(self, tmp_path: Path) -> None:
        """The installed script, ``smsbridge send -v``: the events on stderr, stdout the table."""
        if not Path(SMSBRIDGE).exists():
            pytest.skip("the smsbridge console script is not installed next to this interpreter")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
        done = subprocess.run(
            [SMSBRIDGE, "send", "-v", "--url", "fake://", "--to", GOOD, "--text", "hi", "--json"],
            capture_output=True,
            text=True,
            env={**environ, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"},
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == EXIT_OK, done.stderr
        assert json.loads(done.stdout)["results"][0]["status"] == "accepted"
        assert " info sms_send_started provider=fake" in done.stderr


BROKEN_PLUGIN = "import a_module_that_is_not_installed  # the plugin's own bug\n"


class TestBrokenPlugin:
    """A plugin that fails to load stops the CLI with the configuration status (item 23)."""

    @pytest.fixture
    def broken(self, tmp_path: Path) -> dict[str, str]:
        """An installed distribution whose ``smsbridge`` entry point fails to import."""
        site = tmp_path / "site"
        info = site / "smsbridge_broken-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: smsbridge-broken\nVersion: 0.1\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            "[smsbridge]\nbroken = smsbridge_broken\n", encoding="utf-8"
        )
        (site / "smsbridge_broken.py").write_text(BROKEN_PLUGIN, encoding="utf-8")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
        return {**environ, "PYTHONPATH": str(site)}

    def cli(self, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from smsbridge.cli import main; main()", *args],
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
            check=False,
        )

    @pytest.mark.parametrize(
        "args",
        [
            ["send", "--url", "fake://", "--to", GOOD, "--text", "hi"],
            ["providers"],
            ["balance", "--url", "fake://"],
        ],
    )
    def test_named_with_the_way_to_block_it(self, broken: dict[str, str], args: list[str]) -> None:
        """One line naming the plugin, its distribution, the error and the variable that skips
        it; the configuration exit status (not 1, "a bug")."""
        done = self.cli(broken, *args)
        assert done.returncode == EXIT_CONFIGURATION, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(
            "smsbridge: error: the smsbridge plugin 'broken' (from smsbridge-broken)"
        )
        assert "ModuleNotFoundError" in line
        assert "SMSBRIDGE_BLOCKED_PLUGINS=broken" in line
        assert "Traceback" not in done.stderr
        assert done.stdout == ""

    def test_blocking_it_lets_the_command_run(self, broken: dict[str, str]) -> None:
        done = self.cli({**broken, "SMSBRIDGE_BLOCKED_PLUGINS": "broken"}, "providers")
        assert done.returncode == EXIT_OK, done.stderr
        assert "fake" in done.stdout
