"""``smsbridge journal``: what a campaign's journal says, read-only (or checked for delivery)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from smsbridge.cli._app import make_client, verbosity

if TYPE_CHECKING:
    from smsbridge.journal import JournalRow

__all__ = ["journal"]


def _line(row: JournalRow, as_json: bool) -> str:
    if as_json:
        return json.dumps(row.to_dict(), ensure_ascii=False)
    return f"{row.position}\t{row.recipient or row.raw}\t{row.error}"


@click.command()
@click.argument("path", metavar="JOURNAL")  # a file, or postgresql://…?campaign=NAME
@click.option("--unknown", "only_unknown", is_flag=True, help="List rows of unknown outcome.")
@click.option(
    "--invalid", "only_invalid", is_flag=True, help="List rows that are not valid numbers."
)
@click.option(
    "--export",
    "export_to",
    metavar="FILE",
    help="Write the full report (every recipient) to FILE (.csv or .jsonl).",
)
@click.option(
    "--delivery",
    is_flag=True,
    help="Ask the provider (--url) for the delivery status of every accepted message.",
)
@click.option(
    "--settle",
    is_flag=True,
    help="Ask the provider (--url) what became of each unknown row, where it can look sends "
    "up by key (Kavenegar's localid, within its window).",
)
@click.option(
    "--url",
    envvar="SMSBRIDGE_URL",
    metavar="URL",
    help="Provider URL for --delivery and --settle; defaults to $SMSBRIDGE_URL.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON output (one object a line).")
@verbosity
@click.pass_context
def journal(  # noqa: PLR0917 - click passes every option by keyword
    ctx: click.Context,
    path: str,
    only_unknown: bool,
    only_invalid: bool,
    export_to: str | None,
    delivery: bool,
    settle: bool,
    url: str | None,
    as_json: bool,
) -> None:
    """Show a campaign's journal: totals, rows to reconcile, an export, delivery, settling.

    JOURNAL is a journal file, or a distributed campaign's postgresql://…?campaign=NAME.
    """
    if (delivery or settle) and _is_postgres(path):
        # A distributed campaign's journal (smsbridge.distributed).
        from smsbridge.distributed import reconcile_journal

        with make_client(ctx, url, None, None) as client:
            name = "delivery" if delivery else "settled"
            _print_counts(name, reconcile_journal(client, path, settle=settle), as_json)
        return
    if delivery or settle:
        with make_client(ctx, url, None, None) as client:
            if delivery:
                _print_counts("delivery", client.check_journal_deliveries(path), as_json)
            else:
                _print_counts("settled", client.settle_journal(path), as_json)
        return
    if export_to is not None:
        _export(path, export_to)
    elif only_unknown or only_invalid:
        _list_rows(path, unknown=only_unknown, as_json=as_json)
    else:
        _print_totals(path, as_json)


def _is_postgres(path: str) -> bool:
    return path.lower().startswith(("postgresql://", "postgres://"))


def _print_counts(name: str, counts: dict[str, int], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({name: counts}))
        return
    for key, count in counts.items():
        click.echo(f"{key}: {count}")


def _export(path: str, export_to: str) -> None:
    import os

    from smsbridge.journal import open_journal

    if not _is_postgres(path) and os.path.realpath(export_to) == os.path.realpath(path):
        from smsbridge.cli._errors import ConfigError

        raise ConfigError(f"the export {export_to} and the journal are the same file")
    with open_journal(path) as view:
        lines = view.export(export_to)
    click.echo(f"{lines} rows written to {export_to}")


def _list_rows(path: str, *, unknown: bool, as_json: bool) -> None:
    from smsbridge.journal import open_journal

    with open_journal(path) as view:
        for row in view.unknown() if unknown else view.invalid():
            click.echo(_line(row, as_json))


def _print_totals(path: str, as_json: bool) -> None:
    from smsbridge.journal import open_journal

    with open_journal(path) as view:
        totals = view.totals()
        running = view.running
    fields = {
        "total": totals.total,
        "accepted": totals.accepted,
        "rejected": totals.rejected,
        "unknown": totals.unknown,
        "pending": totals.pending,
        "segments": totals.segments,
    }
    if as_json:
        click.echo(json.dumps({**fields, "running": running}))
        return
    for name, value in fields.items():
        click.echo(f"{name}: {value}")
    if running:
        click.echo("(a send is running on this journal)")
