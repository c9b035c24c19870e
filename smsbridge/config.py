"""Provider configuration by URL, and a secret type that never shows its value.

A provider is named by a URL such as ``fake://`` or
``melipayamak://USER:PASSWORD@/?from=50004001234567``, given in code or in ``SMSBRIDGE_URL``.
Reserved characters in a password are percent-encoded, as in any URL.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from smsbridge.exceptions import ConfigurationError

__all__ = [
    "ENV_URL",
    "ProviderURL",
    "Secret",
    "check_endpoint",
    "check_printable",
    "looks_secret",
    "url_from_env",
]

ENV_URL: Final = "SMSBRIDGE_URL"
_CONTROL: Final = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def check_printable(value: str, what: str) -> str:
    """``value`` if it holds no control character (a credential, a sender line, a name).

    A newline in a password would end up in a header or an envelope; the error never quotes
    the value, which may be secret.
    """
    if _CONTROL.search(value):
        raise ConfigurationError(f"{what} must not contain control characters")
    return value


def check_endpoint(endpoint: object, what: str = "endpoint") -> str:
    """``endpoint`` if it is an http(s) URL with a host and a valid port."""
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise ConfigurationError(f"{what} must be an http(s) URL, got {endpoint!r}")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ConfigurationError(
            f"the {what} {endpoint!r} is malformed or its port is out of range"
        ) from None
    if not parts.hostname:
        raise ConfigurationError(f"the {what} {endpoint!r} has no host")
    return endpoint.rstrip("/") if parts.path in ("", "/") else endpoint


_SECRET_PARAM_WORDS: Final = ("token", "key", "secret", "password", "passwd", "auth", "sig")


def looks_secret(param: str) -> bool:
    """True for a URL parameter whose value is a credential (``token``, ``api_key``, ...)."""
    name = param.lower()
    return any(word in name for word in _SECRET_PARAM_WORDS)


@attrs.frozen(repr=False, eq=False)
class Secret:
    """A password or token. ``repr``/``str`` show a mask; ``reveal()`` gives the value."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __rich_repr__(self) -> Iterator[str]:
        # rich prints attrs instances field by field, ignoring __repr__ (tracebacks with
        # show_locals would show the value): this is what it shows instead.
        yield "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def _as_params(params: Mapping[str, str]) -> dict[str, str]:
    return dict(params)


@attrs.frozen(kw_only=True)
class ProviderURL:
    """A parsed provider URL. ``str()`` and ``repr()`` never include the password."""

    scheme: str
    username: str | None = None
    password: Secret | None = None
    host: str | None = None
    port: int | None = None
    path: str = ""
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_as_params)

    @classmethod
    def parse(cls, url: str) -> ProviderURL:
        """Parse ``url``; a malformed one raises :class:`ConfigurationError` without echoing it."""
        if not isinstance(url, str) or "://" not in url:
            raise ConfigurationError("a provider URL looks like 'SCHEME://...', e.g. 'fake://'")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            # The message of urllib's error can quote the URL, which may hold a password.
            raise ConfigurationError("the provider URL is malformed") from error
        if not parts.scheme:
            raise ConfigurationError("the provider URL has no scheme")
        params: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in params:
                raise ConfigurationError(f"the provider URL repeats the parameter {key!r}")
            params[key] = value
        password = parts.password
        return cls(
            scheme=parts.scheme.lower(),
            username=unquote(parts.username) if parts.username else None,
            password=Secret(unquote(password)) if password else None,
            host=parts.hostname,
            port=port,
            path=parts.path,
            params=params,
        )

    def __str__(self) -> str:
        user = ""
        if self.username:
            # A user part without a password is a credential itself (kavenegar://API_KEY@).
            user = (f"{self.username}:********" if self.password else "********") + "@"
        elif self.password:
            user = ":********@"
        host = self.host or ""
        if self.port is not None:
            host += f":{self.port}"
        query = "&".join(
            f"{key}={'********' if looks_secret(key) else value}"
            for key, value in self.params.items()
        )
        return f"{self.scheme}://{user}{host}{self.path}" + (f"?{query}" if query else "")

    def __repr__(self) -> str:
        return f"ProviderURL({str(self)!r})"

    def __rich_repr__(self) -> Iterator[str]:
        # See Secret.__rich_repr__: rich would print the fields, password and all.
        yield str(self)

    def only_params(self, allowed: Collection[str]) -> None:
        """Refuse parameters the provider does not take, naming them and the ones it does.

        :raises ConfigurationError: when a parameter is not in ``allowed`` (the client's own,
            such as ``timeout``, are taken out before a provider sees the URL).
        """
        if unknown := set(self.params) - set(allowed):
            raise ConfigurationError(
                f"{self.scheme}:// does not take {', '.join(sorted(unknown))} "
                f"(it takes {', '.join(sorted(allowed))}, plus the client's own options)"
            )

    def require_credentials(self) -> tuple[str, Secret]:
        """The username and password, or a :class:`ConfigurationError` naming what is missing."""
        if not self.username or self.password is None or not self.password:
            raise ConfigurationError(
                f"the {self.scheme} provider needs credentials: "
                f"{self.scheme}://USERNAME:PASSWORD@/?..."
            )
        return self.username, self.password

    def float_param(self, name: str, default: float) -> float:
        """A positive finite number parameter, or ``default`` when absent."""
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ConfigurationError(f"{name} must be positive, got {raw!r}")
        return value

    def int_param(self, name: str, default: int) -> int:
        """A positive whole-number parameter, or ``default`` when absent."""
        raw = self.params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigurationError(f"{name} must be a positive whole number, got {raw!r}")
        return int(raw)


def url_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The provider URL in ``SMSBRIDGE_URL``, or None when it is unset or blank."""
    value = (os.environ if environ is None else environ).get(ENV_URL, "").strip()
    return value or None
