"""The fake provider's outbox: what was "sent", scripted outcomes, and assertion helpers."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Final

import attrs

from smsbridge._models import DeliveryStatus
from smsbridge.exceptions import ErrorCategory

__all__ = ["MAGIC_NUMBERS", "FakeOutbox", "FakeSms", "outbox", "render_template"]

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

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z0-9_]+)\}")


def render_template(body: str, variables: Mapping[str, str] | list[str] | tuple[str, ...]) -> str:
    """``body`` with ``{0}``/``{name}`` placeholders filled (unknown ones are left as they are)."""
    values = (
        dict(variables)
        if isinstance(variables, Mapping)
        else {str(i): v for i, v in enumerate(variables)}
    )
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


@attrs.frozen(kw_only=True)
class FakeSms:
    """One message the fake provider took, to one recipient."""

    message_id: str
    recipient: str
    text: str
    """The text, or for a template send the rendered template (see ``FakeOutbox.add_template``)."""
    sender: str | None
    flash: bool
    udh: str | None
    reference: str | None
    segments: int
    template_id: str | None = None
    variables: Mapping[str, str] | tuple[str, ...] | None = None
    provider: str = "fake"
    """The provider the application asked for (``fake``, or another scheme under
    ``sms_outbox``, which captures every client)."""
    url: str | None = None
    """The URL the application configured, without secrets, when it was captured."""

    def describe(self) -> str:
        """One line for assertion messages: recipient and the start of the text."""
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return f"{self.recipient}: {text!r}"


@attrs.frozen
class ScriptedFailure:
    """One request the fake provider will fail."""

    category: ErrorCategory
    message: str
    provider_code: str | int | None
    lose_reply: bool


def _normalised(number: str) -> str:
    from smsbridge.phone import normalize_number

    return normalize_number(number, landlines=True)


class FakeOutbox:
    """Everything the fake provider sent, and what it should do next. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[FakeSms] = []
        self._next: deque[ScriptedFailure] = deque()
        self._numbers: dict[str, ErrorCategory] = {}
        self._delivery: dict[str, DeliveryStatus] = {}
        self._templates: dict[str, str] = {}
        self._counter = 0
        self.balance: float = 1_000_000.0
        """What ``balance()`` reports, in messages."""

    # -- scripting --------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every message, scripted outcome and template (in place: references stay valid)."""
        with self._lock:
            self._messages.clear()
            self._next.clear()
            self._numbers.clear()
            self._delivery.clear()
            self._templates.clear()
            self.balance = 1_000_000.0

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
        failure = ScriptedFailure(
            category=category,
            message=message or f"scripted {category.value} failure",
            provider_code=provider_code,
            lose_reply=category is ErrorCategory.OUTCOME_UNKNOWN,
        )
        with self._lock:
            self._next.extend(failure for _ in range(times))

    def lose_next_reply(self, *, times: int = 1) -> None:
        """Accept the next ``times`` requests, then lose the reply: the outcome is unknown."""
        self.fail_next(ErrorCategory.OUTCOME_UNKNOWN, times=times, message="the reply was lost")

    def fail_number(self, number: str, category: ErrorCategory) -> None:
        """Always fail ``number`` (any form ``send`` accepts) with ``category``."""
        normalised = _normalised(number)
        with self._lock:
            self._numbers[normalised] = category

    def set_delivery(self, message_id: str, status: DeliveryStatus) -> None:
        """Make ``message_id`` report ``status`` (accepted messages start as PENDING)."""
        with self._lock:
            self._delivery[message_id] = status

    def add_template(self, template_id: str, body: str) -> None:
        """Register a template body (``{0}``/``{name}`` placeholders), so template sends are
        recorded with their rendered text."""
        with self._lock:
            self._templates[str(template_id)] = body

    # -- used by the fake provider ----------------------------------------------------------

    def take_scripted_failure(self) -> ScriptedFailure | None:
        """The next scripted failure, consumed."""
        with self._lock:
            return self._next.popleft() if self._next else None

    def category_for(self, number: str) -> ErrorCategory | None:
        """The category ``number`` always fails with, if any."""
        with self._lock:
            return self._numbers.get(number, MAGIC_NUMBERS.get(number))

    def template_body(self, template_id: str) -> str | None:
        """The registered body of a template."""
        with self._lock:
            return self._templates.get(template_id)

    def record(self, *, message_id: str | None = None, **fields: object) -> FakeSms:
        """Take one message; it gets the next ``fake-NNNNNNNN`` id unless given one (an inbox
        store assigns ids unique across processes)."""
        with self._lock:
            if message_id is None:
                self._counter += 1
                message_id = f"fake-{self._counter:08d}"
            sms = FakeSms(message_id=message_id, **fields)  # type: ignore[arg-type]
            self._messages.append(sms)
            self._delivery.setdefault(sms.message_id, DeliveryStatus.PENDING)
            return sms

    def delivery_of(self, message_id: str) -> DeliveryStatus:
        """The delivery status of one id (UNKNOWN for ids never taken)."""
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
        """Messages to ``number``, given in any form ``send`` accepts (default region IR)."""
        wanted = _normalised(number)
        return [sms for sms in self.messages if sms.recipient == wanted]

    def count_to(self, number: str) -> int:
        """How many messages went to ``number``."""
        return len(self.sent_to(number))

    def latest_to(self, number: str) -> FakeSms | None:
        """The last message to ``number``, or None (the OTP a test needs)."""
        found = self.sent_to(number)
        return found[-1] if found else None

    # -- assertions -------------------------------------------------------------------------

    def _what_was_sent(self) -> str:
        messages = self.messages
        if not messages:
            return "nothing was sent"
        shown = "; ".join(sms.describe() for sms in messages[:10])
        more = f" (and {len(messages) - 10} more)" if len(messages) > 10 else ""
        return f"sent to: {[sms.recipient for sms in messages]} — {shown}{more}"

    def assert_sent_to(
        self,
        number: str,
        *,
        text_contains: str | None = None,
        template: str | None = None,
        times: int | None = None,
        match: Callable[[FakeSms], bool] | None = None,
    ) -> FakeSms:
        """Assert a message went to ``number`` and return the last one that did.

        :param text_contains: the text must contain this.
        :param template: it must be a send of this template id.
        :param times: exactly this many messages (matching the other conditions) went there.
        :param match: a predicate the message must satisfy.
        """
        found = self.sent_to(number)
        if text_contains is not None:
            found = [sms for sms in found if text_contains in sms.text]
        if template is not None:
            found = [sms for sms in found if sms.template_id == str(template)]
        if match is not None:
            found = [sms for sms in found if match(sms)]
        wanted = "".join(
            [
                f" containing {text_contains!r}" if text_contains is not None else "",
                f" of template {template!r}" if template is not None else "",
                " matching the predicate" if match is not None else "",
            ]
        )
        if times is not None and len(found) != times:
            raise AssertionError(
                f"expected {times} SMS{wanted} to {number}, found {len(found)}; "
                f"{self._what_was_sent()}"
            )
        if not found:
            raise AssertionError(f"no SMS{wanted} was sent to {number}; {self._what_was_sent()}")
        return found[-1]

    def assert_not_sent_to(self, number: str) -> None:
        """Assert nothing went to ``number``."""
        found = self.sent_to(number)
        if found:
            raise AssertionError(
                f"expected no SMS to {number}, but {len(found)} went there: "
                + "; ".join(sms.describe() for sms in found[:5])
            )

    def assert_nothing_sent(self) -> None:
        """Assert the outbox is empty."""
        if self.messages:
            raise AssertionError(
                f"expected no SMS, but {len(self)} were taken; {self._what_was_sent()}"
            )

    def assert_count(self, expected: int) -> None:
        """Assert exactly ``expected`` messages (one per recipient) were taken."""
        if len(self) != expected:
            raise AssertionError(
                f"expected {expected} SMS, found {len(self)}; {self._what_was_sent()}"
            )

    def assert_text_contains(self, fragment: str) -> None:
        """Assert every message taken contains ``fragment`` (and that there is at least one)."""
        messages = self.messages
        if not messages:
            raise AssertionError(f"expected SMS containing {fragment!r}, but none were sent")
        missing = [sms for sms in messages if fragment not in sms.text]
        if missing:
            raise AssertionError(
                f"{len(missing)} SMS do not contain {fragment!r}: "
                + "; ".join(sms.describe() for sms in missing[:3])
            )


outbox = FakeOutbox()
"""The outbox every ``fake://`` provider writes to unless given its own."""
