"""The Melipayamak emulator in the inbox: its sends shown (SOAP ``SendSms`` and the pattern send
``SendByBaseNumber2``, REST ``SendSMS`` and ``BaseServiceNumber``), its delivery statuses
followed, and the inbox's chaos answered the way each operation refuses (its return code, or a
lost reply).

Needs the Melipayamak provider (``pip install -e providers/melipayamak``). Either let the
inbox run the emulator::

    emulator = host(inbox_server)          # listed on the page, stopped with the inbox

or connect an emulator you run yourself, in this process or another one::

    bridge = MelipayamakBridge(emulator, HttpReporter("http://127.0.0.1:8090/")).start()
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import parse_qsl

import attrs
from lxml import etree
from smsbridge_melipayamak.emulator import (
    DeliveryCode,
    Emulator,
    EmulatorState,
    PatternCode,
    SendCode,
)

from smsbridge.exceptions import ErrorCategory
from smsbridge.inbox._bridge import Attempt, EmulatorBridge, host_bridged
from smsbridge.inbox._model import MessageStatus
from smsbridge.inbox._reporter import Reporter, StoreReporter
from smsbridge.inbox._server import InboxServer
from smsbridge.testing.server import Fault, FaultKind, Reply, Request

__all__ = ["PROVIDER", "MelipayamakBridge", "host"]

PROVIDER: Final = "melipayamak"
SEND_SMS: Final = "SendSms"
PATTERN: Final = "SendByBaseNumber2"
REST_SEND: Final = "rest/SendSMS"
REST_PATTERN: Final = "rest/BaseServiceNumber"
_SOAP: Final = "http://schemas.xmlsoap.org/soap/envelope/"
_TNS: Final = "http://tempuri.org/"
# The code each operation answers for each refusal chaos can ask for (docs/inbox.md). SendSms
# and REST SendSMS share the SendSms table; pattern sends have their own codes, and fall back
# on the account codes they share with SendSms (0, 2, 11), as the client reads them.
_CODES: Final[Mapping[ErrorCategory, int]] = {
    ErrorCategory.AUTHENTICATION: SendCode.WRONG_CREDENTIALS,
    ErrorCategory.INSUFFICIENT_CREDIT: SendCode.NO_CREDIT,
    ErrorCategory.RATE_LIMITED: SendCode.DAILY_LIMIT,
    ErrorCategory.SENDER_REJECTED: SendCode.INVALID_SENDER,
    ErrorCategory.PROVIDER_UNAVAILABLE: SendCode.MAINTENANCE,
    ErrorCategory.CONTENT_REJECTED: SendCode.FILTERED_WORD,
    ErrorCategory.ACCOUNT_RESTRICTED: SendCode.INACTIVE,
    ErrorCategory.RECIPIENT_REJECTED: SendCode.NOT_SENT,
}
_PATTERN_CODES: Final[Mapping[ErrorCategory, int]] = {
    ErrorCategory.AUTHENTICATION: PatternCode.WRONG_CREDENTIALS,
    ErrorCategory.INSUFFICIENT_CREDIT: PatternCode.NO_CREDIT,
    ErrorCategory.RATE_LIMITED: PatternCode.HOURLY_LIMIT,
    ErrorCategory.SENDER_REJECTED: PatternCode.SENDER_ERROR,
    ErrorCategory.PROVIDER_UNAVAILABLE: PatternCode.INTERNAL_ERROR,
    ErrorCategory.CONTENT_REJECTED: PatternCode.FORBIDDEN_VARIABLE,
    ErrorCategory.ACCOUNT_RESTRICTED: PatternCode.NO_ACCESS,
    ErrorCategory.RECIPIENT_REJECTED: PatternCode.NOT_SENT,
}
_DELIVERY: Final = {
    DeliveryCode.SENT_TO_TELECOM: MessageStatus.PENDING,
    DeliveryCode.REACHED_TELECOM: MessageStatus.PENDING,
    DeliveryCode.DELIVERED: MessageStatus.DELIVERED,
    DeliveryCode.NOT_DELIVERED: MessageStatus.FAILED,
}
_MAX_CODE_DIGITS: Final = 3
"""Where one text holds "a recId or a code" (pattern sends, REST), a code has at most this
many digits; a recId has 15 to 19."""
_JSON: Final = "application/json; charset=utf-8"
_XML: Final = "text/xml; charset=utf-8"
# Replies are read after the emulator accepted the request; still, never a DTD or the network.
_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _envelope(operation: str, result: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{_SOAP}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
        f'<{operation}Response xmlns="{_TNS}"><{operation}Result>{result}</{operation}Result>'
        f"</{operation}Response></soap:Body></soap:Envelope>"
    ).encode()


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(f"{{{_TNS}}}{name}")


def _operation(body: bytes, name: str) -> etree._Element:
    root = etree.fromstring(body, _PARSER)
    found = root.find(f"{{{_SOAP}}}Body/{{{_TNS}}}{name}")
    if found is None:
        raise ValueError(f"no {name} element")
    return found


def _text(parent: etree._Element, name: str) -> str:
    element = _child(parent, name)
    return "" if element is None or element.text is None else element.text


def _form(request: Request) -> dict[str, str]:
    """A REST request's fields by lower-cased name (form-encoded or JSON, as the emulator
    takes them)."""
    if request.media_type == "application/json":
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {
            str(key).lower(): "" if value is None else str(value) for key, value in data.items()
        }
    pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
    return {name.lower(): value for name, value in pairs}


def _code(value: str) -> int | None:
    """The code in a "recId or code" text, None when it is an id (or neither)."""
    digits = value.strip().removeprefix("-")
    if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_CODE_DIGITS:
        return int(value)
    return None


def _rest_value(reply: Reply) -> tuple[str | None, object]:
    """A REST reply's ``Value`` (as text; None when absent or null) and its ``RetStatus``."""
    try:
        data = json.loads(reply.body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    value = data.get("Value")
    return (None if value is None else str(value)), data.get("RetStatus")


class MelipayamakBridge(EmulatorBridge):
    """Connects a :class:`smsbridge_melipayamak.emulator.Emulator` to an inbox.

    :param emulator: the emulator (started or not).
    :param reporter: where to report; see :class:`~smsbridge.inbox.EmulatorBridge`.
    """

    provider = PROVIDER
    send_operations = frozenset({SEND_SMS, PATTERN, REST_SEND, REST_PATTERN})

    def __init__(self, emulator: Emulator, reporter: Reporter, *, poll: float = 0.25) -> None:
        super().__init__(emulator.server, reporter, poll=poll)
        self.emulator = emulator

    # -- requests ---------------------------------------------------------------------------

    def attempts(self, operation: str, request: Request) -> Sequence[Attempt]:
        """The recipients of a send, each with its text, line and flash flag; a pattern send's
        text is the pattern rendered with its variables."""
        if operation == SEND_SMS:
            call = _operation(request.body, SEND_SMS)
            to = _child(call, "to")
            numbers = [] if to is None else [i.text or "" for i in to if isinstance(i.tag, str)]
            return self._plain(
                numbers,
                _text(call, "text"),
                _text(call, "from"),
                flash=_text(call, "isflash").strip() in {"true", "1"},
                udh=_text(call, "udh"),
            )
        if operation == PATTERN:
            call = _operation(request.body, PATTERN)
            return [
                self._pattern(
                    _text(call, "username"),
                    _text(call, "to"),
                    _text(call, "text"),
                    _text(call, "bodyId"),
                )
            ]
        form = _form(request)
        if operation == REST_SEND:
            numbers = [number for number in form.get("to", "").split(",") if number.strip()]
            flash = form.get("isflash", "").strip().lower() in {"true", "1"}
            return self._plain(numbers, form.get("text", ""), form.get("from", ""), flash=flash)
        return [
            self._pattern(
                form.get("username", ""),
                form.get("to", ""),
                form.get("text", ""),
                form.get("bodyid", ""),
            )
        ]

    @staticmethod
    def _plain(
        numbers: Sequence[str], text: str, sender: str, *, flash: bool, udh: str = ""
    ) -> list[Attempt]:
        return [
            # The reporter normalises 0912…/98912… to E.164.
            Attempt(recipient=n, text=text, sender=sender or None, flash=flash, udh=udh or None)
            for n in numbers
        ]

    def _pattern(self, username: str, to: str, text: str, body_id: str) -> Attempt:
        """A pattern send as the handset would get it: rendered as the emulator renders it (the
        text of an accepted one is then taken from the emulator's state, see :meth:`shown`)."""
        state = self.emulator.state
        number = body_id.strip()
        pattern = state.patterns.get(int(number)) if number.isascii() and number.isdigit() else None
        values = text.split(";") if (pattern is not None and pattern.variables) or text else []
        account = state.accounts.get(username)
        return Attempt(
            recipient=to.strip(),
            text=pattern.render(values)
            if pattern is not None
            else f"[template {number}] " + " ".join(values),
            sender=None if account is None else account.service_line,
            template_id=number,
            variables=tuple(values),
        )

    # -- replies ----------------------------------------------------------------------------

    def _soap_result(self, operation: str, reply: Reply) -> tuple[str | None, list[str]]:
        """A SOAP reply's result text and (SendSms) recIds."""
        try:
            response = _operation(reply.body, f"{operation}Response")
        except (ValueError, etree.XMLSyntaxError):
            return None, []
        result = _child(response, f"{operation}Result")
        ids = _child(response, "recId")
        rec_ids = [] if ids is None else [(item.text or "0") for item in ids]
        return (None if result is None else (result.text or "")), rec_ids

    def refused(self, operation: str, reply: Reply) -> str | None:
        """``melipayamak code N`` for a reply that sent nothing: a SendSms result other than
        1, or a code where a pattern or REST send answers a recId."""
        if operation == SEND_SMS:
            result, _ = self._soap_result(operation, reply)
            if result is None or not result.isdigit() or int(result) == SendCode.OK:
                return None
            return f"{PROVIDER} code {int(result)}"
        if operation == PATTERN:
            result, _ = self._soap_result(operation, reply)
            code = None if result is None else _code(result)
        else:
            value, status = _rest_value(reply)
            if value is None:
                return None if status is None else f"{PROVIDER} RetStatus {status}"
            code = _code(value) if "," not in value else None
        return None if code is None else f"{PROVIDER} code {code}"

    def accepted(
        self, operation: str, attempts: Sequence[Attempt], reply: Reply
    ) -> Sequence[str | None]:
        """The recId of each recipient; 0 (an invalid number) is a refusal."""
        if operation in {SEND_SMS, PATTERN}:
            result, rec_ids = self._soap_result(operation, reply)
            if operation == PATTERN:
                rec_ids = [] if result is None else [result.strip()]
        else:
            value, _ = _rest_value(reply)
            rec_ids = [] if value is None else [item.strip() for item in value.split(",")]
        return [None if rec_id.strip("0") == "" else rec_id for rec_id in rec_ids]

    def shown(self, attempt: Attempt, message_id: str) -> Attempt:
        """The text (a pattern's rendered text), line and parts the emulator recorded."""
        message = self.emulator.state.message_by_id(message_id)
        if message is None:
            return attempt
        return attrs.evolve(
            attempt, text=message.text, sender=message.sender, segments=message.parts
        )

    def refusal(self, operation: str, category: ErrorCategory) -> Fault:
        """The operation's reply with the code for ``category``; a dropped reply for a lost
        one."""
        if category is ErrorCategory.OUTCOME_UNKNOWN:
            return Fault(kind=FaultKind.DROP, name="inbox_chaos_drop")
        pattern = operation in {PATTERN, REST_PATTERN}
        table = _PATTERN_CODES if pattern else _CODES
        code = int(table.get(category, table[ErrorCategory.RECIPIENT_REJECTED]))
        if operation.startswith("rest/"):
            # A REST call the service ran answers RetStatus 1 with the code in Value; wrong
            # credentials answer RetStatus 0 "InvalidUserPass".
            ok = category is not ErrorCategory.AUTHENTICATION
            value = {
                "Value": str(code),
                "RetStatus": int(ok),
                "StrRetStatus": "Ok" if ok else "InvalidUserPass",
            }
            body, media = json.dumps(value).encode(), _JSON
        else:
            body, media = _envelope(operation, str(code)), _XML
        return Fault(
            kind=FaultKind.STATUS,
            name=f"inbox_chaos_{category.value}",
            status=200,
            body=body,
            content_type=media,
            detail=f"{operation} code {code}",
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
    host_bridged(server, MelipayamakBridge(emulator, StoreReporter(server.store)), emulator)
    return emulator
