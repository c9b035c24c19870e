"""``smsbridge inbox``: the local SMS inbox in the browser (docs/inbox.md)."""

from __future__ import annotations

import contextlib
import errno
import importlib
import shlex
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final

import click

from smsbridge.cli._app import verbosity
from smsbridge.cli._errors import CliError, ConfigError

if TYPE_CHECKING:
    from smsbridge.inbox import InboxServer

__all__ = ["inbox"]


def _templates(values: Sequence[str]) -> list[tuple[str, str]]:
    found = []
    for value in values:
        template_id, equals, body = value.partition("=")
        if not equals or not template_id:
            raise CliError(f"--template {value!r}: write ID=BODY, e.g. otp='Your code is {{0}}'")
        found.append((template_id, body))
    return found


Hosting = Callable[["InboxServer"], str]
"""Starts one emulator for the inbox and answers its ready-to-use provider URL."""


_HOSTED: Final = {"melipayamak": "Melipayamak", "kavenegar": "Kavenegar"}
"""The emulators the inbox can run, by provider: each has ``smsbridge.inbox.<name>.host``."""


def _hosting(provider: str, host: str, port: int) -> Hosting:
    """How to start a hosted emulator, checked before anything starts: a provider that is not
    installed is refused here, in one line."""
    title = _HOSTED[provider]
    try:
        module = importlib.import_module(f"smsbridge.inbox.{provider}")
    except ImportError:
        raise ConfigError(
            f"--{provider}-port needs the {title} provider (smsbridge-{provider}), which is not "
            f"installed: pip install -e providers/{provider}"
        ) from None

    def start(server: InboxServer) -> str:
        try:
            emulator = module.host(server, host=host, port=port)
        except OSError as exc:
            raise ConfigError(f"the {title} emulator cannot listen: {exc}") from None
        url: str = emulator.provider_url()
        return url

    return start


def _announce(
    server: InboxServer, token: str | None, emulators: Sequence[tuple[str, Hosting]]
) -> None:
    """Print where the inbox is and how to send to it (starting the emulators asked for)."""
    store = server.store
    click.echo(f"smsbridge inbox on {server.url}")
    click.echo(f"store: {store.path}")
    click.echo(f"send with: SMSBRIDGE_URL={shlex.quote(f'fake://?inbox={store.path}')}")
    for name, start in emulators:
        click.echo(f"{name} emulator: SMSBRIDGE_URL={shlex.quote(start(server))}")
    if token:
        click.echo("token required: open the page once as /?token=TOKEN")


@contextlib.contextmanager
def _until_stopped() -> Iterator[threading.Event]:
    """An event set by SIGTERM (Ctrl-C arrives as KeyboardInterrupt)."""
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8090,
    show_default=True,
    help="Port to listen on (0 picks a free one; the printed URL shows it).",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The shared SQLite store; default $SMSBRIDGE_INBOX, else ~/.local/state/smsbridge/.",
)
@click.option(
    "--token",
    envvar="SMSBRIDGE_INBOX_TOKEN",
    metavar="TOKEN",
    help="Require this token for the API and the page (needed off loopback); "
    "default $SMSBRIDGE_INBOX_TOKEN.",
)
@click.option(
    "--delivery-delay",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="S",
    help="Seconds until a fake message shows delivered.",
)
@click.option(
    "--max-messages",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    metavar="N",
    help="Keep only the newest N messages.",
)
@click.option(
    "--template",
    "templates",
    multiple=True,
    metavar="ID=BODY",
    help="Register a template body ({0} or {name} placeholders), so template sends show "
    "rendered. Repeatable.",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Another name the page may be opened under (without a token, only loopback names).",
)
@click.option(
    "--melipayamak-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Also run a Melipayamak emulator on PORT (0: a free one) whose sends show here and "
    "obey the chaos armed here (needs the Melipayamak provider).",
)
@click.option(
    "--kavenegar-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Also run a Kavenegar emulator on PORT (0: a free one) whose sends show here and "
    "obey the chaos armed here (needs the Kavenegar provider).",
)
@verbosity
def inbox(  # noqa: PLR0917 - click passes every option by keyword
    host: str,
    port: int,
    store_path: Path | None,
    token: str | None,
    delivery_delay: float,
    max_messages: int,
    templates: Sequence[str],
    allowed_hosts: Sequence[str],
    melipayamak_port: int | None,
    kavenegar_port: int | None,
) -> None:
    """Serve a local SMS inbox: every message sent through fake://?inbox=..., live."""
    from smsbridge.inbox import InboxServer, default_store_path, open_store

    pairs = _templates(templates)
    # A provider that is not installed is refused before anything starts or prints.
    emulators: list[tuple[str, Hosting]] = []
    if melipayamak_port is not None:
        emulators.append(("melipayamak", _hosting("melipayamak", host, melipayamak_port)))
    if kavenegar_port is not None:
        emulators.append(("kavenegar", _hosting("kavenegar", host, kavenegar_port)))
    if store_path is None:
        store_path = default_store_path()
        store_path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(store_path)
    for template_id, body in pairs:
        store.add_template(template_id, body)
    server = InboxServer(
        store,
        host=host,
        port=port,
        token=token,
        delivery_delay=delivery_delay,
        max_messages=max_messages,
        allowed_hosts=allowed_hosts,
    )
    try:
        server.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is in use: give --port N (0 picks a free one)"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # Signals are handled from here on: a SIGTERM or Ctrl-C right after the URL is printed
    # (a script that only wanted the port) is a clean stop too.
    with _until_stopped() as stop:
        try:
            _announce(server, token, emulators)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    click.echo("inbox stopped", err=True)
