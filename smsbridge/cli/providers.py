"""``smsbridge providers``: the installed providers and what each can do."""

from __future__ import annotations

import click

from smsbridge.cli._app import table, verbosity

__all__ = ["providers"]

_FIELDS = (
    ("max_batch_size", "BATCH"),
    ("flash", "FLASH"),
    ("udh", "UDH"),
    ("delivery_status", "DELIVERY STATUS"),
    ("unicode", "UNICODE"),
    ("templates", "TEMPLATES"),
    ("balance", "BALANCE"),
)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "no"
    if isinstance(value, dict):
        return str(value.get("variables", "yes"))
    return str(value)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@verbosity
def providers(as_json: bool) -> None:
    """List the providers that are installed, with what they can do."""
    import attrs

    from smsbridge._plugins import PluginHost

    found = [
        (scheme, f"{cls.__module__}.{cls.__qualname__}", attrs.asdict(cls.capabilities))
        for scheme, cls in sorted(PluginHost().provider_classes().items())
    ]
    if as_json:
        import json

        listed = [{"scheme": s, "class": c, "capabilities": caps} for s, c, caps in found]
        click.echo(json.dumps({"providers": listed}, ensure_ascii=False))
        return
    rows = [[scheme, name, *(_shown(caps[f]) for f, _ in _FIELDS)] for scheme, name, caps in found]
    for line in table(["SCHEME", "CLASS", *(label for _, label in _FIELDS)], rows):
        click.echo(line)
