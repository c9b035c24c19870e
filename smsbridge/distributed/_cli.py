"""``smsbridge campaign start --engine celery``: create a campaign for the workers, then follow it.

The recipients are read and written to the Postgres journal here, and their batches enqueued;
the workers send. The progress and summary are read from the journal, as they are for a local
campaign.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from smsbridge.cli._errors import PROG, CliError, ConfigError

if TYPE_CHECKING:
    from smsbridge._client import Client

__all__ = ["ENGINES", "run_distributed"]

ENGINES = ("local", "celery")
"""The values of ``--engine``: ``local`` sends from this process (the SQLite journal)."""


def run_distributed(
    ctx: click.Context,
    *,
    engine: str,
    celery_app: str | None,
    journal: str | None,
    recipients: object,
    message: Callable[[], object],
    make_client: Callable[[], Client] | None,
    resend_unknown: bool,
    skip_invalid: bool,
    wait: bool,
    progress: Any,
    print_summary: Callable[[Any, bool], None],
    as_json: bool,
) -> int:
    """Create (or resume) the campaign on ``engine`` and, with ``wait``, follow it to the end;
    returns the exit status."""
    from smsbridge.cli.campaign import _exit_code
    from smsbridge.exceptions import InvalidRecipientError
    from smsbridge.journal._postgres import is_postgres_url, redacted, split_journal_url

    if engine != "celery":  # pragma: no cover - click's Choice keeps other values out
        raise CliError(f"--engine {engine}: not a known engine")
    if journal is None or not is_postgres_url(journal) or split_journal_url(journal)[1] is None:
        raise CliError(
            "--engine celery needs --journal postgresql://…?campaign=NAME (the workers share it)"
        )
    if celery_app is None:
        raise ConfigError(
            "--engine celery needs --celery-app MODULE:ATTRIBUTE (your CeleryCampaigns, or the "
            "Celery app it was registered on), or SMSBRIDGE_CELERY_APP"
        )
    from smsbridge.distributed.celery import load

    # As `celery -A` does: the application's module is found from the current folder.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    campaigns = load(celery_app)
    body = message()
    client = make_client() if make_client is not None else campaigns.client()
    with client:
        try:
            report = campaigns.create(
                journal,
                body,  # type: ignore[arg-type]
                recipients,  # type: ignore[arg-type]
                client=client,
                resend_unknown=resend_unknown,
                skip_invalid=skip_invalid,
            )
        except InvalidRecipientError as error:
            raise CliError(
                f"{error.message} (nothing was sent; use --skip-invalid to send to the rest "
                "and report these as rejected)"
            ) from error
    shown = redacted(journal)
    if report.rows == 0:
        raise CliError("no phone numbers: the recipients hold none")
    if not wait:
        click.echo(
            f"campaign {report.campaign}: {report.rows} recipients, {report.batches} batches "
            f"enqueued" + (" (resumed)" if report.resumed else "")
        )
        click.echo(f"follow it with: {PROG} journal '{shown}'", err=True)
        return 0
    from smsbridge.distributed import CampaignHandle

    with CampaignHandle(journal) as handle, progress as bar:
        summary = handle.wait(on_progress=bar.update)
    summary = type(summary)(
        totals=summary.totals,
        elapsed=summary.elapsed,
        resumed=report.resumed,
        lost_in_flight=summary.lost_in_flight,
        journal=None,
        reasons=summary.reasons,
    )
    print_summary(summary, as_json)
    if summary.totals.unknown and not as_json:
        click.echo(
            f"{summary.totals.unknown} recipients have an unknown outcome and were not re-sent; "
            f"list them with: {PROG} journal '{shown}' --unknown",
            err=True,
        )
    return _exit_code(summary.totals.accepted, summary.totals.total)
