"""``smsbridge segments``: how a text would be sent (encoding, units, SMS parts)."""

from __future__ import annotations

import click

from smsbridge.cli._app import read_text, verbosity

__all__ = ["segments"]


@click.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@verbosity
def segments(text: str | None, as_json: bool) -> None:
    """Show how TEXT would be sent: encoding, units and SMS parts (stdin when absent or '-').

    An empty or invisible text is refused, as a send would refuse it.
    """
    from smsbridge._models import check_text
    from smsbridge.segments import count_segments

    counted = count_segments(check_text(read_text(text)))
    fields = {
        "encoding": counted.encoding,
        "units": counted.units,
        "segments": counted.segments,
        "per_segment": counted.per_segment,
        "remaining": counted.remaining,
    }
    if as_json:
        import json

        click.echo(json.dumps(fields))
        return
    for name, value in fields.items():
        click.echo(f"{name.replace('_', ' ')}: {value}")
