"""The ``smsbridge`` command line, through click's runner and through the installed script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from smsbridge import cli as cli_module
from smsbridge.cli import (
    EXIT_CONFIGURATION,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_JOURNAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER_FAILURE,
    EXIT_UNEXPECTED,
    cli,
)
from smsbridge.exceptions import ErrorCategory
from smsbridge.testing import MAGIC_NUMBERS, FakeOutbox

GOOD = "09123456789"
GOOD_E164 = "+989123456789"
OTHER = "09351234567"
OTHER_E164 = "+989351234567"
REJECTED = next(n for n, c in MAGIC_NUMBERS.items() if c is ErrorCategory.RECIPIENT_REJECTED)
UNKNOWN = next(n for n, c in MAGIC_NUMBERS.items() if c is ErrorCategory.OUTCOME_UNKNOWN)
SECRET = "s3cr3t-pw"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

# Plugins other engineers install must not change what these tests see.
ENV: dict[str, str | None] = {"SMSBRIDGE_URL": None, "SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run(*args: str, input: str | bytes | None = None, **env: str | None) -> Result:
    return CliRunner(env={**ENV, **env}).invoke(cli, list(args), input=input)


def send(*args: str, input: str | bytes | None = None, **env: str | None) -> Result:
    return run("send", "--url", "fake://", *args, input=input, **env)


def assert_user_error(result: Result, code: int, fragment: str = "") -> str:
    """One stderr line, ``smsbridge: error: ...``, the given status, and no stdout."""
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("smsbridge: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


def report_of(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


class TestSendJson:
    """--json prints exactly one JSON object: the report's to_dict()."""

    def test_all_accepted(self, sms_outbox: FakeOutbox) -> None:
        """Every recipient accepted: exit 0, results in input order, ids from the outbox."""
        result = send("--to", GOOD, "--to", OTHER, "--text", "hello", "--json")
        assert result.exit_code == EXIT_OK
        assert result.stderr == ""
        data = report_of(result)
        assert set(data) == {"results", "accepted", "rejected", "unknown"}
        assert (data["accepted"], data["rejected"], data["unknown"]) == (2, 0, 0)
        ids = [sms.message_id for sms in sms_outbox.messages]
        assert data["results"] == [
            {
                "recipient": GOOD_E164,
                "status": "accepted",
                "message_id": ids[0],
                "segments": 1,
                "error": None,
                "provider": "fake",
                "attempts": 1,
            },
            {
                "recipient": OTHER_E164,
                "status": "accepted",
                "message_id": ids[1],
                "segments": 1,
                "error": None,
                "provider": "fake",
                "attempts": 1,
            },
        ]
        sms_outbox.assert_sent_to(GOOD, text_contains="hello")

    def test_partial_success(self, sms_outbox: FakeOutbox) -> None:
        """Some accepted, some rejected or unknown: exit 4, each error in taxonomy terms."""
        result = send("--to", GOOD, "--to", REJECTED, "--to", UNKNOWN, "--text", "hi", "--json")
        assert result.exit_code == EXIT_PARTIAL
        data = report_of(result)
        assert (data["accepted"], data["rejected"], data["unknown"]) == (1, 1, 1)
        statuses = [r["status"] for r in data["results"]]
        assert statuses == ["accepted", "rejected", "unknown"]
        rejected = data["results"][1]
        assert rejected["message_id"] is None
        assert rejected["error"]["category"] == "recipient_rejected"
        assert {"category", "provider_code", "message"} <= set(rejected["error"])
        assert data["results"][2]["error"]["category"] == "outcome_unknown"

    def test_provider_failure(self, sms_outbox: FakeOutbox) -> None:
        """No recipient accepted: exit 5, and the category of the failure in every result."""
        sms_outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, provider_code=17)
        result = send("--to", GOOD, "--to", OTHER, "--text", "hi", "--json")
        assert result.exit_code == EXIT_PROVIDER_FAILURE
        data = report_of(result)
        assert (data["accepted"], data["rejected"]) == (0, 2)
        for item in data["results"]:
            assert item["error"]["category"] == "insufficient_credit"
            assert item["error"]["provider_code"] == 17
        sms_outbox.assert_nothing_sent()

    def test_options_reach_the_provider(self, sms_outbox: FakeOutbox) -> None:
        """--from and --flash are passed on; a DE number is read with --region DE."""
        result = send(
            "--to",
            "0151 23456789",
            "--text",
            "x",
            "--from",
            "3000",
            "--flash",
            "--region",
            "de",
            "--json",
        )
        assert result.exit_code == EXIT_OK, result.stderr
        sms = sms_outbox.messages[0]
        assert (sms.recipient, sms.sender, sms.flash) == ("+4915123456789", "3000", True)

    def test_landline_refused(self, sms_outbox: FakeOutbox) -> None:
        """A landline is not a recipient for a provider that reaches mobiles only."""
        assert_user_error(
            send("--to", "02188776655", "--text", "hi"), EXIT_INVALID_INPUT, "a landline"
        )
        sms_outbox.assert_nothing_sent()

    def test_persian_text_and_digits(self, sms_outbox: FakeOutbox) -> None:
        """Persian text goes out as-is in UCS-2 segments; Persian digits are normalised."""
        text = "سلام، کد شما ۱۲۳۴ است. " * 4
        result = send("--to", "۰۹۱۲۳۴۵۶۷۸۹", "--text", text, "--json")
        assert result.exit_code == EXIT_OK, result.stderr
        data = report_of(result)
        assert data["results"][0]["recipient"] == GOOD_E164
        assert data["results"][0]["segments"] == 2
        assert sms_outbox.messages[0].text == text

    def test_non_ascii_is_not_escaped(self, sms_outbox: FakeOutbox) -> None:
        """ensure_ascii=False: an error text in Persian is printed as Persian."""
        sms_outbox.fail_next(ErrorCategory.CONTENT_REJECTED, message="متن رد شد")
        result = send("--to", GOOD, "--text", "hi", "--json")
        assert "متن رد شد" in result.stdout
        assert report_of(result)["results"][0]["error"]["message"] == "متن رد شد"

    def test_url_from_environment(self, sms_outbox: FakeOutbox) -> None:
        """Without --url, SMSBRIDGE_URL names the provider."""
        result = run("send", "--to", GOOD, "--text", "hi", SMSBRIDGE_URL="fake://")
        assert result.exit_code == EXIT_OK, result.stderr
        sms_outbox.assert_count(1)


