"""What a send is while it is under way: the plan, the hook view, and one batch's dispatch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import structlog

from smsbridge._masking import mask_number
from smsbridge._models import Message, RecipientResult, ResultError, SendStatus
from smsbridge.exceptions import (
    ErrorCategory,
    OutcomeUnknownError,
    SendVetoedError,
    SmsBridgeError,
)

if TYPE_CHECKING:
    from smsbridge.provider import BaseProvider

__all__ = ["OutgoingSend"]

_log = structlog.get_logger("smsbridge")


@attrs.define
class OutgoingSend:
    """A send that has passed validation and is about to go out; what hooks see and change.

    ``recipients`` are unique and in E.164 form. Hooks may replace ``message`` (it is validated
    again), call :meth:`reject` for single recipients or :meth:`veto` for the whole send.
    """

    message: Message
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
    error: SmsBridgeError, recipients: Sequence[str], segments: int
) -> list[RecipientResult]:
    """The same failure for every recipient of a request: unknown if it may have gone out."""
    status = (
        SendStatus.UNKNOWN
        if error.category is ErrorCategory.OUTCOME_UNKNOWN
        else SendStatus.REJECTED
    )
    detail = ResultError.from_exception(error)
    return [
        RecipientResult(recipient=number, status=status, segments=segments, error=detail)
        for number in recipients
    ]


def checked_results(
    provider: BaseProvider,
    batch: Sequence[str],
    results: Sequence[RecipientResult],
    segments: int,
) -> list[RecipientResult]:
    """Hold the provider to the contract: one result per recipient, in order, with segments."""
    if len(results) != len(batch) or any(
        result.recipient != number for result, number in zip(results, batch, strict=False)
    ):
        error = OutcomeUnknownError(
            f"{provider.name} returned {len(results)} results for {len(batch)} recipients "
            "or out of order; their outcome cannot be told apart",
            provider=provider.name,
        )
        return results_for_error(error, batch, segments)
    # Built directly rather than with attrs.evolve, which costs several times more: this runs
    # once per recipient of a campaign.
    return [
        result
        if result.segments
        else RecipientResult(
            recipient=result.recipient,
            status=result.status,
            message_id=result.message_id,
            segments=segments,
            error=result.error,
            duplicate_of=result.duplicate_of,
        )
        for result in results
    ]


def unexpected_error(provider: BaseProvider, exc: Exception) -> OutcomeUnknownError:
    """A provider bug surfaced as an unknown outcome: the request may have gone out."""
    return OutcomeUnknownError(
        f"{provider.name} failed unexpectedly ({type(exc).__name__}); "
        "the request may have been sent",
        provider=provider.name,
    )


class BatchTimer:
    """Logs one batch's outcome with its duration and counts.

    Context goes into each event rather than through ``bind()``: binding builds a new logger
    every time, a measurable share of a one-recipient send.
    """

    def __init__(self, provider: str, index: int, size: int) -> None:
        self.context = {"provider": provider, "batch": index, "batch_size": size}
        self.started = time.perf_counter()

    def done(self, results: Sequence[RecipientResult]) -> None:
        counts = {status.value: 0 for status in SendStatus}
        for result in results:
            counts[result.status.value] += 1
        failed = next((r.error for r in results if r.error is not None), None)
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        if failed is not None and counts["accepted"] == 0:
            _log.warning(
                "sms_batch_failed",
                category=failed.category.value,
                provider_code=failed.provider_code,
                duration_ms=duration_ms,
                **self.context,
                **counts,
            )
        else:
            _log.info("sms_batch_sent", duration_ms=duration_ms, **self.context, **counts)

    def crashed(self, exc: Exception, first: str) -> None:
        _log.error(
            "sms_batch_crashed",
            error_type=type(exc).__name__,
            first_recipient=mask_number(first),
            exc_info=exc,
            **self.context,
        )
