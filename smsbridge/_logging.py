"""smsbridge's log events: structured, quiet by default, steered through stdlib ``logging``.

A library must not decide where its logs go. Every event is a ``logging`` record on the logger
``smsbridge`` (a :class:`logging.NullHandler` keeps it silent until the application configures
logging), so the stdlib logging tree sets its level and handlers. The record's message reads
``sms_send_started provider=fake recipients=3``; its ``extra`` carries ``event`` and every
field, so structlog's stdlib integration (``ProcessorFormatter`` with ``ExtraAdder``) renders
the same event as structured data. See docs/guide.md, "Logging".

What an event may carry is fixed here, not by the application's structlog configuration: never
an exception object or traceback (a renderer that shows local variables would print the
password), never message text, and phone numbers only masked. Callers pass error *types*.
"""

from __future__ import annotations

import logging
from typing import Any, Final

__all__ = ["LOGGER_NAME", "debug", "emit", "enabled", "error", "info", "warning"]

LOGGER_NAME: Final = "smsbridge"
_logger = logging.getLogger(LOGGER_NAME)
_logger.addHandler(logging.NullHandler())

# Keys a caller might pass by mistake that would carry what logs must never hold.
_FORBIDDEN: Final = frozenset({"text", "password", "secret", "token", "exc_info", "api_key"})


class _Rendered:
    """The message of a record, rendered only if a handler formats it."""

    __slots__ = ("event", "fields")

    def __init__(self, event: str, fields: dict[str, Any]) -> None:
        self.event = event
        self.fields = fields

    def __str__(self) -> str:
        parts = [self.event]
        parts.extend(f"{key}={value}" for key, value in self.fields.items())
        return " ".join(parts)


def enabled(level: int) -> bool:
    """True when an event at ``level`` would reach a handler (cheap; check before building)."""
    return _logger.isEnabledFor(level)


def _emit(level: int, event: str, fields: dict[str, Any]) -> None:
    if not _logger.isEnabledFor(level):
        return
    bad = _FORBIDDEN.intersection(fields)
    if bad:  # a programming error in smsbridge itself; never let the value through
        fields = {key: value for key, value in fields.items() if key not in bad}
    extra = {"event": event, **{f"{key}": value for key, value in fields.items()}}
    _logger.log(level, _Rendered(event, fields), extra=_safe_extra(extra))


_RESERVED: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _safe_extra(extra: dict[str, Any]) -> dict[str, Any]:
    # A field named like a LogRecord attribute would make logging raise; prefix it instead.
    return {(f"sms_{key}" if key in _RESERVED else key): value for key, value in extra.items()}


def emit(level: int, event: str, **fields: Any) -> None:
    """Emit ``event`` at ``level``."""
    _emit(level, event, fields)


def debug(event: str, **fields: Any) -> None:
    """Emit ``event`` at DEBUG."""
    _emit(logging.DEBUG, event, fields)


def info(event: str, **fields: Any) -> None:
    """Emit ``event`` at INFO."""
    _emit(logging.INFO, event, fields)


def warning(event: str, **fields: Any) -> None:
    """Emit ``event`` at WARNING."""
    _emit(logging.WARNING, event, fields)


def error(event: str, **fields: Any) -> None:
    """Emit ``event`` at ERROR."""
    _emit(logging.ERROR, event, fields)
