"""Shared fixtures: every test starts with an empty fake outbox and no ambient configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsbridge import Client
from smsbridge.testing import FakeOutbox

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, sms_outbox: FakeOutbox) -> None:
    """Keep the developer's environment and installed plugins out of the core tests.

    Tests that need entry-point plugins (test_plugins.py, the conformance suite) ask for them
    explicitly; everything else sees only the built-in ``fake://`` provider.
    """
    monkeypatch.delenv("SMSBRIDGE_URL", raising=False)
    monkeypatch.delenv("SMSBRIDGE_BLOCKED_PLUGINS", raising=False)
    monkeypatch.setenv("SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def client() -> Iterator[Client]:
    """A client on the fake provider, closed after the test."""
    with Client("fake://") as fake_client:
        yield fake_client
