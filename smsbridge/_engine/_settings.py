"""The engine's settings: one validated object, built from code, a URL, or both."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from smsbridge.exceptions import ConfigurationError
from smsbridge.phone import DEFAULT_REGION, is_known_region
from smsbridge.transport import DEFAULT_MAX_RESPONSE_BYTES

__all__ = ["URL_PARAMS", "DuplicatePolicy", "Settings"]

DuplicatePolicy = Literal["merge", "send_each"]

URL_PARAMS: Final = (
    "concurrency",
    "max_response_bytes",
    "max_segments",
    "rate_limit",
    "region",
    "timeout",
)
"""URL parameters the engine takes for itself; the rest of a provider URL is the provider's."""


def _whole(name: str) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"{name} must be a positive whole number, got {value!r}")

    return check


def _seconds(name: str, *, optional: bool = False) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if value is None and optional:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            hint = " (None for no limit)" if optional else ""
            raise ConfigurationError(
                f"{name} must be a positive finite number{hint}, got {value!r}"
            )

    return check


def _region(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str) or not is_known_region(value):
        raise ConfigurationError(f"unknown region {value!r}; use a code such as 'IR'")


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _duplicates(_instance: object, _attribute: object, value: object) -> None:
    if value not in ("merge", "send_each"):
        raise ConfigurationError(f"duplicates must be 'merge' or 'send_each', not {value!r}")


@attrs.frozen(kw_only=True)
class Settings:
    """How the engine sends; every value is checked when the object is built.

    :param region: how local numbers (``0912...``) are read.
    :param max_segments: longer texts are refused before sending.
    :param duplicates: ``"merge"`` sends once to a number given twice; ``"send_each"`` once per
        occurrence.
    :param concurrency: provider requests of one send that may run at once; also the number of
        connections kept open per origin (the two are one setting).
    :param rate_limit: at most this many provider requests per second, evenly spaced; None for
        no limit (0 is refused: it would never send).
    :param timeout: seconds one provider request may take in all (connect, write, the whole
        reply).
    :param max_response_bytes: larger replies are refused (after decoding).
    """

    region: str = attrs.field(default=DEFAULT_REGION, converter=_upper, validator=_region)
    max_segments: int = attrs.field(default=10, validator=_whole("max_segments"))
    duplicates: DuplicatePolicy = attrs.field(default="merge", validator=_duplicates)
    concurrency: int = attrs.field(default=4, validator=_whole("concurrency"))
    rate_limit: float | None = attrs.field(
        default=None, validator=_seconds("rate_limit", optional=True)
    )
    timeout: float = attrs.field(default=30.0, validator=_seconds("timeout"))
    max_response_bytes: int = attrs.field(
        default=DEFAULT_MAX_RESPONSE_BYTES, validator=_whole("max_response_bytes")
    )

    @classmethod
    def build(cls, params: Mapping[str, str], **given: Any) -> Settings:
        """Settings from URL ``params`` and keyword values; a keyword that is not None wins."""
        values: dict[str, Any] = {}
        for name in URL_PARAMS:
            raw = params.get(name)
            if raw is None:
                continue
            values[name] = raw if name == "region" else _number(name, raw)
        values.update({name: value for name, value in given.items() if value is not None})
        return cls(**values)


def _number(name: str, raw: str) -> int | float:
    if name in ("concurrency", "max_segments", "max_response_bytes"):
        if not raw.isascii() or not raw.isdigit():
            raise ConfigurationError(f"{name} must be a positive whole number, got {raw!r}")
        return int(raw)
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