class TestSendTable:
    """Without --json, a table of recipients and a summary line."""

    def test_table_and_summary(self, sms_outbox: FakeOutbox) -> None:
        """One row per recipient with its status and error, then the counts."""
        result = send("--to", GOOD, "--to", REJECTED, "--text", "hi")
        assert result.exit_code == EXIT_PARTIAL
        lines = result.stdout.splitlines()
        assert lines[0].split()[:3] == ["#", "RECIPIENT", "STATUS"]
        assert GOOD_E164 in lines[1]
        assert "accepted" in lines[1]
        assert "recipient_rejected" in lines[2]
        assert lines[-1] == "2 recipients: 1 accepted, 1 rejected, 0 unknown"


class TestTextFromStdin:
    """The text is read from stdin when --text is absent or '-'."""

    def test_absent(self, sms_outbox: FakeOutbox) -> None:
        """A piped text is sent without its final newline."""
        result = send("--to", GOOD, input="from stdin\n")
        assert result.exit_code == EXIT_OK, result.stderr
        assert sms_outbox.messages[0].text == "from stdin"

    def test_dash(self, sms_outbox: FakeOutbox) -> None:
        """--text - reads stdin, multi-line Persian included."""
        result = send("--to", GOOD, "--text", "-", input="درود\nخط دوم\n".encode())
        assert result.exit_code == EXIT_OK, result.stderr
        assert sms_outbox.messages[0].text == "درود\nخط دوم"

    def test_not_utf8(self, sms_outbox: FakeOutbox) -> None:
        """Undecodable bytes on stdin are an input error."""
        assert_user_error(send("--to", GOOD, input=b"\xff\xfe\xfa"), EXIT_INVALID_INPUT, "UTF-8")
        sms_outbox.assert_nothing_sent()


