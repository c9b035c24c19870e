"""Kavenegar SMS provider for smsbridge: ``kavenegar://API_KEY@/?from=LINE``."""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from smsbridge_kavenegar._provider import DEFAULT_ENDPOINT, KavenegarProvider, local_id

# Every smsbridge start-up imports the plugin entry point, and with it this package: the
# provider loads only when it is used.
_EXPORTS = {"DEFAULT_ENDPOINT", "KavenegarProvider", "local_id"}


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'smsbridge_kavenegar' has no attribute {name!r}")
    value = getattr(_importlib.import_module("smsbridge_kavenegar._provider"), name)
    globals()[name] = value
    return value


__all__ = ["DEFAULT_ENDPOINT", "KavenegarProvider", "local_id"]
