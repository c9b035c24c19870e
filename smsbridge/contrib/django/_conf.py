"""The ``SMSBRIDGE`` setting, read into typed objects, and every problem it can have.

The setting is read in one place: :func:`read` returns the parsed configuration and a list of
:class:`Problem`; the system checks report every problem, and :func:`config` (used when a
client is built) raises the first error. No message quotes a URL as written: a URL is shown
parsed, with its password and secret parameters masked, or not at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal
from urllib.parse import quote

import attrs
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from smsbridge.config import ProviderURL, looks_secret
from smsbridge.exceptions import ConfigurationError

__all__ = [
    "CLIENT_OPTIONS",
    "Config",
    "Problem",
    "SenderConfig",
    "SmsSettingsError",
    "TemplateConfig",
    "TwoFactorConfig",
    "config",
    "expand",
    "read",
]

SETTING: Final = "SMSBRIDGE"

CLIENT_OPTIONS: Final[Mapping[str, Callable[[ProviderURL, str], object]]] = {
    "concurrency": lambda url, name: url.int_param(name, 0),
    "max_response_bytes": lambda url, name: url.int_param(name, 0),
    "max_segments": lambda url, name: url.int_param(name, 0),
    "rate_limit": lambda url, name: url.float_param(name, 0.0),
    "region": lambda url, name: url.params[name],
    "timeout": lambda url, name: url.float_param(name, 0.0),
}
"""Client options a URL may carry (``?timeout=10``), each read as the client reads it."""

_ALIAS_OPTIONS: Final = frozenset({*CLIENT_OPTIONS, "duplicates"})
_SENDER_KEYS: Final = frozenset({"URL", "OPTIONS", "TEMPLATES"})
_TEMPLATE_KEYS: Final = frozenset({"ID", "TEXT"})
_TWO_FACTOR_KEYS: Final = frozenset({"USING", "TEMPLATE", "TEMPLATE_VARIABLE", "TEXT"})
_TOP_KEYS: Final = frozenset(
    {
        "SENDERS",
        "WEBHOOK_SECRET",
        "WEBHOOK_CACHE",
        "INBOUND_DEDUPE_SECONDS",
        "INBOUND_REGION",
        "TWO_FACTOR",
        "PENDING_MESSAGES",
    }
)
_VARIABLE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MIN_WEBHOOK_SECRET: Final = 16
DEFAULT_TWO_FACTOR_TEXT: Final = "Your verification code is {token}"


class SmsSettingsError(ImproperlyConfigured, ConfigurationError):
    """The ``SMSBRIDGE`` setting is wrong: both Django's ImproperlyConfigured and smsbridge's
    ConfigurationError (a ValueError)."""


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with the setting: a system check's level, id and text."""

    level: Literal["error", "warning"]
    id: str
    msg: str
    hint: str | None = None
    webhooks_only: bool = False
    """True when only the webhook views are affected (sending still works)."""
    unset_variable: bool = False
    """True for an unset ``${VAR}``, which tests do not need."""


@attrs.frozen(kw_only=True)
class TemplateConfig:
    """A template an alias knows by name: the provider's id, and the approved text if given
    (the fake provider renders it in tests)."""

    id: str
    text: str | None = None


@attrs.frozen(kw_only=True)
class SenderConfig:
    """One alias of ``SMSBRIDGE["SENDERS"]``."""

    alias: str
    urls: tuple[str, ...] = attrs.field(repr=False)
    """As written, ``${VAR}`` references unexpanded (they may also hold literal secrets)."""
    options: Mapping[str, Any]
    templates: Mapping[str, TemplateConfig]

    @property
    def failover(self) -> bool:
        """True when the alias lists several URLs."""
        return len(self.urls) > 1

    def shown(self) -> list[str]:
        """Each URL parsed and masked, safe for logs, checks and the outbox."""
        return [shown_url(url) for url in self.urls]

    def template(self, name: str) -> TemplateConfig:
        """The template called ``name`` here, or ``name`` itself taken as the provider's id."""
        return self.templates.get(name) or TemplateConfig(id=name)


