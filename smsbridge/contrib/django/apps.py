"""The Django app: ``INSTALLED_APPS = [..., "smsbridge.contrib.django"]``."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.signals import setting_changed


def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting == "SMSBRIDGE":
        from smsbridge.contrib.django._senders import senders

        senders.close()


class SmsBridgeConfig(AppConfig):
    """Registers the system checks, closes the clients when ``SMSBRIDGE`` changes, and makes
    Django's test environment send nothing (see :mod:`smsbridge.contrib.django.testing`)."""

    name = "smsbridge.contrib.django"
    label = "smsbridge"
    verbose_name = "smsbridge"

    def ready(self) -> None:
        from smsbridge.contrib.django import checks as smsbridge_checks
        from smsbridge.contrib.django._senders import install_interceptor
        from smsbridge.contrib.django.testing import install_test_hooks

        checks.register(smsbridge_checks.check_settings, "smsbridge")
        setting_changed.connect(_settings_changed, dispatch_uid="smsbridge-settings-changed")
        install_interceptor()
        install_test_hooks()
