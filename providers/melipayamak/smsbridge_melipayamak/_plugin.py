"""The ``smsbridge`` entry point: registers ``melipayamak://``.

Importing this module must stay cheap (every smsbridge start-up loads it), so the provider, and
with it zeep, is imported only when the hook runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from smsbridge.hookspecs import hookimpl
from smsbridge.provider import BaseProvider


@hookimpl
def smsbridge_register_providers() -> Iterable[type[BaseProvider]]:
    """Contribute :class:`~smsbridge_melipayamak.MelipayamakProvider`."""
    from smsbridge_melipayamak._provider import MelipayamakProvider

    return [MelipayamakProvider]
