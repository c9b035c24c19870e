"""The one error taxonomy every provider maps into.

Errors are raised, never returned. Input and configuration problems are raised before any network
I/O; provider errors for one request become per-recipient results of that request, so a send that
partly fails still returns a report.

    SmsBridgeError
    ├── InvalidInputError (ValueError)          raised before any network I/O (bad options,
    │   │                                       timeouts, files, journals)
    │   ├── InvalidRecipientError               every bad recipient with its position
    │   ├── JournalError                        not a journal, damaged, in use, another campaign
    │   └── InvalidMessageError                 empty text, too many segments, unsupported option
    ├── ConfigurationError (ValueError)         bad URL, unknown scheme, missing credentials
    └── ProviderError                           the provider refused or failed
        ├── AuthenticationError
        ├── InsufficientCreditError
        ├── RateLimitedError                    a quota or rate limit (daily, volume)
        ├── SenderRejectedError
        ├── ContentRejectedError
        ├── RecipientRejectedError              the provider refused the number itself
        ├── AccountRestrictedError
        ├── SendVetoedError                     a plugin vetoed the send
        ├── ProviderUnavailableError            nothing was sent; retryable
        ├── OutcomeUnknownError                 may have been sent; never retried automatically
        └── UnknownProviderError                an unmapped provider code, kept raw

Every error, the base classes included, carries ``category`` (an :class:`ErrorCategory`),
``retryable``, and the provider's name, raw code and raw text when a provider produced it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import ClassVar, Final

import attrs

__all__ = [
    "AccountRestrictedError",
    "AuthenticationError",
    "ConfigurationError",
    "ContentRejectedError",
    "ErrorCategory",
    "InsufficientCreditError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidRecipientError",
    "JournalError",
    "OutcomeUnknownError",
    "ProviderError",
    "ProviderUnavailableError",
    "RateLimitedError",
    "RecipientProblem",
    "RecipientRejectedError",
    "SendVetoedError",
    "SenderRejectedError",
    "SmsBridgeError",
    "UnknownProviderError",
    "error_for_category",
]


class ErrorCategory(enum.Enum):
    """Provider-neutral failure categories; the values are the snake_case names in JSON output."""

    UNEXPECTED = "unexpected"
    INVALID_INPUT = "invalid_input"
    INVALID_RECIPIENT = "invalid_recipient"
    INVALID_MESSAGE = "invalid_message"
    CONFIGURATION = "configuration"
    AUTHENTICATION = "authentication"
    INSUFFICIENT_CREDIT = "insufficient_credit"
    RATE_LIMITED = "rate_limited"
    SENDER_REJECTED = "sender_rejected"
    CONTENT_REJECTED = "content_rejected"
    RECIPIENT_REJECTED = "recipient_rejected"
    ACCOUNT_RESTRICTED = "account_restricted"
    VETOED = "vetoed"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    UNKNOWN_PROVIDER_ERROR = "unknown_provider_error"

    @property
    def fails_over(self) -> bool:
        """Not sent, and the provider's own doing: another provider may send it.

        A failover client moves a recipient on to the next provider only for these.
        """
        return self in _FAIL_OVER

    @property
    def may_have_been_sent(self) -> bool:
        """The request may have gone out: never retried or failed over, held for settling."""
        return self in _HELD


class SmsBridgeError(Exception):
    """Base of every error smsbridge raises."""

    category: ClassVar[ErrorCategory] = ErrorCategory.UNEXPECTED
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        provider_code: str | int | None = None,
        provider_text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.provider_code = provider_code
        self.provider_text = provider_text


class InvalidInputError(SmsBridgeError, ValueError):
    """The caller's input is wrong; nothing was sent."""

    category = ErrorCategory.INVALID_INPUT


@attrs.frozen
class RecipientProblem:
    """One rejected recipient: its position in the input, what was given, and why."""

    index: int
    raw: object
    reason: str


class InvalidRecipientError(InvalidInputError):
    """One or more recipients are not valid phone numbers; ``problems`` lists every one."""

    category = ErrorCategory.INVALID_RECIPIENT

    def __init__(
        self,
        problems: list[RecipientProblem] | str,
        *,
        total: int | None = None,
        origins: dict[int, str] | None = None,
        **kwargs: object,
    ) -> None:
        self.origins = dict(origins or {})
        """Where each position came from (``numbers.txt line 7``), when known."""
        if isinstance(problems, str):
            message, self.problems, self.total = problems, [], 0
        else:
            self.problems = problems
            self.total = len(problems) if total is None else total
            message = describe_problems(
                problems, self.total, lambda i: self.origins.get(i, f"#{i}")
            )
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


def describe_problems(
    problems: list[RecipientProblem], total: int, origin: Callable[[int], str] | None = None
) -> str:
    """``3 invalid recipients: #0 'x': contains letters; ...``: the one wording of the error.

    ``origin`` names a position (``--to #2``, ``numbers.txt line 7``); by default ``#N``.
    """
    name = origin or (lambda index: f"#{index}")
    shown = "; ".join(f"{name(p.index)} {p.raw!r}: {p.reason}" for p in problems[:20])
    more = total - min(len(problems), 20)
    noun = "recipient" if total == 1 else "recipients"
    return f"{total} invalid {noun}: {shown}" + (f" (and {more} more)" if more > 0 else "")


