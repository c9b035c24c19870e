"""Melipayamak SMS provider for smsbridge: ``melipayamak://USER:PASSWORD@/?from=SENDER``
(``&api=rest`` for the REST API instead of SOAP)."""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from smsbridge_melipayamak._provider import (
        DEFAULT_ENDPOINT,
        DEFAULT_REST_ENDPOINT,
        MelipayamakProvider,
    )

# Every smsbridge start-up imports the plugin entry point, and with it this package: the
# provider (lxml, the transport) loads only when it is used.
_EXPORTS = {"DEFAULT_ENDPOINT", "DEFAULT_REST_ENDPOINT", "MelipayamakProvider"}


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'smsbridge_melipayamak' has no attribute {name!r}")
    value = getattr(_importlib.import_module("smsbridge_melipayamak._provider"), name)
    globals()[name] = value
    return value


__all__ = ["DEFAULT_ENDPOINT", "DEFAULT_REST_ENDPOINT", "MelipayamakProvider"]
