"""``smsbridge send``: one text to every recipient, with a report per recipient.

With ``--journal``, ``--report`` or ``--bulk`` it runs a campaign instead (the older spelling of
``smsbridge campaign start``, kept working).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from smsbridge.cli._app import (
    client_options,
    collect_recipients,
    make_client,
    read_text,
    table,
    verbosity,
)
from smsbridge.cli._errors import EXIT_OK, EXIT_PARTIAL, EXIT_PROVIDER_FAILURE

if TYPE_CHECKING:
    from smsbridge._models import SendReport

__all__ = ["exit_code", "print_report", "recipients_options", "send"]


def exit_code(report: SendReport) -> int:
    """All accepted, some, or none."""
    if report.all_accepted:
        return EXIT_OK
    return EXIT_PARTIAL if report.accepted else EXIT_PROVIDER_FAILURE


def print_report(report: SendReport, as_json: bool) -> None:
    """The report as a table and a summary line, or as one JSON object."""
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    # A client of several providers (its name joins theirs with '>') says who took each one.
    several = ">" in (report.provider or "")
    rows = []
    for position, result in enumerate(report, 1):
        error = result.error
        row = [
            str(position),
            result.recipient,
            result.status.value,
            str(result.segments),
            result.message_id or "-",
        ]
        if several:
            row.append(result.provider or "-")
        rows.append([*row, "" if error is None else f"{error.category.value}: {error.message}"])
    headers = ["#", "RECIPIENT", "STATUS", "SEGMENTS", "MESSAGE ID"]
    for line in table([*headers, *(["PROVIDER"] if several else []), "ERROR"], rows):
        click.echo(line)
    click.echo(
        f"{len(report)} recipients: {report.accepted} accepted, "
        f"{report.rejected} rejected, {report.unknown} unknown"
    )


def recipients_options(function: click.decorators.FC) -> click.decorators.FC:
    """``--to``, ``--to-file``, ``--column``."""
    function = click.option(
        "--column",
        metavar="NAME|INDEX",
        help="Read --to-file as CSV and take the numbers from this column (header name or "
        "0-based index); a .csv file without --column is read by its first column.",
    )(function)
    function = click.option(
        "--to-file",
        metavar="FILE",
        help="A file of recipients, one a line; blank lines and # comments are skipped.",
    )(function)
    return click.option(
        "--to", "to", multiple=True, metavar="NUMBER", help="A recipient; repeatable."
    )(function)


def content_options(function: click.decorators.FC) -> click.decorators.FC:
    """``--text``, ``--template``, ``--var``, ``--from``, ``--flash``."""
    for option in reversed(
        [
            click.option(
                "--text", metavar="TEXT", help="The message; read from stdin when absent or '-'."
            ),
            click.option(
                "--template",
                metavar="ID",
                help="Send the provider's template ID instead of a text (an approved OTP "
                "pattern); fill it with --var.",
            ),
            click.option(
                "--var",
                "variables",
                multiple=True,
                metavar="VALUE|NAME=VALUE",
                help="A template variable, in order (VALUE) or by name (NAME=VALUE); repeatable.",
            ),
            click.option("--from", "sender", metavar="SENDER", help="The sender line or name."),
            click.option("--flash", is_flag=True, help="Send as a flash message."),
        ]
    ):
        function = option(function)
    return function


def message_from(
    text: str | None,
    template: str | None,
    variables: tuple[str, ...],
    sender: str | None,
    flash: bool,
) -> object:
    """A Message or a Template from the content options."""
    from smsbridge._models import Message, Template
    from smsbridge.cli._errors import CliError

    if template is None:
        if variables:
            raise CliError("--var fills a template: give --template ID too")
        return Message(text=read_text(text), sender=sender, flash=flash)
    if text is not None:
        raise CliError("give --text or --template, not both")
    if flash:
        raise CliError("--flash does not apply to template sends")
    named = [v for v in variables if "=" in v]
    if named and len(named) != len(variables):
        raise CliError("--var values are either all NAME=VALUE or all plain values, not mixed")
    values: dict[str, str] | list[str] = (
        dict(v.split("=", 1) for v in variables) if named else list(variables)
    )
    return Template(id=template, variables=values, sender=sender)


@click.command()
@recipients_options
@content_options
@client_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Send to the valid numbers and report the invalid ones as rejected, instead of "
    "sending nothing.",
)
@click.option(
    "--journal",
    metavar="FILE",
    help="Run as a campaign through a SQLite journal (same as 'smsbridge campaign start').",
)
@click.option(
    "--report",
    metavar="FILE",
    help="Run as a campaign, writing one line per recipient (.jsonl or .csv).",
)
@click.option("--bulk", is_flag=True, help="Run as a campaign without a journal file.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Campaigns: on resume, send again to recipients whose outcome is unknown.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help="Campaigns: progress on stderr (a bar on a terminal).",
)
@verbosity
@click.pass_context
def send(  # noqa: PLR0917 - click passes every option by keyword
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
    as_json: bool,
    skip_invalid: bool,
    journal: str | None,
    report: str | None,
    bulk: bool,
    resend_unknown: bool,
    progress: bool,
) -> None:
    """Send one text (or template) to every recipient and print a report.

    Every recipient is checked first: if any is invalid, nothing is sent (unless
    --skip-invalid). With --journal, --report or --bulk it runs as a campaign (see
    'smsbridge campaign start').
    """
    if journal or report or bulk:
        from smsbridge.cli.campaign import run_campaign

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
    if resend_unknown:
        from smsbridge.cli._errors import CliError

        raise CliError("--resend-unknown applies to campaigns: give --journal FILE")
    recipients = collect_recipients(ctx, to, to_file, column)
    message = message_from(text, template, variables, sender, flash)
    with make_client(
        ctx, url, region, max_segments, concurrency=concurrency, rate=rate, timeout=timeout
    ) as client:
        result = client.send(message, recipients, skip_invalid=skip_invalid)  # type: ignore[arg-type]
    print_report(result, as_json)
    ctx.exit(exit_code(result))
