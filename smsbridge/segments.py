"""Encoding-aware SMS segment counting.

A message is sent in GSM-7 when every character is in the GSM 03.38 default alphabet (characters
from its extension table take two septets); otherwise the whole message switches to UCS-2, where
a character outside the Basic Multilingual Plane takes two UTF-16 code units. Persian and Arabic
text is therefore always UCS-2.

>>> count_segments("hello").segments
1
>>> count_segments("سلام").encoding
'UCS-2'
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

__all__ = ["GSM7_BASIC", "GSM7_EXTENSION", "Segments", "count_segments"]

GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape character, so each costs two septets.
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

# (units in a single-part message, units per part of a concatenated message)
_LIMITS: Final = {"GSM-7": (160, 153), "UCS-2": (70, 67)}

Encoding = Literal["GSM-7", "UCS-2"]


@attrs.frozen
class Segments:
    """How a text will be sent: its encoding, code units and number of SMS parts."""

    encoding: Encoding
    units: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""
    segments: int
    per_segment: int
    """Units that fit in one part at this length (160/153 or 70/67)."""

    @property
    def remaining(self) -> int:
        """Units that still fit in the last part before another part is needed."""
        return self.segments * self.per_segment - self.units


def _gsm7_units(text: str) -> int | None:
    units = 0
    for char in text:
        if char in GSM7_BASIC:
            units += 1
        elif char in GSM7_EXTENSION:
            units += 2
        else:
            return None
    return units


def count_segments(text: str) -> Segments:
    """Count the SMS parts ``text`` needs, choosing GSM-7 when it can carry every character."""
    gsm_units = _gsm7_units(text)
    encoding: Encoding
    if gsm_units is None:
        encoding = "UCS-2"
        units = sum(2 if ord(char) > 0xFFFF else 1 for char in text)
    else:
        encoding = "GSM-7"
        units = gsm_units
    single, per_part = _LIMITS[encoding]
    if units <= single:
        return Segments(encoding=encoding, units=units, segments=1, per_segment=single)
    return Segments(
        encoding=encoding,
        units=units,
        segments=-(-units // per_part),
        per_segment=per_part,
    )
