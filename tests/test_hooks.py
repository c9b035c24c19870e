"""Plugin hooks around a send (smsbridge.hookspecs, smsbridge._plugins)."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from smsbridge import (
    BaseProvider,
    Client,
    ConfigurationError,
    ErrorCategory,
    InvalidMessageError,
    OutgoingSend,
    SendReport,
    SendStatus,
    hookimpl,
)
from smsbridge._plugins import PluginHost
from smsbridge.testing import FakeOutbox, FakeProvider

A, B, C = "+989123456789", "+989351234567", "+989121111111"


class QuietHours:
    """Vetoes every send, as a quiet-hours plugin does at night."""

    @hookimpl
    def smsbridge_before_send(self, send: OutgoingSend) -> None:
        send.veto("quiet hours (22:00-08:00)")


class OptOut:
    """Rejects the numbers on an opt-out list."""

    def __init__(self, *numbers: str) -> None:
        self.numbers = set(numbers)

    @hookimpl
    def smsbridge_before_send(self, send: OutgoingSend) -> None:
        for number in send.recipients:
            if number in self.numbers:
                send.reject(number, "opted out")


class Signature:
    """Appends a signature to every text."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    @hookimpl
    def smsbridge_before_send(self, send: OutgoingSend) -> None:
        send.message = attrs.evolve(send.message, text=send.message.text + self.suffix)


class Recorder:
    """Remembers what the after-send and provider-created hooks saw."""

    def __init__(self) -> None:
        self.sends: list[tuple[OutgoingSend, SendReport]] = []
        self.providers: list[BaseProvider] = []

    @hookimpl
    def smsbridge_after_send(self, send: OutgoingSend, report: SendReport) -> None:
        self.sends.append((send, report))

    @hookimpl
    def smsbridge_provider_created(self, provider: BaseProvider) -> None:
        self.providers.append(provider)


class TestBeforeSend:
    """smsbridge_before_send may veto, reject single recipients, or change the message."""

    def test_veto(self, sms_outbox: FakeOutbox) -> None:
        """A veto rejects every recipient with category vetoed; nothing is sent."""
        client = Client("fake://", plugins=[QuietHours()])
        report = client.send("hi", [A, B, A])
        assert [r.status for r in report] == [SendStatus.REJECTED] * 3
        for result in report:
            assert result.error is not None
            assert result.error.category is ErrorCategory.VETOED
            assert result.error.message == "quiet hours (22:00-08:00)"
        sms_outbox.assert_nothing_sent()
        assert isinstance(client.provider, FakeProvider)
        assert client.provider.requests == 0

    def test_veto_async(self, sms_outbox: FakeOutbox) -> None:
        """asend honours a veto too."""
        report = asyncio.run(Client("fake://", plugins=[QuietHours()]).asend("hi", [A]))
        assert report.rejected == 1
        sms_outbox.assert_nothing_sent()

    def test_reject_one_recipient(self, sms_outbox: FakeOutbox) -> None:
        """An opted-out number is rejected in place; the others are sent."""
        report = Client("fake://", plugins=[OptOut(B)]).send("hi", [A, "09351234567", C])
        assert [r.status.value for r in report] == ["accepted", "rejected", "accepted"]
        assert report[1].error is not None
        assert report[1].error.category is ErrorCategory.VETOED
        assert report[1].error.message == "opted out"
        assert sms_outbox.recipients == [A, C]

    def test_reject_sees_e164(self, sms_outbox: FakeOutbox) -> None:
        """Hooks see normalised, unique recipients whatever form the caller used."""
        seen: list[tuple[str, ...]] = []

        class Spy:
            @hookimpl
            def smsbridge_before_send(self, send: OutgoingSend) -> None:
                seen.append(send.recipients)

        Client("fake://", plugins=[Spy()]).send("hi", ["09123456789", "+98 912 345 6789", B])
        assert seen == [(A, B)]

    def test_replace_message(self, sms_outbox: FakeOutbox) -> None:
        """A replaced message is what goes out."""
        Client("fake://", plugins=[Signature(" -- ACME")]).send("hi", [A])
        assert sms_outbox.assert_sent_to(A).text == "hi -- ACME"

    def test_replaced_text_is_checked_again(self, sms_outbox: FakeOutbox) -> None:
        """A hook that makes the text too long gets the send refused before sending."""
        client = Client("fake://", max_segments=1, plugins=[Signature("x" * 160)])
        with pytest.raises(InvalidMessageError, match="at most 1"):
            client.send("hi", [A])
        sms_outbox.assert_nothing_sent()

    def test_replacing_with_non_message(self, sms_outbox: FakeOutbox) -> None:
        """A hook that puts something else in send.message is a configuration error."""

        class Broken:
            @hookimpl
            def smsbridge_before_send(self, send: OutgoingSend) -> None:
                send.message = "plain text"  # type: ignore[assignment]

        with pytest.raises(ConfigurationError, match="non-Message"):
            Client("fake://", plugins=[Broken()]).send("hi", [A])
        sms_outbox.assert_nothing_sent()

    def test_first_reason_wins(self) -> None:
        """With two vetoes, the report keeps the first reason given."""

        class Other:
            @hookimpl
            def smsbridge_before_send(self, send: OutgoingSend) -> None:
                send.veto("maintenance")

        # pluggy calls the last registered plugin first.
        report = Client("fake://", plugins=[QuietHours(), Other()]).send("hi", [A])
        assert report[0].error is not None
        assert report[0].error.message == "maintenance"