@attrs.frozen(kw_only=True)
class TwoFactorConfig:
    """``SMSBRIDGE["TWO_FACTOR"]``: how the django-two-factor-auth gateway sends a token."""

    using: str = "default"
    template: str | None = None
    template_variable: str | None = None
    text: str = DEFAULT_TWO_FACTOR_TEXT


@attrs.frozen(kw_only=True)
class Config:
    """The whole ``SMSBRIDGE`` setting, parsed."""

    senders: Mapping[str, SenderConfig]
    webhook_secrets: tuple[str, ...] = attrs.field(repr=False, default=())
    webhook_cache: str = "default"
    inbound_dedupe_seconds: int = 300
    inbound_region: str = "IR"
    two_factor: TwoFactorConfig = TwoFactorConfig()
    pending_messages: str | None = None


def shown_url(url: str) -> str:
    """``url`` parsed and masked, or a placeholder when it does not parse."""
    try:
        return str(ProviderURL.parse(url))
    except ConfigurationError:
        return "<a malformed URL>"


def expand(
    url: str, environ: Mapping[str, str] | None = None, *, placeholder: str = ""
) -> tuple[str, list[str]]:
    """``url`` with each ``${VAR}`` replaced from the environment, and the names missing
    (replaced with ``placeholder``; a missing whole URL is ``""``).

    A variable that is the whole URL is inserted as it is; inside a URL its value is
    percent-encoded, so a password with ``@`` or ``:`` in it needs no care.
    """
    env = os.environ if environ is None else environ
    missing: list[str] = []
    whole = _VARIABLE.fullmatch(url)
    if whole is not None:
        value = env.get(whole.group(1))
        return (value, []) if value else ("", [whole.group(1)])

    def quoted(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        if value is None:
            missing.append(match.group(1))
            return placeholder
        return quote(value, safe="")

    return _VARIABLE.sub(quoted, url), missing


def _is_reference(value: str) -> bool:
    return "${" in value


def _literal_secrets(url: str) -> list[str]:
    """What in ``url`` is a secret written into the settings file instead of a ``${VAR}``."""
    if _VARIABLE.fullmatch(url):
        return []
    try:
        parsed = ProviderURL.parse(url)
    except ConfigurationError:
        return []
    found = []
    if parsed.password is not None and not _is_reference(parsed.password.reveal()):
        found.append("its password")
    found += [
        f"the parameter {name!r}"
        for name, value in parsed.params.items()
        if looks_secret(name) and not _is_reference(value)
    ]
    return found


class _Reader:
    """Collects problems while reading the setting."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, id: str, msg: str, hint: str | None = None, **flags: bool) -> None:
        self.problems.append(
            Problem(level="error", id=f"smsbridge.E{id}", msg=msg, hint=hint, **flags)
        )

    def warning(self, id: str, msg: str, hint: str | None = None) -> None:
        self.problems.append(Problem(level="warning", id=f"smsbridge.W{id}", msg=msg, hint=hint))

    def unknown(self, where: str, keys: set[str], known: frozenset[str]) -> None:
        if keys:
            self.error(
                "003",
                f"{where} has unknown keys: {', '.join(sorted(map(str, keys)))}",
                hint=f"known keys: {', '.join(sorted(known))}",
            )

    def urls(self, alias: str, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            urls: tuple[str, ...] = (value,)
        elif isinstance(value, list | tuple) and all(isinstance(u, str) for u in value):
            urls = tuple(value)
        else:
            self.error(
                "002",
                f"SMSBRIDGE['SENDERS'][{alias!r}]['URL'] must be a provider URL or a list of them",
            )
            return ()
        if not urls:
            self.error("002", f"SMSBRIDGE['SENDERS'][{alias!r}]['URL'] lists no URL")
        for url in urls:
            secrets = _literal_secrets(url)
            if secrets:
                self.warning(
                    "001",
                    f"a URL of sender {alias!r} ({shown_url(url)}) has "
                    f"{' and '.join(secrets)} written in the settings",
                    hint="Django's debug page and settings dumps show the URL; write "
                    "${ENV_VAR} in its place and set the variable in the environment",
                )
        return urls

    def templates(self, alias: str, value: object) -> dict[str, TemplateConfig]:
        where = f"SMSBRIDGE['SENDERS'][{alias!r}]['TEMPLATES']"
        if not isinstance(value, Mapping):
            self.error("002", f"{where} must be a dict of template names")
            return {}
        found: dict[str, TemplateConfig] = {}
        for name, spec in value.items():
            if isinstance(spec, str | int):
                found[str(name)] = TemplateConfig(id=str(spec))
            elif isinstance(spec, Mapping) and "ID" in spec:
                self.unknown(f"{where}[{name!r}]", set(spec) - _TEMPLATE_KEYS, _TEMPLATE_KEYS)
                text = spec.get("TEXT")
                found[str(name)] = TemplateConfig(
                    id=str(spec["ID"]), text=text if isinstance(text, str) else None
                )
            else:
                self.error(
                    "002",
                    f"{where}[{name!r}] must be a template id or {{'ID': ..., 'TEXT': ...}}",
                )
        return found

    def sender(self, alias: str, value: object) -> SenderConfig | None:
        where = f"SMSBRIDGE['SENDERS'][{alias!r}]"
        if isinstance(value, str | list | tuple):
            value = {"URL": value}
        if not isinstance(value, Mapping):
            self.error("002", f"{where} must be a URL, a list of URLs or a dict with 'URL'")
            return None
        self.unknown(where, set(value) - _SENDER_KEYS, _SENDER_KEYS)
        if "URL" not in value:
            self.error("002", f"{where} has no 'URL'", hint="e.g. 'URL': '${SMSBRIDGE_URL}'")
            return None
        urls = self.urls(alias, value["URL"])
        options = value.get("OPTIONS", {})
        if not isinstance(options, Mapping):
            self.error("002", f"{where}['OPTIONS'] must be a dict")
            options = {}
        self.unknown(f"{where}['OPTIONS']", set(options) - _ALIAS_OPTIONS, _ALIAS_OPTIONS)
        templates = self.templates(alias, value.get("TEMPLATES", {}))
        return SenderConfig(
            alias=alias,
            urls=urls,
            options={k: v for k, v in options.items() if k in _ALIAS_OPTIONS},
            templates=templates,
        )

    def secrets(self, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        listed = [value] if isinstance(value, str) else value
        if not isinstance(listed, list | tuple) or not all(isinstance(s, str) for s in listed):
            self.error("004", "SMSBRIDGE['WEBHOOK_SECRET'] must be a str or a list of them")
            return ()
        secrets = []
        for index, secret in enumerate(listed):
            resolved, missing = expand(secret)
            if missing:
                self.error(
                    "005",
                    f"SMSBRIDGE['WEBHOOK_SECRET'] #{index} names an unset environment variable: "
                    f"{', '.join(missing)}",
                    webhooks_only=True,
                    unset_variable=True,
                )
                continue
            if len(resolved) < _MIN_WEBHOOK_SECRET:
                self.warning(
                    "003",
                    f"SMSBRIDGE['WEBHOOK_SECRET'] #{index} is shorter than "
                    f"{_MIN_WEBHOOK_SECRET} characters",
                    hint="use a long random value, e.g. python -c 'import secrets; "
                    "print(secrets.token_urlsafe(24))'",
                )
            secrets.append(resolved)
        return tuple(secrets)

    def two_factor(self, value: object, aliases: Mapping[str, SenderConfig]) -> TwoFactorConfig:
        if value is None:
            return TwoFactorConfig()
        if not isinstance(value, Mapping):
            self.error("006", "SMSBRIDGE['TWO_FACTOR'] must be a dict")
            return TwoFactorConfig()
        self.unknown("SMSBRIDGE['TWO_FACTOR']", set(value) - _TWO_FACTOR_KEYS, _TWO_FACTOR_KEYS)
        using = value.get("USING", "default")
        if using not in aliases:
            self.error(
                "006",
                f"SMSBRIDGE['TWO_FACTOR']['USING'] names {using!r}, which is not a sender",
                hint=f"senders: {', '.join(sorted(aliases)) or 'none'}",
            )
        text = value.get("TEXT", DEFAULT_TWO_FACTOR_TEXT)
        if not isinstance(text, str) or "{token}" not in text:
            self.error("006", "SMSBRIDGE['TWO_FACTOR']['TEXT'] must be a str with {token} in it")
            text = DEFAULT_TWO_FACTOR_TEXT
        template = value.get("TEMPLATE")
        variable = value.get("TEMPLATE_VARIABLE")
        return TwoFactorConfig(
            using=str(using),
            template=None if template is None else str(template),
            template_variable=None if variable is None else str(variable),
            text=text,
        )


def read(raw: object) -> tuple[Config | None, list[Problem]]:
    """Parse the ``SMSBRIDGE`` setting; every problem found, and the configuration unless the
    setting is missing or its shape is wrong."""
    reader = _Reader()
    if raw is None:
        reader.error(
            "001",
            "the SMSBRIDGE setting is missing",
            hint="SMSBRIDGE = {'SENDERS': {'default': {'URL': '${SMSBRIDGE_URL}'}}}",
        )
        return None, reader.problems
    if not isinstance(raw, Mapping):
        reader.error("001", "the SMSBRIDGE setting must be a dict")
        return None, reader.problems
    reader.unknown("SMSBRIDGE", set(raw) - _TOP_KEYS, _TOP_KEYS)
    raw_senders = raw.get("SENDERS")
    if not isinstance(raw_senders, Mapping) or not raw_senders:
        reader.error(
            "001",
            "SMSBRIDGE['SENDERS'] must be a dict of aliases with at least 'default'",
            hint="SMSBRIDGE = {'SENDERS': {'default': {'URL': '${SMSBRIDGE_URL}'}}}",
        )
        return None, reader.problems
    senders = {}
    for alias, value in raw_senders.items():
        parsed = reader.sender(str(alias), value)
        if parsed is not None:
            senders[str(alias)] = parsed
    if "default" not in raw_senders:
        reader.warning(
            "002",
            "SMSBRIDGE['SENDERS'] has no 'default' alias",
            hint="send_sms() without using= sends through 'default'",
        )
    dedupe = raw.get("INBOUND_DEDUPE_SECONDS", 300)
    if isinstance(dedupe, bool) or not isinstance(dedupe, int) or dedupe < 1:
        reader.error("007", "SMSBRIDGE['INBOUND_DEDUPE_SECONDS'] must be a positive int")
        dedupe = 300
    pending = raw.get("PENDING_MESSAGES")
    if pending is not None and not isinstance(pending, str):
        reader.error("007", "SMSBRIDGE['PENDING_MESSAGES'] must be a dotted path to a function")
        pending = None
    config = Config(
        senders=senders,
        webhook_secrets=reader.secrets(raw.get("WEBHOOK_SECRET")),
        webhook_cache=str(raw.get("WEBHOOK_CACHE", "default")),
        inbound_dedupe_seconds=dedupe,
        inbound_region=str(raw.get("INBOUND_REGION", "IR")),
        two_factor=reader.two_factor(raw.get("TWO_FACTOR"), senders),
        pending_messages=pending,
    )
    if not config.webhook_secrets and "WEBHOOK_SECRET" not in raw:
        reader.warning(
            "004",
            "SMSBRIDGE['WEBHOOK_SECRET'] is not set: the webhook views refuse every request",
            hint="set it to a long random token (or 'user:password' for basic auth), from "
            "the environment: 'WEBHOOK_SECRET': '${SMSBRIDGE_WEBHOOK_SECRET}'",
        )
    return config, reader.problems


def config() -> Config:
    """The current configuration; the first error in it raised as :class:`SmsSettingsError`
    (an unset webhook secret is not one: the webhook views refuse every request instead)."""
    parsed, problems = read(getattr(settings, SETTING, None))
    for problem in problems:
        if problem.level == "error" and not problem.webhooks_only:
            raise SmsSettingsError(problem.msg + (f" ({problem.hint})" if problem.hint else ""))
    assert parsed is not None  # noqa: S101 - read() returns a config whenever there is no error
    return parsed
