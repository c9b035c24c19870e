"""The provider-neutral data: messages, templates, per-recipient results, reports, statuses."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from smsbridge.exceptions import ErrorCategory, InvalidMessageError, SmsBridgeError

__all__ = [
    "AttemptReport",
    "Balance",
    "Capabilities",
    "CircuitState",
    "DeliveryReport",
    "DeliveryStatus",
    "Failover",
    "Message",
    "ProviderHealth",
    "RecipientResult",
    "ResultError",
    "SendReport",
    "SendStatus",
    "Settlement",
    "Template",
    "TemplateSupport",
]

# Characters no SMS carries and XML 1.0 cannot hold (C0 controls but tab/newline/CR, the
# non-characters U+FFFE/U+FFFF), and lone surrogates, which cannot be encoded at all.
_NOT_SENDABLE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# In a name (sender, reference, template id) no control character belongs, tab/newline included.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def visible(text: str) -> bool:
    """True when ``text`` shows something: not only spaces and invisible format characters
    (zero-width space, direction marks, ZWNJ, BOM)."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def check_text(text: object, what: str = "message text") -> str:
    """``text`` if it is sendable, else an InvalidMessageError saying why."""
    if not isinstance(text, str):
        raise InvalidMessageError(f"{what} must be a str, not {type(text).__name__}")
    bad = _NOT_SENDABLE.search(text)
    if bad is not None:
        raise InvalidMessageError(
            f"{what} contains the character U+{ord(bad.group()):04X} at position {bad.start()}, "
            "which no SMS can carry (a control character or a lone surrogate)"
        )
    if not visible(text):
        raise InvalidMessageError(f"{what} is empty")
    return text


def _text_is_sendable(_instance: object, _attribute: object, value: Any) -> None:
    check_text(value)


def _optional_name(name: str) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not visible(value):
            raise InvalidMessageError(f"{name} must be a non-empty str or None, got {value!r}")
        if _CONTROL.search(value):
            raise InvalidMessageError(f"{name} must not contain control characters")

    return check


