"""The provider-neutral data: messages, per-recipient results, reports and delivery statuses."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs

from smsbridge.exceptions import ErrorCategory, InvalidMessageError, SmsBridgeError

__all__ = [
    "Capabilities",
    "DeliveryReport",
    "DeliveryStatus",
    "Message",
    "RecipientResult",
    "ResultError",
    "SendReport",
    "SendStatus",
]


def _text_is_sendable(_instance: object, _attribute: object, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidMessageError(f"message text must be a str, not {type(value).__name__}")
    if not value.strip():
        raise InvalidMessageError("message text is empty")


def _optional_str(name: str) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidMessageError(f"{name} must be a non-empty str or None, got {value!r}")

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
    so a caller can recognise a send it already made.
    """

    text: str = attrs.field(validator=_text_is_sendable)
    sender: str | None = attrs.field(default=None, validator=_optional_str("sender"))
    flash: bool = attrs.field(default=False, validator=_is_bool("flash"))
    udh: str | None = attrs.field(default=None, validator=_optional_str("udh"))
    reference: str | None = attrs.field(default=None, validator=_optional_str("reference"))


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
        }


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
class Capabilities:
    """What a provider can do; the client checks a message against these before sending."""

    max_batch_size: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """The most recipients one request to the provider may carry."""
    flash: bool = False
    udh: bool = False
    delivery_status: bool = False
    unicode: bool = True
