"""A campaign's duplicates are found whatever the order of its numbers: sorted, shuffled, across
chunks, across the merge of staged numbers into the index, and across a resume."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from smsbridge import Client
from smsbridge._chunks import check_chunk
from smsbridge.journal import CampaignIdentity, RowState, open_journal
from smsbridge.journal._sqlite import SqliteJournal
from smsbridge.testing import FakeOutbox, FakeProvider

IDENTITY = CampaignIdentity(
    provider="fake", account="a", kind="text", content="c", sender=None, flash=False, udh=None
)


def campaign_numbers(order: str, distinct: int, repeats: int) -> list[str]:
    """``distinct`` numbers, ``repeats`` of them given again later; in ``order``."""
    rng = random.Random(f"dedup-{order}")  # noqa: S311 - reproducible test data
    numbers = [f"0912{n:07d}" for n in rng.sample(range(10**7), distinct)]
    if order == "sorted":
        numbers.sort()
    again = [numbers[i] for i in sorted(rng.sample(range(distinct // 2), repeats))]
    # The repeats come after their first occurrence, some in its chunk, most in later ones.
    return (
        numbers + again
        if order == "sorted"
        else numbers[: distinct // 2] + again + numbers[distinct // 2 :]
    )


def expected_duplicates(numbers: list[str]) -> dict[int, int]:
    """Position of each repeat -> position of the number's first occurrence."""
    first: dict[str, int] = {}
    repeats = {}
    for position, number in enumerate(numbers):
        if number in first:
            repeats[position] = first[number]
        else:
            first[number] = position
    return repeats


def fill(
    journal: SqliteJournal, numbers: list[str], start: int, chunk: int, *, finish: bool = True
) -> None:
    """Enqueue ``numbers[start:]`` ``chunk`` at a time, then (``finish``) end the input, as
    a run does when its source is read to the end."""
    for first in range(start, len(numbers), chunk):
        raws = numbers[first : first + chunk]
        with journal.transaction():
            journal.enqueue(check_chunk(first, raws, lambda _: None, "IR", landlines=False), {})
    if finish:
        with journal.transaction():
            journal.finish_enqueue({})


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_every_repeat_points_at_its_first_occurrence(tmp_path: Path, order: str) -> None:
    numbers = campaign_numbers(order, distinct=9000, repeats=700)
    journal = SqliteJournal(tmp_path / "j.sqlite")
    journal.merge_at = 2500  # several merges of staged numbers into the index on the way
    journal.bind(IDENTITY)
    fill(journal, numbers, 0, 1000)
    found = {row.position: row.duplicate_of for row in journal.duplicates()}
    journal.close()
    assert found == expected_duplicates(numbers)
    assert len(found) == 700


def test_staged_numbers_survive_a_stop(tmp_path: Path) -> None:
    """Numbers staged but not yet merged when a run stops still catch their repeats after
    the resume."""
    numbers = campaign_numbers("shuffled", distinct=6000, repeats=500)
    path = tmp_path / "j.sqlite"
    journal = SqliteJournal(path)
    journal.merge_at = 4000
    journal.bind(IDENTITY)
    # 5,000 seen: one merge, then 1,000 staged; the run stops before its input ends.
    fill(journal, numbers[:5000], 0, 1000, finish=False)
    journal.close()
    resumed = SqliteJournal(path)
    resumed.merge_at = 4000
    fill(resumed, numbers, 5000, 1000)
    found = {row.position: row.duplicate_of for row in resumed.duplicates()}
    resumed.close()
    assert found == expected_duplicates(numbers)


def test_a_shuffled_campaign_sends_each_number_once(tmp_path: Path) -> None:
    """End to end through send_bulk: every distinct number is sent once, every repeat is
    reported as a duplicate of its first occurrence."""
    numbers = campaign_numbers("shuffled", distinct=4000, repeats=300)
    outbox = FakeOutbox()
    summary = Client(FakeProvider(outbox=outbox, batch_size=100)).send_bulk(
        "hi", numbers, journal=tmp_path / "j.sqlite"
    )
    # Every position is reported accepted (a repeat with its first occurrence's outcome)...
    assert (summary.totals.total, summary.totals.accepted) == (4300, 4300)
    # ... and each number went out once.
    assert len(outbox.recipients) == 4000
    assert len(set(outbox.recipients)) == 4000
    with open_journal(tmp_path / "j.sqlite") as view:
        rows = list(view.rows())
    # A repeat reads as its first occurrence's outcome, naming that occurrence.
    repeats = {row.position: row.duplicate_of for row in rows if row.duplicate_of is not None}
    assert repeats == expected_duplicates(numbers)
    assert {rows[position].state for position in repeats} == {RowState.ACCEPTED}


@pytest.mark.parametrize("stop", [False, True])
def test_no_repeat_is_handed_out_before_its_number_is_checked(tmp_path: Path, stop: bool) -> None:
    """Numbers staged and not yet checked against the index keep their rows back: whenever
    the sender asks for rows (mid-input, or after a stop), it gets first occurrences only,
    every one of them, in order."""
    numbers = campaign_numbers("shuffled", distinct=6000, repeats=500)
    path = tmp_path / "j.sqlite"
    journal = SqliteJournal(path)
    journal.merge_at = 4000
    journal.bind(IDENTITY)
    repeats = expected_duplicates(numbers)
    handed: list[int] = []
    after = -1
    for first in range(0, len(numbers), 1000):
        fill(journal, numbers[: first + 1000], first, 1000, finish=False)
        if stop:
            journal.close()
            journal = SqliteJournal(path)
            journal.merge_at = 4000
        # The input so far holds repeats of numbers in the index and of staged ones.
        rows = journal.next_pending(after, 10**6)
        assert not {position for position, _ in rows} & set(repeats)
        handed += [position for position, _ in rows]
        after = handed[-1] if handed else after
    journal.close()
    assert handed == [p for p in range(len(numbers)) if p not in repeats]
