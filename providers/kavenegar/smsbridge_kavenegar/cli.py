"""``smsbridge-kavenegar``: run the emulator, or a demo send against it.

- ``smsbridge-kavenegar emulator [--port N ...]`` runs the local emulator of the REST API
  (port 8090 by default).
- ``smsbridge-kavenegar demo`` starts the emulator on a free port of 127.0.0.1, sends a Persian
  message to a few numbers through ``kavenegar://`` (sms/send), an OTP through verify/lookup,
  prints the reports, each message's delivery status and the balance in rials, and stops.
  Nothing leaves 127.0.0.1; no account is needed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final, TextIO

from smsbridge.cli import stderr_logging

__all__ = ["DEMO_NUMBERS", "DEMO_OTP", "DEMO_TEXT", "main", "run_demo"]

DEMO_TEXT: Final = "سلام! این یک پیامک آزمایشی از smsbridge است."
DEMO_NUMBERS: Final = ("09121234567", "+989351234567", "0098 913 123 4567", "09901234567")
DEMO_OTP: Final = "4821"
_UNREACHABLE: Final = "+989901234567"
"""The emulator never delivers to this one, so the demo shows a failed delivery too."""
_LINE: Final = "10004346"


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        print(("  " + line).rstrip(), file=out)
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths), file=out)


def run_demo(out: TextIO = sys.stdout) -> int:
    """The ``demo`` command; returns the exit status, 0 when every recipient was accepted."""
    import smsbridge
    from smsbridge_kavenegar.emulator import Emulator, EmulatorState

    state = EmulatorState.demo()
    # Deliveries complete one emulated minute after sending; the demo moves the clock.
    state.operator_delay, state.delivery_delay = 1.0, 60.0
    state.unreachable = {_UNREACHABLE}
    with Emulator(state) as emulator:
        print(f"Kavenegar emulator listening on {emulator.url}", file=out)
        print(f"Provider URL: kavenegar://********@/?from={_LINE}", file=out)
        print(f"\nSending to {len(DEMO_NUMBERS)} numbers through sms/send:", file=out)
        print(f"  | {DEMO_TEXT}\n", file=out)
        with smsbridge.Client(emulator.provider_url(), autoload_plugins=True) as client:
            report = client.send(DEMO_TEXT, list(DEMO_NUMBERS))
            rows = [["#", "input", "recipient", "status", "message id", "segments"]]
            for n, (given, result) in enumerate(zip(DEMO_NUMBERS, report, strict=True), 1):
                rows.append(
                    [
                        str(n),
                        given,
                        result.recipient,
                        result.status.value,
                        result.message_id or "-",
                        str(result.segments),
                    ]
                )
            _table(rows, out)
            print(
                f"\nSummary: {report.accepted} accepted, {report.rejected} rejected, "
                f"{report.unknown} unknown, of {len(report)} recipients",
                file=out,
            )
            otp = client.send(
                smsbridge.Template(id="verify", variables={"token": DEMO_OTP}), [DEMO_NUMBERS[0]]
            )
            (sent,) = state.sent_to(DEMO_NUMBERS[0])[-1:]
            print(f"\nOTP through verify/lookup (template 'verify', token {DEMO_OTP}):", file=out)
            print(f"  {otp[0].recipient}  {otp[0].status.value}  id {otp[0].message_id}", file=out)
            print(f"  | {sent.text}", file=out)
            ids = [*report.message_ids, *otp.message_ids]
            for label, advance in (("right after sending", 0.0), ("a minute later", 60.0)):
                state.advance(advance)
                print(f"\nDelivery status {label} (sms/status):", file=out)
                rows = [["message id", "status", "kavenegar status"]]
                for delivery in client.delivery_status(ids):
                    code = f"{delivery.provider_code} ({delivery.provider_text})"
                    rows.append([delivery.message_id, delivery.status.value, code])
                _table(rows, out)
            balance = client.balance()
            print(f"\nBalance (account/info): {balance.amount:,.0f} {balance.unit}", file=out)
    return 0 if report.all_accepted and otp.all_accepted else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsbridge-kavenegar",
        description="Kavenegar provider tools: a local emulator and a demo send.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "emulator",
        help="run the local emulator of the REST API (options: see 'emulator --help')",
        add_help=False,
    )
    demo = commands.add_parser("demo", help="send through a temporary emulator")
    demo.add_argument("-v", "--verbose", action="store_true", help="show smsbridge's logs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``smsbridge-kavenegar`` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["emulator"]:
        # The emulator owns its options; hand them over untouched.
        from smsbridge_kavenegar.emulator.__main__ import main as emulator_main

        return emulator_main(args[1:], prog="smsbridge-kavenegar emulator")
    parsed = _parser().parse_args(args)
    if parsed.command == "demo":
        # The core CLI's own stderr view of the log events: WARNING, or INFO with -v.
        with stderr_logging(1 if parsed.verbose else 0):
            return run_demo()
    return 2  # pragma: no cover - argparse already refused anything else


if __name__ == "__main__":
    sys.exit(main())
