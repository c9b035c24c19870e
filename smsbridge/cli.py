"""The ``smsbridge`` command: send SMS, list the providers, count segments.

Only click is imported at the top, so ``smsbridge --help`` stays fast; the client and the
plugins are imported inside the commands that need them. The exit statuses are the
``EXIT_*`` constants below (documented in docs/cli.md). A user error prints one line on stderr,
``smsbridge: error: ...``, never a traceback; the provider URL is never echoed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import click

if TYPE_CHECKING:
    from smsbridge._client import Client
    from smsbridge._models import SendReport
    from smsbridge.exceptions import InvalidRecipientError, SmsBridgeError

__all__ = [
    "EXIT_CONFIGURATION",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID_INPUT",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROVIDER_FAILURE",
    "EXIT_UNEXPECTED",
    "CliError",
    "ConfigError",
    "ProviderFailure",
    "UnexpectedError",
    "cli",
    "main",
    "stderr_logging",
]

EXIT_OK: Final = 0
"""Every recipient was accepted."""
EXIT_UNEXPECTED: Final = 1
"""A bug or an unforeseen failure (``--debug`` shows the traceback)."""
EXIT_INVALID_INPUT: Final = 2
"""Bad numbers, bad text, a malformed ``--to-file``, a usage error; nothing was sent."""
EXIT_CONFIGURATION: Final = 3
"""No provider URL, a bad or unknown one, missing credentials, a broken plugin."""
EXIT_PARTIAL: Final = 4
"""Some recipients were accepted, others rejected or of unknown outcome."""
EXIT_PROVIDER_FAILURE: Final = 5
"""No recipient was accepted."""
EXIT_INTERRUPTED: Final = 130
"""Ctrl-C (the shell's 128 + SIGINT); a journaled send resumes when run again."""

_PROG: Final = "smsbridge"
_SECRETS: Final = "smsbridge.secrets"  # ctx.meta key: strings to scrub from error lines
_SHOWN_PROBLEMS: Final = 20


class CliError(click.ClickException):
    """A user error: one line on stderr and exit status 2 (invalid input)."""

    exit_code = EXIT_INVALID_INPUT


class ConfigError(CliError):
    """The provider configuration is missing or wrong: exit status 3."""

    exit_code = EXIT_CONFIGURATION


class ProviderFailure(CliError):
    """A provider error escaped the report (e.g. from a hook): exit status 5."""

    exit_code = EXIT_PROVIDER_FAILURE


class UnexpectedError(CliError):
    """A bug or an unforeseen failure, shown in one line unless ``--debug``: exit status 1."""

    exit_code = EXIT_UNEXPECTED


class _Settings(NamedTuple):
    verbose: int
    debug: bool


def _one_line(message: str) -> str:
    return f"{_PROG}: error: " + " ".join(message.split())


class _Group(click.Group):
    """Turns every error into one stderr line and an exit status, in one place."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            value = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = value if isinstance(value, int) else EXIT_OK
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(_one_line(exc.format_message() + hint), err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            click.echo(_one_line(exc.format_message()), err=True)
            code = exc.exit_code
        except click.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):
                click.echo(_one_line("interrupted"), err=True)
                code = EXIT_INTERRUPTED
            else:
                click.echo(_one_line("aborted"), err=True)
                code = EXIT_UNEXPECTED
        except BrokenPipeError:
            # The reader went away (`smsbridge send ... | head`): say nothing, and point stdout
            # at devnull so the interpreter's final flush does not complain either.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = EXIT_UNEXPECTED
        if not standalone_mode:
            return code
        sys.exit(code)

    def invoke(self, ctx: click.Context) -> Any:
        from smsbridge.exceptions import (
            ConfigurationError,
            InvalidInputError,
            InvalidRecipientError,
            ProviderError,
            SmsBridgeError,
        )

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise BrokenPipeError(*exc.args) from exc
            self._unexpected(ctx, exc)
            raise
        except InvalidRecipientError as exc:
            raise CliError(_describe_recipients(exc, ctx.meta.get(_ORIGINS))) from exc
        except SmsBridgeError as exc:
            kind: type[CliError] = UnexpectedError
            if isinstance(exc, InvalidInputError):
                kind = CliError
            elif isinstance(exc, ConfigurationError):
                kind = ConfigError
            elif isinstance(exc, ProviderError):
                kind = ProviderFailure
            raise kind(_scrub(ctx, _error_text(exc))) from exc
        except Exception as exc:
            import pluggy

            if isinstance(exc, pluggy.PluginValidationError):
                raise ConfigError(_scrub(ctx, f"plugin error: {exc}")) from exc
            self._unexpected(ctx, exc)
            raise

    @staticmethod
    def _unexpected(ctx: click.Context, exc: Exception) -> None:
        """Raise a one-line error for ``exc``, unless ``--debug`` wants the traceback."""
        settings = ctx.obj
        if isinstance(settings, _Settings) and settings.debug:
            return
        text = f"unexpected {type(exc).__name__}: {exc} (run '{_PROG} --debug ...' for details)"
        raise UnexpectedError(_scrub(ctx, text)) from exc


_ORIGINS: Final = "smsbridge.recipient_origins"  # ctx.meta key: where each recipient came from


def _scrub(ctx: click.Context, text: str) -> str:
    for secret in ctx.meta.get(_SECRETS, ()):
        text = text.replace(secret, "********")
    return text


def _error_text(exc: SmsBridgeError) -> str:
    return exc.message if exc.provider is None else f"{exc.provider}: {exc.message}"


def _describe_recipients(exc: InvalidRecipientError, origins: Sequence[str] | None) -> str:
    """The core's error, with each position named by where it came from (--to, file line)."""
    problems = exc.problems
    if not problems or not origins:
        return exc.message
    shown = "; ".join(
        f"{origins[p.index] if p.index < len(origins) else f'#{p.index}'} {p.raw!r}: {p.reason}"
        for p in problems[:_SHOWN_PROBLEMS]
    )
    more = len(problems) - _SHOWN_PROBLEMS
    noun = "recipient" if len(problems) == 1 else "recipients"
    return f"{len(problems)} invalid {noun}: {shown}" + (f" (and {more} more)" if more > 0 else "")


@contextlib.contextmanager
def stderr_logging(verbose: int) -> Iterator[None]:
    """Show smsbridge's log events on stderr (WARNING, -v INFO, -vv DEBUG); undo it afterwards.

    For command-line applications (this one, a provider's own command). It attaches a handler
    to the ``smsbridge`` logger only; the library itself never configures logging. Lines are
    ``2026-12-01T10:00:00 warning sms_batch_failed provider=... batch=0``, and never carry
    a traceback.
    """
    import logging

    level = (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # sys.stderr is looked up per record, so a replaced stream (tests) is honoured.
            try:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
                sys.stderr.write(f"{stamp} {record.levelname.lower()} {record.getMessage()}\n")
            except Exception:  # pragma: no cover - logging must never break the command
                self.handleError(record)

    logger = logging.getLogger("smsbridge")
    handler = Handler(level)
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Show library logs on stderr (-vv: debug).")
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
@click.version_option(package_name="smsbridge", prog_name=_PROG)
@click.pass_context
def cli(ctx: click.Context, verbose: int, debug: bool) -> None:
    """Send SMS through any smsbridge provider (see docs/cli.md)."""
    ctx.obj = _Settings(verbose=verbose, debug=debug)
    ctx.with_resource(stderr_logging(verbose))


# -- send ------------------------------------------------------------------------------------


def _numbers_from_file(path: str, column: str | None) -> Iterator[tuple[str, str]]:
    """``(number, origin)`` for each recipient of ``--to-file`` (see smsbridge.sources)."""
    from smsbridge.exceptions import InvalidInputError
    from smsbridge.sources import read_numbers

    try:
        yield from read_numbers(path, column=column)
    except InvalidInputError as exc:
        raise CliError(f"--to-file {exc.message}") from exc


def _collect_recipients(
    ctx: click.Context, to: Sequence[str], to_file: str | None, column: str | None
) -> list[str]:
    """Every recipient, ``--to`` first, then ``--to-file``; where each came from goes in meta."""
    numbers = list(to)
    origins = [f"--to #{i}" for i in range(1, len(to) + 1)]
    if to_file is not None:
        before = len(numbers)
        for number, origin in _numbers_from_file(to_file, column):
            numbers.append(number)
            origins.append(origin)
        if len(numbers) == before:
            raise CliError(f"--to-file {to_file}: the file holds no phone numbers")
    if not numbers:
        raise CliError("no recipients: give --to NUMBER or --to-file FILE")
    ctx.meta[_ORIGINS] = origins
    return numbers


def _read_text(text: str | None) -> str:
    """``--text``, or the text on stdin when it is absent or ``-`` (one final newline dropped)."""
    if text is not None and text != "-":
        return text
    stream = sys.stdin
    if stream is None or (text is None and stream.isatty()):
        raise CliError("no text: give --text TEXT or pipe the text on stdin")
    try:
        value = stream.buffer.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError("the text on stdin is not UTF-8") from None
    return value.removesuffix("\n").removesuffix("\r")


def _secrets_of(url: str) -> list[str]:
    """The URL's password (and the URL holding it), to scrub from any error line."""
    from urllib.parse import unquote, urlsplit

    try:
        password: str | None = urlsplit(url).password
    except ValueError:
        # Unparseable: the whole URL is the only thing known to hold the password, if any.
        return [url]
    if not password:
        return []
    return sorted({url, password, unquote(password)}, key=len, reverse=True)


def _make_client(
    ctx: click.Context,
    url: str | None,
    region: str | None,
    max_segments: int | None,
    *,
    concurrency: int | None = None,
    rate: float | None = None,
) -> Client:
    if url is None or not url.strip():
        raise ConfigError(
            "no provider configured: give --url URL or set SMSBRIDGE_URL (e.g. fake://)"
        )
    ctx.meta[_SECRETS] = _secrets_of(url)
    if region is not None:
        import phonenumbers

        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise CliError(f"--region {region!r} is not a known region code such as IR or DE")
    from smsbridge._client import Client

    return Client(
        url.strip(),
        region=region,
        max_segments=max_segments,
        concurrency=concurrency,
        rate_limit=rate,
    )


def _exit_code(report: SendReport) -> int:
    if report.all_accepted:
        return EXIT_OK
    return EXIT_PARTIAL if report.accepted else EXIT_PROVIDER_FAILURE


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]


def _print_report(report: SendReport, as_json: bool) -> None:
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    rows = []
    for position, result in enumerate(report, 1):
        error = result.error
        rows.append(
            [
                str(position),
                result.recipient,
                result.status.value,
                str(result.segments),
                result.message_id or "-",
                "" if error is None else f"{error.category.value}: {error.message}",
            ]
        )
    for line in _table(["#", "RECIPIENT", "STATUS", "SEGMENTS", "MESSAGE ID", "ERROR"], rows):
        click.echo(line)
    click.echo(
        f"{len(report)} recipients: {report.accepted} accepted, "
        f"{report.rejected} rejected, {report.unknown} unknown"
    )


@cli.command()
@click.option("--to", "to", multiple=True, metavar="NUMBER", help="A recipient; repeatable.")
@click.option(
    "--to-file",
    metavar="FILE",
    help="A file of recipients, one a line; blank lines and # comments are skipped.",
)
@click.option(
    "--column",
    metavar="NAME|INDEX",
    help="Read --to-file as CSV and take the numbers from this column (header name or 0-based "
    "index); a .csv file without --column is read by its first column.",
)
@click.option("--text", metavar="TEXT", help="The message; read from stdin when absent or '-'.")
@click.option("--from", "sender", metavar="SENDER", help="The sender line or name.")
@click.option("--flash", is_flag=True, help="Send as a flash message.")
@click.option(
    "--url",
    envvar="SMSBRIDGE_URL",
    metavar="URL",
    help="Provider URL such as fake://; defaults to $SMSBRIDGE_URL (safer for passwords).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--region", metavar="CC", help="How local numbers are read (default IR).")
@click.option(
    "--max-segments",
    type=click.IntRange(min=1),
    metavar="N",
    help="Refuse texts longer than N parts (default 10).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    help="Provider requests of this send that may run at once (default 4).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="R",
    help="At most R provider requests per second.",
)
@click.option(
    "--journal",
    metavar="FILE",
    help="Stream through a SQLite journal; run again with the same FILE to resume.",
)
@click.option(
    "--report",
    metavar="FILE",
    help="Write one line per recipient as outcomes arrive (.jsonl or .csv); streams.",
)
@click.option("--bulk", is_flag=True, help="Stream without a journal (implied by the two above).")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="In a streamed send, report invalid numbers as rejected instead of stopping.",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="On resume, send again to recipients whose outcome is unknown (your decision).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help="Show progress on stderr in a streamed send (a bar on a terminal).",
)
@click.pass_context
def send(  # noqa: PLR0917 - click passes every option by keyword
    ctx: click.Context,
    to: tuple[str, ...],
    to_file: str | None,
    column: str | None,
    text: str | None,
    sender: str | None,
    flash: bool,
    url: str | None,
    as_json: bool,
    region: str | None,
    max_segments: int | None,
    concurrency: int | None,
    rate: float | None,
    journal: str | None,
    report: str | None,
    bulk: bool,
    skip_invalid: bool,
    resend_unknown: bool,
    progress: bool,
) -> None:
    """Send one text to every recipient and print a report.

    With --journal, --report or --bulk the recipients are streamed (memory stays flat for any
    file size) and a summary is printed instead of a row per recipient.
    """
    if journal or report or bulk:
        ctx.exit(
            _send_streamed(
                ctx,
                to=to,
                to_file=to_file,
                column=column,
                text=text,
                send_options={"sender": sender, "flash": flash},
                client_options={
                    "url": url,
                    "region": region,
                    "max_segments": max_segments,
                    "concurrency": concurrency,
                    "rate": rate,
                },
                journal=journal,
                report=report,
                skip_invalid=skip_invalid,
                resend_unknown=resend_unknown,
                progress=progress and not as_json,
                as_json=as_json,
            )
        )
    recipients = _collect_recipients(ctx, to, to_file, column)
    body = _read_text(text)
    with _make_client(ctx, url, region, max_segments, concurrency=concurrency, rate=rate) as client:
        report_ = client.send(body, recipients, sender=sender, flash=flash)
    _print_report(report_, as_json)
    ctx.exit(_exit_code(report_))


