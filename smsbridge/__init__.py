"""smsbridge: one provider-neutral way to send SMS, providers as plugins, a fake for tests."""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from smsbridge._client import AsyncClient, Client
    from smsbridge._engine._bulk import BulkProgress, BulkSummary
    from smsbridge._engine._failover import Retry
    from smsbridge._engine._health import Breaker
    from smsbridge._engine._outgoing import OutgoingSend
    from smsbridge._engine._settings import Settings
    from smsbridge._models import (
        AttemptReport,
        Balance,
        Capabilities,
        CircuitState,
        DeliveryReport,
        DeliveryStatus,
        Failover,
        Message,
        ProviderHealth,
        RecipientResult,
        ResultError,
        SendReport,
        SendStatus,
        Settlement,
        Template,
        TemplateSupport,
    )
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
        JournalError,
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
    from smsbridge.provider import BaseProvider, Batch
    from smsbridge.segments import Segments, count_segments

# Names resolve on first use (PEP 562), so `import smsbridge` and `smsbridge --help` stay fast:
# phonenumbers, structlog and asyncio load only when something is sent.
_EXPORTS: dict[str, str] = {
    "AccountRestrictedError": "smsbridge.exceptions",
    "AsyncClient": "smsbridge._client",
    "AttemptReport": "smsbridge._models",
    "AuthenticationError": "smsbridge.exceptions",
    "Balance": "smsbridge._models",
    "BaseProvider": "smsbridge.provider",
    "Batch": "smsbridge.provider",
    "Breaker": "smsbridge._engine._health",
    "BulkProgress": "smsbridge._engine._bulk",
    "BulkSummary": "smsbridge._engine._bulk",
    "Capabilities": "smsbridge._models",
    "CircuitState": "smsbridge._models",
    "Client": "smsbridge._client",
    "ConfigurationError": "smsbridge.exceptions",
    "ContentRejectedError": "smsbridge.exceptions",
    "DeliveryReport": "smsbridge._models",
    "DeliveryStatus": "smsbridge._models",
    "ErrorCategory": "smsbridge.exceptions",
    "Failover": "smsbridge._models",
    "InsufficientCreditError": "smsbridge.exceptions",
    "InvalidInputError": "smsbridge.exceptions",
    "InvalidMessageError": "smsbridge.exceptions",
    "InvalidRecipientError": "smsbridge.exceptions",
    "JournalError": "smsbridge.exceptions",
    "Message": "smsbridge._models",
    "OutcomeUnknownError": "smsbridge.exceptions",
    "OutgoingSend": "smsbridge._engine._outgoing",
    "ProviderError": "smsbridge.exceptions",
    "ProviderHealth": "smsbridge._models",
    "ProviderURL": "smsbridge.config",
    "ProviderUnavailableError": "smsbridge.exceptions",
    "RateLimitedError": "smsbridge.exceptions",
    "RecipientProblem": "smsbridge.exceptions",
    "RecipientRejectedError": "smsbridge.exceptions",
    "RecipientResult": "smsbridge._models",
    "ResultError": "smsbridge._models",
    "Retry": "smsbridge._engine._failover",
    "Secret": "smsbridge.config",
    "Segments": "smsbridge.segments",
    "SendReport": "smsbridge._models",
    "SendStatus": "smsbridge._models",
    "SendVetoedError": "smsbridge.exceptions",
    "SenderRejectedError": "smsbridge.exceptions",
    "Settings": "smsbridge._engine._settings",
    "Settlement": "smsbridge._models",
    "SmsBridgeError": "smsbridge.exceptions",
    "Template": "smsbridge._models",
    "TemplateSupport": "smsbridge._models",
    "UnknownProviderError": "smsbridge.exceptions",
    "count_segments": "smsbridge.segments",
    "hookimpl": "smsbridge.hookspecs",
    "normalize_number": "smsbridge.phone",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smsbridge' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"

__all__ = [
    "AccountRestrictedError",
    "AsyncClient",
    "AttemptReport",
    "AuthenticationError",
    "Balance",
    "BaseProvider",
    "Batch",
    "Breaker",
    "BulkProgress",
    "BulkSummary",
    "Capabilities",
    "CircuitState",
    "Client",
    "ConfigurationError",
    "ContentRejectedError",
    "DeliveryReport",
    "DeliveryStatus",
    "ErrorCategory",
    "Failover",
    "InsufficientCreditError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidRecipientError",
    "JournalError",
    "Message",
    "OutcomeUnknownError",
    "OutgoingSend",
    "ProviderError",
    "ProviderHealth",
    "ProviderURL",
    "ProviderUnavailableError",
    "RateLimitedError",
    "RecipientProblem",
    "RecipientRejectedError",
    "RecipientResult",
    "ResultError",
    "Retry",
    "Secret",
    "Segments",
    "SendReport",
    "SendStatus",
    "SendVetoedError",
    "SenderRejectedError",
    "Settings",
    "Settlement",
    "SmsBridgeError",
    "Template",
    "TemplateSupport",
    "UnknownProviderError",
    "count_segments",
    "hookimpl",
    "normalize_number",
]
