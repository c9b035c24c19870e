"""Keeping secrets and personal data out of everything smsbridge writes.

Two tools: :func:`mask_number` shows a phone number by its last four digits (logs), and
:class:`Redactor` removes known secrets from any text a provider hands back (an error page or
SOAP Fault that echoes the request), in every spelling a secret travels in: plain,
percent-encoded, base64, XML- or JSON-escaped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

__all__ = ["MASK", "Redactor", "mask_number"]

MASK: Final = "********"


def mask_number(number: str) -> str:
    """``+989123456789`` -> ``*********6789``: enough to tell numbers apart in a log."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


def _spellings(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret, safe="").lower(),
        quote_plus(secret, safe=""),
        quote_plus(secret, safe="").lower(),
        escape(secret, {'"': "&quot;", "'": "&apos;"}),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
    }
    # A secret inside a longer base64 text (``user:password`` in Basic auth) is not found by
    # its own encoding; the padding-free stem catches the common prefix case.
    forms.add(base64.b64encode(raw).decode("ascii").rstrip("="))
    return {form for form in forms if form}


class Redactor:
    """Replaces every known spelling of the given secrets with ``********``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        # However short a secret is, it is masked: a one-letter password mangles the texts it
        # is scrubbed from, which is the price of never printing it.
        for secret in secrets:
            if secret:
                forms |= _spellings(secret)
        # Longest first, so a secret's encoded form is not half-replaced by a shorter one.
        self._forms = sorted(forms, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def scrub(self, text: str) -> str:
        """``text`` with every secret masked."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def scrub_optional(self, text: str | None) -> str | None:
        """:meth:`scrub` for a value that may be None."""
        return None if text is None else self.scrub(text)
