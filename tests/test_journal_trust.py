"""The journal never guesses: what a campaign refuses, and what it records, when things go wrong.

Each test is one of the ways a real campaign was seen to go wrong: a damaged or foreign file
taken for a new campaign, a report overwriting the journal, a resume with other recipients or
another sender, a second run through a hard link, a vetoed row reported "may have been sent",
a report that loses rows on resume, a formula in a CSV cell.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from smsbridge import (
    BaseProvider,
    Batch,
    Capabilities,
    Client,
    ConfigurationError,
    ErrorCategory,
    JournalError,
    Message,
    RecipientResult,
    SendStatus,
    hookimpl,
)
from smsbridge.cli import EXIT_CONFIGURATION, EXIT_JOURNAL, cli
from smsbridge.config import ProviderURL
from smsbridge.journal import RowState, open_journal
from smsbridge.sources import NumberFile
from smsbridge.testing import FakeOutbox, FakeProvider
from smsbridge.testing._fake import FakeTransport
from smsbridge.transport import MockTransport, Request, Response


def numbers(count: int, start: int = 3_000_000) -> list[str]:
    return [f"0912{start + i:07d}" for i in range(count)]


class Interrupt(BaseException):
    """Stands for a crash or Ctrl-C in the middle of a request."""


@pytest.fixture
def outbox() -> FakeOutbox:
    return FakeOutbox()


def fake(outbox: FakeOutbox, batch: int = 10) -> Client:
    return Client(provider=FakeProvider(outbox=outbox, batch_size=batch), concurrency=1)


def finished_journal(tmp_path: Path, outbox: FakeOutbox, count: int = 30) -> Path:
    path = tmp_path / "done.sqlite"
    fake(outbox).send_bulk("hello", numbers(count), journal=path)
    outbox.clear()
    return path


class TestForeignOrDamagedFiles:
    """A file that is not an intact journal is refused with one clear error, never altered."""

    @staticmethod
    def refused(path: Path, outbox: FakeOutbox) -> JournalError:
        before = path.read_bytes()
        with pytest.raises(JournalError) as caught:
            fake(outbox).send_bulk("hello", numbers(20), journal=path)
        assert path.read_bytes() == before, "the file was changed"
        outbox.assert_nothing_sent()
        return caught.value

    def test_zero_byte_file(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """An empty file is not taken for a new campaign (it used to re-send everything)."""
        path = tmp_path / "j.sqlite"
        path.write_bytes(b"")
        assert "empty (0 bytes)" in self.refused(path, outbox).message

    def test_garbage(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """Bytes that are not SQLite."""
        path = tmp_path / "j.sqlite"
        path.write_bytes(b"this is not a database\n" * 100)
        assert "not a SQLite file" in self.refused(path, outbox).message

    def test_truncated_journal(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """A journal cut short (a copy that stopped midway)."""
        whole = finished_journal(tmp_path, outbox).read_bytes()
        path = tmp_path / "cut.sqlite"
        path.write_bytes(whole[:60])
        self.refused(path, outbox)

    def test_damaged_page(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """A page overwritten with noise is found before anything is sent."""
        path = finished_journal(tmp_path, outbox, count=2000)
        with sqlite3.connect(path) as db:  # fold the WAL in, so the pages are in the file
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = bytearray(path.read_bytes())
        page = 4096
        assert len(data) > 6 * page
        data[3 * page : 4 * page] = os.urandom(page)
        path.write_bytes(bytes(data))
        assert "damaged" in self.refused(path, outbox).message

    def test_another_applications_database(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """A SQLite file of some other program is named as such."""
        path = tmp_path / "app.sqlite"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
            db.execute("INSERT INTO users (name) VALUES ('ali')")
        db.close()
        assert "another application" in self.refused(path, outbox).message

    def test_the_cli_says_so_in_one_line_with_its_own_status(self, tmp_path: Path) -> None:
        """``smsbridge send --journal`` on an empty file: exit 6, one line, file untouched."""
        path = tmp_path / "j.sqlite"
        path.write_bytes(b"")
        result = CliRunner().invoke(
            cli,
            [
                "send",
                "--url",
                "fake://",
                "--to",
                "09121111111",
                "--text",
                "x",
                "--journal",
                str(path),
            ],
        )
        assert result.exit_code == EXIT_JOURNAL
        assert result.stderr.count("\n") == 1
        assert path.read_bytes() == b""


class TestReportPaths:
    """--report never overwrites the journal or a file that is not this campaign's report."""

    def test_report_and_journal_the_same_file(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """Refused before anything is created."""
        path = tmp_path / "same.sqlite"
        with pytest.raises(ConfigurationError, match="same file"):
            fake(outbox).send_bulk("x", numbers(3), journal=path, report=path)
        assert not path.exists()
        outbox.assert_nothing_sent()

    def test_an_existing_file_is_not_overwritten(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """An existing file the campaign did not write is refused; no journal is created."""
        precious = tmp_path / "accounts.csv"
        precious.write_text("name,balance\nali,100\n", encoding="utf-8")
        journal = tmp_path / "j.sqlite"
        with pytest.raises(ConfigurationError, match="not a report of this campaign"):
            fake(outbox).send_bulk("x", numbers(3), journal=journal, report=precious)
        assert precious.read_text(encoding="utf-8") == "name,balance\nali,100\n"
        assert not journal.exists()
        outbox.assert_nothing_sent()

    def test_its_own_report_is_rewritten_on_resume(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """The report a campaign wrote is its own: running again rewrites it in full."""
        journal, report = tmp_path / "j.sqlite", tmp_path / "out.csv"
        fake(outbox).send_bulk("x", numbers(25), journal=journal, report=report)
        fake(outbox).send_bulk("x", numbers(25), journal=journal, report=report)
        with report.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(int(row["position"]) for row in rows) == list(range(25))


class LineProvider(BaseProvider):
    """A provider whose account and default sender come from its URL (``line://USER@/?from=``)."""

    scheme = "line"
    capabilities = Capabilities(max_batch_size=10)

    def __init__(self, user: str, sender: str | None) -> None:
        self.user, self.sender = user, sender
        self.sent: list[str] = []
        self._mock = MockTransport(lambda request: Response(status_code=200, content=b"ok"))

    @classmethod
    def from_url(cls, url: ProviderURL) -> LineProvider:
        return cls(url.username or "", url.params.get("from"))

    def account(self) -> str:
        return self.user

    def sender_for(self, message: Message | object) -> str | None:
        return getattr(message, "sender", None) or self.sender

    def transport(self) -> tuple[MockTransport, MockTransport]:
        return self._mock, self._mock

    def request_for(self, batch: Batch) -> Request:
        return Request(method="POST", url="mock://line", content=b"x")

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        self.sent.extend(batch.recipients)
        return [
            RecipientResult(
                recipient=n, status=SendStatus.ACCEPTED, message_id=f"{n}-{len(self.sent)}"
            )
            for n in batch.recipients
        ]


class LinePlugin:
    @hookimpl
    def smsbridge_register_providers(self) -> list[type[BaseProvider]]:
        return [LineProvider]


def line_client(url: str) -> Client:
    return Client(url, plugins=[LinePlugin()], autoload_plugins=False)


# Builds its providers from URLs on purpose: sms_outbox must not stand in for them.
@pytest.mark.sms_real_providers
class TestCampaignIdentity:
    """A resume matches the whole campaign, or sends nothing and says what differs."""

    def test_the_sender_from_the_url_counts(self, tmp_path: Path) -> None:
        """``?from=`` changed between runs: refused, naming the sender."""
        journal = tmp_path / "j.sqlite"
        line_client("line://ali@/?from=1000").send_bulk("x", numbers(5), journal=journal)
        other = line_client("line://ali@/?from=2000")
        with pytest.raises(JournalError, match=r"the sender \('1000' in the journal, '2000' now\)"):
            other.send_bulk("x", numbers(5), journal=journal)
        assert other.provider.sent == []  # type: ignore[attr-defined]

    def test_the_account_counts(self, tmp_path: Path) -> None:
        """Another account of the same provider is another campaign."""
        journal = tmp_path / "j.sqlite"
        line_client("line://ali@/?from=1000").send_bulk("x", numbers(5), journal=journal)
        with pytest.raises(JournalError, match="the account"):
            line_client("line://sara@/?from=1000").send_bulk("x", numbers(5), journal=journal)

    def test_flash_counts(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """Flash on, then off: refused."""
        journal = tmp_path / "j.sqlite"
        fake(outbox).send_bulk("x", numbers(5), journal=journal, flash=True)
        with pytest.raises(JournalError, match="flash"):
            fake(outbox).send_bulk("x", numbers(5), journal=journal)

    def test_a_file_with_other_numbers_under_the_same_name(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """The recipients are fingerprinted as read, not by file name."""
        source = tmp_path / "numbers.txt"
        source.write_text("\n".join(numbers(30)) + "\n", encoding="utf-8")
        journal = tmp_path / "j.sqlite"
        fake(outbox).send_bulk("x", NumberFile(source), journal=journal)
        sent = len(outbox)
        source.write_text("\n".join(numbers(30, start=4_000_000)) + "\n", encoding="utf-8")
        with pytest.raises(JournalError, match="recipients file"):
            fake(outbox).send_bulk("x", NumberFile(source), journal=journal)
        assert len(outbox) == sent

    def test_a_stream_with_other_numbers(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """The same holds for recipients given as any iterable."""
        journal = tmp_path / "j.sqlite"
        fake(outbox).send_bulk("x", numbers(30), journal=journal)
        with pytest.raises(JournalError, match="recipients differ"):
            fake(outbox).send_bulk("x", numbers(30, start=5_000_000), journal=journal)

    def test_an_interrupted_file_campaign_resumes_from_its_offset(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """Killed midway, then resumed from the same file: everyone exactly once or unknown."""
        source = tmp_path / "numbers.txt"
        source.write_text("\n".join(numbers(120)) + "\n", encoding="utf-8")
        journal = tmp_path / "j.sqlite"
        with pytest.raises(Interrupt):
            crashing(outbox, crash_on=3).send_bulk("x", NumberFile(source), journal=journal)
        summary = fake(outbox).send_bulk("x", NumberFile(source), journal=journal)
        counts: dict[str, int] = {}
        for recipient in outbox.recipients:
            counts[recipient] = counts.get(recipient, 0) + 1
        assert set(counts.values()) == {1}
        assert summary.totals.total == 120
        assert summary.totals.accepted + summary.totals.unknown == 120


class Links:
    """A running send holding a journal, in another process."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; from smsbridge.journal._sqlite import SqliteJournal; "
                "j = SqliteJournal(sys.argv[1]); print('open', flush=True); time.sleep(60)",
                str(path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "open"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


class TestOneRunPerFile:
    """The lock is on the file itself, whatever name reaches it."""

    @pytest.mark.parametrize("kind", ["hard link", "symlink"])
    def test_another_name_for_a_journal_in_use_is_refused(
        self, tmp_path: Path, outbox: FakeOutbox, kind: str
    ) -> None:
        """A hard link (which once sent 3,000 numbers twice) or a symlink: refused while the
        journal is in use, and nothing is sent."""
        journal = finished_journal(tmp_path, outbox)
        other = tmp_path / "other-name.sqlite"
        if kind == "hard link":
            os.link(journal, other)
        else:
            other.symlink_to(journal)
        holder = Links(journal)
        try:
            with pytest.raises(JournalError, match="in use"):
                fake(outbox).send_bulk("hello", numbers(30), journal=other)
        finally:
            holder.stop()
        outbox.assert_nothing_sent()


class Veto:
    """Rejects one recipient of every request (an opt-out list)."""

    def __init__(self, number: str) -> None:
        self.number = number

    @hookimpl
    def smsbridge_before_send(self, send: object) -> None:
        send.reject(self.number, "opted out")  # type: ignore[attr-defined]


class Swap:
    """Replaces the message with one far too long for max_segments (a hook's mistake)."""

    @hookimpl
    def smsbridge_before_send(self, send: object) -> None:
        send.message = Message(text="x" * 2000)  # type: ignore[attr-defined]


def crashing(outbox: FakeOutbox, crash_on: int, plugins: Sequence[object] = ()) -> Client:
    class Crashing(FakeProvider):
        def transport(self) -> tuple[MockTransport, MockTransport]:
            service = FakeTransport(self)

            def handle(request: Request) -> Response:
                response = service.handler(request)
                if self.requests == crash_on:
                    raise Interrupt
                return response

            mock = MockTransport(handle)
            return mock, mock

    return Client(provider=Crashing(outbox=outbox, batch_size=10), concurrency=1, plugins=plugins)


class TestInFlightMeansWritten:
    """A row is in flight only once its request is being written."""

    def test_a_vetoed_recipient_of_an_interrupted_request_is_rejected(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """The crash makes the request's rows unknown, but never the one a hook stopped."""
        journal = tmp_path / "j.sqlite"
        given = numbers(10)
        vetoed = "+98" + given[3][1:]
        with pytest.raises(Interrupt):
            crashing(outbox, 1, [Veto(vetoed)]).send_bulk("x", given, journal=journal)
        with open_journal(journal) as view:
            rows = {row.recipient: row for row in view.rows()}
        assert rows[vetoed].state is RowState.REJECTED
        assert rows[vetoed].category is ErrorCategory.VETOED
        assert {row.state for n, row in rows.items() if n != vetoed} == {RowState.UNKNOWN}

    def test_a_message_a_hook_broke_is_rejected_not_unknown(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """The replaced message fails its check: nothing is sent, every row is rejected."""
        journal = tmp_path / "j.sqlite"
        client = Client(provider=FakeProvider(outbox=outbox), plugins=[Swap()])
        summary = client.send_bulk("x", numbers(15), journal=journal)
        assert (summary.totals.rejected, summary.totals.unknown) == (15, 0)
        outbox.assert_nothing_sent()
        assert summary.reasons == {"invalid_message": 15}


class TestInterruption:
    """After an interruption the journal is true at once."""

    def test_in_flight_rows_are_unknown_right_away(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """No resume needed: the journal already lists the interrupted request as unknown."""
        journal = tmp_path / "j.sqlite"
        with pytest.raises(Interrupt):
            crashing(outbox, 3).send_bulk("x", numbers(60), journal=journal)
        with open_journal(journal) as view:
            totals = view.totals()
            unknown = [row.position for row in view.unknown()]
        assert (totals.accepted, totals.unknown, totals.pending) == (20, 10, 30)
        assert unknown == list(range(20, 30))


class TestReports:
    """A report holds every recipient of the campaign, however many runs it took."""

    def test_a_resumed_campaigns_report_is_complete(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """Interrupted, then resumed with the same --report: every position once."""
        journal, report = tmp_path / "j.sqlite", tmp_path / "out.csv"
        with pytest.raises(Interrupt):
            crashing(outbox, 3).send_bulk("x", numbers(60), journal=journal, report=report)
        fake(outbox).send_bulk("x", numbers(60), journal=journal, report=report)
        with report.open(encoding="utf-8") as handle:
            positions = sorted(int(row["position"]) for row in csv.DictReader(handle))
        assert positions == list(range(60))

    def test_export_rebuilds_the_report_at_any_time(
        self, tmp_path: Path, outbox: FakeOutbox
    ) -> None:
        """``journal --export`` writes every row, also mid-campaign."""
        journal = tmp_path / "j.sqlite"
        with pytest.raises(Interrupt):
            crashing(outbox, 2).send_bulk("x", [*numbers(30), "bad"], journal=journal)
        out = tmp_path / "export.jsonl"
        result = CliRunner().invoke(cli, ["journal", str(journal), "--export", str(out)])
        assert result.exit_code == 0, result.output
        lines = out.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 31
        assert '"status": "pending"' in out.read_text(encoding="utf-8")


class TestCsvInjection:
    """No CSV cell starts a formula, whatever its source."""

    def test_recipient_and_provider_text(self, tmp_path: Path, outbox: FakeOutbox) -> None:
        """A formula typed as a recipient and one in a provider's error are both defused; a
        plain number starting with + is left alone."""
        outbox.fail_next(ErrorCategory.CONTENT_REJECTED, message='=HYPERLINK("http://x","y")')
        report = tmp_path / "out.csv"
        fake(outbox, batch=1).send_bulk(
            "x", ["09121111111", "=1+2", "@SUM(A1)", "09122222222"], report=report
        )
        with report.open(encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not any(cell.startswith(("=", "@", "-")) for cell in cells)
        assert "'=1+2" in cells
        assert "'@SUM(A1)" in cells
        assert "+989122222222" in cells
        assert any(cell.startswith("'=HYPERLINK") for cell in cells)


@pytest.fixture
def unwritable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot create files in (a chmod'ed one, or /sys as root)."""
    if os.geteuid() == 0:
        folder = Path("/sys/kernel")
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
    try:
        probe = folder / "probe"
        with pytest.raises(OSError):  # noqa: PT011 - any refusal will do
            probe.write_bytes(b"")
        yield folder
    finally:
        if folder.is_relative_to(tmp_path):
            folder.chmod(0o755)


class TestFolders:
    """A missing or unwritable folder is one configuration error line, not 'unexpected'."""

    @pytest.mark.parametrize("option", ["--journal", "--report"])
    def test_missing_folder(self, tmp_path: Path, option: str) -> None:
        target = (
            tmp_path / "no" / "such" / "folder" / ("j.sqlite" if option == "--journal" else "r.csv")
        )
        result = CliRunner().invoke(
            cli,
            ["send", "--url", "fake://", "--to", "09121111111", "--text", "x", option, str(target)],
        )
        assert result.exit_code == EXIT_CONFIGURATION, result.output
        assert "does not exist" in result.stderr
        assert result.stderr.count("\n") == 1

    @pytest.mark.parametrize("option", ["--journal", "--report"])
    def test_unwritable_folder(self, unwritable_folder: Path, tmp_path: Path, option: str) -> None:
        target = unwritable_folder / ("j.sqlite" if option == "--journal" else "r.csv")
        args = [
            "send",
            "--url",
            "fake://",
            "--to",
            "09121111111",
            "--text",
            "x",
            option,
            str(target),
        ]
        if option == "--report":
            args += ["--journal", str(tmp_path / "j.sqlite")]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == EXIT_CONFIGURATION, result.output
        assert "permission denied" in result.stderr.lower()
        assert result.stderr.count("\n") == 1
