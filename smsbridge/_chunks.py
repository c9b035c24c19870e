"""A chunk of a campaign's input, checked: what a journal's ``enqueue`` writes.

Columns rather than a tuple per row: a chunk is thousands of rows, nearly all of them valid, and
each pass over it in Python is paid once per recipient of a campaign. Only the invalid rows
carry a reason, and only they are asked where they came from, by the journal on its own thread
(the source may need to look).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import attrs

from smsbridge.phone import check_numbers, plain_national_numbers

__all__ = ["CheckedChunk", "check_chunk"]


@attrs.frozen
class CheckedChunk:
    """Rows ``first``, ``first + 1``, …: each recipient as given and its E.164 form."""

    first: int
    """The position of the chunk's first row."""
    raws: Sequence[str]
    numbers: Sequence[str | None]
    """E.164, or None where the recipient is invalid."""
    reasons: dict[int, str]
    """Why, for each invalid row (by index in the chunk)."""
    origin: Callable[[int], str | None]
    """Where the row at an index came from (``numbers.txt line 7``), when the source tells."""

    def __len__(self) -> int:
        return len(self.raws)

    @property
    def end(self) -> int:
        """The position after the chunk's last row."""
        return self.first + len(self.raws)

    def invalid(self) -> Iterator[tuple[int, str, str, str | None]]:
        """``(position, raw, reason, origin)`` for every invalid row."""
        for index, reason in self.reasons.items():
            yield self.first + index, self.raws[index], reason, self.origin(index)


def check_chunk(
    first: int,
    raws: Sequence[str],
    origin: Callable[[int], str | None],
    region: str,
    landlines: bool,
) -> CheckedChunk:
    """Check ``raws`` (rows ``first``…) as numbers of ``region``; ``origin(index)`` says where
    an invalid one came from."""
    plain = plain_national_numbers(raws, region)
    if plain is not None:  # the common chunk: every number written plainly
        return CheckedChunk(first, raws, plain, {}, origin)
    checked = check_numbers(raws, region, landlines=landlines)
    numbers: list[str | None] = [number for number, _ in checked]
    reasons: dict[int, str] = {}
    if None in numbers:
        reasons = {
            index: reason or "invalid"
            for index, (number, reason) in enumerate(checked)
            if number is None
        }
    return CheckedChunk(first, raws, numbers, reasons, origin)
