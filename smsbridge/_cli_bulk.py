"""The campaign side of the CLI: ``send --journal/--report/--bulk`` and ``smsbridge journal``.

Kept apart from cli.py so the one-shot path stays small; imported only when a bulk send runs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from smsbridge.exceptions import ConfigurationError, InvalidInputError, InvalidRecipientError
from smsbridge.phone import check_number

if TYPE_CHECKING:
    from smsbridge._bulk import BulkProgress, BulkSummary
    from smsbridge._client import Client
    from smsbridge.journal import Journal

__all__ = [
    "exit_code_for",
    "print_deliveries",
    "print_journal",
    "run_bulk_send",
    "validate_numbers",
]

_SHOWN: Final = 20
_PLAIN_EVERY: Final = 5.0  # seconds between progress lines when stderr is not a terminal


def validate_numbers(numbers: Iterable[tuple[str, str]], region: str) -> None:
    """A first pass over the recipients, so a bad file fails before anything is sent.

    Streams: only the first problems are kept, whatever the file's size.
    """
    shown: list[str] = []
    bad = 0
    for number, origin in numbers:
        _, reason = check_number(number, region)
        if reason is not None:
            bad += 1
            if len(shown) < _SHOWN:
                shown.append(f"{origin} {number!r}: {reason}")
    if bad:
        more = f" (and {bad - len(shown)} more)" if bad > len(shown) else ""
        noun = "recipient" if bad == 1 else "recipients"
        raise InvalidRecipientError(
            f"{bad} invalid {noun}: {'; '.join(shown)}{more} (use --skip-invalid to send to the "
            "rest and report these as rejected)"
        )


class _Progress:
    """A rich progress bar on a terminal; otherwise a plain line every few seconds."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0

    def __enter__(self) -> _Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import Progress

            # stderr, so stdout keeps only the summary (and stays valid JSON with --json).
            self._bar = Progress(console=Console(stderr=True))
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, progress: BulkProgress) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("sending", total=progress.total)
            self._bar.update(self._task, completed=progress.done)
            return
        now = time.monotonic()
        if now - self._last >= _PLAIN_EVERY or progress.done == progress.total:
            self._last = now
            click.echo(
                f"progress: {progress.done}/{progress.total} "
                f"(accepted {progress.accepted}, rejected {progress.rejected}, "
                f"unknown {progress.unknown})",
                err=True,
            )


def exit_code_for(accepted: int, total: int, ok: int, partial: int, failed: int) -> int:
    """All accepted, some, or none."""
    if accepted == total:
        return ok
    return partial if accepted else failed


def run_bulk_send(
    client: Client,
    text: str,
    recipients: Iterable[str],
    *,
    journal: str | None,
    report: str | None,
    resend_unknown: bool,
    progress: bool,
    as_json: bool,
    send_options: dict[str, object],
) -> BulkSummary:
    """Run a streamed send and print its summary."""
    with _Progress(progress) as shown:
        summary = client.send_bulk(
            text,
            recipients,
            journal=journal,
            report=report,
            on_progress=shown.update,
            resend_unknown=resend_unknown,
            **send_options,  # type: ignore[arg-type]
        )
    _print_summary(summary, as_json)
    return summary


def _print_summary(summary: BulkSummary, as_json: bool) -> None:
    totals = summary.totals
    if as_json:
        data = {
            "total": totals.total,
            "accepted": totals.accepted,
            "rejected": totals.rejected,
            "unknown": totals.unknown,
            "segments": totals.segments,
            "elapsed_seconds": round(summary.elapsed, 3),
            "resumed": summary.resumed,
            "journal": None if summary.journal is None else str(summary.journal),
        }
        click.echo(json.dumps(data))
        return
    click.echo(
        f"{totals.total} recipients: {totals.accepted} accepted, {totals.rejected} rejected, "
        f"{totals.unknown} unknown; {totals.segments} SMS parts; {summary.elapsed:.2f} s"
        + (" (resumed)" if summary.resumed else "")
    )
    if totals.unknown and summary.journal is not None:
        click.echo(
            f"{totals.unknown} recipients have an unknown outcome and were not re-sent; "
            f"list them with: smsbridge journal {summary.journal} --unknown",
            err=True,
        )


def _open_journal(path: str, *, read_only: bool) -> Journal:
    from smsbridge.journal import Journal

    if not Path(path).is_file():
        raise InvalidInputError(f"no journal at {path}")
    try:
        return Journal(path, read_only=read_only)
    except ConfigurationError as error:
        # Here the file is the user's input, not configuration.
        raise InvalidInputError(error.message) from None


def print_deliveries(client: Client, path: str, as_json: bool) -> None:
    """Check the delivery of the journal's accepted messages and print the counts."""
    from smsbridge._reconcile import check_deliveries

    # Read-only first, so a file that is not a journal is refused untouched.
    _open_journal(path, read_only=True).close()
    with _open_journal(path, read_only=False) as journal:
        counts = check_deliveries(client, journal)
    if as_json:
        click.echo(json.dumps({"delivery": counts}))
    else:
        for status, count in counts.items():
            click.echo(f"{status}: {count}")


def print_journal(path: str, only_unknown: bool, as_json: bool) -> None:
    """Show a journal's totals, or the rows whose outcome is unknown."""
    with _open_journal(path, read_only=True) as journal:
        if only_unknown:
            for row in journal.unknown():
                if as_json:
                    click.echo(json.dumps(row.to_dict(), ensure_ascii=False))
                else:
                    click.echo(f"{row.position}\t{row.recipient or row.raw}\t{row.error}")
            return
        totals = journal.totals()
    fields = {
        "total": totals.total,
        "accepted": totals.accepted,
        "rejected": totals.rejected,
        "unknown": totals.unknown,
        "pending": totals.pending,
        "segments": totals.segments,
    }
    if as_json:
        click.echo(json.dumps(fields))
    else:
        for name, value in fields.items():
            click.echo(f"{name}: {value}")
