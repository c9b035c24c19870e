"""One client per alias: built on first use, cached, rebuilt when the settings or the test
environment change; under Django's test environment every alias is the fake provider."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from smsbridge import _intercept
from smsbridge._client import Client
from smsbridge.config import ProviderURL
from smsbridge.contrib.django import _conf
from smsbridge.contrib.django._conf import SenderConfig, SmsSettingsError
from smsbridge.exceptions import ConfigurationError
from smsbridge.provider import BaseProvider
from smsbridge.testing import FakeProvider, FakeSms, outbox

__all__ = [
    "Senders",
    "build_client",
    "in_test_environment",
    "senders",
    "sent_using",
]

_USING = "#using="


def in_test_environment() -> bool:
    """True between Django's ``setup_test_environment()`` and its teardown.

    Django's test runner and pytest-django both call it before the first test. Its mark is
    ``django.test.utils._TestState.saved_data``, looked up without importing anything.
    """
    utils = sys.modules.get("django.test.utils")
    state = getattr(utils, "_TestState", None)
    return state is not None and hasattr(state, "saved_data")


def sent_using(sms: FakeSms) -> str | None:
    """The alias a captured message was sent through (None: a client the project built
    itself). The alias travels in the URL's fragment, ``...#using=otp``."""
    url = sms.url or ""
    _, found, alias = url.rpartition(_USING)
    return alias if found else None


def build_client(
    urls: tuple[str, ...], *, client_class: type[Client] = Client, **kwargs: Any
) -> Client:
    """A client on ``urls``: one URL, or several tried in order (failover, docs/failover.md)."""
    if len(urls) == 1:
        return client_class(urls[0], **kwargs)
    return client_class(list(urls), **kwargs)


def _url_options(url: str) -> dict[str, Any]:
    """The client options a URL carries (``?timeout=10``), typed as the client reads them."""
    try:
        parsed = ProviderURL.parse(url)
    except ConfigurationError:
        return {}
    return {
        name: read(parsed, name)
        for name, read in _conf.CLIENT_OPTIONS.items()
        if name in parsed.params
    }


def _scheme(url: str) -> str:
    try:
        return ProviderURL.parse(url).scheme
    except ConfigurationError:
        return "unknown"


def _fake_client(sender: SenderConfig, plugins: list[object]) -> Client:
    """What an alias is in tests: the fake provider on the shared outbox, recording the
    provider and URL the alias names (masked) and the alias itself."""
    first, _ = _conf.expand(sender.urls[0], placeholder="placeholder")
    provider = FakeProvider(
        outbox=outbox,
        requested_provider=_scheme(first),
        requested_url=f"{_conf.shown_url(first)}{_USING}{sender.alias}",
    )
    options = {**_url_options(first), **sender.options}
    return Client(provider=provider, plugins=plugins, **options)


def _intercept_in_tests(provider: BaseProvider, url: str) -> BaseProvider:
    """The interceptor installed by the app: in Django's test environment a client the
    project builds itself gets the fake provider too (a fake one keeps its own outbox)."""
    if not in_test_environment() or isinstance(provider, FakeProvider):
        return provider
    provider.close()
    return FakeProvider(outbox=outbox, requested_provider=provider.name, requested_url=url)


def install_interceptor() -> None:
    """Route every Client built in Django's test environment to the fake (idempotent)."""
    _intercept.uninstall(_intercept_in_tests)
    _intercept.install(_intercept_in_tests)


@attrs.define
class _Entry:
    client: Client
    fake: bool


class Senders(Mapping[str, Client]):
    """The clients of ``SMSBRIDGE["SENDERS"]`` by alias, each built on first use.

    Thread-safe. Changing the setting (``override_settings``) closes them; entering or leaving
    Django's test environment rebuilds them (the fake in tests, the real provider outside).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._config: _conf.Config | None = None

    def config(self) -> _conf.Config:
        """The parsed setting (cached until it changes)."""
        with self._lock:
            if self._config is None:
                self._config = _conf.config()
            return self._config

    def sender(self, alias: str) -> SenderConfig:
        """The configuration of ``alias``."""
        senders = self.config().senders
        try:
            return senders[alias]
        except KeyError:
            raise SmsSettingsError(
                f"no sender {alias!r} in SMSBRIDGE['SENDERS'] "
                f"(senders: {', '.join(sorted(senders)) or 'none'})"
            ) from None

    def __getitem__(self, alias: str) -> Client:
        testing = in_test_environment()
        with self._lock:
            entry = self._entries.get(alias)
            if entry is not None and entry.fake == testing:
                return entry.client
            sender = self.sender(alias)
            if entry is not None:
                entry.client.close()
            client = self._build(sender, testing)
            self._entries[alias] = _Entry(client=client, fake=testing)
            return client

    def _build(self, sender: SenderConfig, testing: bool) -> Client:
        from smsbridge.contrib.django.signals import SignalBridge

        plugins: list[object] = [SignalBridge(sender, fake=testing)]
        if testing:
            return _fake_client(sender, plugins)
        resolved = []
        for url in sender.urls:
            expanded, missing = _conf.expand(url)
            if missing:
                raise SmsSettingsError(
                    f"sender {sender.alias!r} needs the environment variable(s) "
                    f"{', '.join(missing)}, which are not set"
                )
            resolved.append(expanded)
        return build_client(tuple(resolved), plugins=plugins, **sender.options)

    def __iter__(self) -> Iterator[str]:
        return iter(self.config().senders)

    def __len__(self) -> int:
        return len(self.config().senders)

    def __repr__(self) -> str:
        return f"<Senders {sorted(self._entries)} built>"

    def close(self) -> None:
        """Close every client built and forget the setting; the next use reads it again."""
        with self._lock:
            entries, self._entries = self._entries, {}
            self._config = None
        for entry in entries.values():
            entry.client.close()


senders = Senders()
"""The clients by alias: ``senders["otp"].send(...)``, or use the shortcuts."""