def _send_streamed(
    ctx: click.Context,
    *,
    to: tuple[str, ...],
    to_file: str | None,
    column: str | None,
    text: str | None,
    send_options: dict[str, object],
    client_options: dict[str, Any],
    journal: str | None,
    report: str | None,
    skip_invalid: bool,
    resend_unknown: bool,
    progress: bool,
    as_json: bool,
) -> int:
    from smsbridge import _cli_bulk

    def numbers() -> Iterator[tuple[str, str]]:
        yield from ((n, f"--to #{i}") for i, n in enumerate(to, 1))
        if to_file is not None:
            yield from _numbers_from_file(to_file, column)

    if not to and to_file is None:
        raise CliError("no recipients: give --to NUMBER or --to-file FILE")
    body = _read_text(text)
    client = _make_client(ctx, **client_options)
    with client, _resume_hint(journal):
        if not skip_invalid:
            _cli_bulk.validate_numbers(numbers(), client.region)
        first = next(iter(numbers()), None)
        if first is None:
            raise CliError(f"--to-file {to_file}: the file holds no phone numbers")
        summary = _cli_bulk.run_bulk_send(
            client,
            body,
            (number for number, _ in numbers()),
            journal=journal,
            report=report,
            resend_unknown=resend_unknown,
            progress=progress,
            as_json=as_json,
            send_options=send_options,
        )
    totals = summary.totals
    return _cli_bulk.exit_code_for(
        totals.accepted, totals.total, EXIT_OK, EXIT_PARTIAL, EXIT_PROVIDER_FAILURE
    )


