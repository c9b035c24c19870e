"""smsbridge: one provider-neutral way to send SMS, providers as plugins, a fake for tests."""

from smsbridge._bulk import BulkProgress, BulkSummary
from smsbridge._client import Client
from smsbridge._models import (
    Capabilities,
    DeliveryReport,
    DeliveryStatus,
    Message,
    RecipientResult,
    ResultError,
    SendReport,
    SendStatus,
)
from smsbridge._send import OutgoingSend
from smsbridge.config import ProviderURL, Secret
from smsbridge.exceptions import (
    AccountRestrictedError,
    AuthenticationError,
    ConfigurationError,
    ContentRejectedError,
    ErrorCategory,
    InsufficientCreditError,
    InvalidInputError,
    InvalidMessageError,
    InvalidRecipientError,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitedError,
    RecipientProblem,
    RecipientRejectedError,
    SenderRejectedError,
    SendVetoedError,
    SmsBridgeError,
    UnknownProviderError,
)
from smsbridge.hookspecs import hookimpl
from smsbridge.phone import normalize_number
from smsbridge.provider import BaseProvider
from smsbridge.segments import Segments, count_segments

__version__ = "0.1.0"

__all__ = [
    "AccountRestrictedError",
    "AuthenticationError",
    "BaseProvider",
    "BulkProgress",
    "BulkSummary",
    "Capabilities",
    "Client",
    "ConfigurationError",
    "ContentRejectedError",
    "DeliveryReport",
    "DeliveryStatus",
    "ErrorCategory",
    "InsufficientCreditError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidRecipientError",
    "Message",
    "OutcomeUnknownError",
    "OutgoingSend",
    "ProviderError",
    "ProviderURL",
    "ProviderUnavailableError",
    "RateLimitedError",
    "RecipientProblem",
    "RecipientRejectedError",
    "RecipientResult",
    "ResultError",
    "Secret",
    "Segments",
    "SendReport",
    "SendStatus",
    "SendVetoedError",
    "SenderRejectedError",
    "SmsBridgeError",
    "UnknownProviderError",
    "count_segments",
    "hookimpl",
    "normalize_number",
]
