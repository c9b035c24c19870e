"""The command group and what every command shares: error mapping, the client, inputs.

Only click is imported at the top, so ``smsbridge --help`` stays fast; the client and the
plugins are imported inside the commands that need them. A user error prints one line on
stderr, ``smsbridge: error: ...``, never a traceback; the provider URL is never echoed, and its
password is scrubbed from every error line.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

import click

from smsbridge.cli._errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    PROG,
    CliError,
    ConfigError,
    JournalFailure,
    ProviderFailure,
    UnexpectedError,
    one_line,
)
from smsbridge.cli._logging import LogSwitch

if TYPE_CHECKING:
    from smsbridge._client import Client
    from smsbridge.exceptions import InvalidRecipientError, SmsBridgeError

__all__ = [
    "ORIGINS",
    "POSITIVE",
    "Group",
    "Settings",
    "client_options",
    "collect_recipients",
    "describe_recipients",
    "make_client",
    "numbers_from_file",
    "read_text",
    "table",
    "verbosity",
]

SECRETS: Final = "smsbridge.secrets"  # ctx.meta key: strings to scrub from error lines
ORIGINS: Final = "smsbridge.recipient_origins"  # ctx.meta key: where each recipient came from
F = TypeVar("F", bound=Callable[..., Any])


class _Positive(click.FloatRange):
    """A number above zero. click's range lets ``nan`` through (it compares false with both
    bounds), and ``inf`` is no limit at all: both are usage errors here, like ``0``."""

    name = "positive number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


POSITIVE: Final = _Positive(min=0, min_open=True)
"""A finite number above zero (--rate, --timeout)."""


class Settings(NamedTuple):
    """The global options."""

    verbose: int
    debug: bool
    logs: LogSwitch | None


class Group(click.Group):
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
            click.echo(one_line(exc.format_message() + hint), err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            click.echo(one_line(exc.format_message()), err=True)
            code = exc.exit_code
        except click.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):
                click.echo(one_line("interrupted"), err=True)
                code = EXIT_INTERRUPTED
            else:
                click.echo(one_line("aborted"), err=True)
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
            JournalError,
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
            raise CliError(scrub(ctx, describe_recipients(exc, ctx.meta.get(ORIGINS)))) from exc
        except SmsBridgeError as exc:
            kind: type[CliError] = UnexpectedError
            if isinstance(exc, JournalError):
                kind = JournalFailure
            elif isinstance(exc, InvalidInputError):
                kind = CliError
            elif isinstance(exc, ConfigurationError):
                kind = ConfigError
            elif isinstance(exc, ProviderError):
                kind = ProviderFailure
            raise kind(scrub(ctx, _error_text(exc))) from exc
        except Exception as exc:
            self._unexpected(ctx, exc)
            raise

    @staticmethod
    def _unexpected(ctx: click.Context, exc: Exception) -> None:
        """Raise a one-line error for ``exc``, unless ``--debug`` wants the traceback."""
        settings = ctx.obj
        if isinstance(settings, Settings) and settings.debug:
            return
        text = f"unexpected {type(exc).__name__}: {exc} (run '{PROG} --debug ...' for details)"
        raise UnexpectedError(scrub(ctx, text)) from exc


def scrub(ctx: click.Context, text: str) -> str:
    """``text`` without any secret of the URL the command was given, in any spelling (the
    library's own redactor: the same rule as its logs and errors)."""
    from smsbridge._redact import Redactor

    return Redactor(ctx.meta.get(SECRETS, ())).scrub(text)


def _error_text(exc: SmsBridgeError) -> str:
    return exc.message if exc.provider is None else f"{exc.provider}: {exc.message}"


def describe_recipients(exc: InvalidRecipientError, origins: Sequence[str] | None) -> str:
    """The core's error, each position named by where it came from (``--to #2``, a file line)."""
    from smsbridge.exceptions import describe_problems

    if not exc.problems or not origins:
        return exc.message

    def origin(index: int) -> str:
        if index < len(origins):
            return origins[index]
        return exc.origins.get(index, f"#{index}")

    return describe_problems(exc.problems, exc.total, origin)


def verbosity(function: F) -> F:
    """A subcommand's own ``-v``: ``smsbridge send -v`` works like ``smsbridge -v send``."""

    def raise_level(ctx: click.Context, _param: click.Parameter, value: int) -> int:
        settings = ctx.find_object(Settings)
        if value and settings is not None and settings.logs is not None:
            settings.logs.raise_to(value)
        return value

    return click.option(
        "-v",
        "--verbose",
        "_verbose",
        count=True,
        expose_value=False,
        callback=raise_level,
        help="Show library logs on stderr (-vv: debug).",
    )(function)


_RETRIES = "smsbridge.retries"


def _keep_retries(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    if value is not None:
        ctx.meta[_RETRIES] = value


def client_options(function: F) -> F:
    """``--url``, ``--region``, ``--max-segments``, ``--concurrency``, ``--rate``, ``--timeout``."""
    options = [
        click.option(
            "--url",
            envvar="SMSBRIDGE_URL",
            metavar="URL",
            multiple=True,
            help="Provider URL such as fake://; defaults to $SMSBRIDGE_URL (safer for passwords). "
            "Give it again for failover: providers are tried in order (SMSBRIDGE_URL: several, "
            "separated by spaces).",
        ),
        click.option("--region", metavar="CC", help="How local numbers are read (default IR)."),
        click.option(
            "--max-segments",
            type=click.IntRange(min=1),
            metavar="N",
            help="Refuse texts longer than N parts (default 10).",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1),
            metavar="N",
            help="Provider requests of this send that may run at once (default 4).",
        ),
        click.option(
            "--rate",
            type=POSITIVE,
            metavar="R",
            help="At most R provider requests per second.",
        ),
        click.option(
            "--timeout",
            type=POSITIVE,
            metavar="S",
            help="Seconds one provider request may take in all (default 30).",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0, max=19),
            metavar="N",
            expose_value=False,
            callback=_keep_retries,
            help="Tries again of a provider that did not send for a retryable cause (default 2; "
            "never for an outcome that may have been sent).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _secrets_of(url: str) -> list[str]:
    """The URL's password (and the URL holding it), to scrub from any error line."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    from smsbridge.config import looks_secret

    try:
        parts = urlsplit(url)
        password: str | None = parts.password
        username = parts.username
        query = parse_qsl(parts.query)
    except ValueError:
        # Unparseable: the whole URL is the only thing known to hold the password, if any.
        return [url]
    found = {value for key, value in query if looks_secret(key) and value}
    if password:
        found |= {password, unquote(password)}
    if username and not password and parts.scheme == "kavenegar":  # the key is the user part
        found |= {username, unquote(username)}
    if not found:
        return []
    return sorted({url, *found}, key=len, reverse=True)


def make_client(
    ctx: click.Context,
    url: str | Sequence[str] | None,
    region: str | None,
    max_segments: int | None,
    *,
    concurrency: int | None = None,
    rate: float | None = None,
    timeout: float | None = None,
) -> Client:
    """The client for ``--url`` (one, or several for failover), with the URLs' secrets
    registered for scrubbing."""
    urls = [url] if isinstance(url, str) else list(url or ())
    urls = [part for given in urls for part in given.split()]
    if not urls:
        raise ConfigError(
            "no provider configured: give --url URL or set SMSBRIDGE_URL (e.g. fake://)"
        )
    ctx.meta[SECRETS] = sorted(
        {secret for one in urls for secret in _secrets_of(one)}, key=len, reverse=True
    )
    if region is not None:
        import phonenumbers

        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise CliError(f"--region {region!r} is not a known region code such as IR or DE")
    from smsbridge._client import Client
    from smsbridge._engine._failover import Retry

    retries = ctx.meta.get(_RETRIES)
    return Client(
        urls[0] if len(urls) == 1 else urls,
        region=region,
        max_segments=max_segments,
        concurrency=concurrency,
        rate_limit=rate,
        timeout=timeout,
        retry=None if retries is None else Retry(attempts=retries + 1),
    )


def numbers_from_file(path: str, column: str | None) -> Iterator[tuple[str, str]]:
    """``(number, origin)`` for each recipient of ``--to-file`` (see smsbridge.sources)."""
    from smsbridge.exceptions import InvalidInputError
    from smsbridge.sources import read_numbers

    try:
        yield from read_numbers(path, column=column)
    except InvalidInputError as exc:
        raise CliError(f"--to-file {exc.message}") from exc


def collect_recipients(
    ctx: click.Context, to: Sequence[str], to_file: str | None, column: str | None
) -> list[str]:
    """Every recipient, ``--to`` first, then ``--to-file``; where each came from goes in meta."""
    numbers = list(to)
    origins = [f"--to #{i}" for i in range(1, len(to) + 1)]
    if to_file is not None:
        before = len(numbers)
        for number, origin in numbers_from_file(to_file, column):
            numbers.append(number)
            origins.append(origin)
        if len(numbers) == before:
            raise CliError(f"--to-file {to_file}: the file holds no phone numbers")
    if not numbers:
        raise CliError("no recipients: give --to NUMBER or --to-file FILE")
    ctx.meta[ORIGINS] = origins
    return numbers


def read_text(text: str | None) -> str:
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


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
