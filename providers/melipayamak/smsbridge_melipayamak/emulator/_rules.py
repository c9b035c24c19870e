"""Return, pattern and delivery codes, and the text and number rules the sends check."""

from __future__ import annotations

import enum
import re
from typing import Final

__all__ = [
    "FORBIDDEN_IN_VARIABLE",
    "LINK",
    "DeliveryCode",
    "PatternCode",
    "SendCode",
    "normalise_mobile",
]

_MOBILE: Final = re.compile(r"(?:\+98|0098|98|0)?(9\d{9})")
# A bare "name.tld" counts as a link only for common TLDs, so "e.g." or "3.14" do not trip it.
LINK: Final = re.compile(
    r"https?://|www\.|\b[a-z0-9][a-z0-9-]*\.(?:com|net|org|ir|io|info|biz|me|co|app|dev|xyz|site|online)\b",
    re.IGNORECASE,
)

# What a pattern variable must not hold (code -10): a link, an IPv4 address or an e-mail.
FORBIDDEN_IN_VARIABLE: Final = re.compile(
    rf"{LINK.pattern}|\b\d{{1,3}}(?:\.\d{{1,3}}){{3}}\b|[^\s@]+@[^\s@]+\.[^\s@]+",
    re.IGNORECASE,
)


class SendCode(enum.IntEnum):
    """SendSms return codes (status_codes.md section 1; 8 comes from the AddUsance docs)."""

    WRONG_CREDENTIALS = 0
    OK = 1
    NO_CREDIT = 2
    DAILY_LIMIT = 3
    VOLUME_LIMIT = 4
    INVALID_SENDER = 5
    MAINTENANCE = 6
    FILTERED_WORD = 7
    TOO_FEW_RECIPIENTS = 8
    PUBLIC_LINE = 9
    INACTIVE = 10
    NOT_SENT = 11
    DOCUMENTS_INCOMPLETE = 12
    LINK = 14
    OPT_OUT_MISSING = 15


class PatternCode(enum.IntEnum):
    """SendByBaseNumber2 / BaseServiceNumber codes (status_codes.md section 3), and the account
    codes of the SendSms table they share; anything else the result holds is a recId."""

    WRONG_CREDENTIALS = 0
    NO_CREDIT = 2
    DAILY_LIMIT = 3
    NOT_SENT = 11
    HOURLY_LIMIT = 19
    NO_ACCESS = -1
    ONE_NUMBER_ONLY = -2
    NO_LINE = -3
    UNKNOWN_PATTERN = -4
    VARIABLES_MISMATCH = -5
    INTERNAL_ERROR = -6
    SENDER_ERROR = -7
    FORBIDDEN_VARIABLE = -10


class DeliveryCode(enum.IntEnum):
    """Delivery statuses returned by GetDeliveries and GetDeliveries2."""

    INVALID_ID = -1  # GetDeliveries2 only: the recId is not a number.
    SENT_TO_TELECOM = 0
    DELIVERED = 1
    NOT_DELIVERED = 2
    REACHED_TELECOM = 8
    UNKNOWN = 100


def normalise_mobile(number: str) -> str | None:
    """Return ``989xxxxxxxxx`` for a valid Iranian mobile in any usual spelling, else None."""
    match = _MOBILE.fullmatch(number.strip())
    return None if match is None else "98" + match.group(1)
