"""How the leak hunts look for digits: as a number of their own, not inside a longer one.

A log record's timestamps and durations are floats that can hold any run of digits
(``relativeCreated`` 216980.88002204895 holds the code 880022); that is not a leak.
"""

from __future__ import annotations

import re


def whole_number(digits: str) -> re.Pattern[str]:
    """``digits`` with no digit on either side."""
    return re.compile(rf"(?<!\d){re.escape(digits)}(?!\d)")


def number_ending(digits: str) -> re.Pattern[str]:
    """``digits`` at the end of a number: a phone number in any spelling (``0912…``,
    ``+98912…``, ``98912…``) ends in its national digits."""
    return re.compile(rf"{re.escape(digits)}(?!\d)")
