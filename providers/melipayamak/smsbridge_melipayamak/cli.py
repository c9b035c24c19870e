"""``smsbridge-melipayamak``: run the emulator, or a demo send against it.

- ``smsbridge-melipayamak emulator [--port N ...]`` runs the local Send.asmx emulator.
- ``smsbridge-melipayamak demo`` starts the emulator on a free port of 127.0.0.1, sends a
  Persian message to a few numbers through ``melipayamak://`` over SOAP, prints the report and
  each message's delivery status, then sends a one-time code through an approved pattern (the
  shared service line) over SOAP and over the REST API, prints the text the handset shows and
  the credit left, and stops. Nothing leaves 127.0.0.1; no account is needed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Literal, TextIO

from smsbridge.cli import stderr_logging

if TYPE_CHECKING:
    from smsbridge_melipayamak.emulator import Emulator

__all__ = ["DEMO_CODE", "DEMO_NUMBERS", "DEMO_TEXT", "main", "run_demo"]

DEMO_TEXT: Final = "سلام! این یک پیامک آزمایشی از smsbridge است.\nلغو11"
DEMO_NUMBERS: Final = ("09121234567", "+989351234567", "0098 913 123 4567", "09901234567")
_UNREACHABLE: Final = "09901234567"
"""The emulator never delivers to this one, so the demo shows a failed delivery too."""
_SENDER: Final = "50004001234567"
DEMO_CODE: Final = "4821"
"""The one-time code the demo sends through the emulator's OTP pattern."""


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
    from smsbridge_melipayamak.emulator import Emulator, EmulatorState

    state = EmulatorState.demo()
    # Deliveries complete one emulated minute after sending; the demo moves the clock.
    state.delivery_delay = 60.0
    state.unreachable = {_UNREACHABLE}
    with Emulator(state) as emulator:
        url = f"melipayamak://demo:demo-password@/?from={_SENDER}&endpoint={emulator.url}"
        print(f"Melipayamak emulator listening on {emulator.url}", file=out)
        print("Provider URL: melipayamak://demo:********@/?from=" + _SENDER, file=out)
        print(f"\nSending to {len(DEMO_NUMBERS)} numbers over SOAP SendSms:", file=out)
        for line in DEMO_TEXT.splitlines():
            print(f"  | {line}", file=out)
        print(file=out)
        with smsbridge.Client(url, autoload_plugins=True) as client:
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
            ids = report.message_ids
            for label, advance in (("right after sending", 0.0), ("a minute later", 60.0)):
                state.advance(advance)
                print(f"\nDelivery status {label} (GetDeliveries):", file=out)
                rows = [["message id", "status", "melipayamak code"]]
                for delivery in client.delivery_status(ids):
                    code = f"{delivery.provider_code} ({delivery.provider_text})"
                    rows.append([delivery.message_id, delivery.status.value, code])
                _table(rows, out)
        otp = _send_otp(emulator, out)
    return 0 if report.all_accepted and otp else 1


def _send_otp(emulator: Emulator, out: TextIO) -> bool:
    """The OTP part of the demo: a pattern send over each API, the text the handset shows,
    and the credit left. True when both were accepted."""
    import smsbridge
    from smsbridge_melipayamak.emulator import DEMO_PATTERN

    pattern = emulator.state.patterns[DEMO_PATTERN]
    template = smsbridge.Template(id=str(DEMO_PATTERN), variables=[DEMO_CODE])
    print(
        f"\nSending the one-time code {DEMO_CODE} through pattern {DEMO_PATTERN}, on the shared "
        "service line\n(it reaches numbers on the advertising blacklist; a private line does not):",
        file=out,
    )
    print(f"  | {pattern.body}", file=out)
    rows = [["api", "operation", "recipient", "status", "message id"]]
    accepted = True
    apis: tuple[tuple[Literal["soap", "rest"], str], ...] = (
        ("soap", "SendByBaseNumber2"),
        ("rest", "BaseServiceNumber"),
    )
    for api, operation in apis:
        with smsbridge.Client(emulator.provider_url(api=api), autoload_plugins=True) as client:
            (result,) = client.send(template, [DEMO_NUMBERS[0]])
        accepted = accepted and result.accepted
        rows.append(
            [api, operation, result.recipient, result.status.value, result.message_id or "-"]
        )
    print(file=out)
    _table(rows, out)
    sent = emulator.state.sent[-1]
    print(f"\nThe handset of {result.recipient} shows, from line {sent.sender}:", file=out)
    for line in sent.text.splitlines():
        print(f"  | {line}", file=out)
    with smsbridge.Client(emulator.provider_url(), autoload_plugins=True) as client:
        credit = client.balance()
    print(f"\nCredit left (GetCredit): {credit.amount:,.0f} {credit.unit}", file=out)
    return accepted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsbridge-melipayamak",
        description="Melipayamak provider tools: a local emulator and a demo send.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "emulator",
        help="run the local Send.asmx emulator (options: see 'emulator --help')",
        add_help=False,
    )
    demo = commands.add_parser(
        "demo", help="send a Persian message and an OTP pattern through a temporary emulator"
    )
    demo.add_argument("-v", "--verbose", action="store_true", help="show smsbridge's logs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``smsbridge-melipayamak`` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["emulator"]:
        # The emulator owns its options; hand them over untouched.
        from smsbridge_melipayamak.emulator.__main__ import main as emulator_main

        return emulator_main(args[1:], prog="smsbridge-melipayamak emulator")
    parsed = _parser().parse_args(args)
    if parsed.command == "demo":
        # The core CLI's own stderr view of the log events: WARNING, or INFO with -v.
        with stderr_logging(1 if parsed.verbose else 0):
            return run_demo()
    return 2  # pragma: no cover - argparse already refused anything else


if __name__ == "__main__":
    sys.exit(main())