class TestAfterSend:
    """smsbridge_after_send observes the finished report."""

    def test_sees_report(self) -> None:
        """The hook gets the same report the caller does, failures included."""
        recorder = Recorder()
        report = Client("fake://", plugins=[recorder]).send("hi", [A, "+989120000001"])
        ((send, seen),) = recorder.sends
        assert seen is report
        assert send.recipients == (A, "+989120000001")
        assert seen.accepted == 1
        assert seen.rejected == 1

    def test_sees_vetoed_send(self) -> None:
        """A vetoed send is still reported to observers."""
        recorder = Recorder()
        Client("fake://", plugins=[QuietHours(), recorder]).send("hi", [A])
        ((send, report),) = recorder.sends
        assert send.veto_reason == "quiet hours (22:00-08:00)"
        assert report.rejected == 1

    def test_async(self) -> None:
        """asend calls the hook too."""
        recorder = Recorder()
        asyncio.run(Client("fake://", plugins=[recorder]).asend("hi", [A]))
        assert len(recorder.sends) == 1

    def test_exceptions_propagate(self, sms_outbox: FakeOutbox) -> None:
        """An error in an observer reaches the caller (after the send happened)."""

        class Failing:
            @hookimpl
            def smsbridge_after_send(self, send: OutgoingSend, report: SendReport) -> None:
                raise RuntimeError("metrics down")

        with pytest.raises(RuntimeError, match="metrics down"):
            Client("fake://", plugins=[Failing()]).send("hi", [A])
        sms_outbox.assert_count(1)


class TestProviderCreated:
    """smsbridge_provider_created sees every provider built from a URL."""

    def test_called(self) -> None:
        """It receives the instance the client uses."""
        recorder = Recorder()
        client = Client("fake://?batch_size=3", plugins=[recorder])
        assert recorder.providers == [client.provider]

    def test_not_called_for_instances(self) -> None:
        """A provider passed in by the caller was not created by the client."""
        recorder = Recorder()
        Client(provider=FakeProvider(), plugins=[recorder])
        assert recorder.providers == []


class TestRegisterProviders:
    """smsbridge_register_providers adds URL schemes."""

    def test_register(self, sms_outbox: FakeOutbox) -> None:
        """A plugin object adds a scheme that a client can then use."""

        class Loud(FakeProvider):
            scheme = "loud"

        class Plugin:
            @hookimpl
            def smsbridge_register_providers(self) -> list[type[BaseProvider]]:
                return [Loud]

        client = Client("loud://", plugins=[Plugin()])
        assert isinstance(client.provider, Loud)
        assert client.send("hi", [A])[0].accepted

    def test_scheme_clash(self) -> None:
        """Two classes for one scheme are a configuration error naming both."""

        class Impostor(FakeProvider):
            scheme = "fake"

        class Plugin:
            @hookimpl
            def smsbridge_register_providers(self) -> list[type[BaseProvider]]:
                return [Impostor]

        with pytest.raises(ConfigurationError, match="two plugins register the scheme 'fake'"):
            Client("fake://", plugins=[Plugin()])

    @pytest.mark.parametrize("contributed", [object, BaseProvider])
    def test_bad_contribution(self, contributed: type) -> None:
        """Non-providers and providers without a scheme are refused."""

        class Plugin:
            @hookimpl
            def smsbridge_register_providers(self) -> list[type]:
                return [contributed]

        with pytest.raises(ConfigurationError):
            Client("fake://", plugins=[Plugin()])


class TestValidation:
    """Misspelled or mistyped hook implementations are caught when the client is built."""

    def test_misspelled_hook(self) -> None:
        """``smsbridge_befor_send`` matches no spec and is refused, naming the hook."""

        class Typo:
            @hookimpl
            def smsbridge_befor_send(self, send: OutgoingSend) -> None:
                send.veto("never")

        with pytest.raises(
            ConfigurationError, match=r"is invalid: unknown hook 'smsbridge_befor_send'"
        ):
            Client("fake://", plugins=[Typo()])

    def test_wrong_argument(self) -> None:
        """An implementation asking for an argument the spec does not have is refused, as a
        configuration error naming the plugin (not pluggy's own exception)."""

        class Wrong:
            @hookimpl
            def smsbridge_before_send(self, message: object) -> None:
                pass

        with pytest.raises(ConfigurationError, match=r"(?s)test_hooks\..*Wrong.*message"):
            Client("fake://", plugins=[Wrong()])

    def test_plugins_are_per_client(self, sms_outbox: FakeOutbox) -> None:
        """A plugin given to one client does not affect another."""
        Client("fake://", plugins=[QuietHours()])
        assert Client("fake://").send("hi", [A]).all_accepted


class TestPluginHost:
    """The plugin manager is built on demand with the built-in fake provider registered."""

    def test_builtin_fake(self) -> None:
        """fake:// is always there, even without autoloading."""
        host = PluginHost(autoload=False)
        assert host.provider_classes() == {"fake": FakeProvider}
        assert "smsbridge.fake" in host.plugin_names()

    def test_blocked_plugins(self) -> None:
        """Names in SMSBRIDGE_BLOCKED_PLUGINS are blocked in the plugin manager."""
        host = PluginHost(autoload=False, environ={"SMSBRIDGE_BLOCKED_PLUGINS": "evil, other"})
        assert host.pm.is_blocked("evil")
        assert host.pm.is_blocked("other")
