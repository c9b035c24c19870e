"""``smsbridge balance``: the account's credit, in the provider's unit."""

from __future__ import annotations

import click

from smsbridge.cli._app import POSITIVE, make_client, verbosity

__all__ = ["balance"]


@click.command()
@click.option(
    "--url",
    envvar="SMSBRIDGE_URL",
    metavar="URL",
    help="Provider URL; defaults to $SMSBRIDGE_URL.",
)
@click.option(
    "--timeout",
    type=POSITIVE,
    metavar="S",
    help="Seconds the request may take in all (default 30).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@verbosity
@click.pass_context
def balance(ctx: click.Context, url: str | None, timeout: float | None, as_json: bool) -> None:
    """Show the account's credit (messages or rials, as the provider counts it)."""
    with make_client(ctx, url, None, None, timeout=timeout) as client:
        credit = client.balance()
    if as_json:
        import json

        click.echo(json.dumps(credit.to_dict()))
        return
    amount = (
        f"{credit.amount:,.0f}" if credit.amount == int(credit.amount) else f"{credit.amount:,}"
    )
    click.echo(f"{credit.provider}: {amount} {credit.unit}")
