"""Tests of a Django project never send a real SMS.

In Django's test environment (Django's runner and pytest-django both set it up) every alias
is the fake provider, and so is every ``Client`` the project builds itself. The outbox is
smsbridge's own :data:`smsbridge.testing.outbox`, cleared in place before each test, exactly
where Django resets ``mail.outbox``: the app wraps ``SimpleTestCase._pre_setup`` when it is
loaded, and the pytest plugin :mod:`smsbridge.contrib.django.pytest_plugin` does the same for
test functions. ``sent_using(sms)`` tells which alias sent a captured message.
"""

from __future__ import annotations

from typing import Any

from smsbridge.contrib.django._senders import in_test_environment, sent_using
from smsbridge.testing import FakeOutbox, FakeSms, outbox

__all__ = [
    "FakeOutbox",
    "FakeSms",
    "clear_outbox",
    "in_test_environment",
    "install_test_hooks",
    "outbox",
    "sent_using",
]

_MARK = "_smsbridge_clears_outbox"


def clear_outbox() -> None:
    """Empty the outbox in place (references to it stay valid)."""
    outbox.clear()


def install_test_hooks() -> None:
    """Clear the outbox wherever Django's test cases reset ``mail.outbox`` (idempotent)."""
    from django.test import SimpleTestCase

    if getattr(SimpleTestCase, _MARK, False):
        return
    original = SimpleTestCase.__dict__["_pre_setup"]
    if isinstance(original, classmethod):  # Django 5.1+
        function = original.__func__

        def pre_setup_cls(cls: Any) -> None:
            function(cls)
            if in_test_environment():
                clear_outbox()

        setattr(SimpleTestCase, "_pre_setup", classmethod(pre_setup_cls))  # noqa: B010
    else:  # Django 4.2 and 5.0: an instance method

        def pre_setup(self: Any) -> None:
            original(self)
            if in_test_environment():
                clear_outbox()

        setattr(SimpleTestCase, "_pre_setup", pre_setup)  # noqa: B010
    setattr(SimpleTestCase, _MARK, True)
