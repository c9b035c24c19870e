"""``python -m smsbridge_melipayamak.emulator``: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from ._server import Emulator
from ._state import Account, EmulatorState

__all__ = ["build_parser", "build_state", "main"]


def _account(value: str) -> tuple[str, str]:
    username, sep, password = value.partition(":")
    if not sep or not username or not password:
        msg = f"expected USER:PASSWORD, got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return username, password


def build_parser() -> argparse.ArgumentParser:
    """The command line, shared with the provider's ``smsbridge-melipayamak emulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m smsbridge_melipayamak.emulator",
        description="Run a local emulator of Melipayamak's Send.asmx SOAP service.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=8089,
        help="port to bind, 0 for any free one (default %(default)s)",
    )
    parser.add_argument(
        "--account",
        action="append",
        type=_account,
        default=[],
        metavar="USER:PASSWORD",
        help="add an account (repeatable); it gets every --line and the --credit",
    )
    parser.add_argument(
        "--line", action="append", default=[], metavar="NUMBER", help="add a private sender line"
    )
    parser.add_argument("--credit", type=float, help="credit of every account")
    parser.add_argument(
        "--delivery-delay", type=float, help="seconds until a message counts as delivered"
    )
    return parser


def build_state(args: argparse.Namespace) -> EmulatorState:
    """The demo state with the command-line options applied."""
    state = EmulatorState.demo()
    demo = state.accounts["demo"]
    for username, password in args.account:
        state.add_account(
            Account(
                username=username,
                password=password,
                credit=demo.credit,
                lines=demo.lines.copy(),
                daily_limit=demo.daily_limit,
            )
        )
    for account in state.accounts.values():
        account.lines.update(args.line)
        if args.credit is not None:
            account.credit = args.credit
    if args.delivery_delay is not None:
        state.delivery_delay = args.delivery_delay
    return state


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; print the endpoint URL first so scripts can read the port."""
    args = build_parser().parse_args(argv)
    emulator = Emulator(build_state(args), host=args.host, port=args.port)
    emulator.start()
    print(f"emulator listening on {emulator.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
