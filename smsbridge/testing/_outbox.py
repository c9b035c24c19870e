"""The fake provider's outbox: what was "sent", scripted outcomes, and assertion helpers."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Final

import attrs

from smsbridge._models import DeliveryStatus
from smsbridge.exceptions import ErrorCategory, SmsBridgeError, error_for_category

__all__ = ["MAGIC_NUMBERS", "FakeOutbox", "FakeSms", "outbox"]

MAGIC_NUMBERS: Final[dict[str, ErrorCategory]] = {
    "+989120000001": ErrorCategory.RECIPIENT_REJECTED,
    "+989120000002": ErrorCategory.INSUFFICIENT_CREDIT,
    "+989120000003": ErrorCategory.RATE_LIMITED,
    "+989120000004": ErrorCategory.CONTENT_REJECTED,
    "+989120000005": ErrorCategory.PROVIDER_UNAVAILABLE,
    "+989120000006": ErrorCategory.OUTCOME_UNKNOWN,
}
"""Numbers the fake provider always fails with the given category, for any outbox.

``OUTCOME_UNKNOWN`` means "accepted, then the reply was lost": the message is in the outbox but
the report says ``unknown``.
"""


@attrs.frozen(kw_only=True)
class FakeSms:
    """One message the fake provider took, to one recipient."""

    message_id: str
    recipient: str
    text: str
    sender: str | None
    flash: bool
    udh: str | None
    reference: str | None
    segments: int


@attrs.frozen
class _ScriptedFailure:
    error: SmsBridgeError
    lose_reply: bool


class FakeOutbox:
    """Everything the fake provider sent, and what it should do next. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[FakeSms] = []
        self._next: deque[_ScriptedFailure] = deque()
        self._numbers: dict[str, ErrorCategory] = {}
        self._delivery: dict[str, DeliveryStatus] = {}
        self._counter = 0

    # -- scripting --------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every message and every scripted outcome (in place: references stay valid)."""
        with self._lock:
            self._messages.clear()
            self._next.clear()
            self._numbers.clear()
            self._delivery.clear()

    def fail_next(
        self,
        category: ErrorCategory,
        *,
        times: int = 1,
        message: str | None = None,
        provider_code: str | int | None = None,
    ) -> None:
        """Fail the next ``times`` provider requests, every recipient of each, with ``category``.

        ``OUTCOME_UNKNOWN`` records the messages as sent and then reports them unknown.
        """
        error = error_for_category(category)(
            message or f"scripted {category.value} failure",
            provider="fake",
            provider_code=provider_code,
        )
        lose_reply = category is ErrorCategory.OUTCOME_UNKNOWN
        with self._lock:
            self._next.extend(_ScriptedFailure(error, lose_reply) for _ in range(times))

    def lose_next_reply(self, *, times: int = 1) -> None:
        """Accept the next ``times`` requests, then lose the reply: the outcome is unknown."""
        self.fail_next(ErrorCategory.OUTCOME_UNKNOWN, times=times, message="the reply was lost")

    def fail_number(self, number: str, category: ErrorCategory) -> None:
        """Always fail ``number`` (E.164) with ``category``; other recipients are unaffected."""
        with self._lock:
            self._numbers[number] = category

    def set_delivery(self, message_id: str, status: DeliveryStatus) -> None:
        """Make ``message_id`` report ``status`` (accepted messages start as PENDING)."""
        with self._lock:
            self._delivery[message_id] = status

    # -- used by FakeProvider ---------------------------------------------------------------

    def take_scripted_failure(self) -> _ScriptedFailure | None:
        with self._lock:
            return self._next.popleft() if self._next else None

    def category_for(self, number: str) -> ErrorCategory | None:
        with self._lock:
            return self._numbers.get(number, MAGIC_NUMBERS.get(number))

    def record(self, **fields: object) -> FakeSms:
        with self._lock:
            self._counter += 1
            sms = FakeSms(message_id=f"fake-{self._counter:08d}", **fields)  # type: ignore[arg-type]
            self._messages.append(sms)
            self._delivery.setdefault(sms.message_id, DeliveryStatus.PENDING)
            return sms

    def delivery_of(self, message_id: str) -> DeliveryStatus:
        with self._lock:
            return self._delivery.get(message_id, DeliveryStatus.UNKNOWN)

    # -- reading ----------------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeSms]:
        """A copy of every message taken, in the order taken."""
        with self._lock:
            return list(self._messages)

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def __iter__(self) -> Iterator[FakeSms]:
        return iter(self.messages)

    @property
    def recipients(self) -> list[str]:
        """Every recipient messaged, in order, repeated when messaged twice."""
        return [sms.recipient for sms in self.messages]

    def sent_to(self, number: str) -> list[FakeSms]:
        """Messages to ``number``, given in any form the default region IR accepts."""
        from smsbridge.phone import normalize_number

        wanted = normalize_number(number)
        return [sms for sms in self.messages if sms.recipient == wanted]

    # -- assertions -------------------------------------------------------------------------

    def assert_sent_to(self, number: str, *, text_contains: str | None = None) -> FakeSms:
        """Assert a message went to ``number`` (containing ``text_contains``); return the last."""
        found = self.sent_to(number)
        if text_contains is not None:
            found = [sms for sms in found if text_contains in sms.text]
        if not found:
            wanted = f" containing {text_contains!r}" if text_contains is not None else ""
            raise AssertionError(
                f"no SMS{wanted} was sent to {number}; sent to: {self.recipients or 'nobody'}"
            )
        return found[-1]

    def assert_nothing_sent(self) -> None:
        """Assert the outbox is empty."""
        if self.messages:
            raise AssertionError(f"expected no SMS, but {len(self)} were sent to {self.recipients}")

    def assert_count(self, expected: int) -> None:
        """Assert exactly ``expected`` messages (one per recipient) were taken."""
        if len(self) != expected:
            raise AssertionError(f"expected {expected} SMS, found {len(self)}: {self.recipients}")

    def assert_text_contains(self, fragment: str) -> None:
        """Assert every message taken contains ``fragment`` (and that there is at least one)."""
        texts = [sms.text for sms in self.messages]
        if not texts:
            raise AssertionError(f"expected SMS containing {fragment!r}, but none were sent")
        missing = [text for text in texts if fragment not in text]
        if missing:
            raise AssertionError(f"{len(missing)} SMS do not contain {fragment!r}: {missing[:3]}")


outbox = FakeOutbox()
"""The outbox every ``fake://`` provider writes to unless given its own."""
