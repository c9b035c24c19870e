"""Kavenegar's codes and limits as data: return codes, message statuses, token rules.

One table each, so the documentation (docs/providers/kavenegar.md) and the tests read the same
rows the provider uses. Source: the REST documentation's code tables (``return.status`` is also
the HTTP status of the reply) and its message-status table.
"""

from __future__ import annotations

import unicodedata
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
    "LOCALID_WINDOW",
    "MAX_IDS",
    "MAX_RECEPTORS",
    "MAX_TEXT",
    "MAX_TOKEN",
    "MESSAGE_STATUSES",
    "RETURN_CODES",
    "STATUS_WINDOW",
    "SUCCESS",
    "TOKEN_SPACES",
    "MessageStatus",
    "ReturnCode",
    "error_for_code",
    "message_status",
    "token_problem",
]

PROVIDER: Final = "kavenegar"
SUCCESS: Final = 200
"""The return code of a request the service took."""
MAX_RECEPTORS: Final = 200
"""Receptors one ``sms/send`` call may carry (more: 414)."""
MAX_IDS: Final = 500
"""Message ids (``sms/status``) or local ids (``sms/statuslocalmessageid``) per call."""
MAX_TEXT: Final = 900
"""Characters of one text (more: 413)."""
LOCALID_WINDOW: Final = 12 * 3600
"""Seconds a send stays findable by its ``localid``."""
STATUS_WINDOW: Final = 48 * 3600
"""Seconds a message's status stays available (older ids answer status 100)."""
MAX_TOKEN: Final = 100
"""Characters of one ``verify/lookup`` token."""
TOKEN_SPACES: Final = {"token": 0, "token2": 0, "token3": 0, "token10": 5, "token20": 8}
"""The tokens ``verify/lookup`` takes, and how many spaces each may hold; ``token`` is
required. There are no token4 to token9."""


@attrs.frozen
class ReturnCode:
    """One return code: its meaning and the taxonomy category it maps to."""

    code: int
    meaning: str
    category: ErrorCategory | None
    """None only for success."""

    @property
    def retryable(self) -> bool:
        """Whether a later retry may succeed unchanged; follows the category's error class."""
        return self.category is not None and error_for_category(self.category).retryable


@attrs.frozen
class MessageStatus:
    """One message status (in send, lookup, status and statuslocalmessageid entries)."""

    code: int
    meaning: str
    delivery: DeliveryStatus
    """The neutral delivery status it means."""
    refusal: ErrorCategory | None
    """In a send's entries: None when the service took the message for this recipient, else
    why it did not (``outcome_unknown``: the entry cannot tell)."""


