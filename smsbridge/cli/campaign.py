"""``smsbridge campaign``: large sends through a resumable journal.

``smsbridge campaign start`` streams any number of recipients (memory stays flat), prints a
summary, and resumes when run again with the same journal. ``smsbridge send --journal/--report
/--bulk`` is the older spelling of the same thing.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

import click

from smsbridge.cli._app import client_options, make_client, verbosity
from smsbridge.cli._errors import EXIT_OK, EXIT_PARTIAL, EXIT_PROVIDER_FAILURE, PROG, CliError
from smsbridge.cli.send import content_options, message_from, recipients_options

if TYPE_CHECKING:
    from smsbridge._engine._bulk import BulkProgress, BulkSummary

__all__ = ["campaign", "run_campaign"]

_PLAIN_EVERY: Final = 5.0  # seconds between progress lines when stderr is not a terminal


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
            self._bar.update(self._task, completed=progress.done, total=progress.total)
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


def _exit_code(accepted: int, total: int) -> int:
    if accepted == total:
        return EXIT_OK
    return EXIT_PARTIAL if accepted else EXIT_PROVIDER_FAILURE


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
            "reasons": summary.reasons,
            "by_provider": summary.by_provider,
        }
        click.echo(json.dumps(data))
        return
    click.echo(
        f"{totals.total} recipients: {totals.accepted} accepted, {totals.rejected} rejected, "
        f"{totals.unknown} unknown; {totals.segments} SMS parts; {summary.elapsed:.2f} s"
        + (" (resumed)" if summary.resumed else "")
    )
    if summary.by_provider:
        shown = ", ".join(f"{count} {name}" for name, count in summary.by_provider.items())
        click.echo(f"accepted by: {shown}")
    if summary.reasons:
        # One line per reason, however many requests failed.
        shown = ", ".join(f"{count} {reason}" for reason, count in summary.reasons.items())
        click.echo(f"not accepted: {shown}", err=True)
    if totals.unknown and summary.journal is not None:
        click.echo(
            f"{totals.unknown} recipients have an unknown outcome and were not re-sent; "
            f"list them with: {PROG} journal {summary.journal} --unknown",
            err=True,
        )


@contextlib.contextmanager
def _resume_hint(journal: str | None) -> Iterator[None]:
    """On Ctrl-C, say how to go on before the one-line ``interrupted``."""
    try:
        yield
    except KeyboardInterrupt:
        if journal:
            click.echo(
                f"{PROG}: stopped; run the same command again to resume from {journal} "
                f"(requests that were in flight are listed now by "
                f"'{PROG} journal {journal} --unknown')",
                err=True,
            )
        raise


def _source(to: tuple[str, ...], to_file: str | None, column: str | None) -> object:
    """The recipients: a resumable file source when they all come from one file."""
    from smsbridge.sources import NumberFile

    if to_file is not None and not to:
        return NumberFile(to_file, column=column)
    if to_file is None:
        return list(to)
    file = NumberFile(to_file, column=column)
    return itertools.chain(to, file)


def run_campaign(
    ctx: click.Context,
    *,
    to: tuple[str, ...],
    to_file: str | None,
    column: str | None,
    message: Callable[[], object],
    client_options: dict[str, Any],
    journal: str | None,
    report: str | None,
    skip_invalid: bool,
    resend_unknown: bool,
    progress: bool,
    as_json: bool,
) -> int:
    """Run a campaign and print its summary; returns the exit status."""
    from smsbridge.exceptions import InvalidInputError, InvalidRecipientError

    if not to and to_file is None:
        raise CliError("no recipients: give --to NUMBER or --to-file FILE")
    if to_file is not None:
        from pathlib import Path

        if not Path(to_file).is_file():
            raise CliError(f"--to-file {to_file}: cannot read it (no such file)")
    body = message()
    client = make_client(ctx, **client_options)
    with client, _resume_hint(journal), _Progress(progress) as shown:
        try:
            summary = client.send_bulk(
                body,  # type: ignore[arg-type]
                _source(to, to_file, column),  # type: ignore[arg-type]
                journal=journal,
                report=report,
                on_progress=shown.update,
                resend_unknown=resend_unknown,
                skip_invalid=skip_invalid,
            )
        except InvalidRecipientError as error:
            raise CliError(
                f"{error.message} (nothing was sent; use --skip-invalid to send to the rest "
                "and report these as rejected)"
            ) from error
        except InvalidInputError as error:
            if to_file is not None and error.message.startswith(str(to_file)):
                raise CliError(f"--to-file {error.message}") from error
            raise
    if summary.totals.total == 0:
        raise CliError(f"--to-file {to_file}: the file holds no phone numbers")
    _print_summary(summary, as_json)
    return _exit_code(summary.totals.accepted, summary.totals.total)


@click.group()
def campaign() -> None:
    """Campaigns: large sends through a resumable journal (see docs/bulk.md)."""


@campaign.command("start")
@recipients_options
@content_options
@client_options
@click.option(
    "--journal",
    metavar="FILE",
    help="The SQLite journal; run the same command again to resume (default: a temporary one). "
    "With --engine celery: postgresql://…?campaign=NAME.",
)
@click.option(
    "--report",
    metavar="FILE",
    help="Write one line per recipient as outcomes arrive (.jsonl or .csv).",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Start sending at once and report invalid numbers as rejected, instead of checking "
    "every number first and sending nothing if one is invalid.",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="On resume, send again to recipients whose outcome is unknown (your decision).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help="Show progress on stderr (a bar on a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
# -- distributed campaigns (smsbridge.distributed) --
@click.option(
    "--engine",
    type=click.Choice(["local", "celery"]),
    default="local",
    show_default=True,
    help="local: send from this process. celery: write the campaign to a Postgres journal and "
    "enqueue its batches for Celery workers (see docs/distributed.md).",
)
@click.option(
    "--celery-app",
    envvar="SMSBRIDGE_CELERY_APP",
    metavar="MODULE:ATTR",
    help="With --engine celery: your CeleryCampaigns (or the Celery app it is registered on).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    help="With --engine celery: follow the campaign to its end (default), or return once its "
    "batches are enqueued.",
)
@verbosity
@click.pass_context
def start(  # noqa: PLR0917 - click passes every option by keyword
    ctx: click.Context,
    to: tuple[str, ...],
    to_file: str | None,
    column: str | None,
    text: str | None,
    template: str | None,
    variables: tuple[str, ...],
    sender: str | None,
    flash: bool,
    url: str | None,
    region: str | None,
    max_segments: int | None,
    concurrency: int | None,
    rate: float | None,
    timeout: float | None,
    journal: str | None,
    report: str | None,
    skip_invalid: bool,
    resend_unknown: bool,
    progress: bool,
    as_json: bool,
    engine: str,
    celery_app: str | None,
    wait: bool,
) -> None:
    """Send one text (or template) to a list of any size, resumably."""
    if engine != "local":
        ctx.exit(
            _start_distributed(
                ctx,
                engine=engine,
                celery_app=celery_app,
                wait=wait,
                to=to,
                to_file=to_file,
                column=column,
                message=lambda: message_from(text, template, variables, sender, flash),
                client_options={
                    "url": url,
                    "region": region,
                    "max_segments": max_segments,
                    "concurrency": concurrency,
                    "rate": rate,
                    "timeout": timeout,
                },
                journal=journal,
                skip_invalid=skip_invalid,
                resend_unknown=resend_unknown,
                progress=progress and not as_json,
                as_json=as_json,
            )
        )
    ctx.exit(
        run_campaign(
            ctx,
            to=to,
            to_file=to_file,
            column=column,
            message=lambda: message_from(text, template, variables, sender, flash),
            client_options={
                "url": url,
                "region": region,
                "max_segments": max_segments,
                "concurrency": concurrency,
                "rate": rate,
                "timeout": timeout,
            },
            journal=journal,
            report=report,
            skip_invalid=skip_invalid,
            resend_unknown=resend_unknown,
            progress=progress and not as_json,
            as_json=as_json,
        )
    )


def _start_distributed(
    ctx: click.Context,
    *,
    engine: str,
    celery_app: str | None,
    wait: bool,
    to: tuple[str, ...],
    to_file: str | None,
    column: str | None,
    message: Callable[[], object],
    client_options: dict[str, Any],
    journal: str | None,
    skip_invalid: bool,
    resend_unknown: bool,
    progress: bool,
    as_json: bool,
) -> int:
    """``--engine celery``: the campaign goes to the workers (smsbridge.distributed._cli)."""
    from smsbridge.distributed._cli import run_distributed

    if not to and to_file is None:
        raise CliError("no recipients: give --to NUMBER or --to-file FILE")
    if to_file is not None:
        from pathlib import Path

        if not Path(to_file).is_file():
            raise CliError(f"--to-file {to_file}: cannot read it (no such file)")
    given = bool(client_options.get("url"))
    return run_distributed(
        ctx,
        engine=engine,
        celery_app=celery_app,
        journal=journal,
        recipients=_source(to, to_file, column),
        message=message,
        make_client=(lambda: make_client(ctx, **client_options)) if given else None,
        resend_unknown=resend_unknown,
        skip_invalid=skip_invalid,
        wait=wait,
        progress=_Progress(progress),
        print_summary=_print_summary,
        as_json=as_json,
    )
