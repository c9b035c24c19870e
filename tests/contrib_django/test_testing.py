"""The outbox resets itself: before each Django test case and each pytest test."""

from __future__ import annotations

import unittest

import pytest

import smsbridge.contrib.django as contrib
from smsbridge.contrib.django import outbox, send_sms
from smsbridge.contrib.django import pytest_plugin as django_pytest_plugin
from smsbridge.contrib.django.testing import install_test_hooks
from smsbridge.testing import outbox as core_outbox


def test_one_outbox() -> None:
    """The Django outbox is smsbridge's outbox: sms_outbox and it are one object."""
    assert outbox is core_outbox


def test_django_test_cases_start_empty() -> None:
    """SimpleTestCase's _pre_setup empties the outbox before each test, in place."""
    from django.test import SimpleTestCase

    seen: list[int] = []
    held = outbox

    class Case(SimpleTestCase):
        def test_one(self) -> None:
            seen.append(len(held))
            send_sms("09123456789", "left behind")

        def test_two(self) -> None:
            seen.append(len(held))
            send_sms("09123456789", "left behind")

    send_sms("09123456789", "before the case")
    install_test_hooks()  # a second call changes nothing
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Case)
    result = unittest.TestResult()
    suite.run(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert seen == [0, 0]


def test_the_pytest_plugins_autouse_fixture(pytester: pytest.Pytester) -> None:
    """With the plugin (installed with smsbridge as a pytest11 entry point), a test that never
    asks for sms_outbox starts empty too."""
    pytester.makeconftest(
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['smsbridge.contrib.django'],\n"
        "    SMSBRIDGE={'SENDERS': {'default': 'fake://'}, 'WEBHOOK_SECRET': 'x' * 20})\n"
        "django.setup()\n"
    )
    pytester.makepyfile(
        "from smsbridge.contrib.django import outbox, send_sms\n"
        "def test_a():\n"
        "    assert len(outbox) == 0\n"
        "    send_sms('09123456789', 'x')\n"
        "def test_b():\n"
        "    assert len(outbox) == 0\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:django")
    result.assert_outcomes(passed=2)
    # And it is the entry point's doing: without the plugin, the second test sees the first's SMS.
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:django",
        "-p",
        f"no:{django_pytest_plugin.__name__}",
        "-p",
        "no:smsbridge_django",
    )
    result.assert_outcomes(passed=1, failed=1)


def test_exports_are_sorted_and_complete() -> None:
    """__all__ lists every public name, sorted."""
    public = {name for name in vars(contrib) if not name.startswith(("_", "@"))}
    public -= {"annotations"}
    modules = {
        "apps",
        "checks",
        "signals",
        "testing",
        "pytest_plugin",
        "webhooks",
        "urls",
        "two_factor",
        "management",
    }
    assert contrib.__all__ == sorted(contrib.__all__)
    assert public - modules == set(contrib.__all__)