def _is_bool(name: str) -> Any:
    # attrs' instance_of raises TypeError; bad input must be an InvalidMessageError like the rest.
    def check(_instance: object, _attribute: object, value: object) -> None:
        if not isinstance(value, bool):
            raise InvalidMessageError(f"{name} must be True or False, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class Message:
    """What to send. Validated on construction, so a bad message never reaches a provider.

    ``reference`` is the caller's own idempotency key: smsbridge passes it to hooks and logs it,
    and providers that deduplicate on the service side (Kavenegar's ``localid``) derive their
    per-recipient keys from it, so sending the same reference again is not sent twice.
    """

    text: str = attrs.field(validator=_text_is_sendable)
    sender: str | None = attrs.field(default=None, validator=_optional_name("sender"))
    flash: bool = attrs.field(default=False, validator=_is_bool("flash"))
    udh: str | None = attrs.field(default=None, validator=_optional_name("udh"))
    reference: str | None = attrs.field(default=None, validator=_optional_name("reference"))


Variables = tuple[str, ...] | Mapping[str, str]


def _as_variables(value: object) -> Variables:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidMessageError(
            "template variables must be a list of values or a mapping of names to values"
        )
    return tuple(value)


def _variables_valid(_instance: object, _attribute: object, value: Variables) -> None:
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    for key, item in items:
        if not isinstance(key, int | str) or (isinstance(key, str) and not key.strip()):
            raise InvalidMessageError(f"template variable names must be non-empty, got {key!r}")
        if not isinstance(item, str):
            raise InvalidMessageError(
                f"template variable {key!r} must be a str, not {type(item).__name__}"
            )
        if _NOT_SENDABLE.search(item):
            raise InvalidMessageError(
                f"template variable {key!r} contains a control character or a lone surrogate"
            )


@attrs.frozen(kw_only=True)
class Template:
    """A send through a template the provider holds (an approved OTP pattern).

    ``id`` names the template at the provider (Melipayamak's ``bodyId``, Kavenegar's template
    name); ``variables`` fill it, as a list (ordered placeholders ``{0}``, ``{1}``) or a mapping
    (named ones, such as Kavenegar's ``token``). The provider's rules for variables are checked
    before any I/O.
    """

    id: str = attrs.field(converter=str, validator=_optional_name("template id"))
    variables: Variables = attrs.field(
        factory=tuple, converter=_as_variables, validator=_variables_valid
    )
    sender: str | None = attrs.field(default=None, validator=_optional_name("sender"))
    reference: str | None = attrs.field(default=None, validator=_optional_name("reference"))

    @property
    def values(self) -> list[str]:
        """The variable values in order (a mapping's in insertion order)."""
        return (
            list(self.variables.values())
            if isinstance(self.variables, Mapping)
            else list(self.variables)
        )

    def describe(self) -> str:
        """``template ID with N variables``: safe to log or show (no values)."""
        return f"template {self.id} with {len(self.variables)} variables"


class SendStatus(enum.Enum):
    """The outcome for one recipient of a send."""

    ACCEPTED = "accepted"
    """The provider took the message for this recipient."""
    REJECTED = "rejected"
    """Not sent; ``error`` says why."""
    UNKNOWN = "unknown"
    """It cannot be known whether it was sent (the request went out, the reply was lost)."""


@attrs.frozen(kw_only=True)
class ResultError:
    """Why one recipient was not accepted, in the taxonomy's terms plus the provider's own."""

    category: ErrorCategory
    message: str
    provider_code: str | int | None = None
    provider_text: str | None = None
    retryable: bool = False

    @classmethod
    def from_exception(cls, error: SmsBridgeError) -> ResultError:
        """The per-recipient view of a raised error."""
        return cls(
            category=error.category,
            message=error.message,
            provider_code=error.provider_code,
            provider_text=error.provider_text,
            retryable=error.retryable,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as the CLI prints it."""
        return {
            "category": self.category.value,
            "provider_code": self.provider_code,
            "message": self.message,
            "retryable": self.retryable,
        }


@attrs.frozen(kw_only=True)
class RecipientResult:
    """The outcome for one recipient, in E.164 form."""

    recipient: str
    status: SendStatus
    message_id: str | None = None
    segments: int = 0
    error: ResultError | None = None
    duplicate_of: int | None = None
    """Input position of the first occurrence when this recipient was given more than once."""
    provider: str | None = None
    """The provider that took (or last refused) it; with failover, the one that got it."""
    attempts: int = 1
    """Provider requests made for it (more than one after retries or failover)."""

    @property
    def accepted(self) -> bool:
        """True when the provider took the message for this recipient."""
        return self.status is SendStatus.ACCEPTED

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as the CLI prints it."""
        return {
            "recipient": self.recipient,
            "status": self.status.value,
            "message_id": self.message_id,
            "segments": self.segments,
            "error": None if self.error is None else self.error.to_dict(),
            "provider": self.provider,
            "attempts": self.attempts,
        }


def accepted_results(
    recipients: Iterable[str],
    message_ids: Iterable[str],
    *,
    segments: int = 0,
    provider: str | None = None,
) -> list[RecipientResult]:
    """One accepted :class:`RecipientResult` per recipient, with its message id: the reply
    most requests get, built for a whole batch at once.

    The results equal those built one by one (``RecipientResult(recipient=…,
    status=SendStatus.ACCEPTED, message_id=…, segments=…, provider=…)``) at about half the cost:
    a campaign builds one per recipient, and a frozen class's ``__init__`` sets each field
    through ``object.__setattr__``.
    """
    new, accepted = object.__new__, SendStatus.ACCEPTED
    results: list[RecipientResult] = []
    append = results.append
    for recipient, message_id in zip(recipients, message_ids, strict=True):
        result = new(RecipientResult)
        _SET_RECIPIENT(result, recipient)
        _SET_STATUS(result, accepted)
        _SET_MESSAGE_ID(result, message_id)
        _SET_SEGMENTS(result, segments)
        _SET_ERROR(result, None)
        _SET_DUPLICATE_OF(result, None)
        _SET_PROVIDER(result, provider)
        _SET_ATTEMPTS(result, 1)
        append(result)
    return results


def _slot_setter(name: str) -> Callable[[RecipientResult, object], None]:
    setter: Callable[[RecipientResult, object], None] = RecipientResult.__dict__[name].__set__
    return setter


# The slots' own setters (attrs makes a slotted class): what accepted_results fills directly.
# A field added to RecipientResult must be filled there too: the import fails until it is.
_FILLED: tuple[str, ...] = ("recipient", "status", "message_id", "segments", "error")
_FILLED += ("duplicate_of", "provider", "attempts")
if {field.name for field in attrs.fields(RecipientResult)} != set(_FILLED):  # pragma: no cover
    raise ImportError("accepted_results does not fill every field of RecipientResult")
_SET_RECIPIENT, _SET_STATUS, _SET_MESSAGE_ID, _SET_SEGMENTS = map(_slot_setter, _FILLED[:4])
_SET_ERROR, _SET_DUPLICATE_OF, _SET_PROVIDER, _SET_ATTEMPTS = map(_slot_setter, _FILLED[4:])


def _as_results(results: Iterable[RecipientResult]) -> tuple[RecipientResult, ...]:
    return tuple(results)


@attrs.frozen
class SendReport(Sequence[RecipientResult]):
    """One result per input recipient, in input order. Partial success is a normal report."""

    results: tuple[RecipientResult, ...] = attrs.field(converter=_as_results)
    provider: str = ""

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[RecipientResult]:
        return iter(self.results)

    def __getitem__(self, index: int) -> RecipientResult:  # type: ignore[override]
        return self.results[index]

    def _count(self, status: SendStatus) -> int:
        return sum(1 for result in self.results if result.status is status)

    @property
    def accepted(self) -> int:
        """How many recipients the provider accepted."""
        return self._count(SendStatus.ACCEPTED)

    @property
    def rejected(self) -> int:
        """How many recipients were not sent."""
        return self._count(SendStatus.REJECTED)

    @property
    def unknown(self) -> int:
        """How many recipients have an unknown outcome."""
        return self._count(SendStatus.UNKNOWN)

    @property
    def all_accepted(self) -> bool:
        """True when every recipient was accepted."""
        return all(result.accepted for result in self.results)

    @property
    def message_ids(self) -> list[str]:
        """The provider's ids of the accepted messages, in input order."""
        return [r.message_id for r in self.results if r.accepted and r.message_id is not None]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as ``smsbridge send --json`` prints it."""
        return {
            "results": [result.to_dict() for result in self.results],
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unknown": self.unknown,
        }


class DeliveryStatus(enum.Enum):
    """Where a message stands after it was accepted, in provider-neutral terms."""

    PENDING = "pending"
    """On its way: queued, sent to the operator, not yet on the handset."""
    DELIVERED = "delivered"
    """The handset received it."""
    FAILED = "failed"
    """It will not be delivered (refused, blacklisted, undeliverable, expired)."""
    UNKNOWN = "unknown"
    """The provider does not know (unknown id, no report available)."""


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """The delivery status of one message id."""

    message_id: str
    status: DeliveryStatus
    provider_code: str | int | None = None
    provider_text: str | None = None


@attrs.frozen(kw_only=True)
class TemplateSupport:
    """How a provider takes template sends."""

    variables: Literal["ordered", "named", "any"]
    """Whether variables fill ``{0}``, ``{1}``… in order, named placeholders, or either."""
    max_batch_size: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """Recipients per template request (1 where the service takes one number a call)."""
    keyed: bool = False
    """Whether template requests carry the batch's keys, so that a template send whose reply
    was lost can be settled by key (see ``Capabilities.settle_window``). Without them, settling
    would find no record and call a sent code "not sent"."""


@attrs.frozen(kw_only=True)
class Capabilities:
    """What a provider can do; the client checks a send against these before any I/O."""

    max_batch_size: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """The most recipients one request to the provider may carry."""
    flash: bool = False
    udh: bool = False
    delivery_status: bool = False
    unicode: bool = True
    templates: TemplateSupport | None = None
    """None when the provider has no template sends."""
    balance: bool = False
    """Whether :meth:`Client.balance` works."""
    landlines: bool = False
    """Whether fixed-line numbers are valid recipients (most SMS providers reach mobiles only)."""
    max_delivery_batch: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    """The most message ids (or keys) one delivery-status (or settle) request may carry."""
    settle_window: float | None = None
    """Seconds after a send during which the provider can say, by the send's key, whether it
    took it (Kavenegar's ``localid``: 12 hours); None when it cannot. Lets a lost reply be
    settled instead of staying ``unknown``."""


@attrs.frozen(kw_only=True)
class Settlement:
    """What the provider knows of the send made under one key (whose reply was lost)."""

    key: str
    sent: bool | None
    """True: it took the message; False: it has no record of it, so it was not sent; None:
    it cannot tell."""
    message_id: str | None = None
    status: DeliveryStatus = DeliveryStatus.UNKNOWN


@attrs.frozen(kw_only=True)
class Balance:
    """The account's credit, in the unit the provider counts it in."""

    amount: float
    unit: str
    """``"messages"``, ``"rials"``, or whatever the provider says."""
    provider: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as ``smsbridge balance --json`` prints it."""
        return {"amount": self.amount, "unit": self.unit, "provider": self.provider}


# -- what a client reports of its providers (hooks, Client.health()) -------------------------


class CircuitState(enum.Enum):
    """Whether a provider is being sent to."""

    CLOSED = "closed"
    """Healthy: every send may use it."""
    OPEN = "open"
    """Skipped until its cool-down ends (another provider is tried instead)."""
    HALF_OPEN = "half_open"
    """Cool-down over: one request probes it; success closes it, failure opens it again."""


@attrs.frozen
class ProviderHealth:
    """A provider's breaker as seen at one moment (``Client.health()``, the
    ``smsbridge_provider_health`` hook)."""

    provider: str
    state: CircuitState
    failures: int
    """Requests in a row that failed (reset by one that did not)."""
    reason: ErrorCategory | None
    """What the last failure was, when there was one."""
    retry_in: float | None
    """Seconds until an open breaker lets a probe through (None unless open)."""


@attrs.frozen
class AttemptReport:
    """One provider request of a send, as the ``smsbridge_attempt`` hook sees it."""

    provider: str
    """The provider's name in this client (``melipayamak``, ``melipayamak#2`` for a second)."""
    number: int
    """1 for the first try of this provider for these recipients, 2 for its first retry, ..."""
    recipients: tuple[str, ...]
    results: tuple[RecipientResult, ...]
    seconds: float
    """How long the request took (the rate limit's wait excluded)."""


@attrs.frozen
class Failover:
    """Recipients moving from one provider to the next, as the ``smsbridge_failover`` hook
    sees it."""

    from_provider: str
    to_provider: str
    recipients: tuple[str, ...]
    reason: ErrorCategory
    """Why the first of them was not sent by ``from_provider``."""
