"""Reading recipients from text and CSV files, lazily and with precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from smsbridge.cli import cli
from smsbridge.exceptions import InvalidInputError
from smsbridge.sources import read_numbers
from smsbridge.testing import FakeOutbox


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


class TestTextFiles:
    """One number a line; blank lines and comments are skipped."""

    def test_numbers_and_their_lines(self, tmp_path: Path) -> None:
        """Each number comes with the line it was on."""
        path = write(tmp_path, "n.txt", "\ufeff09121111111\n\n# team\n09122222222  # Sara\n")
        assert list(read_numbers(path)) == [
            ("09121111111", f"{path} line 1"),
            ("09122222222", f"{path} line 4"),
        ]

    def test_reading_is_lazy(self, tmp_path: Path) -> None:
        """The first number is available before a bad line further down is reached."""
        path = write(tmp_path, "n.txt", b"09121111111\n\xff\xfe\n")
        numbers = read_numbers(path)
        assert next(numbers)[0] == "09121111111"
        with pytest.raises(InvalidInputError, match="line 2 is not UTF-8"):
            next(numbers)

    @pytest.mark.parametrize(
        ("content", "message"),
        [(b"0912\x00111\n", "line 1 is binary"), (b"\xc3\x28\n", "line 1 is not UTF-8")],
    )
    def test_bad_content_is_named_by_line(
        self, tmp_path: Path, content: bytes, message: str
    ) -> None:
        """Binary and non-UTF-8 content are input errors naming the line."""
        with pytest.raises(InvalidInputError, match=message):
            list(read_numbers(write(tmp_path, "n.txt", content)))

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is an input error, not an OSError."""
        with pytest.raises(InvalidInputError, match="cannot read it"):
            list(read_numbers(tmp_path / "absent.txt"))


class TestCsvFiles:
    """A CSV column, by header name or index."""

    CSV = 'name,mobile,city\nAli,09121111111,Tehran\nSara,"0912 222 2222",Shiraz\n\n'

    def test_column_by_name_is_case_insensitive(self, tmp_path: Path) -> None:
        """The header row names the column and is not itself a number."""
        path = write(tmp_path, "c.csv", self.CSV)
        assert [n for n, _ in read_numbers(path, column="Mobile")] == [
            "09121111111",
            "0912 222 2222",
        ]

    def test_column_by_index_skips_a_header(self, tmp_path: Path) -> None:
        """Index 1 reads the same column; a first row without digits is a header."""
        path = write(tmp_path, "c.csv", self.CSV)
        assert [n for n, _ in read_numbers(path, column=1)] == ["09121111111", "0912 222 2222"]

    def test_a_csv_without_column_reads_its_first_column(self, tmp_path: Path) -> None:
        """A headerless .csv of numbers needs no --column."""
        path = write(tmp_path, "c.csv", "09121111111,x\n09122222222,y\n")
        assert [n for n, _ in read_numbers(path)] == ["09121111111", "09122222222"]

    def test_unknown_column_lists_the_header(self, tmp_path: Path) -> None:
        """A wrong column name says which columns exist."""
        path = write(tmp_path, "c.csv", self.CSV)
        with pytest.raises(InvalidInputError, match=r"no column 'phone'.*name, mobile, city"):
            list(read_numbers(path, column="phone"))

    def test_index_out_of_range(self, tmp_path: Path) -> None:
        """An index past the last column is an input error."""
        path = write(tmp_path, "c.csv", self.CSV)
        with pytest.raises(InvalidInputError, match="there is no column 7"):
            list(read_numbers(path, column=7))


class TestCli:
    """``smsbridge send --to-file FILE --column NAME``."""

    def test_send_to_a_csv_column(self, tmp_path: Path, sms_outbox: FakeOutbox) -> None:
        """Every number of the column is sent to, in both one-shot and streamed sends."""
        path = write(tmp_path, "c.csv", TestCsvFiles.CSV)
        for extra in ([], ["--bulk", "--no-progress"]):
            sms_outbox.clear()
            result = CliRunner().invoke(
                cli,
                [
                    "send",
                    "--url",
                    "fake://",
                    "--to-file",
                    str(path),
                    "--column",
                    "mobile",
                    "--text",
                    "hi",
                    *extra,
                ],
            )
            assert result.exit_code == 0, result.output
            assert sorted(sms_outbox.recipients) == ["+989121111111", "+989122222222"]

    def test_unknown_column_is_one_line_exit_2(
        self, tmp_path: Path, sms_outbox: FakeOutbox
    ) -> None:
        """A wrong --column stops before anything is sent."""
        path = write(tmp_path, "c.csv", TestCsvFiles.CSV)
        result = CliRunner().invoke(
            cli,
            [
                "send",
                "--url",
                "fake://",
                "--to-file",
                str(path),
                "--column",
                "phone",
                "--text",
                "x",
            ],
        )
        assert result.exit_code == 2
        assert "no column 'phone'" in result.output
        sms_outbox.assert_nothing_sent()
