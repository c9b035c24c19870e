"""Return and delivery codes, and the text and number rules SendSms checks."""

from __future__ import annotations

import enum
import re
from typing import Final

__all__ = ["LINK", "DeliveryCode", "SendCode", "normalise_mobile"]

_MOBILE: Final = re.compile(r"(?:\+98|0098|98|0)?(9\d{9})")
# A bare "name.tld" counts as a link only for common TLDs, so "e.g." or "3.14" do not trip it.
LINK: Final = re.compile(
    r"https?://|www\.|\b[a-z0-9][a-z0-9-]*\.(?:com|net|org|ir|io|info|biz|me|co|app|dev|xyz|site|online)\b",
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
