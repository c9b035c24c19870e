"""What a journal holds, as a reader sees it: rows, states, totals, and a campaign's identity."""

from __future__ import annotations

import enum
from typing import Any, ClassVar

import attrs

from smsbridge._models import DeliveryStatus, RecipientResult, ResultError, SendStatus
from smsbridge.exceptions import ErrorCategory

__all__ = ["CampaignIdentity", "JournalRow", "JournalTotals", "RowState"]


class RowState(enum.StrEnum):
    """Where one input recipient of a campaign stands. The values are stored in the journal."""

    PENDING = "pending"
    """Not sent yet."""
    IN_FLIGHT = "in_flight"
    """Its request is being written; after an interruption this reads as ``unknown``."""
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"
    """The number was given before; it follows its first occurrence."""

    @property
    def status(self) -> SendStatus | None:
        """The report status, None while the row is still to be sent."""
        return _STATUS.get(self)


_STATUS = {
    RowState.ACCEPTED: SendStatus.ACCEPTED,
    RowState.REJECTED: SendStatus.REJECTED,
    RowState.UNKNOWN: SendStatus.UNKNOWN,
    RowState.IN_FLIGHT: SendStatus.UNKNOWN,
}


@attrs.frozen(kw_only=True)
class JournalRow:
    """One input recipient and its outcome so far (a duplicate shows its first's outcome)."""

    position: int
    """The recipient's position in the campaign's input, from 0."""
    raw: str
    """The recipient as given."""
    recipient: str | None
    """Its E.164 form; None when it is not a valid number."""
    state: RowState
    message_id: str | None = None
    segments: int = 0
    category: ErrorCategory | None = None
    provider_code: str | None = None
    error: str | None = None
    duplicate_of: int | None = None
    delivery: DeliveryStatus | None = None
    """The last delivery status checked for this message."""
    provider: str | None = None
    """The provider that took (or last refused) it."""
    attempts: int = 0
    """Provider requests made for it."""
    origin: str | None = None
    """Where an invalid recipient came from (``numbers.txt line 7``), when known."""

    @property
    def status(self) -> SendStatus | None:
        """The report status (a row in flight reads as unknown; pending as None)."""
        return self.state.status

    def result(self) -> RecipientResult:
        """The report view of this row."""
        error = None
        if self.category is not None:
            error = ResultError(
                category=self.category, message=self.error or "", provider_code=self.provider_code
            )
        return RecipientResult(
            recipient=self.recipient or self.raw,
            status=self.status or SendStatus.UNKNOWN,
            message_id=self.message_id,
            segments=self.segments,
            error=error,
            duplicate_of=self.duplicate_of,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as the JSON Lines report writes it."""
        return {
            "position": self.position,
            "recipient": self.recipient or self.raw,
            "status": (self.status.value if self.status is not None else self.state.value),
            "message_id": self.message_id,
            "segments": self.segments,
            "error": None
            if self.category is None
            else {
                "category": self.category.value,
                "provider_code": self.provider_code,
                "message": self.error,
            },
            "duplicate_of": self.duplicate_of,
            "delivery": None if self.delivery is None else self.delivery.value,
            "provider": self.provider,
        }


@attrs.frozen
class JournalTotals:
    """Counts by outcome over the whole campaign (duplicates count with their first)."""

    total: int
    accepted: int
    rejected: int
    unknown: int
    pending: int
    segments: int
    """SMS parts accepted (recipients × parts)."""


@attrs.frozen(kw_only=True)
class CampaignIdentity:
    """What makes two runs "the same campaign": a resume must match all of it.

    Never a secret: the account is a user name and host, the text only a hash.
    """

    provider: str
    account: str
    kind: str
    """``text`` or ``template``."""
    content: str
    """SHA-256 of the text, or of the template id and variables."""
    sender: str | None
    flash: bool = False
    udh: str | None = None

    _LABELS: ClassVar[dict[str, str]] = {
        "provider": "the provider",
        "account": "the account",
        "kind": "the kind of send (text or template)",
        "content": "the text (or template)",
        "sender": "the sender",
        "flash": "the flash option",
        "udh": "the udh",
    }

    def to_dict(self) -> dict[str, Any]:
        """Stored as JSON in the journal."""
        return attrs.asdict(self)

    def differences(self, other: CampaignIdentity) -> list[str]:
        """What differs between this campaign and ``other``, in words."""
        found = []
        for name, label in self._LABELS.items():
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine == theirs:
                continue
            if name in ("provider", "account", "sender", "flash"):
                found.append(f"{label} ({theirs!r} in the journal, {mine!r} now)")
            else:
                found.append(f"{label} differs")
        return found
