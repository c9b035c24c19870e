"""Accounts, patterns, sent messages and the rules that turn a SendSms or a pattern send
(SendByBaseNumber2, REST BaseServiceNumber) into a return code.

Every code the emulator answers with comes from here, so a test sets up *state* (an inactive
account, a filtered word, too little credit) instead of asking for a magic string. The clock
and the request log come from the test-server kit (``smsbridge.testing.server``).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from smsbridge.segments import count_segments
from smsbridge.testing.server import RequestRecord, ServiceState

from ._rules import (
    FORBIDDEN_IN_VARIABLE,
    LINK,
    DeliveryCode,
    PatternCode,
    SendCode,
    normalise_mobile,
)

__all__ = [
    "DEMO_PATTERN",
    "DEMO_SERVICE_LINE",
    "Account",
    "EmulatorState",
    "Pattern",
    "PatternOutcome",
    "RequestRecord",
    "SendOutcome",
    "SentMessage",
]

# Real recIds are 15-19 digits; starting high keeps ours in that range while staying far
# below 2**63 - 1, so they fit the WSDL's signed xsd:long.
REC_ID_BASE: Final = 3_000_000_000_000_000_000
_SECONDS_PER_DAY: Final = 86_400
_SECONDS_PER_HOUR: Final = 3_600
_PLACEHOLDER: Final = re.compile(r"\{(\d+)\}")
_NUMBER_SEPARATORS: Final = re.compile(r"[,;\s]+")
DEMO_SERVICE_LINE: Final = "5000125475"
"""The demo's shared service line: where pattern sends come from."""
DEMO_PATTERN: Final = 100001
"""The demo's approved OTP pattern: ``کد ورود شما: {0}``."""


def _strings(value: Iterable[str]) -> set[str]:
    return set(value)


@attrs.define(kw_only=True)
class Account:
    """A panel user. ``lines`` are the private sender numbers it may send from."""

    username: str
    password: str = attrs.field(repr=False)
    credit: float = 0.0
    active: bool = True
    documents_complete: bool = True
    lines: set[str] = attrs.field(factory=set, converter=_strings)
    daily_limit: int = 1_000_000
    volume_limit: int = 100
    """Most recipients accepted in one request."""
    min_recipients: int = 1
    service_line: str | None = None
    """The shared service line its pattern sends go out on (None: none defined, code -3)."""
    pattern_access: bool = True
    """Whether it may send patterns through the web service (false: code -1)."""
    hourly_pattern_limit: int = 1_000_000
    """Most pattern sends accepted in one hour (more: code 19)."""


@attrs.frozen(kw_only=True)
class SentMessage:
    """One accepted message to one recipient."""

    rec_id: int
    recipient: str
    """Normalised as ``989xxxxxxxxx``."""
    sender: str
    text: str
    flash: bool
    udh: str
    parts: int
    sent_at: float
    username: str
    body_id: int | None = None
    """The pattern of a pattern send (``text`` is then the rendered pattern)."""
    variables: tuple[str, ...] = ()
    """The variables of a pattern send, in order."""


@attrs.frozen(kw_only=True)
class Pattern:
    """A pattern (shared-line template) in the panel: ``{0}``, ``{1}``… are its variables."""

    body_id: int
    body: str
    approved: bool = True

    @property
    def variables(self) -> int:
        """How many variables it takes (one more than its highest placeholder)."""
        return max((int(n) + 1 for n in _PLACEHOLDER.findall(self.body)), default=0)

    def render(self, values: Sequence[str]) -> str:
        """The text a handset gets; unknown placeholders are left as they are."""

        def fill(match: re.Match[str]) -> str:
            index = int(match.group(1))
            return values[index] if index < len(values) else match.group(0)

        return _PLACEHOLDER.sub(fill, self.body)


@attrs.frozen(kw_only=True)
class PatternOutcome:
    """A pattern send's result: the recId, or the code (``result`` is what the wire says)."""

    code: PatternCode | None = None
    rec_id: int = 0

    @property
    def result(self) -> str:
        """The result string: the recId on success, else the code."""
        return str(self.rec_id) if self.code is None else str(int(self.code))


@attrs.frozen(kw_only=True)
class SendOutcome:
    """SendSms result: the code, and per recipient an id and a status byte (0 sent, 1 not)."""

    code: SendCode
    rec_ids: tuple[int, ...] = ()
    statuses: bytes = b""


