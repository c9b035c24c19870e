"""The built-in plugin that registers ``fake://``; smsbridge registers it explicitly."""

from __future__ import annotations

from collections.abc import Iterable

from smsbridge.hookspecs import hookimpl
from smsbridge.provider import BaseProvider


@hookimpl
def smsbridge_register_providers() -> Iterable[type[BaseProvider]]:
    from smsbridge.testing._fake import FakeProvider

    return [FakeProvider]
