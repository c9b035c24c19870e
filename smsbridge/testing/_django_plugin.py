"""pytest plugin for Django projects (entry point ``smsbridge_django``): the SMS outbox
cleared in place before each test.

The ``sms_outbox`` fixture is smsbridge's own (``smsbridge.testing.pytest_plugin``): it gives
the same object as :data:`smsbridge.contrib.django.outbox`. This plugin adds the autouse
clearing for tests that do not ask for the fixture, as pytest-django does for ``mail.outbox``.
It does nothing unless Django is configured with ``smsbridge.contrib.django`` installed. It
lives outside ``smsbridge.contrib.django``, whose package imports Django: every pytest run
loads it, with Django installed or not.
"""

from __future__ import annotations

import pytest

from smsbridge.testing import outbox


@pytest.fixture(autouse=True)
def _smsbridge_django_outbox() -> None:
    """Empty the outbox before each test when the Django app is installed."""
    try:
        from django.apps import apps
        from django.conf import settings
    except ImportError:  # smsbridge without its django extra
        return
    if settings.configured and apps.ready and apps.is_installed("smsbridge.contrib.django"):
        outbox.clear()
