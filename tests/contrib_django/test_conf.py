"""The SMSBRIDGE setting: parsing, ${VAR} references, and the system checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from smsbridge.contrib.django import SmsSettingsError, checks
from smsbridge.contrib.django._conf import expand, read

from .conftest import SMSBRIDGE

PASSWORD = "hunter2-very-secret"


def ids(raw: object) -> list[str]:
    """The ids of the problems read() finds."""
    return [problem.id for problem in read(raw)[1]]


def check(raw: Any) -> list[Any]:
    with override_settings(SMSBRIDGE=raw):
        return checks.check_settings()


class TestRead:
    """What the setting may hold, and what each mistake is called."""

    def test_the_suites_setting_is_clean(self) -> None:
        """The configuration these tests run with has no problem."""
        assert ids(SMSBRIDGE) == []

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (None, ["smsbridge.E001"]),
            ("fake://", ["smsbridge.E001"]),
            ({"SENDERS": {}}, ["smsbridge.E001"]),
            ({"SENDERS": {"default": 3}, "WEBHOOK_SECRET": "x" * 20}, ["smsbridge.E002"]),
            ({"SENDERS": {"default": {}}, "WEBHOOK_SECRET": "x" * 20}, ["smsbridge.E002"]),
            ({"SENDERS": {"default": {"URL": []}}, "WEBHOOK_SECRET": "x" * 20}, ["smsbridge.E002"]),
        ],
    )
    def test_missing_or_malformed(self, raw: object, expected: list[str]) -> None:
        """A missing setting, no senders, or an alias without a URL is an error."""
        assert ids(raw) == expected

    def test_unknown_keys_and_options(self) -> None:
        """Misspelled keys at every level are errors that name them."""
        config, problems = read(
            {
                "SENDERS": {
                    "default": {"URL": "fake://", "OPTONS": {}, "OPTIONS": {"timout": 3}},
                },
                "WEBHOOK_SECRETS": "x",
                "TWO_FACTOR": {"USNG": "default"},
            }
        )
        messages = [p.msg for p in problems if p.id == "smsbridge.E003"]
        assert len(messages) == 4
        assert any("OPTONS" in m for m in messages)
        assert any("timout" in m for m in messages)
        assert any("WEBHOOK_SECRETS" in m for m in messages)
        assert any("USNG" in m for m in messages)
        assert config is not None
        assert config.senders["default"].options == {}

    def test_shorthands(self) -> None:
        """An alias may be a bare URL or a list of URLs."""
        config, _ = read({"SENDERS": {"default": "fake://", "two": ["fake://", "fake://?x=1"]}})
        assert config is not None
        assert config.senders["default"].urls == ("fake://",)
        assert config.senders["two"].failover

    def test_no_default_alias_is_a_warning(self) -> None:
        """send_sms() without using= needs 'default'."""
        assert "smsbridge.W002" in ids({"SENDERS": {"otp": "fake://"}})

    def test_webhook_secret(self) -> None:
        """No secret, a short one, a wrong type, an unset variable."""
        assert "smsbridge.W004" in ids({"SENDERS": {"default": "fake://"}})
        assert "smsbridge.W003" in ids({"SENDERS": {"default": "fake://"}, "WEBHOOK_SECRET": "a"})
        assert "smsbridge.E004" in ids({"SENDERS": {"default": "fake://"}, "WEBHOOK_SECRET": 3})
        assert "smsbridge.E005" in ids(
            {"SENDERS": {"default": "fake://"}, "WEBHOOK_SECRET": "${SMSBRIDGE_NOT_SET_HERE}"}
        )

    def test_two_factor_names_a_sender(self) -> None:
        """TWO_FACTOR's USING must be an alias and TEXT must hold {token}."""
        raw = {"SENDERS": {"default": "fake://"}, "TWO_FACTOR": {"USING": "otp", "TEXT": "hi"}}
        assert ids(raw).count("smsbridge.E006") == 2

    def test_literal_secrets_are_warned_about_without_being_shown(self) -> None:
        """A password or an api key written into a URL is a warning that does not quote it."""
        raw = {
            "SENDERS": {
                "default": f"melipayamak://demo:{PASSWORD}@/?from=5000",
                "other": f"fake://?api_key={PASSWORD}",
                "fine": "melipayamak://demo:${MELI_PASSWORD}@/?from=5000",
            },
            "WEBHOOK_SECRET": "x" * 20,
        }
        problems = [p for p in read(raw)[1] if p.id == "smsbridge.W001"]
        assert len(problems) == 2
        assert "its password" in problems[0].msg
        assert "'api_key'" in problems[1].msg
        assert all(PASSWORD not in p.msg + (p.hint or "") for p in problems)


