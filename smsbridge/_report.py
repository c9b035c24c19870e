"""Writing a bulk send's per-recipient report as it goes, so it is never held whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

if TYPE_CHECKING:
    from smsbridge.journal import JournalRow

__all__ = ["ReportWriter"]

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
)


class ReportWriter:
    """Appends one line per recipient to a JSON Lines (``.jsonl``) or CSV (``.csv``) file.

    Lines come in completion order; each carries its input ``position``.
    """

    def __init__(self, path: str | Path, *, format: str | None = None) -> None:
        self.path = Path(path)
        self.format = format or ("csv" if self.path.suffix.lower() == ".csv" else "jsonl")
        if self.format not in ("csv", "jsonl"):
            raise ValueError(f"report format must be 'csv' or 'jsonl', not {self.format!r}")
        self._file: IO[str] = self.path.open("w", encoding="utf-8", newline="")
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
                self._csv.writerow([data.get(field) for field in _CSV_FIELDS])
        self.lines += len(rows)
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()
