"""The ``smsbridge`` entry point: registers ``kavenegar://``.

Importing this module must stay cheap (every smsbridge start-up loads it), so the provider is
imported only when the hook runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from smsbridge.hookspecs import hookimpl
from smsbridge.provider import BaseProvider


@hookimpl
def smsbridge_register_providers() -> Iterable[type[BaseProvider]]:
    """Contribute :class:`~smsbridge_kavenegar.KavenegarProvider`."""
    from smsbridge_kavenegar._provider import KavenegarProvider

    return [KavenegarProvider]
