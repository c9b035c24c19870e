"""System checks (``manage.py check``): a missing or insecure ``SMSBRIDGE`` setting, unknown
options, URLs that do not build, unset environment variables.

Every message names aliases, keys and masked URLs only, never a secret.

| id | level | problem |
| --- | --- | --- |
| smsbridge.E001 | error | ``SMSBRIDGE`` or its ``SENDERS`` missing or not a dict |
| smsbridge.E002 | error | an alias without a usable ``URL``, or bad ``OPTIONS``/``TEMPLATES`` |
| smsbridge.E003 | error | unknown keys or options (misspelled) |
| smsbridge.E004 | error | ``WEBHOOK_SECRET`` of the wrong type |
| smsbridge.E005 | error | an environment variable named by ``${VAR}`` is not set (not in tests) |
| smsbridge.E006 | error | ``TWO_FACTOR`` wrong, or naming an unknown alias |
| smsbridge.E007 | error | ``INBOUND_DEDUPE_SECONDS`` or ``PENDING_MESSAGES`` wrong |
| smsbridge.E008 | error | a URL does not build a provider (unknown scheme, bad parameter) |
| smsbridge.W001 | warning | a password or secret parameter written into a URL in the settings |
| smsbridge.W002 | warning | no ``default`` alias |
| smsbridge.W003 | warning | a webhook secret shorter than 16 characters |
| smsbridge.W004 | warning | no ``WEBHOOK_SECRET``: the webhook views refuse every request |
| smsbridge.W005 | warning | ``fake://`` used with ``DEBUG = False``: nothing is sent |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from smsbridge._plugins import PluginHost
from smsbridge.config import ProviderURL
from smsbridge.contrib.django import _conf
from smsbridge.contrib.django._senders import in_test_environment
from smsbridge.exceptions import ConfigurationError

__all__ = ["check_settings"]

_PLACEHOLDER = "placeholder"


def _message(problem: _conf.Problem) -> checks.CheckMessage:
    kind = checks.Error if problem.level == "error" else checks.Warning
    return kind(problem.msg, hint=problem.hint, id=problem.id)


def _buildable(alias: str, url: str, host: PluginHost) -> list[checks.CheckMessage]:
    """Build the provider from ``url`` (no I/O), unset variables as placeholders, so an unknown
    scheme or a misspelled parameter is found before the first send."""
    expanded, _ = _conf.expand(url, placeholder=_PLACEHOLDER)
    if not expanded:  # the whole URL is an unset variable: nothing to build
        return []
    try:
        parsed = ProviderURL.parse(expanded)
        for name, read in _conf.CLIENT_OPTIONS.items():
            if name in parsed.params:
                read(parsed, name)
        own = {k: v for k, v in parsed.params.items() if k not in _conf.CLIENT_OPTIONS}
        host.provider_class(parsed.scheme).from_url(attrs.evolve(parsed, params=own)).close()
    except ConfigurationError as error:
        return [
            checks.Error(
                f"the URL of sender {alias!r} ({_conf.shown_url(url)}) does not build a "
                f"provider: {error}",
                id="smsbridge.E008",
            )
        ]
    return []


def _missing(url: str) -> list[str]:
    return _conf.expand(url)[1]


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Every problem of the ``SMSBRIDGE`` setting."""
    config, problems = _conf.read(getattr(settings, _conf.SETTING, None))
    testing = in_test_environment()
    messages = [_message(p) for p in problems if not (testing and p.unset_variable)]
    if config is None:
        return messages
    try:
        host = PluginHost()
    except ConfigurationError as error:
        return [*messages, checks.Error(str(error), id="smsbridge.E008")]
    for alias, sender in config.senders.items():
        for url in sender.urls:
            missing = _missing(url)
            if missing and not testing:
                messages.append(
                    checks.Error(
                        f"sender {alias!r} needs the environment variable(s) "
                        f"{', '.join(missing)}, which are not set",
                        id="smsbridge.E005",
                    )
                )
            messages += _buildable(alias, url, host)
            if _conf.shown_url(url).startswith("fake://") and not settings.DEBUG and not testing:
                messages.append(
                    checks.Warning(
                        f"sender {alias!r} uses fake://, which sends nothing, with DEBUG = False",
                        id="smsbridge.W005",
                    )
                )
    return messages
