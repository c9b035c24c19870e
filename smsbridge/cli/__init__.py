"""The ``smsbridge`` command: send, run campaigns, read journals, list providers, count parts.

One module per command (``send``, ``campaign``, ``journal``, ``providers``, ``segments``,
``balance``); the shared machinery (error mapping, client, inputs) is in ``_app``. The exit
statuses are the ``EXIT_*`` constants (documented in docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from smsbridge.cli._app import Group, Settings
from smsbridge.cli._errors import (
    EXIT_CONFIGURATION,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_JOURNAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROVIDER_FAILURE,
    EXIT_UNEXPECTED,
    PROG,
    CliError,
    ConfigError,
    JournalFailure,
    ProviderFailure,
    UnexpectedError,
)
from smsbridge.cli._logging import stderr_logging
from smsbridge.cli.balance import balance
from smsbridge.cli.campaign import campaign
from smsbridge.cli.inbox import inbox
from smsbridge.cli.journal import journal
from smsbridge.cli.providers import providers
from smsbridge.cli.segments import segments
from smsbridge.cli.send import send

__all__ = [
    "EXIT_CONFIGURATION",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID_INPUT",
    "EXIT_JOURNAL",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROVIDER_FAILURE",
    "EXIT_UNEXPECTED",
    "CliError",
    "ConfigError",
    "JournalFailure",
    "ProviderFailure",
    "UnexpectedError",
    "cli",
    "main",
    "stderr_logging",
]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Show library logs on stderr (-vv: debug).")
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
@click.version_option(package_name="smsbridge", prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, verbose: int, debug: bool) -> None:
    """Send SMS through any smsbridge provider (see docs/cli.md)."""
    logs = ctx.with_resource(stderr_logging(verbose))
    ctx.obj = Settings(verbose=verbose, debug=debug, logs=logs)


for _command in (send, campaign, journal, providers, segments, balance, inbox):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script ``smsbridge``."""
    import gc

    # This process is the command's own, so it may tune its collector (the library never
    # does: an application owns its interpreter). A campaign makes millions of short-lived
    # objects and no reference cycles to speak of; collecting every 700 of them cost a tenth
    # of its time. The objects of the imports are frozen out of every collection.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    cli.main(args=argv, prog_name=PROG)
