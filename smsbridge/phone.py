"""Phone number parsing and E.164 normalisation, with phonenumbers doing the real work.

Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits are folded to ASCII first, and
letters are refused outright: phonenumbers would otherwise read them as a keypad vanity number.

>>> normalize_number("۰۹۱۲۳۴۵۶۷۸۹", region="IR")
'+989123456789'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import phonenumbers

from smsbridge.exceptions import InvalidRecipientError, RecipientProblem

__all__ = [
    "DEFAULT_REGION",
    "check_number",
    "is_known_region",
    "normalize_number",
    "normalize_recipients",
]

DEFAULT_REGION: Final = "IR"

_DIGITS: Final = str.maketrans(
    "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩",
    "01234567890123456789",
)
_MAX_INPUT_LENGTH: Final = 64


def check_number(raw: object, region: str = DEFAULT_REGION) -> tuple[str | None, str | None]:
    """The E.164 form of ``raw`` and no problem, or no number and the reason it is invalid."""
    if not isinstance(raw, str):
        return None, f"must be a str, not {type(raw).__name__}"
    text = raw.translate(_DIGITS).strip()
    if not text:
        return None, "empty"
    if len(text) > _MAX_INPUT_LENGTH:
        return None, "too long"
    if any(char.isalpha() for char in text):
        return None, "contains letters"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        return None, _PARSE_REASONS.get(error.error_type, "not a phone number")
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
    reason = phonenumbers.is_possible_number_with_reason(number)
    return None, _LENGTH_REASONS.get(reason, "not a valid number for its region")


_PARSE_REASONS: Final = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS: Final = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong length",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}


def is_known_region(region: str) -> bool:
    """True when ``region`` is a two-letter region phonenumbers has numbering data for."""
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def normalize_number(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` in E.164 form, reading local numbers as numbers of ``region``.

    :raises InvalidRecipientError: when ``raw`` is not a valid phone number.
    """
    number, reason = check_number(raw, region)
    if number is None:
        raise InvalidRecipientError([RecipientProblem(0, raw, reason or "invalid")])
    return number


def normalize_recipients(
    recipients: Iterable[object], region: str = DEFAULT_REGION, *, start: int = 0
) -> list[str]:
    """Normalise every recipient, or raise one error that lists every invalid one.

    :param start: the input position of the first recipient, for error messages.
    :raises InvalidRecipientError: naming each bad recipient and its position.
    """
    normalized: list[str] = []
    problems: list[RecipientProblem] = []
    for index, raw in enumerate(recipients, start):
        number, reason = check_number(raw, region)
        if number is None:
            problems.append(RecipientProblem(index, raw, reason or "invalid"))
        else:
            normalized.append(number)
    if problems:
        raise InvalidRecipientError(problems)
    return normalized
