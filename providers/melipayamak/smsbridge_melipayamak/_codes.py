"""Melipayamak's codes as data: SendSms return codes, pattern-send codes and delivery codes,
and their mapping.

One table each, so the documentation (docs/providers/melipayamak.md) and the tests read the
same rows the provider uses. Sources: status_codes.md in the shared reference.
"""

from __future__ import annotations

import math
from typing import Final

import attrs

from smsbridge._models import DeliveryStatus
from smsbridge.exceptions import (
    ErrorCategory,
    OutcomeUnknownError,
    ProviderError,
    UnknownProviderError,
    error_for_category,
)

__all__ = [
    "DELIVERY_CODES",
    "PATTERN_CODES",
    "SEND_CODES",
    "SUCCESS",
    "DeliveryCode",
    "SendCode",
    "credit_amount",
    "delivery_code",
    "error_for_code",
    "error_for_pattern_code",
    "rec_id_or_error",
]

PROVIDER: Final = "melipayamak"
SUCCESS: Final = 1
"""The SendSms return code for a request the service took."""
MIN_REC_ID_DIGITS: Final = 10
"""Where one text answers "a recId or a code" (pattern sends, every REST send), an id has at
least this many digits (real ones have 15 to 19) and a code at most :data:`MAX_CODE_DIGITS`."""
MAX_CODE_DIGITS: Final = 3


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

PATTERN_CODES: Final[tuple[SendCode, ...]] = (
    SendCode(-1, "access to this web service is disabled", _C.ACCOUNT_RESTRICTED),
    SendCode(-2, "a pattern send takes one mobile number", _C.RECIPIENT_REJECTED),
    SendCode(-3, "the sending line is not defined", _C.SENDER_REJECTED),
    SendCode(-4, "the bodyId is wrong or the pattern is not approved", _C.CONTENT_REJECTED),
    SendCode(-5, "the variables do not match the pattern", _C.CONTENT_REJECTED),
    SendCode(-6, "internal error", _C.PROVIDER_UNAVAILABLE),
    SendCode(-7, "error in the sender number", _C.SENDER_REJECTED),
    SendCode(-10, "a variable holds a link, an IP address or an e-mail", _C.CONTENT_REJECTED),
    # Third-party only (status_codes.md, section 1), said to be the pattern sends' own limit.
    SendCode(19, "hourly pattern send limit reached", _C.RATE_LIMITED),
)
"""SendByBaseNumber2 / BaseServiceNumber codes (status_codes.md, section 3). The other
non-negative codes (0 wrong credentials, 2 credit, ...) are the account's, read from
:data:`SEND_CODES`."""

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
_PATTERN_BY_CODE: Final = _SEND_BY_CODE | {row.code: row for row in PATTERN_CODES}
_DELIVERY_BY_CODE: Final = {row.code: row for row in DELIVERY_CODES}


def _error(row: SendCode | None, code: int, what: str) -> ProviderError:
    if row is None or row.category is None:
        return UnknownProviderError(
            f"melipayamak answered the {what} with the unknown code {code}",
            provider=PROVIDER,
            provider_code=code,
        )
    cls = error_for_category(row.category)
    error = cls(
        f"melipayamak refused the {what}: {row.meaning} (code {code})",
        provider=PROVIDER,
        provider_code=code,
        provider_text=row.meaning,
    )
    assert isinstance(error, ProviderError)  # noqa: S101 - the table holds provider categories.
    return error


def error_for_code(code: int) -> ProviderError:
    """The error for a SendSms return code other than success; unknown codes are kept raw."""
    return _error(_SEND_BY_CODE.get(code), code, "request")


def error_for_pattern_code(code: int) -> ProviderError:
    """The error for a pattern send's code: :data:`PATTERN_CODES`, then :data:`SEND_CODES`."""
    return _error(_PATTERN_BY_CODE.get(code), code, "pattern send")


def rec_id_or_error(value: object, *, pattern: bool) -> str:
    """The recId in a reply that holds "a recId or a code" (SendByBaseNumber2, REST sends).

    A code is an error even where the reply also says success (REST's ``RetStatus`` 1):
    it is raised from the pattern or the SendSms table. A value that is neither (no number, or
    a number too long for a code and too short for an id) leaves the outcome unknown.
    """
    text = str(value).strip() if isinstance(value, str | int) and value is not True else ""
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit():
        if not text.startswith("-") and len(digits) >= MIN_REC_ID_DIGITS and digits.strip("0"):
            return str(int(text))
        if len(digits) <= MAX_CODE_DIGITS:
            code = int(text)
            raise error_for_pattern_code(code) if pattern else error_for_code(code)
    raise OutcomeUnknownError(
        "melipayamak's reply holds neither a message id nor a known kind of code; "
        "the message may have been sent",
        provider=PROVIDER,
    )


def credit_amount(value: object) -> float:
    """GetCredit's value as a finite number (text or JSON number)."""
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        amount = float(value)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount):
        raise UnknownProviderError(
            "melipayamak's GetCredit reply holds no number", provider=PROVIDER
        )
    return amount


def delivery_code(code: int) -> DeliveryCode:
    """The row for a delivery code; an unlisted code reads as unknown, keeping the raw code."""
    row = _DELIVERY_BY_CODE.get(code)
    if row is None:
        return DeliveryCode(code, f"unlisted delivery code {code}", DeliveryStatus.UNKNOWN)
    return row
