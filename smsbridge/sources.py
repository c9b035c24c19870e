"""Reading recipients from files, lazily, so a campaign file of any size holds memory flat.

Two shapes are read:

- a text file, one number a line; blank lines and ``#`` comments (whole-line or trailing) are
  skipped;
- a CSV file (``column=`` given, or a ``.csv`` name): the numbers are one column, named by its
  header or by its 0-based index.

Each number comes with its origin (``numbers.txt line 7``) so errors can point at the line.
Files are UTF-8 (a byte-order mark is accepted); anything else is an
:class:`~smsbridge.exceptions.InvalidInputError` naming the line.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "list.csv"
>>> _ = path.write_text("name,mobile\\nAli,09121234567\\n", encoding="utf-8")
>>> [number for number, _ in read_numbers(path, column="mobile")]
['09121234567']
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

from smsbridge.exceptions import InvalidInputError

__all__ = ["NumberFile", "read_numbers"]

_BLOCK = 1 << 20


def _lines(path: Path, *, offset: int = 0, first_line: int = 1) -> Iterator[tuple[int, str, int]]:
    """``(line number, text, offset after the line)`` of each line from byte ``offset``,
    decoded strictly, one at a time."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            position = offset
            for lineno, raw in enumerate(handle, first_line):
                position += len(raw)
                if b"\0" in raw:
                    raise InvalidInputError(f"{path} line {lineno} is binary, not text")
                try:
                    text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise InvalidInputError(f"{path} line {lineno} is not UTF-8 text") from None
                yield lineno, text, position
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read it ({error.strerror or error})") from error


def _text_numbers(path: Path, offset: int, line: int) -> Iterator[tuple[str, int, int]]:
    for lineno, text, end in _lines(path, offset=offset, first_line=line):
        number = text.split("#", 1)[0].strip()
        if number:
            yield number, lineno, end


def _column_index(header: list[str], column: str | int, path: Path) -> int:
    if isinstance(column, int) or column.isdigit():
        index = int(column)
        if index >= len(header):
            raise InvalidInputError(f"{path} has {len(header)} columns; there is no column {index}")
        return index
    names = [name.strip().lower() for name in header]
    try:
        return names.index(column.strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"{path} has no column {column!r} (its header: {', '.join(header)})"
        ) from None


def _csv_numbers(
    path: Path, column: str | int, offset: int, line: int
) -> Iterator[tuple[str, int, int]]:
    """Numbers of one CSV column, one record a line.

    A named column needs a header row. With an index, a first row whose cell holds no digit is
    taken for a header and skipped. Reading from an ``offset`` past the start reads the
    header (the first non-blank line) again to find the column.
    """
    index: int | None = None
    by_name = not (isinstance(column, int) or column.isdigit())
    if offset:
        for _, text, _ in _lines(path):
            if text.strip():
                index = _column_index(next(csv.reader(io.StringIO(text)), []), column, path)
                break
    for lineno, text, end in _lines(path, offset=offset, first_line=line):
        if not text.strip():
            continue
        cells = next(csv.reader(io.StringIO(text)), [])
        if index is None:
            index = _column_index(cells, column, path)
            first = cells[index] if index < len(cells) else ""
            if by_name or not any(char.isdigit() for char in first):
                continue  # the header row itself
        number = cells[index].strip() if index < len(cells) else ""
        if number:
            yield number, lineno, end


class NumberFile:
    """A file of recipients as a campaign source.

    Iterating it yields the numbers as written. A campaign reads it through :meth:`entries`,
    which also gives each number's line and the byte offset after it, so an interrupted
    campaign resumes reading where it stopped, and proves with :meth:`fingerprint` (a hash of
    the file's bytes up to that offset) that the file is the one it started with.
    """

    def __init__(self, path: str | Path, *, column: str | int | None = None) -> None:
        self.path = Path(path)
        if column is None and self.path.suffix.lower() == ".csv":
            column = 0
        self.column = column

    def __repr__(self) -> str:
        return f"NumberFile({str(self.path)!r})"

    def entries(self, offset: int = 0, line: int = 1) -> Iterator[tuple[str, int, int]]:
        """``(number, line number, offset after that line)`` from byte ``offset``."""
        if self.column is None:
            return _text_numbers(self.path, offset, line)
        return _csv_numbers(self.path, self.column, offset, line)

    def __iter__(self) -> Iterator[str]:
        return (number for number, _, _ in self.entries())

    def origin(self, line: int) -> str:
        """``numbers.txt line 7``."""
        return f"{self.path} line {line}"

    def fingerprint(self, upto: int | None = None) -> str:
        """SHA-256 of the file's first ``upto`` bytes (all of it when None)."""
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as handle:
                remaining = upto
                while remaining is None or remaining > 0:
                    block = handle.read(_BLOCK if remaining is None else min(_BLOCK, remaining))
                    if not block:
                        break
                    digest.update(block)
                    if remaining is not None:
                        remaining -= len(block)
        except OSError as error:
            raise InvalidInputError(
                f"{self.path}: cannot read it ({error.strerror or error})"
            ) from error
        return digest.hexdigest()


def read_numbers(path: str | Path, *, column: str | int | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(number, origin)`` for each recipient in ``path``, read lazily.

    :param column: the CSV column (header name or 0-based index). Without it a ``.csv`` file is
        read by its first column and any other file as one number a line.
    :raises InvalidInputError: unreadable, binary or non-UTF-8 content, or an unknown column.
    """
    source = NumberFile(path, column=column)
    return ((number, source.origin(line)) for number, line, _ in source.entries())