class JournalError(InvalidInputError):
    """A campaign journal cannot be used: not a journal, damaged, in use, or another campaign's.

    The file is never altered when this is raised.
    """


class InvalidMessageError(InvalidInputError):
    """The message cannot be sent as given (empty, too long, an unsupported option)."""

    category = ErrorCategory.INVALID_MESSAGE


class ConfigurationError(SmsBridgeError, ValueError):
    """The provider configuration is wrong or incomplete (URL, scheme, credentials)."""

    category = ErrorCategory.CONFIGURATION


class ProviderError(SmsBridgeError):
    """The provider refused the request or could not be reached."""

    category = ErrorCategory.UNKNOWN_PROVIDER_ERROR


class AuthenticationError(ProviderError):
    """The provider rejected the credentials."""

    category = ErrorCategory.AUTHENTICATION


class InsufficientCreditError(ProviderError):
    """The account has too little credit for this send."""

    category = ErrorCategory.INSUFFICIENT_CREDIT


class RateLimitedError(ProviderError):
    """A quota or rate limit (per day, per request volume, per second) was reached."""

    category = ErrorCategory.RATE_LIMITED


class SenderRejectedError(ProviderError):
    """The sender (line or alphanumeric id) may not be used."""

    category = ErrorCategory.SENDER_REJECTED


class ContentRejectedError(ProviderError):
    """The text was refused (filtered word, link, missing opt-out wording)."""

    category = ErrorCategory.CONTENT_REJECTED


class RecipientRejectedError(ProviderError):
    """The provider refused this recipient (blacklisted, not a reachable mobile)."""

    category = ErrorCategory.RECIPIENT_REJECTED


class AccountRestrictedError(ProviderError):
    """The account may not send right now (inactive, documents incomplete, minimum not met)."""

    category = ErrorCategory.ACCOUNT_RESTRICTED


class SendVetoedError(ProviderError):
    """A plugin's ``smsbridge_before_send`` hook vetoed the send or this recipient."""

    category = ErrorCategory.VETOED


class ProviderUnavailableError(ProviderError):
    """The provider could not take the request; nothing was sent, so it is safe to retry."""

    category = ErrorCategory.PROVIDER_UNAVAILABLE
    retryable = True


class OutcomeUnknownError(ProviderError):
    """The request may have been sent but its reply was lost; never retried automatically."""

    category = ErrorCategory.OUTCOME_UNKNOWN


class UnknownProviderError(ProviderError):
    """The provider answered with a code smsbridge does not know; the raw code is kept."""

    category = ErrorCategory.UNKNOWN_PROVIDER_ERROR


_BY_CATEGORY: dict[ErrorCategory, type[SmsBridgeError]] = {
    cls.category: cls
    for cls in (
        SmsBridgeError,
        InvalidInputError,
        InvalidRecipientError,
        InvalidMessageError,
        ConfigurationError,
        AuthenticationError,
        InsufficientCreditError,
        RateLimitedError,
        SenderRejectedError,
        ContentRejectedError,
        RecipientRejectedError,
        AccountRestrictedError,
        SendVetoedError,
        ProviderUnavailableError,
        OutcomeUnknownError,
        UnknownProviderError,
    )
}


def error_for_category(category: ErrorCategory) -> type[SmsBridgeError]:
    """The exception class that stands for ``category``."""
    return _BY_CATEGORY[category]


_FAIL_OVER: Final = frozenset(
    {
        ErrorCategory.PROVIDER_UNAVAILABLE,
        ErrorCategory.INSUFFICIENT_CREDIT,
        ErrorCategory.AUTHENTICATION,
        ErrorCategory.ACCOUNT_RESTRICTED,
        ErrorCategory.RATE_LIMITED,
        ErrorCategory.SENDER_REJECTED,
        ErrorCategory.CONFIGURATION,
    }
)
"""Not sent, and the provider's own doing: another provider may send it. A failover client
moves a recipient on only for these."""

_STAYS: Final = frozenset(
    {
        ErrorCategory.INVALID_INPUT,
        ErrorCategory.INVALID_RECIPIENT,
        ErrorCategory.INVALID_MESSAGE,
        ErrorCategory.RECIPIENT_REJECTED,
        ErrorCategory.CONTENT_REJECTED,
        ErrorCategory.VETOED,
        ErrorCategory.UNKNOWN_PROVIDER_ERROR,
        ErrorCategory.UNEXPECTED,
    }
)
"""Final wherever it is tried: the cause follows the recipient or the message (another
provider would fail the same way, or must not be tried), or smsbridge cannot tell what the
provider meant. Never failed over."""

_HELD: Final = frozenset({ErrorCategory.OUTCOME_UNKNOWN})
"""It may have been sent: never retried, never failed over; held for settling."""
