"""``python -m smsbridge_kavenegar.emulator``: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from smsbridge.testing.server import PortInUseError

from ._server import Emulator
from ._state import Account, EmulatorState

__all__ = ["DEFAULT_PORT", "build_parser", "build_state", "main"]

DEFAULT_PORT = 8090
PROG = "python -m smsbridge_kavenegar.emulator"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line, shared with the provider's ``smsbridge-kavenegar emulator``."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Run a local emulator of Kavenegar's REST API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to bind, 0 for any free one (default %(default)s)",
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="API_KEY",
        help="add an account with this API key (repeatable); it gets the demo's lines, "
        "templates and the --credit",
    )
    parser.add_argument(
        "--line", action="append", default=[], metavar="NUMBER", help="add a sender line"
    )
    parser.add_argument("--credit", type=int, metavar="RIALS", help="credit of every account")
    parser.add_argument(
        "--delivery-delay", type=float, help="seconds until a message counts as delivered"
    )
    return parser


def build_state(args: argparse.Namespace) -> EmulatorState:
    """The demo state with the command-line options applied."""
    state = EmulatorState.demo()
    demo = next(iter(state.accounts.values()))
    for number, key in enumerate(args.key, 1):
        state.add_account(
            Account(
                name=f"account{number}",
                api_key=key,
                credit=demo.credit,
                lines=demo.lines.copy(),
                default_line=demo.default_line,
                tags=demo.tags.copy(),
                templates=demo.templates.copy(),
            )
        )
    for account in state.accounts.values():
        account.lines.update(args.line)
        if args.credit is not None:
            account.credit = args.credit
    if args.delivery_delay is not None:
        state.delivery_delay = args.delivery_delay
        state.operator_delay = min(state.operator_delay, args.delivery_delay / 2)
    return state


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Serve until interrupted. The first line printed ends with the base URL (scripts read the
    port from it), the second is a provider URL ready for ``smsbridge send --url`` (with the
    emulator's demo key, which is no secret). A port in use is one line on stderr, exit 1."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    emulator = Emulator(build_state(args), host=args.host, port=args.port)
    try:
        emulator.start()
    except OSError as exc:
        reason = str(exc)
        if not isinstance(exc, PortInUseError):
            reason = f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        print(f"{parser.prog}: error: {reason}", file=sys.stderr)
        return 1
    name = "account1" if args.key else "demo"
    print(f"emulator listening on {emulator.url}", flush=True)
    print(f"provider URL: {emulator.provider_url(name)}", flush=True)
    print(f"admin endpoints: {emulator.admin_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
