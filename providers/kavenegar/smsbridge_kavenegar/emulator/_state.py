"""Accounts, lines, templates, sent messages, and the rules that turn a call into a return code.

Every code the emulator answers with comes from here, so a test sets up *state* (a disabled
account, a restricted line, too little credit, a template not yet approved) instead of asking
for a magic string. The clock and the request log come from the test-server kit
(``smsbridge.testing.server``). The rules are the emulator's own reading of the REST
documentation, written apart from the provider so the two check each other.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from smsbridge.segments import count_segments
from smsbridge.testing.server import RequestRecord, ServiceState

__all__ = [
    "CODE_TEXT",
    "STATUS_TEXT",
    "Account",
    "Answer",
    "EmulatorState",
    "KavenegarTemplate",
    "SentMessage",
    "normalise_receptor",
]

MESSAGE_ID_BASE: Final = 100_000_000
LOCALID_WINDOW: Final = 12 * 3600
STATUS_WINDOW: Final = 48 * 3600
MAX_RECEPTORS: Final = 200
MAX_IDS: Final = 500
MAX_TEXT: Final = 900
MAX_TOKEN: Final = 100
TOKEN_SPACES: Final = {"token": 0, "token2": 0, "token3": 0, "token10": 5, "token20": 8}

CODE_TEXT: Final = {
    200: "تایید شد",
    400: "parameters incomplete",
    401: "account disabled",
    402: "operation failed",
    403: "API key not valid",
    404: "unknown method",
    405: "wrong method: use POST",
    406: "mandatory parameters are empty",
    407: "no access to this data or line",
    409: "the server cannot answer, try later",
    411: "receptor not valid",
    412: "sender not valid",
    413: "message empty or longer than 900 characters",
    414: "too many records in one call",
    415: "start index larger than the total",
    416: "source IP does not match the settings",
    417: "date not valid or in the past",
    418: "not enough credit",
    419: "array lengths differ",
    420: "links are restricted for this account",
    422: "invalid characters",
    424: "template not found or not approved",
    426: "this method needs the advanced service",
    427: "this line needs an access level",
    428: "a call is impossible: the token is not digits",
    429: "IP restricted",
    431: "bad token structure",
    432: "%token missing from the template",
    451: "too many calls; IP restricted",
    501: "test mode: only the account owner's number",
    607: "tag name not valid",
}
"""The ``return.message`` of each code (the service writes Persian; English here but 200)."""

STATUS_TEXT: Final = {
    1: "در صف ارسال",
    2: "زمان بندی شده",
    4: "ارسال شده به مخابرات",
    5: "ارسال شده به مخابرات",
    6: "خطا در ارسال پیام",
    10: "رسیده به گیرنده",
    11: "نرسیده به گیرنده",
    13: "ارسال پیام از سمت کاربر لغو شده یا در ارسال آن مشکلی پیش آمده که هزینه آن کسر نمیشود",
    14: "بلاک شده است، عدم تمایل گیرنده به دریافت پیامک از خطوط تبلیغاتی",
    100: "شناسه پیامک نامعتبر است",
}
"""``statustext`` of each message status."""

_IRAN: Final = re.compile(r"(?:\+98|0098|98|0)?(9\d{9})")
_ABROAD: Final = re.compile(r"(?:\+|00)([1-9]\d{7,14})")
_LINE: Final = re.compile(r"(?:\+98|0098)?(\d{4,20})")
_LINK: Final = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|ir|io)\b", re.IGNORECASE)
_PLACEHOLDER: Final = re.compile(r"%(token20|token10|token3|token2|token)")


def normalise_receptor(receptor: str) -> str | None:
    """E.164 for a mobile in any form the service takes (``0912...``, ``0098912...``,
    ``+98912...``, ``912...``, ``00`` + a foreign number); None when it is not one."""
    text = receptor.strip()
    if match := _IRAN.fullmatch(text):
        return "+98" + match.group(1)
    match = _ABROAD.fullmatch(text)
    # Iranian numbers that are not mobiles (landlines) cannot take an SMS.
    return None if match is None or match.group(1).startswith("98") else "+" + match.group(1)


def _display(e164: str) -> str:
    return "0" + e164[3:] if e164.startswith("+98") else "00" + e164[1:]


def _strings(value: Iterable[str]) -> set[str]:
    return set(value)


@attrs.frozen(kw_only=True)
class KavenegarTemplate:
    """A verify/lookup template: ``text`` holds ``%token``, ``%token2``... placeholders."""

    name: str
    text: str
    approved: bool = True


def _templates(
    value: Mapping[str, KavenegarTemplate] | Iterable[KavenegarTemplate],
) -> dict[str, KavenegarTemplate]:
    items = value.values() if isinstance(value, Mapping) else value
    return {template.name: template for template in items}


@attrs.define(kw_only=True)
class Account:
    """A panel account, reached by its API key. Each flag is a rule a call can break."""

    name: str
    api_key: str = attrs.field(repr=False)
    credit: int = 0
    """Rials."""
    active: bool = True
    """False: every call answers 401."""
    lines: set[str] = attrs.field(factory=set, converter=_strings)
    default_line: str | None = None
    """Sends without a sender go out from it (412 when there is none)."""
    restricted_lines: set[str] = attrs.field(factory=set, converter=_strings)
    """Lines that need an access level the account lacks (427)."""
    international: bool = False
    """Whether it may send abroad (407 otherwise: that needs a whitelisted IP)."""
    advanced: bool = True
    """The advanced service verify/lookup needs (426 otherwise)."""
    ip_allowed: bool = True
    """False: the caller's IP is not in the panel's settings (416)."""
    ip_blocked: bool = False
    """True: the caller's IP is restricted (429)."""
    links_allowed: bool = True
    """False: texts with links answer 420."""
    test_mode: bool = False
    """True: it may send to ``owner`` only (501)."""
    owner: str | None = None
    """The owner's mobile in E.164."""
    calls_per_minute: int | None = None
    """More calls within a minute answer 451."""
    tags: set[str] = attrs.field(factory=set, converter=_strings)
    templates: dict[str, KavenegarTemplate] = attrs.field(factory=dict, converter=_templates)
    kind: str = "master"


