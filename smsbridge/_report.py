"""Writing a campaign's per-recipient report as it goes, so it is never held whole."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Final

from smsbridge.exceptions import ConfigurationError

if TYPE_CHECKING:
    from smsbridge.journal._model import JournalRow

__all__ = ["ReportWriter", "csv_safe"]

_CSV_FIELDS: Final = (
    "position",
    "recipient",
    "status",
    "message_id",
    "segments",
    "category",
    "provider_code",
    "message",
    "duplicate_of",
    "delivery",
    "provider",
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final = re.compile(r"[+-]?\d+(\.\d+)?")


def csv_safe(value: object) -> object:
    """A cell a spreadsheet will not run as a formula.

    A text starting with ``= + - @``, a tab or a carriage return is prefixed with ``'``
    (OWASP's advice for CSV injection), whatever its source: a recipient as typed, a
    provider's error text. Plain numbers such as ``+989121234567`` are left alone: no
    spreadsheet evaluates them.
    """
    starts_a_formula = isinstance(value, str) and value.startswith(_FORMULA_START)
    if starts_a_formula and not _PLAIN_NUMBER.fullmatch(str(value)):
        return f"'{value}"
    return value


class ReportWriter:
    """Appends one line per recipient to a JSON Lines (``.jsonl``) or CSV (``.csv``) file.

    Lines come in completion order; each carries its input ``position``.

    :raises ConfigurationError: when the file cannot be created (missing or read-only folder).
    """

    def __init__(self, path: str | Path, *, format: str | None = None) -> None:
        self.path = Path(path)
        self.format = format or ("csv" if self.path.suffix.lower() == ".csv" else "jsonl")
        if self.format not in ("csv", "jsonl"):
            raise ConfigurationError(f"report format must be 'csv' or 'jsonl', not {self.format!r}")
        try:
            self._file: IO[str] = self.path.open("w", encoding="utf-8", newline="")
        except FileNotFoundError:
            raise ConfigurationError(
                f"cannot write the report {self.path}: the folder {self.path.parent} does not exist"
            ) from None
        except PermissionError:
            raise ConfigurationError(
                f"cannot write the report {self.path}: permission denied "
                f"(is {self.path.parent} read-only?)"
            ) from None
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the report {self.path}: {error.strerror or error}"
            ) from None
        self._csv = csv.writer(self._file) if self.format == "csv" else None
        if self._csv is not None:
            self._csv.writerow(_CSV_FIELDS)
        self.lines = 0

    def write(self, rows: list[JournalRow]) -> None:
        """Append ``rows`` and flush, so a crash keeps what was written."""
        for row in rows:
            data = row.to_dict()
            if self._csv is None:
                self._file.write(json.dumps(data, ensure_ascii=False) + "\n")
            else:
                error = data.pop("error") or {}
                assert isinstance(error, dict)  # noqa: S101 - narrows the type for mypy
                data.update(error)
                self._csv.writerow([csv_safe(data.get(field)) for field in _CSV_FIELDS])
        self.lines += len(rows)
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
