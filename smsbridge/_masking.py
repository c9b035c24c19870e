"""Keeping personal data out of logs: phone numbers are shown by their last four digits."""

from __future__ import annotations

__all__ = ["mask_number"]


def mask_number(number: str) -> str:
    """``+989123456789`` -> ``*********6789``: enough to tell numbers apart in a log."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]
