"""Turning what the caller passed into a validated send, before any network I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

import attrs

from smsbridge._models import Message, RecipientResult, ResultError, SendStatus, Template
from smsbridge.exceptions import InvalidMessageError, InvalidRecipientError, RecipientProblem
from smsbridge.phone import check_numbers, normalize_recipients
from smsbridge.segments import count_segments

if TYPE_CHECKING:
    from smsbridge._engine._settings import DuplicatePolicy
    from smsbridge.provider import BaseProvider

__all__ = [
    "MessageOptions",
    "Prepared",
    "batch_size",
    "check_message",
    "coerce_message",
    "prepare",
]


class MessageOptions(TypedDict):
    """The message options ``send`` takes beside a plain text."""

    sender: str | None
    flash: bool
    udh: str | None
    reference: str | None


def coerce_message(
    message: Message | Template | str,
    *,
    sender: str | None,
    flash: bool,
    udh: str | None,
    reference: str | None,
) -> Message | Template:
    """A :class:`Message` (or the :class:`Template`) from what the caller gave (not both)."""
    if isinstance(message, Message | Template):
        if sender is not None or flash or udh is not None or reference is not None:
            raise InvalidMessageError(
                "pass sender/flash/udh/reference inside the Message or Template, not next to it"
            )
        return message
    return Message(text=message, sender=sender, flash=flash, udh=udh, reference=reference)


def check_message(message: Message | Template, provider: BaseProvider, max_segments: int) -> int:
    """SMS parts per recipient, or an InvalidMessageError if this provider cannot send it.

    The provider's capabilities are checked here, then its own validation. A template's text is
    the provider's to render, so its parts are not known here (0).
    """
    capabilities, name = provider.capabilities, provider.name
    if isinstance(message, Template):
        if capabilities.templates is None:
            raise InvalidMessageError(f"{name} cannot send templates")
        if capabilities.templates.variables == "ordered" and isinstance(message.variables, dict):
            raise InvalidMessageError(
                f"{name} fills template variables in order: give a list, not names"
            )
        if capabilities.templates.variables == "named" and not isinstance(message.variables, dict):
            raise InvalidMessageError(
                f"{name} fills template variables by name: give a mapping such as "
                "{'token': '4821'}"
            )
        provider.validate_template(message)
        return 0
    segments = count_segments(message.text)
    if segments.segments > max_segments:
        raise InvalidMessageError(
            f"the text needs {segments.segments} {segments.encoding} segments "
            f"({segments.units} units); at most {max_segments} are allowed"
        )
    if message.flash and not capabilities.flash:
        raise InvalidMessageError(f"{name} cannot send flash messages")
    if message.udh is not None and not capabilities.udh:
        raise InvalidMessageError(f"{name} cannot send a user data header (udh)")
    if segments.encoding == "UCS-2" and not capabilities.unicode:
        raise InvalidMessageError(f"{name} cannot send text outside the GSM-7 alphabet")
    provider.validate_message(message)
    return segments.segments


def batch_size(message: Message | Template, provider: BaseProvider) -> int:
    """How many recipients one request for ``message`` may carry."""
    templates = provider.capabilities.templates
    if isinstance(message, Template) and templates is not None:
        return templates.max_batch_size
    return provider.capabilities.max_batch_size


@attrs.frozen
class Prepared:
    """The recipients of a validated send: every input position, and what goes out."""

    numbers: tuple[str, ...]
    """The E.164 form of every input recipient by input position (as given when invalid)."""
    outgoing: tuple[int, ...]
    """Input positions that are sent; with ``merge`` each number's first position only."""
    invalid: Mapping[int, str] = attrs.field(factory=dict)
    """Input positions that are not valid numbers, with the reason (``skip_invalid`` only)."""

    def assemble(self, sent: Sequence[RecipientResult]) -> list[RecipientResult]:
        """One result per input position; merged duplicates repeat their first's outcome, and
        skipped invalid numbers are rejected."""
        if not self.invalid and len(self.outgoing) == len(self.numbers):
            # Nothing merged, nothing invalid: the results are in input order already.
            return list(sent)
        by_position = dict(zip(self.outgoing, sent, strict=True))
        first_position: dict[str, int] = {}
        results: list[RecipientResult] = []
        for position, number in enumerate(self.numbers):
            reason = self.invalid.get(position)
            if reason is not None:
                error = InvalidRecipientError(f"not a valid number: {reason}")
                results.append(
                    RecipientResult(
                        recipient=number,
                        status=SendStatus.REJECTED,
                        error=ResultError.from_exception(error),
                    )
                )
                continue
            result = by_position.get(position)
            first = first_position.setdefault(number, position)
            if result is None:
                result = attrs.evolve(by_position[first], duplicate_of=first)
            results.append(result)
        return results


def prepare(
    recipients: Iterable[str] | str,
    region: str,
    duplicates: DuplicatePolicy,
    *,
    landlines: bool = False,
    skip_invalid: bool = False,
) -> Prepared:
    """Normalise every recipient, raising one error that lists every bad one (or, with
    ``skip_invalid``, setting them aside to be reported rejected)."""
    # A bare string is one recipient: iterating it would send to each character.
    listed = [recipients] if isinstance(recipients, str) else list(recipients)
    if not listed:
        raise InvalidRecipientError("no recipients were given")
    invalid: dict[int, str] = {}
    if skip_invalid:
        checked = []
        for position, (raw, (number, reason)) in enumerate(
            zip(listed, check_numbers(listed, region, landlines=landlines), strict=True)
        ):
            if number is None:
                invalid[position] = reason or "invalid"
                checked.append(raw if isinstance(raw, str) else repr(raw))
            else:
                checked.append(number)
        numbers = tuple(checked)
        if len(invalid) == len(numbers):
            raise InvalidRecipientError(
                [RecipientProblem(p, listed[p], r) for p, r in invalid.items()]
            )
    else:
        numbers = tuple(normalize_recipients(listed, region, landlines=landlines))
    seen: set[str] = set()
    outgoing: list[int] = []
    for position, number in enumerate(numbers):
        if position in invalid:
            continue
        if duplicates == "merge":
            if number in seen:
                continue
            seen.add(number)
        outgoing.append(position)
    return Prepared(numbers=numbers, outgoing=tuple(outgoing), invalid=invalid)
