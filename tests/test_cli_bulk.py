"""The streamed CLI (``send --journal/--report/--bulk`` and ``smsbridge journal``) on fake://."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from smsbridge.cli import (
    EXIT_INVALID_INPUT,
    EXIT_JOURNAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER_FAILURE,
    cli,
)
from smsbridge.exceptions import ErrorCategory
from smsbridge.testing import MAGIC_NUMBERS, FakeOutbox

REJECTED = next(n for n, c in MAGIC_NUMBERS.items() if c is ErrorCategory.RECIPIENT_REJECTED)


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    """``count`` distinct valid Iranian mobile numbers in local form, clear of MAGIC_NUMBERS."""
    return [f"0912{i:07d}" for i in range(start, start + count)]


def e164(local: str) -> str:
    return "+98" + local[1:]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary directory, so journal and report paths stay short."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_numbers(lines: list[str], name: str = "numbers.txt") -> str:
    Path(name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return name


def smsbridge(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def send(*args: str, url: str = "fake://", text: str = "hello") -> Result:
    return smsbridge("send", "--url", url, "--text", text, *args)


class TestSummary:
    """A streamed send prints a summary instead of a row per recipient."""

    def test_journal_summary_text(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """One line: totals by outcome, SMS parts and elapsed time; exit 0 when all accepted."""
        result = send("--to-file", write_numbers(numbers(250)), "--journal", "j.sqlite")
        assert result.exit_code == EXIT_OK, result.output
        assert result.stdout.startswith(
            "250 recipients: 250 accepted, 0 rejected, 0 unknown; 250 SMS parts; "
        )
        assert result.stdout.rstrip().endswith(" s")
        assert len(result.stdout.splitlines()) == 1
        sms_outbox.assert_count(250)
        assert (workdir / "j.sqlite").is_file()

    def test_json_summary_shape(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """--json prints one object with the totals, and no progress on stderr."""
        result = send("--to", "09121111111", "--to", REJECTED, "--journal", "j.sqlite", "--json")
        summary = json.loads(result.stdout)
        assert set(summary) == {
            "total",
            "accepted",
            "rejected",
            "unknown",
            "segments",
            "elapsed_seconds",
            "resumed",
            "journal",
            "reasons",
            "by_provider",
        }
        assert {k: v for k, v in summary.items() if k != "elapsed_seconds"} == {
            "total": 2,
            "accepted": 1,
            "rejected": 1,
            "unknown": 0,
            "segments": 1,
            "resumed": False,
            "journal": "j.sqlite",
            "reasons": {"recipient_rejected": 1},
            "by_provider": {},
        }
        assert isinstance(summary["elapsed_seconds"], float)
        assert "progress:" not in result.stderr

    def test_bulk_without_journal_reports_no_journal(self, sms_outbox: FakeOutbox) -> None:
        """--bulk streams through a temporary journal, removed afterwards."""
        result = send("--to", "09121111111", "--bulk", "--json")
        assert result.exit_code == EXIT_OK
        assert json.loads(result.stdout)["journal"] is None
        sms_outbox.assert_count(1)


class TestExitCodes:
    """0 all accepted, 4 some, 5 none."""

    def test_partial(self, sms_outbox: FakeOutbox) -> None:
        """A magic number the fake always rejects makes the send partial: exit 4."""
        result = send("--to", "09121111111", "--to", REJECTED, "--bulk")
        assert result.exit_code == EXIT_PARTIAL
        assert "2 recipients: 1 accepted, 1 rejected" in result.stdout

    def test_none_accepted_over_several_batches(self, sms_outbox: FakeOutbox) -> None:
        """Every request fails: exit 5. fail_next fails one *request* per time, not one send."""
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=3)
        result = send(*[f"--to={n}" for n in numbers(5)], "--bulk", url="fake://?batch_size=2")
        assert result.exit_code == EXIT_PROVIDER_FAILURE, result.output
        assert "5 recipients: 0 accepted, 5 rejected" in result.stdout
        sms_outbox.assert_nothing_sent()

    def test_one_failed_batch_of_several_is_partial(self, sms_outbox: FakeOutbox) -> None:
        """fail_next() once fails only the first request; the other batches are accepted."""
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        result = send(*[f"--to={n}" for n in numbers(5)], "--bulk", url="fake://?batch_size=2")
        assert result.exit_code == EXIT_PARTIAL
        assert "5 recipients: 3 accepted, 2 rejected" in result.stdout
        sms_outbox.assert_count(3)


class TestReportFile:
    """--report writes one line per input recipient, as .jsonl or .csv."""

    def test_jsonl(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """Each line carries position, E.164 recipient, status, the provider's message id."""
        given = [*numbers(3), REJECTED]
        result = send(*[f"--to={n}" for n in given], "--report", "out.jsonl")
        assert result.exit_code == EXIT_PARTIAL
        rows = [json.loads(line) for line in Path("out.jsonl").read_text().splitlines()]
        assert sorted(row["position"] for row in rows) == [0, 1, 2, 3]
        by_position = {row["position"]: row for row in rows}
        ids = {sms.recipient: sms.message_id for sms in sms_outbox}
        for position, local in enumerate(given[:3]):
            row = by_position[position]
            assert row["recipient"] == e164(local)
            assert row["status"] == "accepted"
            assert row["message_id"] == ids[e164(local)]
            assert row["segments"] == 1
            assert row["error"] is None
        assert by_position[3]["status"] == "rejected"
        assert by_position[3]["error"]["category"] == "recipient_rejected"

    def test_csv(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """A .csv report has a header and the same fields, the error flattened."""
        result = send("--to", "09121111111", "--to", REJECTED, "--report", "out.csv")
        assert result.exit_code == EXIT_PARTIAL
        with Path("out.csv").open(encoding="utf-8", newline="") as handle:
            rows = {row["position"]: row for row in csv.DictReader(handle)}
        assert rows["0"]["recipient"] == "+989121111111"
        assert rows["0"]["status"] == "accepted"
        assert rows["0"]["message_id"] == sms_outbox.messages[0].message_id
        assert rows["1"]["status"] == "rejected"
        assert rows["1"]["category"] == "recipient_rejected"
        assert rows["1"]["message_id"] == ""


class TestInvalidNumbers:
    """A bad number in --to-file stops the send before anything goes out, unless skipped."""

    def test_invalid_line_is_named_and_nothing_is_sent(
        self, workdir: Path, sms_outbox: FakeOutbox
    ) -> None:
        """Exit 2, one line naming the file line; nothing sent, no report lines."""
        path = write_numbers(["09121111111", "# a comment", "0912abc", "09122222222"])
        result = send("--to-file", path, "--journal", "j.sqlite", "--report", "out.jsonl")
        assert result.exit_code == EXIT_INVALID_INPUT
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "numbers.txt line 3 '0912abc'" in result.stderr
        assert "--skip-invalid" in result.stderr
        sms_outbox.assert_nothing_sent()

    def test_skip_invalid_reports_them_rejected(
        self, workdir: Path, sms_outbox: FakeOutbox
    ) -> None:
        """--skip-invalid sends to the rest and reports the bad line invalid_recipient."""
        path = write_numbers(["09121111111", "0912abc", "09122222222"])
        result = send("--to-file", path, "--skip-invalid", "--report", "out.jsonl")
        assert result.exit_code == EXIT_PARTIAL
        assert "3 recipients: 2 accepted, 1 rejected" in result.stdout
        sms_outbox.assert_count(2)
        rows = {
            row["position"]: row
            for row in map(json.loads, Path("out.jsonl").read_text().splitlines())
        }
        assert rows[1]["recipient"] == "0912abc"
        assert rows[1]["status"] == "rejected"
        assert rows[1]["error"]["category"] == "invalid_recipient"


class TestResume:
    """The same command with the same journal sends nobody twice."""

    def test_finished_send_sends_nothing_again(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """A second run of a finished send is a resume that sends nothing."""
        args = ("--to-file", write_numbers(numbers(150)), "--journal", "j.sqlite")
        assert send(*args).exit_code == EXIT_OK
        again = send(*args)
        assert again.exit_code == EXIT_OK
        assert "150 accepted" in again.stdout
        assert "(resumed)" in again.stdout
        sms_outbox.assert_count(150)
        assert len(set(sms_outbox.recipients)) == 150

    def test_resume_sends_only_what_did_not_go_out(
        self, workdir: Path, sms_outbox: FakeOutbox
    ) -> None:
        """A request refused as provider_unavailable (nothing sent) is sent on resume; no more."""
        sms_outbox.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        args = ("--to-file", write_numbers(numbers(250)), "--journal", "j.sqlite")
        first = send(*args, "--retries", "0")
        assert first.exit_code == EXIT_PARTIAL
        sms_outbox.assert_count(150)
        again = send(*args)
        assert again.exit_code == EXIT_OK, again.output
        sms_outbox.assert_count(250)
        assert sorted(sms_outbox.recipients) == sorted(map(e164, numbers(250)))

    def test_journal_of_another_text_is_refused(
        self, workdir: Path, sms_outbox: FakeOutbox
    ) -> None:
        """Resuming with a different text is refused (the journal status) before anything is
        sent, naming what differs."""
        assert send("--to", "09121111111", "--journal", "j.sqlite").exit_code == EXIT_OK
        other = send("--to", "09121111111", "--journal", "j.sqlite", text="another")
        assert other.exit_code == EXIT_JOURNAL
        assert "another campaign: the text" in other.stderr
        sms_outbox.assert_count(1)


class TestUnknown:
    """Lost replies: listed by ``smsbridge journal --unknown``, re-sent only on request."""

    def test_unknown_listed_and_resent_only_with_resend_unknown(
        self, workdir: Path, sms_outbox: FakeOutbox
    ) -> None:
        """Unknown rows are not re-sent on resume; --resend-unknown sends them again."""
        sms_outbox.lose_next_reply()
        args = ("--to-file", write_numbers(numbers(3)), "--journal", "j.sqlite")
        first = send(*args, url="fake://?batch_size=2")
        assert first.exit_code == EXIT_PARTIAL
        assert "3 recipients: 1 accepted, 0 rejected, 2 unknown" in first.stdout
        assert "smsbridge journal j.sqlite --unknown" in first.stderr
        sms_outbox.assert_count(3)  # the lost reply's request did go out

        listed = smsbridge("journal", "j.sqlite", "--unknown")
        assert listed.exit_code == EXIT_OK
        lines = [line.split("\t") for line in listed.stdout.splitlines()]
        assert [(pos, number) for pos, number, _ in lines] == [
            ("0", "+989121000000"),
            ("1", "+989121000001"),
        ]
        as_json = smsbridge("journal", "j.sqlite", "--unknown", "--json")
        rows = [json.loads(line) for line in as_json.stdout.splitlines()]
        assert [row["status"] for row in rows] == ["unknown", "unknown"]
        assert {row["error"]["category"] for row in rows} == {"outcome_unknown"}

        resumed = send(*args, url="fake://?batch_size=2")
        assert resumed.exit_code == EXIT_PARTIAL
        sms_outbox.assert_count(3)

        resent = send(*args, "--resend-unknown", url="fake://?batch_size=2")
        assert resent.exit_code == EXIT_OK, resent.output
        assert "3 recipients: 3 accepted, 0 rejected, 0 unknown" in resent.stdout
        # Both unknown recipients now have the message twice: the caller's decision.
        assert len(sms_outbox.sent_to("09121000000")) == 2
        assert len(sms_outbox.sent_to("09121000001")) == 2
        assert len(sms_outbox.sent_to("09121000002")) == 1
        assert smsbridge("journal", "j.sqlite", "--unknown").stdout == ""


class TestJournalCommand:
    """``smsbridge journal FILE`` shows totals."""

    def test_totals(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """One line per total; --json prints them as an object."""
        send("--to", "09121111111", "--to", REJECTED, "--journal", "j.sqlite", text="x" * 200)
        shown = smsbridge("journal", "j.sqlite")
        assert shown.exit_code == EXIT_OK
        assert shown.stdout.splitlines() == [
            "total: 2",
            "accepted: 1",
            "rejected: 1",
            "unknown: 0",
            "pending: 0",
            "segments: 2",
        ]
        as_json = json.loads(smsbridge("journal", "j.sqlite", "--json").stdout)
        assert as_json == {
            "total": 2,
            "accepted": 1,
            "rejected": 1,
            "unknown": 0,
            "pending": 0,
            "segments": 2,
            "running": False,
        }

    def test_missing_journal_is_one_line_and_the_journal_status(self, workdir: Path) -> None:
        """A journal that does not exist: one error line on stderr, the journal exit status
        (not 1, 'a bug'), no file created."""
        result = smsbridge("journal", "missing.sqlite")
        assert result.stderr == "smsbridge: error: no journal at missing.sqlite\n"
        assert not Path("missing.sqlite").exists()
        assert result.exit_code == EXIT_JOURNAL

    @pytest.mark.parametrize("content", [b"", b"09121111111\n"], ids=["empty", "text"])
    def test_a_file_that_is_not_a_journal_is_refused_untouched(
        self, workdir: Path, content: bytes
    ) -> None:
        """Reading a journal never writes: another file is an input error, left unchanged."""
        Path("numbers.txt").write_bytes(content)
        result = smsbridge("journal", "numbers.txt")
        assert Path("numbers.txt").read_bytes() == content, (
            "BUG: 'smsbridge journal FILE' opens FILE read-write and writes the journal schema "
            "into it (journal.Journal.__init__ runs PRAGMA journal_mode=WAL and CREATE TABLE)"
        )
        assert result.exit_code == EXIT_JOURNAL, result.stderr
        assert result.stderr.startswith("smsbridge: error: ")
        assert result.stderr.count("\n") == 1


class TestThroughput:
    """--concurrency and --rate are accepted by a streamed send."""

    def test_concurrency_and_rate(self, sms_outbox: FakeOutbox) -> None:
        """Both options pass through; every recipient is sent once."""
        given = numbers(6)
        result = send(
            *[f"--to={n}" for n in given],
            "--bulk",
            "--concurrency",
            "3",
            "--rate",
            "1000",
            url="fake://?batch_size=2",
        )
        assert result.exit_code == EXIT_OK, result.output
        assert sorted(sms_outbox.recipients) == sorted(map(e164, given))

    @pytest.mark.parametrize("option", [("--concurrency", "0"), ("--rate", "0")])
    def test_non_positive_values_are_usage_errors(
        self, option: tuple[str, str], sms_outbox: FakeOutbox
    ) -> None:
        """Zero is refused before anything is sent."""
        result = send("--to", "09121111111", "--bulk", *option)
        assert result.exit_code == EXIT_INVALID_INPUT
        sms_outbox.assert_nothing_sent()


class TestProgress:
    """Plain progress lines on stderr when it is not a terminal."""

    def test_plain_lines_when_not_a_tty(self, sms_outbox: FakeOutbox) -> None:
        """At least the final 'progress: N/M' line; stdout keeps only the summary."""
        result = send(*[f"--to={n}" for n in numbers(5)], "--bulk", url="fake://?batch_size=2")
        progress = [line for line in result.stderr.splitlines() if line.startswith("progress:")]
        assert progress
        assert progress[-1] == "progress: 5/5 (accepted 5, rejected 0, unknown 0)"
        assert "progress" not in result.stdout

    def test_no_progress(self, sms_outbox: FakeOutbox) -> None:
        """--no-progress prints none."""
        result = send("--to", "09121111111", "--bulk", "--no-progress")
        assert result.exit_code == EXIT_OK
        assert "progress" not in result.stderr

    def test_counts_include_rows_final_before_dispatch(
        self, workdir: Path, sms_outbox: FakeOutbox
    ) -> None:
        """The progress counts add up to the done count, invalid rows included."""
        path = write_numbers(["09121111111", "0912abc", "09122222222"])
        result = send("--to-file", path, "--bulk", "--skip-invalid")
        progress = [line for line in result.stderr.splitlines() if line.startswith("progress:")]
        assert progress[-1] == "progress: 3/3 (accepted 2, rejected 1, unknown 0)", (
            "BUG: _bulk._Dispatcher starts its accepted/rejected/unknown counts at 0 while "
            "'done' starts at the rows already final (invalid rows, earlier runs)"
        )


class TestFailoverCampaign:
    """Repeated --url: a campaign over several providers says who took what."""

    def test_summary_counts_by_provider(self, workdir: Path, sms_outbox: FakeOutbox) -> None:
        """The first provider's first request finds no credit: that batch moves to the second,
        whose name the summary and the JSON count it under."""
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        args = ("--to-file", write_numbers(numbers(250)), "--concurrency", "1")
        result = smsbridge(
            "send", "--url", "fake://?batch_size=100", "--url", "fake://", "--text", "hi",
            *args, "--bulk",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        # The first batch moved; the first provider's breaker then skipped it for the rest.
        assert "accepted by: 250 fake#2" in result.stdout
        again = smsbridge(
            "send", "--url", "fake://?batch_size=100", "--url", "fake://", "--text", "hi",
            *args, "--json", "--journal", "j.sqlite",
        )  # fmt: skip
        assert json.loads(again.stdout)["by_provider"] == {"fake": 250}

    def test_one_shot_table_has_a_provider_column(self, sms_outbox: FakeOutbox) -> None:
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        result = smsbridge(
            "send", "--url", "fake://", "--url", "fake://", "--text", "hi",
            "--to", "09121234567",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        header, row = result.stdout.splitlines()[:2]
        assert "PROVIDER" in header.split()
        assert row.split()[5] == "fake#2"
