"""The Melipayamak emulator in the inbox: its sends shown, its delivery statuses followed, and
the inbox's chaos answered the way Send.asmx refuses (a SendSms return code, or a lost reply).

Needs the Melipayamak provider (``pip install -e providers/melipayamak``). Either let the
inbox run the emulator::

    emulator = host(inbox_server)          # listed on the page, stopped with the inbox

or connect an emulator you run yourself, in this process or another one::

    bridge = MelipayamakBridge(emulator, HttpReporter("http://127.0.0.1:8090/")).start()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from lxml import etree
from smsbridge_melipayamak.emulator import DeliveryCode, Emulator, EmulatorState, SendCode

from smsbridge.exceptions import ErrorCategory
from smsbridge.inbox._bridge import Attempt, EmulatorBridge
from smsbridge.inbox._model import MessageStatus
from smsbridge.inbox._reporter import Reporter, StoreReporter
from smsbridge.inbox._server import InboxServer
from smsbridge.testing.server import Fault, FaultKind, Reply, Request

__all__ = ["PROVIDER", "MelipayamakBridge", "host"]

PROVIDER: Final = "melipayamak"
_SOAP: Final = "http://schemas.xmlsoap.org/soap/envelope/"
_TNS: Final = "http://tempuri.org/"
# The SendSms code Send.asmx answers for each refusal chaos can ask for (docs/emulator.md).
_CODES: Final = {
    ErrorCategory.AUTHENTICATION: SendCode.WRONG_CREDENTIALS,
    ErrorCategory.INSUFFICIENT_CREDIT: SendCode.NO_CREDIT,
    ErrorCategory.RATE_LIMITED: SendCode.DAILY_LIMIT,
    ErrorCategory.SENDER_REJECTED: SendCode.INVALID_SENDER,
    ErrorCategory.PROVIDER_UNAVAILABLE: SendCode.MAINTENANCE,
    ErrorCategory.CONTENT_REJECTED: SendCode.FILTERED_WORD,
    ErrorCategory.ACCOUNT_RESTRICTED: SendCode.INACTIVE,
    ErrorCategory.RECIPIENT_REJECTED: SendCode.NOT_SENT,
}
_DELIVERY: Final = {
    DeliveryCode.SENT_TO_TELECOM: MessageStatus.PENDING,
    DeliveryCode.REACHED_TELECOM: MessageStatus.PENDING,
    DeliveryCode.DELIVERED: MessageStatus.DELIVERED,
    DeliveryCode.NOT_DELIVERED: MessageStatus.FAILED,
}
# Replies are read after the emulator accepted the request; still, never a DTD or the network.
_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _envelope(code: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{_SOAP}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
        f'<SendSmsResponse xmlns="{_TNS}"><SendSmsResult>{code}</SendSmsResult>'
        "</SendSmsResponse></soap:Body></soap:Envelope>"
    ).encode()


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(f"{{{_TNS}}}{name}")


def _operation(body: bytes, name: str) -> etree._Element:
    root = etree.fromstring(body, _PARSER)
    found = root.find(f"{{{_SOAP}}}Body/{{{_TNS}}}{name}")
    if found is None:
        raise ValueError(f"no {name} element")
    return found


class MelipayamakBridge(EmulatorBridge):
    """Connects a :class:`smsbridge_melipayamak.emulator.Emulator` to an inbox.

    :param emulator: the emulator (started or not).
    :param reporter: where to report; see :class:`~smsbridge.inbox.EmulatorBridge`.
    """

    provider = PROVIDER
    send_operations = frozenset({"SendSms"})

    def __init__(self, emulator: Emulator, reporter: Reporter, *, poll: float = 0.25) -> None:
        super().__init__(emulator.server, reporter, poll=poll)
        self.emulator = emulator

    def attempts(self, request: Request) -> Sequence[Attempt]:
        """The ``to`` items of a SendSms call, each with its text, line and flash flag."""
        call = _operation(request.body, "SendSms")

        def text(name: str) -> str:
            element = _child(call, name)
            return "" if element is None or element.text is None else element.text

        to = _child(call, "to")
        numbers = (
            [] if to is None else [item.text or "" for item in to if isinstance(item.tag, str)]
        )
        flash = text("isflash").strip() in {"true", "1"}
        return [
            Attempt(
                recipient=number,  # the reporter normalises 0912…/98912… to E.164
                text=text("text"),
                sender=text("from") or None,
                flash=flash,
                udh=text("udh") or None,
            )
            for number in numbers
        ]

    def _result(self, reply: Reply) -> tuple[int | None, list[str]]:
        try:
            response = _operation(reply.body, "SendSmsResponse")
        except (ValueError, etree.XMLSyntaxError):
            return None, []
        result = _child(response, "SendSmsResult")
        ids = _child(response, "recId")
        code = (
            None if result is None or not (result.text or "").isdigit() else int(result.text or 0)
        )
        rec_ids = [] if ids is None else [(item.text or "0") for item in ids]
        return code, rec_ids

    def refused(self, reply: Reply) -> str | None:
        """``melipayamak code N`` for a SendSms result other than 1 (nothing was sent)."""
        code, _ = self._result(reply)
        if code is None or code == SendCode.OK:
            return None
        return f"{PROVIDER} code {code}"

    def accepted(self, attempts: Sequence[Attempt], reply: Reply) -> Sequence[str | None]:
        """The recId of each recipient; 0 (an invalid number) is a refusal."""
        _, rec_ids = self._result(reply)
        return [None if rec_id in {"", "0"} else rec_id for rec_id in rec_ids]

    def refusal(self, category: ErrorCategory) -> Fault:
        """A SendSms reply with the code for ``category``; a dropped reply for a lost one."""
        if category is ErrorCategory.OUTCOME_UNKNOWN:
            return Fault(kind=FaultKind.DROP, name="inbox_chaos_drop")
        code = _CODES.get(category, SendCode.NOT_SENT)
        return Fault(
            kind=FaultKind.STATUS,
            name=f"inbox_chaos_{category.value}",
            status=200,
            body=_envelope(int(code)),
            content_type="text/xml; charset=utf-8",
            detail=f"SendSms code {int(code)}",
        )

    def delivery(self, message_id: str) -> MessageStatus | None:
        """The emulator's GetDeliveries2 answer for the id, as an inbox status."""
        try:
            code = DeliveryCode(self.emulator.state.delivery(message_id))
        except ValueError:
            return None
        return _DELIVERY.get(code)


def host(
    server: InboxServer,
    *,
    state: EmulatorState | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Emulator:
    """Run a Melipayamak emulator for ``server``: started, reporting to its store, listed on its
    page, and stopped with it.

    :raises smsbridge.testing.server.PortInUseError: when ``port`` is taken.
    """
    emulator = Emulator(state, host=host, port=port)
    bridge = MelipayamakBridge(emulator, StoreReporter(server.store))
    bridge.start()
    try:
        emulator.start()
    except BaseException:
        bridge.stop()
        raise

    def stop() -> None:
        bridge.stop()
        emulator.stop()

    server.host_service(PROVIDER, emulator.url, stop)
    return emulator