@attrs.frozen(kw_only=True)
class SentMessage:
    """One message the service took for one receptor."""

    message_id: int
    recipient: str
    """E.164."""
    sender: str
    text: str
    parts: int
    cost: int
    """Rials charged (0 for a blocked receptor: refunded)."""
    account: str
    """The account's name (never its key)."""
    sent_at: float
    localid: str | None = None
    template: str | None = None
    blocked: bool = False
    """The receptor refuses advertising lines: status 14 from the start."""
    due: float | None = None
    """When a scheduled message goes out."""


@attrs.frozen
class Answer:
    """A call's return code and ``entries``."""

    code: int
    entries: Any = None


def _accounts(value: Mapping[str, Account] | Iterable[Account]) -> dict[str, Account]:
    items = value.values() if isinstance(value, Mapping) else value
    return {account.api_key: account for account in items}


Params = Mapping[str, str]


@attrs.define(kw_only=True)
class EmulatorState(ServiceState):
    """Everything the emulator knows; safe to call from several threads.

    ``clock`` (epoch seconds, from the kit) drives delivery: a message is queued (1), with the
    operator (4) after ``operator_delay``, then delivered (10) after ``delivery_delay``, or
    undelivered (11) for ``unreachable`` numbers and failed (6) for ``operator_failures``.
    """

    accounts: dict[str, Account] = attrs.field(factory=dict, converter=_accounts)
    price_per_part: int = 120
    """Rials per SMS part."""
    blocked: set[str] = attrs.field(factory=set, converter=_strings)
    """E.164 numbers that refuse advertising lines (status 14; lookups still reach them)."""
    unreachable: set[str] = attrs.field(factory=set, converter=_strings)
    operator_failures: set[str] = attrs.field(factory=set, converter=_strings)
    invalid_characters: set[str] = attrs.field(factory=set, converter=_strings)
    """Characters the service refuses in a text or token (422)."""
    busy: bool = False
    """True: every call answers 409."""
    failing: bool = False
    """True: every call answers 402."""
    operator_delay: float = 1.0
    delivery_delay: float = 2.0
    lookup_line: str = "10008663"
    """The line verify/lookup sends from (the service picks it)."""
    sent: list[SentMessage] = attrs.field(factory=list, init=False)
    deduplicated: int = attrs.field(default=0, init=False)
    """Receptors answered from an earlier send with the same localid instead of sent again."""
    _by_id: dict[int, SentMessage] = attrs.field(factory=dict, init=False, repr=False)
    _by_localid: dict[tuple[str, str], SentMessage] = attrs.field(
        factory=dict, init=False, repr=False
    )
    _calls: dict[str, list[float]] = attrs.field(factory=dict, init=False, repr=False)
    # Never reset, so ids stay unique for the life of the state.
    _ids: itertools.count[int] = attrs.field(
        factory=lambda: itertools.count(MESSAGE_ID_BASE + 1), init=False, repr=False
    )
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False, repr=False)

    @classmethod
    def demo(cls) -> EmulatorState:
        """Account ``demo`` with the key ``demo-api-key`` on line 10004346, 10,000,000 rials
        and the templates ``verify`` and ``welcome``."""
        account = Account(
            name="demo",
            api_key="demo-api-key",
            credit=10_000_000,
            lines={"10004346"},
            default_line="10004346",
            tags={"campaign"},
            templates=[
                KavenegarTemplate(name="verify", text="کد ورود شما: %token"),
                KavenegarTemplate(name="welcome", text="%token عزیز، به %token2 خوش آمدید"),
            ],
        )
        return cls(accounts=[account])

    def add_account(self, account: Account) -> None:
        """Add or replace an account (by its key)."""
        with self._lock:
            self.accounts[account.api_key] = account

    # -- calls ---------------------------------------------------------------------------

    def call(self, api_key: str, method: str, params: Params, http_method: str = "POST") -> Answer:
        """One API call: ``method`` is ``sms/send``, ``verify/lookup``... (no ``.json``)."""
        with self._lock:
            if method == "utils/getdate":
                now = int(self.now())
                return Answer(200, {"datetime": now, "unixtime": now})
            handler = _METHODS.get(method)
            if handler is None:
                return Answer(404)
            account = self.accounts.get(api_key)
            if account is None:
                return Answer(403)
            code = self._gate(account, method, http_method)
            return Answer(code) if code else handler(self, account, params)

    def _gate(self, account: Account, method: str, http_method: str) -> int:
        """The checks every method makes first; 0 when the call may go on."""
        if not account.active:
            return 401
        if not account.ip_allowed:
            return 416
        if account.ip_blocked:
            return 429
        if account.calls_per_minute is not None:
            now = self.now()
            calls = [at for at in self._calls.get(account.api_key, []) if at > now - 60]
            calls.append(now)
            self._calls[account.api_key] = calls
            if len(calls) > account.calls_per_minute:
                return 451
        if method == "sms/sendarray" and http_method != "POST":
            return 405
        if self.busy:
            return 409
        return 402 if self.failing else 0

    def _sender(self, account: Account, given: str | None) -> tuple[int, str]:
        if not given:
            return (0, account.default_line) if account.default_line else (412, "")
        match = _LINE.fullmatch(given.strip())
        line = match.group(1) if match else ""
        if line not in account.lines:
            return 412, ""
        return (427, "") if line in account.restricted_lines else (0, line)

    def _text_code(self, account: Account, text: str) -> int:
        if not text.strip() or len(text) > MAX_TEXT:
            return 413
        if not account.links_allowed and _LINK.search(text):
            return 420
        return 422 if any(char in text for char in self.invalid_characters) else 0

    def _receptors_code(self, account: Account, numbers: Sequence[str | None]) -> int:
        if any(number is None for number in numbers):
            return 411
        if not account.international and any(not n.startswith("+98") for n in numbers if n):
            return 407
        if account.test_mode and any(number != account.owner for number in numbers):
            return 501
        return 0

    def _send(self, account: Account, params: Params) -> Answer:
        if "receptor" not in params or "message" not in params:
            return Answer(400)
        if not params["receptor"].strip():
            return Answer(406)
        receptors = params["receptor"].split(",")
        if len(receptors) > MAX_RECEPTORS:
            return Answer(414)
        localids = params["localid"].split(",") if params.get("localid") else None
        if localids is not None and len(localids) != len(receptors):
            return Answer(419)  # the documentation names no code for this; the emulator's
        items = [(r, params.get("sender"), params["message"]) for r in receptors]
        return self._deliver(account, items, localids, params)

    def _send_array(self, account: Account, params: Params) -> Answer:
        try:
            arrays = [json.loads(params[name]) for name in ("receptor", "sender", "message")]
            raw = params.get("localmessageids")
            localids = None if not raw else [str(item) for item in json.loads(raw)]
        except (KeyError, ValueError):
            return Answer(400)
        if not all(isinstance(a, list) and all(isinstance(i, str) for i in a) for a in arrays):
            return Answer(400)
        receptors, senders, texts = arrays
        if len(receptors) > MAX_RECEPTORS:
            return Answer(412)  # what the sendarray table lists for too many receptors
        if len({len(a) for a in arrays}) > 1 or (localids and len(localids) != len(receptors)):
            return Answer(419)
        return self._deliver(
            account, list(zip(receptors, senders, texts, strict=True)), localids, params
        )

    def _deliver(
        self,
        account: Account,
        items: Sequence[tuple[str, str | None, str]],
        localids: Sequence[str] | None,
        params: Params,
    ) -> Answer:
        """The rules sms/send and sms/sendarray share, then the sends themselves."""
        if localids is not None and not all(item.strip().isdigit() for item in localids):
            return Answer(400)
        now = self.now()
        due = None
        if params.get("date"):
            if not params["date"].strip().isdigit() or int(params["date"]) < now:
                return Answer(417)
            due = float(params["date"]) if int(params["date"]) > now else None
        if params.get("type", "1") not in {"0", "1", "2", "3"}:
            return Answer(400)
        if params.get("tag") and params["tag"] not in account.tags:
            return Answer(607)
        lines = []
        for _, sender, text in items:
            code, line = self._sender(account, sender)
            code = code or self._text_code(account, text)
            if code:
                return Answer(code)
            lines.append(line)
        numbers = [normalise_receptor(receptor) for receptor, _, _ in items]
        if code := self._receptors_code(account, numbers):
            return Answer(code)
        keys = [None if localids is None else localids[i].strip() for i in range(len(items))]
        earlier = [self._earlier(account, key) for key in keys]
        fresh = [i for i, found in enumerate(earlier) if found is None]
        parts = [count_segments(items[i][2]).segments for i in range(len(items))]
        cost = sum(parts[i] * self.price_per_part for i in fresh if numbers[i] not in self.blocked)
        if cost > account.credit:
            return Answer(418)
        account.credit -= cost
        entries = []
        for i, found in enumerate(earlier):
            if found is not None:
                self.deduplicated += 1
                entries.append(self._entry(found))
                continue
            number = numbers[i]
            assert number is not None  # noqa: S101 - checked above
            message = self._record(
                account, number, lines[i], items[i][2], parts[i], keys[i], due=due
            )
            entries.append(self._entry(message))
        return Answer(200, entries)

    def _earlier(self, account: Account, localid: str | None) -> SentMessage | None:
        if localid is None:
            return None
        found = self._by_localid.get((account.api_key, localid))
        return found if found and found.sent_at >= self.now() - LOCALID_WINDOW else None

    def _record(  # noqa: PLR0917 - private, one call per kind of send
        self,
        account: Account,
        number: str,
        sender: str,
        text: str,
        parts: int,
        localid: str | None,
        *,
        due: float | None = None,
        template: str | None = None,
    ) -> SentMessage:
        blocked = template is None and number in self.blocked
        message = SentMessage(
            message_id=next(self._ids),
            recipient=number,
            sender=sender,
            text=text,
            parts=parts,
            cost=0 if blocked else parts * self.price_per_part,
            account=account.name,
            sent_at=self.now(),
            localid=localid,
            template=template,
            blocked=blocked,
            due=due,
        )
        self.sent.append(message)
        self._by_id[message.message_id] = message
        if localid is not None:
            self._by_localid[(account.api_key, localid)] = message
        return message

    def status_of(self, message: SentMessage) -> int:
        """The message's status now."""
        if message.blocked:
            return 14
        now = self.now()
        if message.due is not None and now < message.due:
            return 2
        elapsed = now - (message.due or message.sent_at)
        if elapsed < self.operator_delay:
            return 1
        if elapsed < self.delivery_delay:
            return 4
        if message.recipient in self.operator_failures:
            return 6
        return 11 if message.recipient in self.unreachable else 10

    def _entry(self, message: SentMessage) -> dict[str, Any]:
        status = self.status_of(message)
        return {
            "messageid": message.message_id,
            "message": message.text,
            "status": status,
            "statustext": STATUS_TEXT[status],
            "sender": message.sender,
            "receptor": _display(message.recipient),
            "date": int(message.sent_at),
            "cost": message.cost,
        }

    def _lookup(self, account: Account, params: Params) -> Answer:
        if any(name not in params for name in ("receptor", "template", "token")):
            return Answer(400)
        if not params["receptor"].strip() or not params["template"].strip():
            return Answer(406)
        kind = params.get("type", "sms")
        if kind not in {"sms", "call"}:
            return Answer(400)
        if not account.advanced:
            return Answer(426)
        template = account.templates.get(params["template"])
        if template is None or not template.approved:
            return Answer(424)
        tokens = {name: params[name] for name in TOKEN_SPACES if name in params}
        if code := self._tokens_code(tokens, kind):
            return Answer(code)
        if "%token" not in template.text:
            return Answer(432)
        number = normalise_receptor(params["receptor"])
        if number is None or "," in params["receptor"]:
            return Answer(411)
        if account.test_mode and number != account.owner:
            return Answer(501)
        text = _PLACEHOLDER.sub(lambda match: tokens.get(match.group(1), ""), template.text)
        parts = count_segments(text).segments
        if parts * self.price_per_part > account.credit:
            return Answer(418)
        account.credit -= parts * self.price_per_part
        message = self._record(
            account, number, self.lookup_line, text, parts, None, template=template.name
        )
        return Answer(200, [self._entry(message)])

    def _tokens_code(self, tokens: Mapping[str, str], kind: str) -> int:
        for name, value in tokens.items():
            spaces = TOKEN_SPACES[name]
            bad = "\n" in value or "\t" in value or (spaces == 0 and ("_" in value or " " in value))
            if bad or value.count(" ") > spaces or len(value) > MAX_TOKEN:
                return 431
            if any(char in value for char in self.invalid_characters):
                return 422
        if kind == "call" and not tokens["token"].isdigit():
            return 428
        return 0

    def _ids_param(self, params: Params, name: str) -> list[str] | Answer:
        if name not in params:
            return Answer(400)
        items = [item.strip() for item in params[name].split(",") if item.strip()]
        if not items:
            return Answer(406)
        return Answer(414) if len(items) > MAX_IDS else items

    def _status(self, account: Account, params: Params) -> Answer:
        ids = self._ids_param(params, "messageid")
        if isinstance(ids, Answer):
            return ids
        entries = []
        for raw in ids:
            message = self._by_id.get(int(raw)) if raw.isdigit() else None
            if (
                message is None
                or message.account != account.name
                or message.sent_at < self.now() - STATUS_WINDOW
            ):
                entries.append(
                    {"messageid": _number(raw), "status": 100, "statustext": STATUS_TEXT[100]}
                )
                continue
            status = self.status_of(message)
            entries.append(
                {
                    "messageid": message.message_id,
                    "status": status,
                    "statustext": STATUS_TEXT[status],
                }
            )
        return Answer(200, entries)

    def _status_by_localid(self, account: Account, params: Params) -> Answer:
        ids = self._ids_param(params, "localid")
        if isinstance(ids, Answer):
            return ids
        entries = []
        for localid in ids:
            message = self._earlier(account, localid)
            status = 100 if message is None else self.status_of(message)
            entries.append(
                {
                    "messageid": 0 if message is None else message.message_id,
                    "localid": localid,
                    "status": status,
                    "statustext": STATUS_TEXT[status],
                }
            )
        return Answer(200, entries)

    def _info(self, account: Account, params: Params) -> Answer:
        expires = int(self.now()) + 365 * 86_400
        return Answer(
            200, {"remaincredit": account.credit, "expiredate": expires, "type": account.kind}
        )

    # -- inspection ----------------------------------------------------------------------

    def message_by_id(self, message_id: int | str) -> SentMessage | None:
        """The message taken under this id (a lookup's ``text`` is the rendered template), or
        None."""
        if isinstance(message_id, str):
            message_id = message_id.strip()
            if not (message_id.isascii() and message_id.isdigit()):
                return None
        with self._lock:
            return self._by_id.get(int(message_id))

    def sent_to(self, number: str) -> list[SentMessage]:
        """Messages taken for ``number`` (any form the service takes)."""
        target = normalise_receptor(number) or number
        with self._lock:
            return [message for message in self.sent if message.recipient == target]

    def sent_messages(self) -> list[SentMessage]:
        """A copy of the sent messages (``GET /_emulator/sent``)."""
        with self._lock:
            return list(self.sent)

    def snapshot(self) -> tuple[list[SentMessage], list[RequestRecord]]:
        """Copies of the sent messages and the request log."""
        return self.sent_messages(), self.log.records

    def reset(self) -> None:
        """Forget sent messages, local ids, calls and requests; accounts, credit and time stay."""
        with self._lock:
            super().reset()
            self.sent.clear()
            self._by_id.clear()
            self._by_localid.clear()
            self._calls.clear()
            self.deduplicated = 0


def _number(raw: str) -> int | str:
    return int(raw) if raw.isdigit() else raw


_METHODS: Final = {
    "sms/send": EmulatorState._send,
    "sms/sendarray": EmulatorState._send_array,
    "verify/lookup": EmulatorState._lookup,
    "sms/status": EmulatorState._status,
    "sms/statuslocalmessageid": EmulatorState._status_by_localid,
    "account/info": EmulatorState._info,
}
