"""Accounts, sent messages and the rules that turn a SendSms request into a return code.

Every code the emulator answers with comes from here, so a test sets up *state* (an inactive
account, a filtered word, too little credit) instead of asking for a magic string. The clock
and the request log come from the test-server kit (``smsbridge.testing.server``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from smsbridge.segments import count_segments
from smsbridge.testing.server import RequestRecord, ServiceState

from ._rules import LINK, DeliveryCode, SendCode, normalise_mobile

__all__ = ["Account", "EmulatorState", "RequestRecord", "SendOutcome", "SentMessage"]

# Real recIds are 15-19 digits; starting high keeps ours in that range while staying far
# below 2**63 - 1, so they fit the WSDL's signed xsd:long.
REC_ID_BASE: Final = 3_000_000_000_000_000_000
_SECONDS_PER_DAY: Final = 86_400


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
    sent: list[SentMessage] = attrs.field(factory=list, init=False)
    _by_id: dict[int, SentMessage] = attrs.field(factory=dict, init=False, repr=False)
    _daily: dict[tuple[str, int], int] = attrs.field(factory=dict, init=False, repr=False)
    # Never reset, so ids stay unique for the life of the state even across reset().
    _ids: itertools.count[int] = attrs.field(
        factory=lambda: itertools.count(REC_ID_BASE + 1), init=False, repr=False
    )
    _lock: threading.RLock = attrs.field(factory=threading.RLock, init=False, repr=False)

    @classmethod
    def demo(cls) -> EmulatorState:
        """A ready-to-use state: user ``demo`` / ``demo-password`` on line 50004001234567."""
        account = Account(
            username="demo",
            password="demo-password",  # noqa: S106 - a documented demo credential.
            credit=1_000_000.0,
            lines={"50004001234567"},
            daily_limit=1_000_000,
        )
        return cls(
            accounts=[account],
            public_lines={"10002188"},
            filtered_words={"قمار"},
            delivery_delay=2.0,
        )

    @property
    def time_offset(self) -> float:
        """Seconds :meth:`advance` has added to ``clock``."""
        return self.clock.offset

    def add_account(self, account: Account) -> None:
        """Add or replace an account."""
        with self._lock:
            self.accounts[account.username] = account

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
        """Forget sent messages, requests and daily counts; accounts, credit and time are
        kept."""
        with self._lock:
            super().reset()
            self.sent.clear()
            self._by_id.clear()
            self._daily.clear()
