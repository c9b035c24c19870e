"""Phone number parsing and E.164 normalisation, with phonenumbers doing the real work.

Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits are folded to ASCII first, and
letters are refused outright: phonenumbers would otherwise read them as a keypad vanity number.

>>> normalize_number("۰۹۱۲۳۴۵۶۷۸۹", region="IR")
'+989123456789'
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Final

import attrs
import phonenumbers

from smsbridge.exceptions import InvalidRecipientError, RecipientProblem

__all__ = [
    "DEFAULT_REGION",
    "check_number",
    "check_numbers",
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
_SEPARATORS: Final = str.maketrans("", "", " -")


@attrs.frozen
class _MobileShape:
    """What a plain mobile number of one region looks like, read from phonenumbers' metadata."""

    country_code: str
    national_prefix: str | None
    international_prefix: str | None
    national: re.Pattern[str]
    """Matches a national number that fits both the region's general and mobile patterns."""
    lengths: frozenset[int]
    general: str
    mobile: str
    """The two patterns, as phonenumbers writes them."""


@functools.cache
def _mobile_shape(region: str) -> _MobileShape | None:
    """The region's mobile shape, or None where its rules are too rich for the fast path."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.mobile is None or meta.general_desc is None:
        return None
    general = meta.general_desc.national_number_pattern
    mobile = meta.mobile.national_number_pattern
    if not general or not mobile or meta.national_prefix_transform_rule:
        return None
    if meta.national_prefix_for_parsing not in (None, meta.national_prefix):
        return None
    return _MobileShape(
        country_code=str(meta.country_code),
        national_prefix=meta.national_prefix,
        international_prefix="00" if meta.international_prefix == "00" else None,
        # One pattern doing both full matches: a lookahead for the general one.
        national=re.compile(rf"(?=(?:{general})\Z)(?:{mobile})\Z", re.ASCII),
        lengths=frozenset(meta.mobile.possible_length or ()),
        general=general,
        mobile=mobile,
    )


def _fast_mobile(text: str, region: str) -> str | None:
    """E.164 for the everyday forms of a region's mobile numbers, or None to ask phonenumbers.

    phonenumbers.parse and is_valid_number cost about 45 µs a number; a campaign of 10,000
    spends half a second on them. A number written plainly (``09123456789``,
    ``+98 912 345 6789``, ``00989123456789``, ``9123456789``) that matches the region's own
    mobile pattern from phonenumbers' metadata is valid by phonenumbers' own rule, so it is
    accepted here in a few µs. Anything else takes the full path: the result is the same
    either way, which tests/test_phone_fast_path.py checks against phonenumbers.
    """
    shape = _mobile_shape(region)
    if shape is None:
        return None
    digits = text.translate(_SEPARATORS) if " " in text or "-" in text else text
    if not digits.isascii():
        return None
    if digits.startswith("+"):
        if not digits.startswith(shape.country_code, 1):
            return None
        national = digits[1 + len(shape.country_code) :]
    elif shape.international_prefix and digits.startswith(
        shape.international_prefix + shape.country_code
    ):
        national = digits[len(shape.international_prefix) + len(shape.country_code) :]
    elif shape.national_prefix and digits.startswith(shape.national_prefix):
        national = digits[len(shape.national_prefix) :]
    else:
        national = digits
    if national.isdigit() and len(national) in shape.lengths and shape.national.match(national):
        return f"+{shape.country_code}{national}"
    return None


def check_number(
    raw: object, region: str = DEFAULT_REGION, *, landlines: bool = False
) -> tuple[str | None, str | None]:
    """The E.164 form of ``raw`` and no problem, or no number and the reason it is invalid.

    Only mobile numbers are valid unless ``landlines`` (a provider that reaches fixed lines).
    """
    if not isinstance(raw, str):
        return None, f"must be a str, not {type(raw).__name__}"
    # Most numbers are ASCII already; only others need their Persian digits folded.
    text = (raw if raw.isascii() else raw.translate(_DIGITS)).strip()
    if not text:
        return None, "empty"
    fast = _fast_mobile(text, region)
    if fast is not None:
        return fast, None
    return _full_check(text, region, landlines)


@functools.cache
def _national_run(region: str) -> tuple[re.Pattern[str], str, str] | None:
    """A pattern matching lines of a region's mobiles written plainly in national form, each
    ending in a newline, with what to replace the national prefix by; None where the region has
    no such form."""
    shape = _mobile_shape(region)
    if shape is None or not shape.national_prefix:
        return None
    general, mobile = shape.general, shape.mobile
    lengths = "|".join(f"[0-9]{{{length}}}\n" for length in sorted(shape.lengths))
    # The per-number test of check_numbers, with the end of a line for the end of the text:
    # the prefix, then a national number of a mobile length that fits both patterns.
    line = (
        f"{re.escape(shape.national_prefix)}(?=(?:{lengths}))"
        f"(?=(?:{general})\n)(?=(?:{mobile})\n)[0-9]+\n"
    )
    return re.compile(f"(?:{line})*", re.ASCII), shape.national_prefix, "+" + shape.country_code


def plain_national_numbers(raws: Sequence[object], region: str) -> list[str] | None:
    """E.164 for every one of ``raws`` when each is a mobile of ``region`` written plainly in
    national form (``09123456789``), or None: then ask :func:`check_numbers`.

    What a campaign's file nearly always holds, checked in one pass over the whole chunk
    instead of one per number; tests/test_phone_fast_path.py holds it to check_numbers.
    """
    run = _national_run(region)
    if run is None or not raws:
        return None
    pattern, prefix, international = run
    try:
        text = "\n".join(raws) + "\n"  # type: ignore[arg-type]
    except TypeError:  # not all of them are texts
        return None
    if pattern.fullmatch(text) is None:
        return None
    numbers = ("\n" + text).replace("\n" + prefix, "\n" + international)[1:-1].split("\n")
    return numbers if len(numbers) == len(raws) else None  # a text held a newline


def check_numbers(
    raws: Iterable[object], region: str = DEFAULT_REGION, *, landlines: bool = False
) -> list[tuple[str | None, str | None]]:
    """:func:`check_number` for each of ``raws``, in order; the same answers, with the common
    national form (``09123456789``) read without a function call per number."""
    shape = _mobile_shape(region)
    if shape is None or not shape.national_prefix:
        return [check_number(raw, region, landlines=landlines) for raw in raws]
    if isinstance(raws, Sequence):
        plain = plain_national_numbers(raws, region)
        if plain is not None:
            return [(number, None) for number in plain]
    prefix, code = shape.national_prefix, shape.country_code
    cut, lengths, match = len(prefix), shape.lengths, shape.national.match
    out: list[tuple[str | None, str | None]] = []
    append = out.append
    for raw in raws:
        if type(raw) is str and raw.startswith(prefix) and raw.isascii():
            national = raw[cut:]
            if national.isdigit() and len(national) in lengths and match(national):
                append((f"+{code}{national}", None))
                continue
        append(check_number(raw, region, landlines=landlines))
    return out


_MOBILE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def _full_check(text: str, region: str, landlines: bool) -> tuple[str | None, str | None]:
    """phonenumbers' parse and validation, with a reason for each way a number can be wrong."""
    if len(text) > _MAX_INPUT_LENGTH:
        return None, "too long"
    if any(char.isalpha() for char in text):
        return None, "contains letters"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        return None, _PARSE_REASONS.get(error.error_type, "not a phone number")
    if phonenumbers.is_valid_number(number):
        kind = phonenumbers.number_type(number)
        if not landlines and kind not in _MOBILE_TYPES:
            if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
                return None, "a landline, not a mobile number"
            return None, "not a mobile number"
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


