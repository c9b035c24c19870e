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
import io
from collections.abc import Iterator
from pathlib import Path

from smsbridge.exceptions import InvalidInputError

__all__ = ["read_numbers"]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line, decoded strictly, one at a time."""
    try:
        with path.open("rb") as handle:
            for lineno, raw in enumerate(handle, 1):
                if b"\0" in raw:
                    raise InvalidInputError(f"{path} line {lineno} is binary, not text")
                try:
                    yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise InvalidInputError(f"{path} line {lineno} is not UTF-8 text") from None
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read it ({error.strerror or error})") from error


def _text_numbers(path: Path) -> Iterator[tuple[str, str]]:
    for lineno, line in _lines(path):
        number = line.split("#", 1)[0].strip()
        if number:
            yield number, f"{path} line {lineno}"


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


def _csv_numbers(path: Path, column: str | int) -> Iterator[tuple[str, str]]:
    """Numbers of one CSV column, one record a line.

    A named column needs a header row. With an index, a first row whose cell holds no digit is
    taken for a header and skipped.
    """
    index: int | None = None
    by_name = not (isinstance(column, int) or column.isdigit())
    for lineno, line in _lines(path):
        if not line.strip():
            continue
        cells = next(csv.reader(io.StringIO(line)), [])
        if index is None:
            index = _column_index(cells, column, path)
            first = cells[index] if index < len(cells) else ""
            if by_name or not any(char.isdigit() for char in first):
                continue  # the header row itself
        number = cells[index].strip() if index < len(cells) else ""
        if number:
            yield number, f"{path} line {lineno}"


def read_numbers(path: str | Path, *, column: str | int | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(number, origin)`` for each recipient in ``path``, read lazily.

    :param column: the CSV column (header name or 0-based index). Without it a ``.csv`` file is
        read by its first column and any other file as one number a line.
    :raises InvalidInputError: unreadable, binary or non-UTF-8 content, or an unknown column.
    """
    path = Path(path)
    if column is None and path.suffix.lower() == ".csv":
        column = 0
    if column is None:
        return _text_numbers(path)
    return _csv_numbers(path, column)
