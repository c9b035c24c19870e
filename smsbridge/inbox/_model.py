"""What the inbox holds: messages as a handset would see them, and armed chaos rules."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from smsbridge.exceptions import ConfigurationError, ErrorCategory

__all__ = [
    "CHAOS_CATEGORIES",
    "ChaosFault",
    "ChaosRule",
    "InboxError",
    "InboxMessage",
    "MessageStatus",
]


class InboxError(ConfigurationError):
    """The inbox store cannot be used (a foreign or damaged file, a folder that is missing)."""


class MessageStatus(enum.Enum):
    """Where a message stands, as the inbox shows it. The values are the JSON names."""

    PENDING = "pending"
    """Accepted, on its way to the handset."""
    DELIVERED = "delivered"
    """On the handset."""
    FAILED = "failed"
    """Accepted but never delivered."""
    REJECTED = "rejected"
    """Never sent: the provider (or chaos) refused it; ``error`` says why."""


CHAOS_CATEGORIES: Final[tuple[ErrorCategory, ...]] = (
    ErrorCategory.PROVIDER_UNAVAILABLE,
    ErrorCategory.OUTCOME_UNKNOWN,
    ErrorCategory.RECIPIENT_REJECTED,
    ErrorCategory.INSUFFICIENT_CREDIT,
    ErrorCategory.RATE_LIMITED,
    ErrorCategory.CONTENT_REJECTED,
    ErrorCategory.SENDER_REJECTED,
    ErrorCategory.AUTHENTICATION,
    ErrorCategory.ACCOUNT_RESTRICTED,
)
"""The failures chaos can inject: every way a provider refuses a send, and the lost reply."""


def _category(value: ErrorCategory | str) -> ErrorCategory:
    category = ErrorCategory(value)
    if category not in CHAOS_CATEGORIES:
        names = ", ".join(c.value for c in CHAOS_CATEGORIES)
        raise ValueError(f"chaos cannot inject {category.value!r}; choose one of {names}")
    return category


@attrs.frozen(kw_only=True)
class InboxMessage:
    """One message to one number, as the inbox stored it."""

    id: int
    """The inbox's own id: increasing, unique in the store."""
    message_id: str | None
    """The provider's id (``inbox-NNNNNNNN`` for fake://), None when it was never sent."""
    provider: str
    """``fake``, ``melipayamak``...: the provider (or emulator) that took it."""
    recipient: str
    """E.164 when the reporter could normalise it, otherwise as reported."""
    text: str
    """The text the handset shows (a template send is rendered when its body is known)."""
    sender: str | None
    """The line it came from (None: the account's default line)."""
    flash: bool
    udh: str | None
    segments: int
    encoding: str
    """``GSM-7`` or ``UCS-2``."""
    status: MessageStatus
    error: str | None
    """Why it was rejected (an error category, or a service's own code such as
    ``melipayamak code 7``), or ``outcome_unknown`` when the sender never got the reply."""
    chaos: bool
    """True when chaos (not the provider's own rules) decided ``error``."""
    reference: str | None
    key: str | None
    """The per-recipient idempotency key the engine gave (``campaign:N`` in a campaign)."""
    template_id: str | None
    variables: Mapping[str, str] | tuple[str, ...] | None
    created_at: float
    status_at: float | None

    @property
    def campaign(self) -> str | None:
        """What the campaign label shows: the campaign (its id's first 8 characters) and the
        journal position, from the key a campaign gives each row (``CAMPAIGN:POSITION``);
        None for a single send, whose key (if any) ends with the number."""
        if self.key is None:
            return None
        campaign, _, position = self.key.rpartition(":")
        if not campaign or not position.isdigit() or not position.isascii():
            return None
        return f"{campaign[:8]} position {position}"

    def to_json(self) -> dict[str, Any]:
        """The JSON form the REST API answers with."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "provider": self.provider,
            "recipient": self.recipient,
            "text": self.text,
            "sender": self.sender,
            "flash": self.flash,
            "udh": self.udh,
            "segments": self.segments,
            "encoding": self.encoding,
            "status": self.status.value,
            "error": self.error,
            "chaos": self.chaos,
            "reference": self.reference,
            "key": self.key,
            "campaign": self.campaign,
            "template_id": self.template_id,
            "variables": (
                list(self.variables) if isinstance(self.variables, tuple) else self.variables
            ),
            "direction": "incoming",  # to the handset: the inbox shows what the phone received
            "created_at": self.created_at,
            "status_at": self.status_at,
        }


def _count(_: object, __: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"count must be at least 1 (or null for every send), got {value}")


def _share(_: object, __: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"share must be above 0 and at most 1, got {value}")


@attrs.frozen(kw_only=True)
class ChaosRule:
    """Armed chaos: fail sends with ``category``.

    ``count`` sends (None: until disarmed), each with probability ``share``. A rule hits one
    provider *request*, so every recipient of that request fails together.
    """

    id: int = 0
    category: ErrorCategory = attrs.field(converter=_category)
    provider: str = "*"
    """``*`` for every provider, or one name (``fake``, ``melipayamak``...)."""
    remaining: int | None = attrs.field(default=1, validator=_count)
    share: float = attrs.field(default=1.0, converter=float, validator=_share)
    message: str | None = None
    hits: int = 0
    created_at: float = 0.0

    @classmethod
    def from_json(cls, body: object) -> ChaosRule:
        """A rule from the API's JSON body; ``ValueError`` says what is wrong with it."""
        if not isinstance(body, dict):
            raise ValueError('expected a JSON object such as {"category": "provider_unavailable"}')
        unknown = set(body) - {"category", "provider", "count", "share", "message"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        if "category" not in body:
            raise ValueError("category is required")
        count = body.get("count", 1 if "share" not in body else None)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ValueError("count must be a whole number or null")
        share = body.get("share", 1.0)
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise ValueError("share must be a number")
        provider = body.get("provider", "*")
        message = body.get("message")
        if not isinstance(provider, str) or not provider or len(provider) > 64:
            raise ValueError("provider must be a name such as fake, or *")
        if message is not None and (not isinstance(message, str) or len(message) > 500):
            raise ValueError("message must be a string of at most 500 characters")
        try:
            return cls(
                category=body["category"],
                provider=provider,
                remaining=count,
                share=share,
                message=message,
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None

    def to_json(self) -> dict[str, Any]:
        """The JSON form the REST API answers with."""
        return {
            "id": self.id,
            "category": self.category.value,
            "provider": self.provider,
            "remaining": self.remaining,
            "share": self.share,
            "message": self.message,
            "hits": self.hits,
            "created_at": self.created_at,
        }


@attrs.frozen(kw_only=True)
class ChaosFault:
    """What one provider request must do because chaos hit it."""

    category: ErrorCategory
    message: str
    rule: int
    """The id of the rule that fired."""

    @property
    def lose_reply(self) -> bool:
        """Process the request, then lose the reply (the outcome is unknown to the sender)."""
        return self.category is ErrorCategory.OUTCOME_UNKNOWN

    def to_json(self) -> dict[str, Any]:
        """The JSON form ``POST /api/v1/chaos/take`` answers with."""
        return {
            "category": self.category.value,
            "message": self.message,
            "rule": self.rule,
            "lose_reply": self.lose_reply,
        }