class TestToFile:
    """--to-file: one number a line, blank lines and # comments skipped."""

    def test_numbers_comments_and_bom(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """--to comes first, then the file's numbers in order."""
        path = tmp_path / "numbers.txt"
        path.write_bytes(f"\ufeff# staff\n\n{OTHER}  # Ali\n   \n{REJECTED}\n".encode())
        result = send("--to", GOOD, "--to-file", str(path), "--text", "hi", "--json")
        recipients = [r["recipient"] for r in report_of(result)["results"]]
        assert recipients == [GOOD_E164, OTHER_E164, REJECTED]

    def test_bad_number_names_its_line(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """An invalid number is reported with its file line, and nothing is sent."""
        path = tmp_path / "numbers.txt"
        path.write_text(f"{GOOD}\n# x\n0912abc4567\n", encoding="utf-8")
        line = assert_user_error(
            send("--to-file", str(path), "--text", "hi"), EXIT_INVALID_INPUT, "line 3"
        )
        assert "contains letters" in line
        sms_outbox.assert_nothing_sent()


def _write(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "numbers.txt"
    path.write_bytes(content)
    return str(path)


class TestBadInput:
    """Bad input: one stderr line, exit 2, nothing sent."""

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            pytest.param(["--text", "hi"], "no recipients", id="no-recipients"),
            pytest.param(["--to", "0912abc4567", "--text", "hi"], "letters", id="letters"),
            pytest.param(["--to", GOOD, "--to", "12", "--text", "hi"], "--to #2", id="one-bad"),
            pytest.param(["--to", "0912345678901234", "--text", "hi"], "#1", id="too-long"),
            pytest.param(["--to", GOOD, "--text", ""], "empty", id="empty-text"),
            pytest.param(["--to", GOOD, "--text", " \n\t "], "empty", id="blank-text"),
            pytest.param(
                ["--to", GOOD, "--text", "x" * 400, "--max-segments", "2"],
                "at most 2",
                id="too-long-text",
            ),
            pytest.param(
                ["--to", GOOD, "--text", "hi", "--max-segments", "0"],
                "--max-segments",
                id="bad-max-segments",
            ),
            pytest.param(["--to", GOOD, "--text", "hi", "--region", "XX"], "XX", id="region"),
            pytest.param(["--to", GOOD, "--text", "hi", "--bogus"], "--bogus", id="usage"),
        ],
    )
    def test_bad_input(self, args: list[str], fragment: str, sms_outbox: FakeOutbox) -> None:
        """Each problem is named in one line."""
        assert_user_error(send(*args), EXIT_INVALID_INPUT, fragment)
        sms_outbox.assert_nothing_sent()

    def test_no_text_on_empty_stdin(self, sms_outbox: FakeOutbox) -> None:
        """No --text and nothing piped in is empty text."""
        assert_user_error(send("--to", GOOD, input=""), EXIT_INVALID_INPUT, "empty")
        sms_outbox.assert_nothing_sent()

    @pytest.mark.parametrize(
        ("content", "fragment"),
        [
            pytest.param(b"", "no phone numbers", id="empty"),
            pytest.param(b"# only a comment\n\n   \n", "no phone numbers", id="comments-only"),
            pytest.param(b"\x7fELF\x02\x01\x00\x00\x00", "binary", id="binary"),
            pytest.param(
                f"{GOOD}\n".encode() + b"\xff\xfe0912\n", "line 2 is not UTF-8", id="undecodable"
            ),
        ],
    )
    def test_malformed_to_file(
        self, content: bytes, fragment: str, tmp_path: Path, sms_outbox: FakeOutbox
    ) -> None:
        """A file that is empty of numbers, binary or not UTF-8 is refused."""
        result = send("--to", GOOD, "--to-file", _write(tmp_path, content), "--text", "hi")
        assert_user_error(result, EXIT_INVALID_INPUT, fragment)
        sms_outbox.assert_nothing_sent()

    @pytest.mark.parametrize("name", ["missing.txt", "."])
    def test_unreadable_to_file(self, name: str, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """A missing file or a directory is refused."""
        result = send("--to-file", str(tmp_path / name), "--text", "hi")
        assert_user_error(result, EXIT_INVALID_INPUT, "cannot read it")
        sms_outbox.assert_nothing_sent()


class TestConfiguration:
    """Configuration problems exit 3 and never echo the URL's password."""

    def test_no_url(self, sms_outbox: FakeOutbox) -> None:
        """Neither --url nor SMSBRIDGE_URL."""
        result = run("send", "--to", GOOD, "--text", "hi")
        assert_user_error(result, EXIT_CONFIGURATION, "SMSBRIDGE_URL")
        sms_outbox.assert_nothing_sent()

    @pytest.mark.parametrize(
        ("url", "fragment"),
        [
            pytest.param(f"nope://user:{SECRET}@/", "'nope'", id="unknown-scheme"),
            pytest.param(f"fake://user:{SECRET}@/?colour=red", "colour", id="unknown-param"),
            pytest.param(f"user:{SECRET}@example", "SCHEME://", id="not-a-url"),
            pytest.param(f"fake://user:{SECRET}@host:99999/", "malformed", id="bad-port"),
        ],
    )
    def test_bad_url(self, url: str, fragment: str, sms_outbox: FakeOutbox) -> None:
        """A bad URL is named without its password."""
        result = run("-vv", "send", "--url", url, "--to", GOOD, "--text", "hi")
        line = assert_user_error(result, EXIT_CONFIGURATION, fragment)
        assert SECRET not in result.output
        assert SECRET not in line
        sms_outbox.assert_nothing_sent()

    def test_password_never_printed_on_success(self, sms_outbox: FakeOutbox) -> None:
        """fake:// ignores credentials; neither output nor -vv logs show the password."""
        url = f"fake://user:{SECRET}@/"
        for extra in (["--json"], []):
            result = run(
                "-vv", "send", "--url", url, "--to", GOOD, "--to", REJECTED, "--text", "hi", *extra
            )
            assert result.exit_code == EXIT_PARTIAL, result.stderr
            assert SECRET not in result.stdout
            assert SECRET not in result.stderr

    def test_password_scrubbed_from_unexpected_errors(
        self, monkeypatch: pytest.MonkeyPatch, sms_outbox: FakeOutbox
    ) -> None:
        """Even a bug that puts the URL in its message is printed without the password."""

        def leaky(*_args: object, **_kwargs: object) -> object:
            raise RuntimeError(f"could not use fake://user:{SECRET}@/")

        monkeypatch.setattr("smsbridge._client.Client.send", leaky)
        result = run("send", "--url", f"fake://user:{SECRET}@/", "--to", GOOD, "--text", "hi")
        assert_user_error(result, EXIT_UNEXPECTED, "RuntimeError")
        assert SECRET not in result.output


class TestUnexpectedErrors:
    """An unexpected exception is one line and exit 1, or a traceback with --debug."""

    @pytest.fixture
    def crashing_send(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def crash(*_args: object, **_kwargs: object) -> object:
            raise RuntimeError("boom")

        monkeypatch.setattr("smsbridge._client.Client.send", crash)

    @pytest.mark.usefixtures("crashing_send")
    def test_one_line(self) -> None:
        """Without --debug no traceback is printed."""
        line = assert_user_error(send("--to", GOOD, "--text", "hi"), EXIT_UNEXPECTED)
        assert "RuntimeError: boom" in line
        assert "--debug" in line

    @pytest.mark.usefixtures("crashing_send")
    def test_debug_lets_it_through(self) -> None:
        """With --debug the exception propagates (Python prints the traceback)."""
        result = run("--debug", "send", "--url", "fake://", "--to", GOOD, "--text", "hi")
        assert result.exit_code == EXIT_UNEXPECTED
        assert isinstance(result.exception, RuntimeError)


class TestLogging:
    """Library logs go to stderr: warnings by default, info with -v; stdout stays JSON."""

    def test_quiet_by_default(self, sms_outbox: FakeOutbox) -> None:
        """No info events without -v."""
        result = send("--to", GOOD, "--text", "hi", "--json")
        assert result.stderr == ""

    def test_verbose(self, sms_outbox: FakeOutbox) -> None:
        """-v shows the send events on stderr, phone numbers masked, and no text."""
        result = run(
            "-v", "send", "--url", "fake://", "--to", GOOD, "--text", "secret-code-77", "--json"
        )
        assert result.exit_code == EXIT_OK
        assert "sms_send_started" in result.stderr
        assert "secret-code-77" not in result.stderr
        assert GOOD_E164 not in result.stderr
        assert report_of(result)["accepted"] == 1

    def test_logging_restored(self, sms_outbox: FakeOutbox) -> None:
        """Running the CLI in-process leaves the logging tree as it found it."""
        import logging

        logger, root = logging.getLogger("smsbridge"), logging.getLogger()

        def state() -> tuple[object, ...]:
            return (logger.level, list(logger.handlers), root.level, list(root.handlers))

        before = state()
        result = run("-vv", "send", "--url", "fake://", "--to", GOOD, "--text", "hi")
        assert "sms_send_finished" in result.stderr
        assert state() == before

    def test_warnings_without_verbose(self, sms_outbox: FakeOutbox) -> None:
        """A failed batch is a warning, shown on stderr without -v; stdout stays JSON."""
        sms_outbox.fail_next(ErrorCategory.AUTHENTICATION)
        result = send("--to", GOOD, "--text", "hi", "--json")
        assert result.exit_code == EXIT_PROVIDER_FAILURE
        (line,) = result.stderr.splitlines()
        assert re.match(r"^\S+ warning sms_batch_failed category=authentication ", line), line
        assert "sms_send_started" not in result.stderr
        assert report_of(result)["rejected"] == 1


class TestProviders:
    """`smsbridge providers` lists every registered provider."""

    def test_table(self) -> None:
        """The fake provider is listed with its class."""
        result = run("providers")
        assert result.exit_code == EXIT_OK
        assert re.search(r"^fake\s+smsbridge\.testing\._fake\.FakeProvider\b", result.stdout, re.M)

    def test_json(self) -> None:
        """--json gives scheme, class and every capability with its value."""
        result = run("providers", "--json")
        assert result.exit_code == EXIT_OK
        providers = json.loads(result.stdout)["providers"]
        fake = next(p for p in providers if p["scheme"] == "fake")
        assert fake["class"] == "smsbridge.testing._fake.FakeProvider"
        assert fake["capabilities"] == {
            "max_batch_size": 100,
            "flash": True,
            "udh": True,
            "delivery_status": True,
            "unicode": True,
            "templates": {"variables": "any", "max_batch_size": 100, "keyed": False},
            "balance": True,
            "landlines": False,
            "max_delivery_batch": 500,
            "settle_window": None,
        }


class TestSegments:
    """`smsbridge segments TEXT` shows encoding, units and segments."""

    def test_gsm7(self) -> None:
        """Plain text in GSM-7; extension characters count two units."""
        result = run("segments", "price: 5€")
        assert result.exit_code == EXIT_OK
        assert "encoding: GSM-7" in result.stdout
        assert "units: 10" in result.stdout
        assert "segments: 1" in result.stdout

    def test_persian_json(self) -> None:
        """Persian is UCS-2: 71 characters need two parts of 67."""
        result = run("segments", "س" * 71, "--json")
        assert json.loads(result.stdout) == {
            "encoding": "UCS-2",
            "units": 71,
            "segments": 2,
            "per_segment": 67,
            "remaining": 63,
        }

    def test_stdin(self) -> None:
        """Without TEXT the text is read from stdin."""
        result = run("segments", "--json", input="hello\n")
        assert json.loads(result.stdout)["units"] == 5


class TestExitCodes:
    """The exit statuses are distinct and each is documented in docs/cli.md."""

    CODES = (
        EXIT_OK,
        EXIT_UNEXPECTED,
        EXIT_INVALID_INPUT,
        EXIT_CONFIGURATION,
        EXIT_PARTIAL,
        EXIT_PROVIDER_FAILURE,
        EXIT_JOURNAL,
        EXIT_INTERRUPTED,
    )

    def test_distinct(self) -> None:
        """No two outcomes share a status; usage errors are click's 2."""
        assert len(set(self.CODES)) == len(self.CODES)
        assert EXIT_INVALID_INPUT == 2

    def test_documented(self) -> None:
        """Every EXIT_* constant appears in the docs' table with its value."""
        docs = DOCS.read_text(encoding="utf-8")
        names = [name for name in dir(cli_module) if name.startswith("EXIT_")]
        assert len(names) == len(self.CODES)
        for name in names:
            value = getattr(cli_module, name)
            assert re.search(rf"^\|\s*`{value}`\s*\|\s*`{name}`\s*\|", docs, re.M), name


def _script() -> str:
    found = shutil.which("smsbridge", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the smsbridge console script is not installed next to this interpreter")
    return found


def _run_script(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}
    env["SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [_script(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )


class TestConsoleScript:
    """The installed `smsbridge` script, in a real process."""

    def test_help(self) -> None:
        """--help works and lists the commands."""
        proc = _run_script("--help")
        assert proc.returncode == EXIT_OK
        for command in ("send", "providers", "segments"):
            assert command in proc.stdout

    def test_send_json_from_stdin(self) -> None:
        """stdout is exactly one JSON object even with -v; the logs go to stderr."""
        proc = _run_script(
            "-v",
            "send",
            "--url",
            f"fake://u:{SECRET}@/",
            "--to",
            GOOD,
            "--to",
            REJECTED,
            "--json",
            stdin="سلام\n",
        )
        assert proc.returncode == EXIT_PARTIAL, proc.stderr
        data = json.loads(proc.stdout)
        assert [r["status"] for r in data["results"]] == ["accepted", "rejected"]
        assert "sms_send_finished" in proc.stderr
        assert SECRET not in proc.stdout + proc.stderr

    def test_user_error(self) -> None:
        """A bad number: exit 2, one line, no traceback."""
        proc = _run_script("send", "--url", "fake://", "--to", "abc", "--text", "hi")
        assert proc.returncode == EXIT_INVALID_INPUT
        assert proc.stderr.splitlines() == [
            "smsbridge: error: 1 invalid recipient: --to #1 'abc': contains letters"
        ]
        assert proc.stdout == ""

    def test_unknown_scheme_hides_password(self) -> None:
        """Exit 3 and the password is not printed."""
        proc = _run_script("send", "--url", f"nope://u:{SECRET}@/", "--to", GOOD, "--text", "x")
        assert proc.returncode == EXIT_CONFIGURATION
        assert len(proc.stderr.splitlines()) == 1
        assert SECRET not in proc.stdout + proc.stderr


class TestScrubbing:
    """Only secrets are scrubbed from error lines, so hints stay readable."""

    def test_url_without_password_is_not_masked(
        self, monkeypatch: pytest.MonkeyPatch, sms_outbox: FakeOutbox
    ) -> None:
        """An error that quotes a password-free URL keeps it."""

        def crash(*_args: object, **_kwargs: object) -> object:
            raise RuntimeError("cannot reach fake://")

        monkeypatch.setattr("smsbridge._client.Client.send", crash)
        line = assert_user_error(send("--to", GOOD, "--text", "hi"), EXIT_UNEXPECTED)
        assert "cannot reach fake://" in line