class TestExpand:
    """${VAR} references are filled from the environment."""

    def test_inside_a_url_values_are_percent_encoded(self) -> None:
        """A password with reserved characters needs no care."""
        url, missing = expand("melipayamak://u:${P}@/", {"P": "a@b:c/d"})
        assert (url, missing) == ("melipayamak://u:a%40b%3Ac%2Fd@/", [])

    def test_a_whole_url_is_inserted_as_it_is(self) -> None:
        """`${SMSBRIDGE_URL}` holds a complete URL."""
        assert expand("${U}", {"U": "fake://?batch_size=2"}) == ("fake://?batch_size=2", [])
        assert expand("${U}", {}) == ("", ["U"])

    def test_missing_names_are_reported(self) -> None:
        """Each unset variable is named, and replaced by the placeholder."""
        assert expand("x://${A}:${B}@/", {"A": "1"}, placeholder="p") == ("x://1:p@/", ["B"])


class TestChecks:
    """manage.py check reports the problems, never a secret."""

    def test_clean(self) -> None:
        """The suite's configuration passes the checks."""
        call_command("check")

    def test_an_error_stops_check(self) -> None:
        """An error makes manage.py check fail."""
        with override_settings(SMSBRIDGE=None), pytest.raises(SystemCheckError, match="E001"):
            call_command("check")

    def test_a_url_that_does_not_build(self) -> None:
        """An unknown scheme, or a parameter the provider does not take."""
        found = check({"SENDERS": {"default": "nosuch://", "b": "fake://?batchsize=2"}})
        errors = [m for m in found if m.id == "smsbridge.E008"]
        assert len(errors) == 2
        assert "nosuch" in errors[0].msg
        assert "batchsize" in errors[1].msg

    def test_a_bad_client_option_in_the_url(self) -> None:
        """?timeout=never is refused as the client would refuse it."""
        found = check({"SENDERS": {"default": "fake://?timeout=never"}})
        assert [m.id for m in found if m.id == "smsbridge.E008"] == ["smsbridge.E008"]

    def test_several_urls_are_failover(self) -> None:
        """Several URLs for one alias are a failover list: no error, no warning."""
        found = check({"SENDERS": {"default": ["fake://", "fake://?batch_size=2"]}})
        assert [m.id for m in found if m.id.startswith("smsbridge.E")] == []

    def test_unset_variables_are_errors_outside_tests(self) -> None:
        """In Django's test environment the fake replaces the URL, so they are not needed."""
        from django.test.utils import setup_test_environment, teardown_test_environment

        raw = {"SENDERS": {"default": "fake://?batch_size=${SMSBRIDGE_NOT_SET_HERE}"}}
        assert "smsbridge.E005" not in [m.id for m in check(raw)]
        teardown_test_environment()
        try:
            assert "smsbridge.E005" in [m.id for m in check(raw)]
        finally:
            setup_test_environment()

    def test_fake_in_production_is_a_warning(self) -> None:
        """fake:// sends nothing: with DEBUG off, outside tests, that is worth saying."""
        from django.test.utils import setup_test_environment, teardown_test_environment

        teardown_test_environment()
        try:
            found = check({"SENDERS": {"default": "fake://"}, "WEBHOOK_SECRET": "x" * 20})
        finally:
            setup_test_environment()
        assert [m.id for m in found] == ["smsbridge.W005"]

    def test_no_secret_in_any_message(self) -> None:
        """Every check message of a configuration full of mistakes, without the password."""
        raw = {
            "SENDERS": {
                "default": f"melipayamak://demo:{PASSWORD}@/?fromm=1",
                "b": [f"nosuch://u:{PASSWORD}@/", f"fake://?token={PASSWORD}"],
            },
            "WEBHOOK_SECRET": [PASSWORD[:5]],
        }
        found = check(raw)
        assert len(found) >= 5
        assert all(PASSWORD[:5] not in f"{m.msg} {m.hint}" for m in found)


def test_the_first_error_is_raised_when_sending() -> None:
    """A send through a broken setting raises SmsSettingsError (ImproperlyConfigured)."""
    from django.core.exceptions import ImproperlyConfigured

    from smsbridge import ConfigurationError
    from smsbridge.contrib.django import send_sms

    with (
        override_settings(SMSBRIDGE={"SENDERS": {"default": {"URLS": "fake://"}}}),
        pytest.raises(SmsSettingsError, match="unknown keys: URLS") as caught,
    ):
        send_sms("09123456789", "hi")
    assert isinstance(caught.value, ImproperlyConfigured)
    assert isinstance(caught.value, ConfigurationError)


def test_an_unset_webhook_secret_does_not_stop_sending() -> None:
    """Only the webhook views depend on it; they refuse every request until it is set."""
    from smsbridge.contrib.django import send_sms

    raw = {"SENDERS": {"default": "fake://"}, "WEBHOOK_SECRET": "${SMSBRIDGE_NOT_SET_HERE}"}
    with override_settings(SMSBRIDGE=raw):
        assert send_sms("09123456789", "hi").all_accepted
        assert "smsbridge.E005" not in [m.id for m in checks.check_settings()]  # in tests


def test_url_client_options_follow_the_core() -> None:
    """The client options a URL may carry are the ones the core's client takes from URLs."""
    from smsbridge._engine._settings import URL_PARAMS
    from smsbridge.contrib.django._conf import CLIENT_OPTIONS

    assert sorted(CLIENT_OPTIONS) == sorted(URL_PARAMS)
