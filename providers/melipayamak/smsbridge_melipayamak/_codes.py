"""Melipayamak's codes as data: SendSms return codes and delivery codes, and their mapping.

One table each, so the documentation (docs/providers/melipayamak.md) and the tests read the
same rows the provider uses. Sources: status_codes.md in the shared reference.
"""

from __future__ import annotations

from typing import Final

import attrs

from smsbridge._models import DeliveryStatus
from smsbridge.exceptions import (
    ErrorCategory,
    ProviderError,
    UnknownProviderError,
    error_for_category,
)

__all__ = [
    "DELIVERY_CODES",
    "SEND_CODES",
    "SUCCESS",
    "DeliveryCode",
    "SendCode",
    "delivery_code",
    "error_for_code",
]

PROVIDER: Final = "melipayamak"
SUCCESS: Final = 1
"""The SendSms return code for a request the service took."""


@attrs.frozen
class SendCode:
    """One SendSms return code: its meaning and the taxonomy category it maps to."""

    code: int
    meaning: str
    category: ErrorCategory | None
    """None only for success."""

    @property
    def retryable(self) -> bool:
        """Whether a later retry may succeed unchanged; follows the category's error class."""
        return self.category is not None and error_for_category(self.category).retryable


@attrs.frozen
class DeliveryCode:
    """One delivery code (GetDeliveries, GetDeliveries2) and the neutral status it means."""

    code: int
    meaning: str
    status: DeliveryStatus


_C = ErrorCategory
SEND_CODES: Final[tuple[SendCode, ...]] = (
    SendCode(0, "wrong username or password", _C.AUTHENTICATION),
    SendCode(1, "request accepted", None),
    SendCode(2, "insufficient credit", _C.INSUFFICIENT_CREDIT),
    SendCode(3, "daily send limit reached", _C.RATE_LIMITED),
    SendCode(4, "send volume limit reached", _C.RATE_LIMITED),
    SendCode(5, "sender number not valid", _C.SENDER_REJECTED),
    SendCode(6, "the service is being updated", _C.PROVIDER_UNAVAILABLE),
    SendCode(7, "text contains a filtered word", _C.CONTENT_REJECTED),
    SendCode(8, "minimum send count not reached", _C.ACCOUNT_RESTRICTED),
    SendCode(9, "public lines cannot send through the web service", _C.SENDER_REJECTED),
    SendCode(10, "user not active", _C.ACCOUNT_RESTRICTED),
    # The service sent nothing and gives no reason; the known cause is recipients it cannot
    # deliver to (no valid mobile among them), so retrying the same request is pointless.
    SendCode(11, "not sent", _C.RECIPIENT_REJECTED),
    SendCode(12, "user documents incomplete", _C.ACCOUNT_RESTRICTED),
    SendCode(14, "text contains a link", _C.CONTENT_REJECTED),
    SendCode(15, "more than one recipient without the opt-out text", _C.CONTENT_REJECTED),
)

_D = DeliveryStatus
DELIVERY_CODES: Final[tuple[DeliveryCode, ...]] = (
    DeliveryCode(0, "sent to telecom", _D.PENDING),
    DeliveryCode(1, "delivered to handset", _D.DELIVERED),
    DeliveryCode(2, "not delivered to handset", _D.FAILED),
    DeliveryCode(3, "telecom error", _D.FAILED),
    DeliveryCode(5, "unknown error", _D.UNKNOWN),
    DeliveryCode(8, "reached telecom", _D.PENDING),
    DeliveryCode(16, "did not reach telecom", _D.FAILED),
    DeliveryCode(35, "recipient on the blacklist", _D.FAILED),
    DeliveryCode(100, "unknown", _D.UNKNOWN),
    DeliveryCode(200, "sent", _D.PENDING),
    DeliveryCode(300, "filtered", _D.FAILED),
    DeliveryCode(400, "in send list", _D.PENDING),
    DeliveryCode(500, "not accepted", _D.FAILED),
)

_SEND_BY_CODE: Final = {row.code: row for row in SEND_CODES}
_DELIVERY_BY_CODE: Final = {row.code: row for row in DELIVERY_CODES}


def error_for_code(code: int) -> ProviderError:
    """The error for a SendSms return code other than success; unknown codes are kept raw."""
    row = _SEND_BY_CODE.get(code)
    if row is None or row.category is None:
        return UnknownProviderError(
            f"melipayamak answered with the unknown return code {code}",
            provider=PROVIDER,
            provider_code=code,
        )
    cls = error_for_category(row.category)
    error = cls(
        f"melipayamak refused the request: {row.meaning} (code {code})",
        provider=PROVIDER,
        provider_code=code,
        provider_text=row.meaning,
    )
    assert isinstance(error, ProviderError)  # noqa: S101 - the table holds provider categories.
    return error


def delivery_code(code: int) -> DeliveryCode:
    """The row for a delivery code; an unlisted code reads as unknown, keeping the raw code."""
    row = _DELIVERY_BY_CODE.get(code)
    if row is None:
        return DeliveryCode(code, f"unlisted delivery code {code}", DeliveryStatus.UNKNOWN)
    return row
