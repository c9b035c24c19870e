"""A seam for test tooling: swap the provider of every Client built while it is installed.

The pytest fixture ``sms_outbox`` (and the Django test integration) install an interceptor so
that no Client an application builds during a test can reach a real provider, whatever URL it
was configured with. Core code only calls :func:`provider_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smsbridge.provider import BaseProvider

__all__ = ["Interceptor", "install", "provider_for", "uninstall"]

Interceptor = Callable[["BaseProvider", str], "BaseProvider"]
"""``(the provider the application asked for, its URL without secrets) -> the one to use``."""

_installed: list[Interceptor] = []


def install(interceptor: Interceptor) -> None:
    """Route every new Client's provider through ``interceptor`` (the last installed wins)."""
    _installed.append(interceptor)


def uninstall(interceptor: Interceptor) -> None:
    """Undo :func:`install`."""
    if interceptor in _installed:
        _installed.remove(interceptor)


def provider_for(provider: BaseProvider, url: str) -> BaseProvider:
    """The provider a new Client uses: ``provider`` unless an interceptor replaces it."""
    return _installed[-1](provider, url) if _installed else provider