_C = ErrorCategory
RETURN_CODES: Final[tuple[ReturnCode, ...]] = (
    ReturnCode(200, "request approved", None),
    ReturnCode(400, "parameters incomplete", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(401, "account disabled", _C.ACCOUNT_RESTRICTED),
    ReturnCode(402, "operation failed", _C.PROVIDER_UNAVAILABLE),
    ReturnCode(403, "API key not valid", _C.AUTHENTICATION),
    ReturnCode(404, "unknown method", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(405, "wrong HTTP method (GET/POST)", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(406, "mandatory parameters sent empty", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(407, "no access to this data or line (IP not whitelisted)", _C.ACCOUNT_RESTRICTED),
    ReturnCode(409, "the server cannot answer, try later", _C.PROVIDER_UNAVAILABLE),
    ReturnCode(411, "receptor not valid", _C.RECIPIENT_REJECTED),
    ReturnCode(412, "sender not valid", _C.SENDER_REJECTED),
    ReturnCode(413, "message empty or longer than 900 characters", _C.CONTENT_REJECTED),
    ReturnCode(414, "request too large (records per call)", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(415, "start index larger than the total", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(416, "source IP does not match the settings", _C.ACCOUNT_RESTRICTED),
    ReturnCode(417, "date not valid or in the past", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(418, "not enough credit", _C.INSUFFICIENT_CREDIT),
    ReturnCode(419, "array lengths differ", _C.UNKNOWN_PROVIDER_ERROR),
    ReturnCode(420, "links in the text are restricted", _C.CONTENT_REJECTED),
    ReturnCode(422, "invalid characters in the text", _C.CONTENT_REJECTED),
    ReturnCode(424, "template not found or not approved", _C.CONTENT_REJECTED),
    ReturnCode(426, "the method needs the advanced service", _C.ACCOUNT_RESTRICTED),
    ReturnCode(427, "this line needs an access level", _C.SENDER_REJECTED),
    ReturnCode(428, "a call is impossible: the token is not digits", _C.CONTENT_REJECTED),
    ReturnCode(429, "IP restricted", _C.ACCOUNT_RESTRICTED),
    ReturnCode(431, "bad token structure (space, newline, underscore)", _C.CONTENT_REJECTED),
    ReturnCode(432, "%token missing from the template", _C.CONTENT_REJECTED),
    ReturnCode(451, "too many calls in a time window", _C.RATE_LIMITED),
    ReturnCode(501, "test mode: only the account owner's number", _C.ACCOUNT_RESTRICTED),
    ReturnCode(607, "tag name not valid", _C.UNKNOWN_PROVIDER_ERROR),
)

_D = DeliveryStatus
MESSAGE_STATUSES: Final[tuple[MessageStatus, ...]] = (
    MessageStatus(1, "queued", _D.PENDING, None),
    MessageStatus(2, "scheduled", _D.PENDING, None),
    MessageStatus(4, "sent to the operator", _D.PENDING, None),
    MessageStatus(5, "sent to the operator", _D.PENDING, None),
    MessageStatus(6, "failed at the operator", _D.FAILED, _C.RECIPIENT_REJECTED),
    MessageStatus(10, "delivered", _D.DELIVERED, None),
    MessageStatus(11, "undelivered (phone off or out of reach)", _D.FAILED, _C.RECIPIENT_REJECTED),
    MessageStatus(13, "cancelled or not sent; cost refunded", _D.FAILED, _C.UNKNOWN_PROVIDER_ERROR),
    MessageStatus(14, "blocked: refuses advertising; refunded", _D.FAILED, _C.RECIPIENT_REJECTED),
    MessageStatus(100, "unknown id (or older than 48 h)", _D.UNKNOWN, _C.OUTCOME_UNKNOWN),
)

_RETURN_BY_CODE: Final = {row.code: row for row in RETURN_CODES}
_STATUS_BY_CODE: Final = {row.code: row for row in MESSAGE_STATUSES}


def error_for_code(code: int, text: object = None) -> ProviderError:
    """The error for a return code other than success; unknown codes are kept raw.

    ``text`` is the service's own ``return.message``, kept as the provider text.
    """
    row = _RETURN_BY_CODE.get(code)
    provider_text = text if isinstance(text, str) and text else None
    if row is None or row.category is None:
        return UnknownProviderError(
            f"kavenegar answered with the unknown return code {code}",
            provider=PROVIDER,
            provider_code=code,
            provider_text=provider_text,
        )
    error = error_for_category(row.category)(
        f"kavenegar refused the request: {row.meaning} (code {code})",
        provider=PROVIDER,
        provider_code=code,
        provider_text=provider_text or row.meaning,
    )
    assert isinstance(error, ProviderError)  # noqa: S101 - the table holds provider categories.
    return error


def message_status(code: object) -> MessageStatus:
    """The row for a message status; an unlisted one reads as unknown, keeping an integer code
    (0 for anything else: a missing or malformed status)."""
    row = _STATUS_BY_CODE.get(code) if type(code) is int else None
    if row is None:
        raw = code if type(code) is int else 0
        return MessageStatus(raw, f"unlisted status {code!r}", _D.UNKNOWN, _C.OUTCOME_UNKNOWN)
    return row


def token_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot fill token ``name`` (None when it can), by the documented rules."""
    if name not in TOKEN_SPACES:
        return f"kavenegar has no token {name!r} (it takes {', '.join(TOKEN_SPACES)})"
    if all(char.isspace() or unicodedata.category(char) == "Cf" for char in value):
        return f"kavenegar's {name} is empty"  # or holds only invisible characters
    if len(value) > MAX_TOKEN:
        return f"kavenegar's {name} holds {len(value)} characters (at most {MAX_TOKEN})"
    spaces = TOKEN_SPACES[name]
    if spaces == 0 and any(char.isspace() or char == "_" for char in value):
        return f"kavenegar's {name} may not hold spaces, newlines or underscores (code 431)"
    if any(char.isspace() and char != " " for char in value):
        return f"kavenegar's {name} may not hold a newline or tab (code 431)"
    if value.count(" ") > spaces:
        return f"kavenegar's {name} may hold at most {spaces} spaces (code 431)"
    return None
