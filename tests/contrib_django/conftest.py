"""Django, configured for the tests of this folder only.

Settings are configured and Django's test environment set up when the first test here starts,
and the environment is torn down after the last: the rest of the suite runs outside it, so
the app's interceptor (which gives every client the fake provider in Django's test
environment) leaves the other tests' providers alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SECRET = "s3cret-webhook-token-0123456789"
OLD_SECRET = "hook:old-basic-password-0123456789"

SMSBRIDGE: dict[str, Any] = {
    "SENDERS": {
        "default": {"URL": "melipayamak://demo:${MELI_PASSWORD}@/?from=50004001234567"},
        "otp": {
            "URL": "fake://?timeout=5",
            "OPTIONS": {"max_segments": 2},
            "TEMPLATES": {"login": {"ID": "161754", "TEXT": "Your login code is {0}"}},
        },
    },
    "WEBHOOK_SECRET": [SECRET, OLD_SECRET],
    "TWO_FACTOR": {"USING": "otp", "TEMPLATE": "login"},
}


def _configure() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only",
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=["smsbridge.contrib.django"],
            ROOT_URLCONF="contrib_django.urls",
            MIDDLEWARE=[],
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            DATABASES={},
            USE_TZ=True,
            SMSBRIDGE=SMSBRIDGE,
        )
        django.setup()


@pytest.fixture(scope="package", autouse=True)
def django_test_environment_here() -> Iterator[None]:
    """Django's test environment, for this folder's tests only."""
    _configure()
    from django.test.utils import setup_test_environment, teardown_test_environment

    from smsbridge.contrib.django import senders

    setup_test_environment()
    try:
        yield
    finally:
        teardown_test_environment()
        senders.close()


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with the settings above, an empty outbox and an empty cache."""
    from django.core.cache import cache

    from smsbridge.contrib.django import outbox, senders

    monkeypatch.setenv("SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD", "")
    outbox.clear()
    cache.clear()
    senders.close()
    yield
    senders.close()
