"""``python -m smsbridge_melipayamak.emulator``: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from smsbridge.testing.server import PortInUseError

from ._server import Emulator
from ._state import Account, EmulatorState

__all__ = ["DEMO_LINE", "build_parser", "build_state", "main"]

DEMO_LINE = "50004001234567"
"""The demo account's private line; every account the command line adds gets it too."""


def _account(value: str) -> tuple[str, str]:
    username, sep, password = value.partition(":")
    if not sep or not username or not password:
        msg = f"expected USER:PASSWORD, got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return username, password


def _pattern(value: str) -> tuple[int | None, str]:
    body_id, sep, body = value.partition("=")
    if sep and body_id.strip().isdigit():
        return int(body_id), body
    if not value:
        msg = "expected [BODY_ID=]TEXT, with {0}, {1}... for the variables"
        raise argparse.ArgumentTypeError(msg)
    return None, value


def build_parser(prog: str = "python -m smsbridge_melipayamak.emulator") -> argparse.ArgumentParser:
    """The command line, shared with the provider's ``smsbridge-melipayamak emulator``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local emulator of Melipayamak's Send.asmx SOAP service and REST API.",
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
        "--pattern",
        action="append",
        type=_pattern,
        default=[],
        metavar="[BODY_ID=]TEXT",
        help="register an approved pattern with {0}, {1}... placeholders (repeatable); "
        "without BODY_ID the next free one is taken",
    )
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
                service_line=demo.service_line,
            )
        )
    for account in state.accounts.values():
        account.lines.update(args.line)
        if args.credit is not None:
            account.credit = args.credit
    if args.delivery_delay is not None:
        state.delivery_delay = args.delivery_delay
    for body_id, body in args.pattern:
        state.add_pattern(body, body_id)
    return state


def main(
    argv: Sequence[str] | None = None, prog: str = "python -m smsbridge_melipayamak.emulator"
) -> int:
    """Serve until interrupted. The first line printed ends with the endpoint URL (scripts
    read the port from it), the second is a provider URL ready for ``smsbridge send --url``,
    the fourth the same over the REST API; then one line per pattern. A port in use is one
    line on stderr and exit status 1."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    emulator = Emulator(build_state(args), host=args.host, port=args.port)
    try:
        emulator.start()
    except OSError as exc:
        # One line, no traceback: PortInUseError says what to do; others name the address.
        reason = str(exc)
        if not isinstance(exc, PortInUseError):
            reason = f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        print(f"{parser.prog}: error: {reason}", file=sys.stderr)
        return 1
    username = args.account[0][0] if args.account else "demo"
    print(f"emulator listening on {emulator.url}", flush=True)
    print(f"provider URL: {emulator.provider_url(username, DEMO_LINE)}", flush=True)
    print(f"admin endpoints: {emulator.admin_url}", flush=True)
    rest = emulator.provider_url(username, DEMO_LINE, api="rest")
    print(f"provider URL (REST): {rest}", flush=True)
    for pattern in sorted(emulator.state.patterns.values(), key=lambda p: p.body_id):
        print(f"pattern {pattern.body_id}: {pattern.body!r}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