def normalize_number(raw: str, region: str = DEFAULT_REGION, *, landlines: bool = False) -> str:
    """Return ``raw`` in E.164 form, reading local numbers as numbers of ``region``.

    :raises InvalidRecipientError: when ``raw`` is not a valid (mobile, unless ``landlines``)
        phone number.
    """
    number, reason = check_number(raw, region, landlines=landlines)
    if number is None:
        raise InvalidRecipientError([RecipientProblem(0, raw, reason or "invalid")])
    return number


def normalize_recipients(
    recipients: Iterable[object],
    region: str = DEFAULT_REGION,
    *,
    start: int = 0,
    landlines: bool = False,
) -> list[str]:
    """Normalise every recipient, or raise one error that lists every invalid one.

    :param start: the input position of the first recipient, for error messages.
    :raises InvalidRecipientError: naming each bad recipient and its position.
    """
    normalized: list[str] = []
    problems: list[RecipientProblem] = []
    listed = list(recipients)
    checked = check_numbers(listed, region, landlines=landlines)
    for index, raw, (number, reason) in zip(itertools.count(start), listed, checked, strict=False):
        if number is None:
            problems.append(RecipientProblem(index, raw, reason or "invalid"))
        else:
            normalized.append(number)
    if problems:
        raise InvalidRecipientError(problems)
    return normalized