@contextlib.contextmanager
def _resume_hint(journal: str | None) -> Iterator[None]:
    """On Ctrl-C, say how to go on before the one-line ``interrupted``."""
    try:
        yield
    except KeyboardInterrupt:
        if journal:
            click.echo(
                f"{_PROG}: stopped; run the same command again to resume from {journal} "
                f"(requests in flight are listed by '{_PROG} journal {journal} --unknown')",
                err=True,
            )
        raise


@cli.command()
@click.argument("path", metavar="JOURNAL")
@click.option("--unknown", "only_unknown", is_flag=True, help="List rows of unknown outcome.")
@click.option(
    "--delivery",
    is_flag=True,
    help="Ask the provider (--url) for the delivery status of every accepted message.",
)
@click.option(
    "--url",
    envvar="SMSBRIDGE_URL",
    metavar="URL",
    help="Provider URL for --delivery; defaults to $SMSBRIDGE_URL.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON output (one object a line).")
@click.pass_context
def journal(  # noqa: PLR0917 - click passes every option by keyword
    ctx: click.Context,
    path: str,
    only_unknown: bool,
    delivery: bool,
    url: str | None,
    as_json: bool,
) -> None:
    """Show a bulk send's journal: totals, the rows to reconcile (--unknown), or delivery."""
    from smsbridge import _cli_bulk

    if delivery:
        with _make_client(ctx, url, None, None) as client:
            _cli_bulk.print_deliveries(client, path, as_json)
        return
    _cli_bulk.print_journal(path, only_unknown, as_json)


# -- providers, segments ---------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
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
    fields = ["max_batch_size", "flash", "udh", "delivery_status", "unicode"]
    rows = [[scheme, name, *(_yes_no(caps[f]) for f in fields)] for scheme, name, caps in found]
    headers = ["SCHEME", "CLASS", "BATCH", "FLASH", "UDH", "DELIVERY STATUS", "UNICODE"]
    for line in _table(headers, rows):
        click.echo(line)


def _yes_no(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@cli.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def segments(text: str | None, as_json: bool) -> None:
    """Show how TEXT would be sent: encoding, units and SMS parts (stdin when absent or '-')."""
    from smsbridge.segments import count_segments

    counted = count_segments(_read_text(text))
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


def main(argv: Sequence[str] | None = None) -> None:
    """The console script ``smsbridge``."""
    cli.main(args=argv, prog_name=_PROG)