def _accounts(value: Mapping[str, Account] | Iterable[Account]) -> dict[str, Account]:
    if isinstance(value, Mapping):
        return dict(value)
    return {account.username: account for account in value}


def _patterns(value: Mapping[int, Pattern] | Iterable[Pattern]) -> dict[int, Pattern]:
    if isinstance(value, Mapping):
        return dict(value)
    return {pattern.body_id: pattern for pattern in value}


@attrs.define(kw_only=True)
class EmulatorState(ServiceState):
    """Everything the emulator knows; all methods are safe to call from several threads.

    ``clock`` (any callable giving epoch seconds; wrapped in the kit's ``Clock``) is the
    emulator's time, moved on by :meth:`advance`; ``requests`` is the kit's request log.
    """

    accounts: dict[str, Account] = attrs.field(factory=dict, converter=_accounts)
    public_lines: set[str] = attrs.field(factory=set, converter=_strings)
    filtered_words: set[str] = attrs.field(factory=set, converter=_strings)
    maintenance: bool = False
    price_per_part: float = 1.0
    opt_out_text: str = "لغو11"
    delivery_delay: float = 2.0
    unreachable: set[str] = attrs.field(factory=set, converter=_strings)
    """Recipients (any spelling) whose messages end as NOT_DELIVERED."""
    service_lines: set[str] = attrs.field(factory=set, converter=_strings)
    """The shared service lines the system defines (an account's other line: code -7)."""
    patterns: dict[int, Pattern] = attrs.field(factory=dict, converter=_patterns)
    sent: list[SentMessage] = attrs.field(factory=list, init=False)
    _by_id: dict[int, SentMessage] = attrs.field(factory=dict, init=False, repr=False)
    _daily: dict[tuple[str, int], int] = attrs.field(factory=dict, init=False, repr=False)
    _hourly: dict[tuple[str, int], int] = attrs.field(factory=dict, init=False, repr=False)
    # Never reset, so ids stay unique for the life of the state even across reset().
    _ids: itertools.count[int] = attrs.field(
        factory=lambda: itertools.count(REC_ID_BASE + 1), init=False, repr=False
    )
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False, repr=False)

    @classmethod
    def demo(cls) -> EmulatorState:
        """A ready-to-use state: user ``demo`` / ``demo-password`` on line 50004001234567,
        the shared service line 5000125475 and the OTP pattern 100001."""
        account = Account(
            username="demo",
            password="demo-password",  # noqa: S106 - a documented demo credential.
            credit=1_000_000.0,
            lines={"50004001234567"},
            daily_limit=1_000_000,
            service_line=DEMO_SERVICE_LINE,
        )
        return cls(
            accounts=[account],
            public_lines={"10002188"},
            filtered_words={"قمار"},
            delivery_delay=2.0,
            service_lines={DEMO_SERVICE_LINE},
            patterns=[Pattern(body_id=DEMO_PATTERN, body="کد ورود شما: {0}")],
        )

    @property
    def time_offset(self) -> float:
        """Seconds :meth:`advance` has added to ``clock``."""
        return self.clock.offset

    def add_account(self, account: Account) -> None:
        """Add or replace an account."""
        with self._lock:
            self.accounts[account.username] = account

    def add_pattern(
        self, body: str, body_id: int | None = None, *, approved: bool = True
    ) -> Pattern:
        """Register (or replace) a pattern; without ``body_id`` the next free one is taken."""
        with self._lock:
            if body_id is None:
                body_id = max(self.patterns, default=DEMO_PATTERN - 1) + 1
            pattern = Pattern(body_id=body_id, body=body, approved=approved)
            self.patterns[body_id] = pattern
            return pattern

    def authenticates(self, username: str, password: str) -> bool:
        """Whether ``username`` and ``password`` name an account."""
        with self._lock:
            return self._login(username, password) is not None

    def _login(self, username: str, password: str) -> Account | None:
        account = self.accounts.get(username)
        if account is None or account.password != password:
            return None
        return account

    def _text_code(self, account: Account, recipients: int, text: str) -> SendCode | None:
        if recipients > account.volume_limit:
            return SendCode.VOLUME_LIMIT
        if recipients < account.min_recipients:
            return SendCode.TOO_FEW_RECIPIENTS
        if recipients > 1 and self.opt_out_text not in text:
            return SendCode.OPT_OUT_MISSING
        folded = text.casefold()
        if any(word.casefold() in folded for word in self.filtered_words):
            return SendCode.FILTERED_WORD
        if LINK.search(text):
            return SendCode.LINK
        return None

    def send_sms(
        self,
        *,
        username: str,
        password: str,
        to: Sequence[str],
        sender: str,
        text: str,
        flash: bool = False,
        udh: str = "",
    ) -> SendOutcome:
        """Apply the SendSms rules in the order documented in docs/emulator.md."""
        with self._lock:
            account = self._login(username, password)
            if account is None:
                return SendOutcome(code=SendCode.WRONG_CREDENTIALS)
            if not account.active:
                return SendOutcome(code=SendCode.INACTIVE)
            if not account.documents_complete:
                return SendOutcome(code=SendCode.DOCUMENTS_INCOMPLETE)
            if self.maintenance:
                return SendOutcome(code=SendCode.MAINTENANCE)
            if sender in self.public_lines:
                return SendOutcome(code=SendCode.PUBLIC_LINE)
            if sender not in account.lines:
                return SendOutcome(code=SendCode.INVALID_SENDER)
            code = self._text_code(account, len(to), text)
            if code is not None:
                return SendOutcome(code=code)
            normalised = [normalise_mobile(number) for number in to]
            sendable = sum(number is not None for number in normalised)
            now = self.now()
            day_key = (username, int(now // _SECONDS_PER_DAY))
            if self._daily.get(day_key, 0) + sendable > account.daily_limit:
                return SendOutcome(code=SendCode.DAILY_LIMIT)
            parts = count_segments(text).segments
            cost = parts * self.price_per_part * sendable
            if account.credit < cost:
                return SendOutcome(code=SendCode.NO_CREDIT)
            if sendable == 0:
                return SendOutcome(code=SendCode.NOT_SENT)
            account.credit -= cost
            self._daily[day_key] = self._daily.get(day_key, 0) + sendable
            rec_ids: list[int] = []
            statuses = bytearray()
            for number in normalised:
                if number is None:
                    rec_ids.append(0)
                    statuses.append(1)
                    continue
                message = SentMessage(
                    rec_id=next(self._ids),
                    recipient=number,
                    sender=sender,
                    text=text,
                    flash=flash,
                    udh=udh,
                    parts=parts,
                    sent_at=now,
                    username=username,
                )
                self.sent.append(message)
                self._by_id[message.rec_id] = message
                rec_ids.append(message.rec_id)
                statuses.append(0)
            return SendOutcome(code=SendCode.OK, rec_ids=tuple(rec_ids), statuses=bytes(statuses))

    def _pattern_code(
        self, account: Account, text: str, to: str, body_id: int
    ) -> tuple[PatternCode | None, Pattern | None, list[str]]:
        if not account.active or not account.pattern_access:
            return PatternCode.NO_ACCESS, None, []
        if self.maintenance:
            return PatternCode.INTERNAL_ERROR, None, []
        if len([n for n in _NUMBER_SEPARATORS.split(to.strip()) if n]) > 1:
            return PatternCode.ONE_NUMBER_ONLY, None, []
        if account.service_line is None:
            return PatternCode.NO_LINE, None, []
        if account.service_line not in self.service_lines:
            return PatternCode.SENDER_ERROR, None, []
        pattern = self.patterns.get(body_id)
        if pattern is None or not pattern.approved:
            return PatternCode.UNKNOWN_PATTERN, None, []
        values = text.split(";") if pattern.variables or text else []
        if len(values) != pattern.variables or not all(v.strip() for v in values):
            return PatternCode.VARIABLES_MISMATCH, None, []
        if any(FORBIDDEN_IN_VARIABLE.search(value) for value in values):
            return PatternCode.FORBIDDEN_VARIABLE, None, []
        return None, pattern, values

    def send_pattern(
        self, *, username: str, password: str, text: str, to: str, body_id: int
    ) -> PatternOutcome:
        """SendByBaseNumber2 (and REST BaseServiceNumber): the variables ``text`` holds,
        ``;``-separated, fill pattern ``body_id`` for the one number ``to``; the rules run in
        the order documented in docs/emulator.md."""
        with self._lock:
            account = self._login(username, password)
            if account is None:
                return PatternOutcome(code=PatternCode.WRONG_CREDENTIALS)
            code, pattern, values = self._pattern_code(account, text, to, body_id)
            if code is not None or pattern is None:
                return PatternOutcome(code=code)
            number = normalise_mobile(to)
            if number is None:
                return PatternOutcome(code=PatternCode.NOT_SENT)
            now = self.now()
            hour_key = (username, int(now // _SECONDS_PER_HOUR))
            if self._hourly.get(hour_key, 0) >= account.hourly_pattern_limit:
                return PatternOutcome(code=PatternCode.HOURLY_LIMIT)
            day_key = (username, int(now // _SECONDS_PER_DAY))
            if self._daily.get(day_key, 0) >= account.daily_limit:
                return PatternOutcome(code=PatternCode.DAILY_LIMIT)
            rendered = pattern.render(values)
            parts = count_segments(rendered).segments
            cost = parts * self.price_per_part
            if account.credit < cost:
                return PatternOutcome(code=PatternCode.NO_CREDIT)
            account.credit -= cost
            self._hourly[hour_key] = self._hourly.get(hour_key, 0) + 1
            self._daily[day_key] = self._daily.get(day_key, 0) + 1
            message = SentMessage(
                rec_id=next(self._ids),
                recipient=number,
                sender=account.service_line or "",
                text=rendered,
                flash=False,
                udh="",
                parts=parts,
                sent_at=now,
                username=username,
                body_id=body_id,
                variables=tuple(values),
            )
            self.sent.append(message)
            self._by_id[message.rec_id] = message
            return PatternOutcome(rec_id=message.rec_id)

    def credit_of(self, username: str, password: str) -> float:
        """GetCredit: the balance, or 0.0 for wrong credentials (as the real service does)."""
        with self._lock:
            account = self._login(username, password)
            return 0.0 if account is None else account.credit

    def _unreachable(self) -> set[str]:
        return {normalise_mobile(number) or number for number in self.unreachable}

    def _status(self, message: SentMessage | None, unreachable: set[str]) -> DeliveryCode:
        if message is None:
            return DeliveryCode.UNKNOWN
        elapsed = self.now() - message.sent_at
        if elapsed >= self.delivery_delay:
            if message.recipient in unreachable:
                return DeliveryCode.NOT_DELIVERED
            return DeliveryCode.DELIVERED
        if elapsed < self.delivery_delay / 2:
            return DeliveryCode.SENT_TO_TELECOM
        return DeliveryCode.REACHED_TELECOM

    def deliveries(self, rec_ids: Sequence[int], username: str, password: str) -> list[int]:
        """GetDeliveries: one status per id; ids of other accounts are UNKNOWN.

        Wrong credentials give an empty list (undocumented upstream; our choice).
        """
        with self._lock:
            if self._login(username, password) is None:
                return []
            unreachable = self._unreachable()
            found = [self._by_id.get(rec_id) for rec_id in rec_ids]
            return [
                int(
                    self._status(
                        m if m is not None and m.username == username else None, unreachable
                    )
                )
                for m in found
            ]

    def delivery(self, rec_id: str) -> int:
        """GetDeliveries2: the status of one id given as text; -1 when it is not a number."""
        try:
            number = int(rec_id.strip())
        except ValueError:
            return int(DeliveryCode.INVALID_ID)
        with self._lock:
            return int(self._status(self._by_id.get(number), self._unreachable()))

    def message_by_id(self, rec_id: int | str) -> SentMessage | None:
        """The accepted message with this recId (a pattern send's ``text`` is the rendered
        pattern), or None."""
        if isinstance(rec_id, str):
            rec_id = rec_id.strip()
            if not (rec_id.isascii() and rec_id.isdigit()):
                return None
        with self._lock:
            return self._by_id.get(int(rec_id))

    def sent_to(self, number: str) -> list[SentMessage]:
        """Messages accepted for ``number`` (any spelling of an Iranian mobile)."""
        target = normalise_mobile(number) or number
        with self._lock:
            return [message for message in self.sent if message.recipient == target]

    def sent_messages(self) -> list[SentMessage]:
        """A copy of the sent messages, taken under the lock (``GET /_emulator/sent``)."""
        with self._lock:
            return list(self.sent)

    def snapshot(self) -> tuple[list[SentMessage], list[RequestRecord]]:
        """Copies of the sent messages and request log."""
        return self.sent_messages(), self.log.records

    def reset(self) -> None:
        """Forget sent messages, requests and daily and hourly counts; accounts, patterns,
        credit and time are kept."""
        with self._lock:
            super().reset()
            self.sent.clear()
            self._by_id.clear()
            self._daily.clear()
            self._hourly.clear()
