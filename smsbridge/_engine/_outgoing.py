"""What a send is while it is under way: the hook view, and how outcomes are settled."""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Sequence
from typing import Final

import attrs

from smsbridge import _logging as log
from smsbridge._models import Message, RecipientResult, ResultError, SendStatus, Template
from smsbridge._redact import Redactor
from smsbridge.exceptions import (
    ErrorCategory,
    OutcomeUnknownError,
    SendVetoedError,
    SmsBridgeError,
)

__all__ = [
    "BatchTimer",
    "OutgoingSend",
    "checked_results",
    "results_for_error",
    "scrub_error",
]


@attrs.define
class OutgoingSend:
    """A send that has passed validation and is about to go out; what hooks see and change.

    ``recipients`` are unique and in E.164 form. Hooks may replace ``message`` (it is validated
    again), call :meth:`reject` for single recipients or :meth:`veto` for the whole send.
    """

    message: Message | Template
    recipients: tuple[str, ...]
    provider: str
    rejections: dict[str, str] = attrs.field(factory=dict)
    veto_reason: str | None = None

    def reject(self, recipient: str, reason: str) -> None:
        """Do not send to ``recipient`` (E.164); the report marks it rejected with ``reason``."""
        self.rejections.setdefault(recipient, reason)

    def veto(self, reason: str) -> None:
        """Send to nobody; every recipient is reported rejected with ``reason``."""
        if self.veto_reason is None:
            self.veto_reason = reason

    def vetoed_result(self, recipient: str, segments: int) -> RecipientResult | None:
        """The rejected result for ``recipient`` if a hook stopped it, else None."""
        reason = self.veto_reason or self.rejections.get(recipient)
        if reason is None:
            return None
        error = SendVetoedError(reason)
        return RecipientResult(
            recipient=recipient,
            status=SendStatus.REJECTED,
            segments=segments,
            error=ResultError.from_exception(error),
        )


def results_for_error(
    error: SmsBridgeError,
    recipients: Sequence[str],
    segments: int,
    provider: str | None = None,
) -> list[RecipientResult]:
    """The same failure for every recipient of a request: unknown if it may have gone out."""
    status = (
        SendStatus.UNKNOWN
        if error.category is ErrorCategory.OUTCOME_UNKNOWN
        else SendStatus.REJECTED
    )
    detail = ResultError.from_exception(error)
    name = provider or error.provider
    return [
        RecipientResult(
            recipient=number, status=status, segments=segments, error=detail, provider=name
        )
        for number in recipients
    ]


def _scrubbed(error: ResultError, redactor: Redactor) -> ResultError:
    message = redactor.scrub(error.message)
    text = redactor.scrub_optional(error.provider_text)
    code = error.provider_code
    if isinstance(code, str):
        code = redactor.scrub(code)
    if message == error.message and text == error.provider_text and code == error.provider_code:
        return error
    return attrs.evolve(error, message=message, provider_text=text, provider_code=code)


_RECIPIENT: Final = operator.attrgetter("recipient")
_MESSAGE_ID: Final = operator.attrgetter("message_id")
_SEGMENTS: Final = operator.attrgetter("segments")
_FILLED_IN: Final = operator.attrgetter("error", "provider")
"""A result the engine keeps as it is: no error to scrub, and the provider's name filled in."""


def checked_results(
    provider: str,
    batch: Sequence[str],
    results: Sequence[RecipientResult],
    segments: int,
    redactor: Redactor,
) -> list[RecipientResult]:
    """Hold the provider to the contract: one result per recipient, in order, distinct message
    ids, segments filled in, and no secret in any text it kept."""
    if list(map(_RECIPIENT, results)) != list(batch):
        error = OutcomeUnknownError(
            f"{provider} returned {len(results)} results for {len(batch)} recipients "
            "or out of order; their outcome cannot be told apart",
            provider=provider,
        )
        return results_for_error(error, batch, segments, provider)
    ids = [message_id for message_id in map(_MESSAGE_ID, results) if message_id is not None]
    if len(set(ids)) != len(ids):
        error = OutcomeUnknownError(
            f"{provider} gave the same message id to different recipients of one request; "
            "which recipient each id belongs to cannot be trusted",
            provider=provider,
        )
        return results_for_error(error, batch, segments, provider)
    kinds = set(map(_FILLED_IN, results))
    if len(kinds) == 1 and next(iter(kinds)) == (None, provider) and all(map(_SEGMENTS, results)):
        return list(results)  # the common case: nothing to scrub or fill in
    # Built directly rather than with attrs.evolve, which costs several times more: this runs
    # once per recipient of a campaign.
    checked: list[RecipientResult] = []
    for result in results:
        error_detail = result.error
        if error_detail is not None and redactor:
            error_detail = _scrubbed(error_detail, redactor)
        if result.segments and error_detail is result.error and result.provider == provider:
            checked.append(result)
            continue
        checked.append(
            RecipientResult(
                recipient=result.recipient,
                status=result.status,
                message_id=result.message_id,
                segments=result.segments or segments,
                error=error_detail,
                duplicate_of=result.duplicate_of,
                provider=provider,
                attempts=result.attempts,
            )
        )
    return checked


def scrub_error(error: SmsBridgeError, redactor: Redactor) -> SmsBridgeError:
    """``error`` with every secret removed from its message and provider text (in place).

    Its cause and context are dropped too: a foreign exception underneath (a parser's, a SOAP
    Fault's) may hold the raw reply, password and all.
    """
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    if redactor:
        error.message = redactor.scrub(error.message)
        error.args = (error.message,)
        error.provider_text = redactor.scrub_optional(error.provider_text)
        if isinstance(error.provider_code, str):
            error.provider_code = redactor.scrub(error.provider_code)
    return error


class BatchTimer:
    """Logs one batch's outcome with its duration and counts."""

    def __init__(self, provider: str, index: int, size: int, *, quiet: bool = False) -> None:
        self.context = {"provider": provider, "batch": index, "batch_size": size}
        self.started = time.perf_counter()
        # In a campaign a failed batch is INFO: the campaign reports its failures once, by
        # reason, instead of a warning line per request.
        self.failure_level = logging.INFO if quiet else logging.WARNING

    def done(self, results: Sequence[RecipientResult]) -> None:
        if not log.enabled(max(self.failure_level, logging.INFO)):
            return
        counts = {status.value: 0 for status in SendStatus}
        for result in results:
            counts[result.status.value] += 1
        failed = next((r.error for r in results if r.error is not None), None)
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        if failed is not None and counts["accepted"] == 0:
            log.emit(
                self.failure_level,
                "sms_batch_failed",
                category=failed.category.value,
                provider_code=failed.provider_code,
                duration_ms=duration_ms,
                **self.context,
                **counts,
            )
        else:
            log.info("sms_batch_sent", duration_ms=duration_ms, **self.context, **counts)
