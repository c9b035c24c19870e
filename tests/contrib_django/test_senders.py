"""Clients by alias: built once, shared by threads, closed on a settings change; the fake
provider for every alias and every client in Django's test environment."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.test import override_settings
from django.test.utils import setup_test_environment, teardown_test_environment

from smsbridge import Client, ErrorCategory
from smsbridge.contrib.django import SmsSettingsError, outbox, send_sms, senders, sent_using
from smsbridge.contrib.django._senders import build_client
from smsbridge.testing import FakeOutbox, FakeProvider


@pytest.fixture
def outside_tests() -> Iterator[None]:
    """Django's test environment torn down for one test: aliases build their real provider."""
    teardown_test_environment()
    senders.close()
    try:
        yield
    finally:
        senders.close()
        setup_test_environment()


class TestRegistry:
    """senders[alias] is one client per alias, made on first use."""

    def test_cached(self) -> None:
        """The same client each time, a different one per alias."""
        assert senders["otp"] is senders["otp"]
        assert senders["otp"] is not senders["default"]
        assert sorted(senders) == ["default", "otp"]
        assert len(senders) == 2

    def test_thread_safe(self) -> None:
        """Threads asking at once all get the one client."""
        got: list[Client] = []
        barrier = threading.Barrier(8)

        def take() -> None:
            barrier.wait()
            got.append(senders["default"])

        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(got) == 8
        assert all(client is got[0] for client in got)

    def test_a_settings_change_closes_and_rebuilds(self) -> None:
        """override_settings(SMSBRIDGE=...) gives new clients, with the new options."""
        before = senders["otp"]
        assert before.max_segments == 2
        with override_settings(
            SMSBRIDGE={"SENDERS": {"otp": {"URL": "fake://", "OPTIONS": {"max_segments": 7}}}}
        ):
            assert senders["otp"] is not before
            assert senders["otp"].max_segments == 7
        assert senders["otp"].max_segments == 2

    def test_unknown_alias(self) -> None:
        """An alias not in SENDERS is an error naming the known ones."""
        with pytest.raises(SmsSettingsError, match=r"no sender 'nope'.*default, otp"):
            send_sms("09123456789", "hi", using="nope")

    def test_url_options_and_alias_options(self) -> None:
        """?timeout=5 in the URL is kept in tests; OPTIONS win over the URL."""
        client = senders["otp"]
        assert (client.settings.timeout, client.max_segments) == (5.0, 2)


class TestTestEnvironment:
    """No test can send a real SMS."""

    def test_every_alias_is_the_fake(self) -> None:
        """'default' names melipayamak with an unset password: the fake takes its place,
        recording the provider, the masked URL and the alias."""
        report = send_sms("09123456789", "hi")
        assert report.all_accepted
        assert isinstance(senders["default"].provider, FakeProvider)
        sms = outbox.assert_sent_to("09123456789")
        assert sms.provider == "melipayamak"
        assert sms.url == "melipayamak://demo:********@/?from=50004001234567#using=default"
        assert sent_using(sms) == "default"

    def test_secrets_from_the_environment_stay_masked(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With the variable set, the recorded URL still masks the password."""
        monkeypatch.setenv("MELI_PASSWORD", "p@ss-word-123")
        send_sms("09123456789", "hi")
        assert "p@ss" not in (outbox.messages[0].url or "")
        assert "pass-word" not in repr(senders["default"])

    def test_clients_the_project_builds_are_captured_too(self) -> None:
        """Client("melipayamak://...") built by the project sends to the outbox."""
        with Client("melipayamak://demo:pw-12345@/?from=5000", autoload_plugins=True) as client:
            assert isinstance(client.provider, FakeProvider)
            client.send("hi", "09123456789")
        sms = outbox.assert_sent_to("09123456789")
        assert (sms.provider, sent_using(sms)) == ("melipayamak", None)
        assert sms.url == "melipayamak://demo:********@/?from=5000"

    def test_a_fake_with_its_own_outbox_keeps_it(self) -> None:
        """A project test's private FakeOutbox is left alone."""
        private = FakeOutbox()
        Client(provider=FakeProvider(outbox=private)).send("hi", "09123456789")
        assert len(private) == 1
        outbox.assert_nothing_sent()

    def test_leaving_the_test_environment_builds_the_real_provider(
        self, outside_tests: None
    ) -> None:
        """Outside tests the alias is the provider it names (here with its secret unset)."""
        with pytest.raises(SmsSettingsError, match="MELI_PASSWORD"):
            senders["default"]
        send_sms("09123456789", "hi", using="otp")  # fake:// itself: no alias recorded
        assert sent_using(outbox.assert_sent_to("09123456789")) is None


class TestRealProviders:
    """Outside Django's test environment: ${VAR} filled in, failover routed to the core."""

    def test_variables_fill_the_url(
        self, outside_tests: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The built client has what the variable said."""
        monkeypatch.setenv("SMSBRIDGE_TEST_BATCH", "3")
        with override_settings(
            SMSBRIDGE={"SENDERS": {"default": "fake://?batch_size=${SMSBRIDGE_TEST_BATCH}"}}
        ):
            provider = senders["default"].provider
        assert isinstance(provider, FakeProvider)
        assert provider.capabilities.max_batch_size == 3

    def test_a_list_is_a_failover_client(self, outside_tests: None) -> None:
        """Outside tests, an alias listing several URLs is one client trying them in order:
        the second sends when the first is out of credit."""
        with override_settings(
            SMSBRIDGE={"SENDERS": {"default": ["fake://?batch_size=5", "fake://"]}}
        ):
            client = senders["default"]
            assert list(client.providers) == ["fake", "fake#2"]
            first = client.providers["fake"]
            assert isinstance(first, FakeProvider)
            first.outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
            report = client.send("hi", ["09123456789"])
        assert (report[0].provider, report[0].attempts) == ("fake#2", 2)

    def test_build_client_passes_the_list(self) -> None:
        """build_client hands several URLs to Client as one list."""
        calls: list[object] = []

        class Recording(Client):
            def __init__(self, url: object = None, **kwargs: object) -> None:
                calls.append(url)
                super().__init__("fake://")

        build_client(("fake://", "fake://?batch_size=2"), client_class=Recording)
        assert calls == [["fake://", "fake://?batch_size=2"]]


def test_no_secret_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parsed settings, the registry and the clients show no secret."""
    from .conftest import SECRET

    monkeypatch.setenv("MELI_PASSWORD", "p4ss-w0rd-xyz")
    send_sms("09123456789", "hi")
    shown = repr(senders.config()) + repr(senders) + repr(senders["default"])
    shown += repr(senders.sender("default")) + str(senders.sender("default").shown())
    assert SECRET not in shown
    assert "p4ss" not in shown
    assert "melipayamak://demo:********@/?from=50004001234567" in shown
