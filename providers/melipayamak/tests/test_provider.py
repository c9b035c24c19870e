"""The Melipayamak provider end to end against the emulator: configuration, secrets, sending,
return codes. Everything goes over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import structlog.testing
from meli_support import LINE, OPT_OUT, PASSWORD, closed_port, meli_url
from smsbridge_melipayamak import DEFAULT_ENDPOINT, MelipayamakProvider
from smsbridge_melipayamak.emulator import Emulator, EmulatorState

import smsbridge
from smsbridge import Client, Message, ProviderURL, SendStatus
from smsbridge.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ErrorCategory,
    InvalidMessageError,
    ProviderUnavailableError,
)

PERSIAN = "سلام، کد ورود شما ۱۲۳۴ است. ‌نیم‌فاصله و «گیومه» هم هست."


def numbers(count: int) -> list[str]:
    """``count`` distinct Iranian mobiles in E.164."""
    return [f"+98912{n:07d}" for n in range(count)]


class TestConfiguration:
    """URLs and keywords are checked before any I/O."""

    def test_from_url(self) -> None:
        """Every parameter of the URL reaches the provider."""
        url = ProviderURL.parse(
            "melipayamak://user:p%40ss@/?from=5000&endpoint=http://127.0.0.1:1/x&timeout=2.5"
            "&max_connections=3"
        )
        provider = MelipayamakProvider.from_url(url)
        assert (provider.username, provider.sender) == ("user", "5000")
        assert (provider.endpoint, provider.timeout) == ("http://127.0.0.1:1/x", 2.5)
        assert provider._password.reveal() == "p@ss"

    def test_defaults(self) -> None:
        """Without endpoint and timeout the real service and 30 seconds are used."""
        provider = MelipayamakProvider.from_url(ProviderURL.parse("melipayamak://u:p@/"))
        assert (
            provider.endpoint == DEFAULT_ENDPOINT == "https://api.payamak-panel.com/post/Send.asmx"
        )
        assert provider.timeout == 30.0
        assert provider.sender is None

    @pytest.mark.parametrize(
        "url",
        ["melipayamak:///?from=1", "melipayamak://user@/?from=1", "melipayamak://:pw@/?from=1"],
    )
    def test_missing_credentials(self, url: str) -> None:
        """A URL without username or password is a configuration error."""
        with pytest.raises(ConfigurationError, match="credentials"):
            MelipayamakProvider.from_url(ProviderURL.parse(url))

    @pytest.mark.parametrize("timeout", ["0", "-1", "soon"])
    def test_bad_timeout(self, timeout: str) -> None:
        """A timeout that is not a positive number is refused."""
        with pytest.raises(ConfigurationError, match="timeout"):
            MelipayamakProvider.from_url(
                ProviderURL.parse(f"melipayamak://u:p@/?timeout={timeout}")
            )

    def test_unknown_parameter_is_named(self) -> None:
        """Unknown parameters are listed in the error."""
        with pytest.raises(ConfigurationError, match=r"sendr, verbose"):
            MelipayamakProvider.from_url(ProviderURL.parse("melipayamak://u:p@/?sendr=1&verbose=1"))

    def test_bad_endpoint_and_pool(self) -> None:
        """A non-http endpoint and a zero pool size are refused in code too."""
        with pytest.raises(ConfigurationError, match="endpoint"):
            MelipayamakProvider(username="u", password="p", endpoint="ftp://x")
        with pytest.raises(ConfigurationError, match="max_connections"):
            MelipayamakProvider(username="u", password="p", max_connections=0)
        with pytest.raises(ConfigurationError, match="password"):
            MelipayamakProvider(username="u", password="")

    def test_client_builds_it_from_url(self) -> None:
        """The entry point registers melipayamak://, and the client's own params are its own."""
        with smsbridge.Client(
            meli_url("http://127.0.0.1:9/post/Send.asmx", extra="&concurrency=2&region=IR"),
            autoload_plugins=True,
        ) as client:
            assert isinstance(client.provider, MelipayamakProvider)
            assert client.concurrency == 2

    def test_no_sender_refused_before_io(self, emulator: Emulator) -> None:
        """Without ?from= or Message.sender nothing is sent."""
        meli = MelipayamakProvider(username="demo", password=PASSWORD, endpoint=emulator.url)
        with meli, pytest.raises(InvalidMessageError, match="sender"):
            meli.send(Message(text="hi"), ["+989120000000"])
        assert emulator.state.requests == []

    def test_client_raises_for_a_missing_sender(self, emulator: Emulator) -> None:
        """Through the client the same mistake is a raised input error, not a report."""
        meli = MelipayamakProvider(username="demo", password=PASSWORD, endpoint=emulator.url)
        with Client(provider=meli) as client, pytest.raises(InvalidMessageError, match="sender"):
            client.send("hi", ["09120000000", "09120000001"])
        assert emulator.state.requests == []

    def test_control_characters_refused_before_io(self, provider: MelipayamakProvider) -> None:
        """Text XML cannot carry is an input error, not a transport failure."""
        with pytest.raises(InvalidMessageError, match="control"):
            provider.send(Message(text="bad \x01 text"), ["+989120000000"])


class TestSecrets:
    """The password never shows."""

    def test_repr_and_str(self) -> None:
        """Neither the provider nor its URL shows the password."""
        url = ProviderURL.parse("melipayamak://demo:S3cr3t-pw@/?from=1")
        provider = MelipayamakProvider.from_url(url)
        for text in (repr(provider), str(provider), repr(url), str(url), repr(vars(provider))):
            assert "S3cr3t-pw" not in text

    def test_not_in_logs_or_errors(self, emulator: Emulator) -> None:
        """Log events, results and exception chains of failing sends never hold it."""
        secret = "Very-S3cret-Password"
        emulator.state.accounts["demo"].password = secret
        seen: list[str] = []
        with structlog.testing.capture_logs() as logs:
            with smsbridge.Client(
                meli_url(emulator.url, password=secret, extra="&timeout=5"),
                autoload_plugins=True,
            ) as client:
                emulator.faults.drop_connection()
                emulator.faults.soap_fault(message="boom")
                emulator.faults.garbage()
                for _ in range(4):
                    report = client.send("hi", ["+989120000001"])
                    seen.append(repr(report))
            with MelipayamakProvider(
                username="demo", password="wrong-" + secret, sender=LINE, endpoint=emulator.url
            ) as wrong:
                with pytest.raises(AuthenticationError) as refused:
                    wrong.send(Message(text="hi"), ["+989120000001"])
                seen.extend([repr(refused.value), str(refused.value)])
        with (
            MelipayamakProvider(
                username="demo",
                password=secret,
                sender=LINE,
                endpoint=f"http://127.0.0.1:{closed_port()}/",
            ) as unreachable,
            pytest.raises(ProviderUnavailableError) as caught,
        ):
            unreachable.send(Message(text="hi"), ["+989120000001"])
        error: BaseException | None = caught.value
        while error is not None:
            seen.extend([repr(error), str(error)])
            error = error.__cause__ or error.__context__
        seen.extend(repr(entry) for entry in logs)
        assert logs
        assert not [text for text in seen if secret in text]


class TestSending:
    """SendSms over the wire."""

    def test_persian_round_trip(self, provider: MelipayamakProvider, emulator: Emulator) -> None:
        """The emulator stores the exact Persian text, sender and wire number."""
        results = provider.send(Message(text=PERSIAN), ["+989121234567"])
        assert [r.status for r in results] == [SendStatus.ACCEPTED]
        (sent,) = emulator.state.sent
        assert sent.text == PERSIAN
        assert sent.sender == LINE
        assert sent.recipient == "989121234567"
        assert results[0].message_id == str(sent.rec_id)

    def test_flash_udh_and_sender_override(
        self, provider: MelipayamakProvider, emulator: Emulator
    ) -> None:
        """isflash, udh and Message.sender go on the wire."""
        emulator.state.accounts["demo"].lines.add("3000123")
        message = Message(text="hi", flash=True, udh="050003AA0201", sender="3000123")
        assert provider.send(message, ["+989121234567"])[0].accepted
        (sent,) = emulator.state.sent
        assert (sent.flash, sent.udh, sent.sender) == (True, "050003AA0201", "3000123")

    def test_250_recipients_three_requests(
        self, client: smsbridge.Client, emulator: Emulator
    ) -> None:
        """250 recipients go as 100+100+50, all on the wire, each with its own rec id."""
        targets = numbers(250)
        report = client.send(f"hello {OPT_OUT}", targets)
        sends = [r for r in emulator.state.requests if r.operation == "SendSms"]
        assert [r.recipients for r in sends] == [100, 100, 50]
        assert report.accepted == 250
        by_number = {"+" + m.recipient: str(m.rec_id) for m in emulator.state.sent}
        assert len(by_number) == 250
        assert [r.message_id for r in report] == [by_number[n] for n in targets]

    def test_250_recipients_async(self, emulator: Emulator) -> None:
        """The async path sends the same 250 recipients concurrently."""
        targets = numbers(250)

        async def go() -> smsbridge.SendReport:
            async with smsbridge.Client(meli_url(emulator.url), autoload_plugins=True) as client:
                return await client.asend(f"hello {OPT_OUT}", targets)

        report = asyncio.run(go())
        assert report.accepted == 250
        sends = [r for r in emulator.state.requests if r.operation == "SendSms"]
        assert sorted(r.recipients for r in sends) == [50, 100, 100]
        by_number = {"+" + m.recipient: str(m.rec_id) for m in emulator.state.sent}
        assert [r.message_id for r in report] == [by_number[n] for n in targets]

    def test_status_byte_one_is_rejected(self, provider: MelipayamakProvider) -> None:
        """A recipient the service marks 1 is rejected; the others of the request are accepted."""
        results = provider.send(Message(text=f"x {OPT_OUT}"), ["+989121234567", "+447911123456"])
        assert [r.status for r in results] == [SendStatus.ACCEPTED, SendStatus.REJECTED]
        error = results[1].error
        assert error is not None
        assert (error.category, error.provider_code, error.provider_text) == (
            ErrorCategory.RECIPIENT_REJECTED,
            1,
            "not sent",
        )

    def test_wire_numbers(self, provider: MelipayamakProvider, emulator: Emulator) -> None:
        """Iranian numbers are sent as 09..., others as 00 + country code."""
        provider.send(Message(text=f"x {OPT_OUT}"), ["+989121234567", "+447911123456"])
        assert emulator.state.requests[-1].recipients == 2
        assert [m.recipient for m in emulator.state.sent] == ["989121234567"]


Setup = Callable[[EmulatorState], None]


def _account(**changes: object) -> Setup:
    def apply(state: EmulatorState) -> None:
        for name, value in changes.items():
            setattr(state.accounts["demo"], name, value)

    return apply


def _state(**changes: object) -> Setup:
    def apply(state: EmulatorState) -> None:
        for name, value in changes.items():
            setattr(state, name, value)

    return apply


def _nothing(state: EmulatorState) -> None:
    """No state change; the request itself triggers the code."""


# code, category, state change, text, recipients, sender
CASES: list[tuple[int, ErrorCategory, Setup, str, list[str], str]] = [
    (0, ErrorCategory.AUTHENTICATION, _account(password="changed"), "hi", numbers(1), LINE),
    (2, ErrorCategory.INSUFFICIENT_CREDIT, _account(credit=0.0), "hi", numbers(1), LINE),
    (3, ErrorCategory.RATE_LIMITED, _account(daily_limit=0), "hi", numbers(1), LINE),
    (4, ErrorCategory.RATE_LIMITED, _account(volume_limit=1), f"hi {OPT_OUT}", numbers(2), LINE),
    (5, ErrorCategory.SENDER_REJECTED, _nothing, "hi", numbers(1), "50009999999"),
    (6, ErrorCategory.PROVIDER_UNAVAILABLE, _state(maintenance=True), "hi", numbers(1), LINE),
    (7, ErrorCategory.CONTENT_REJECTED, _nothing, "بازی قمار آنلاین", numbers(1), LINE),
    (8, ErrorCategory.ACCOUNT_RESTRICTED, _account(min_recipients=5), "hi", numbers(1), LINE),
    (9, ErrorCategory.SENDER_REJECTED, _nothing, "hi", numbers(1), "10002188"),
    (10, ErrorCategory.ACCOUNT_RESTRICTED, _account(active=False), "hi", numbers(1), LINE),
    (11, ErrorCategory.RECIPIENT_REJECTED, _nothing, "hi", ["+447911123456"], LINE),
    (
        12,
        ErrorCategory.ACCOUNT_RESTRICTED,
        _account(documents_complete=False),
        "hi",
        numbers(1),
        LINE,
    ),
    (14, ErrorCategory.CONTENT_REJECTED, _nothing, "see https://example.com", numbers(1), LINE),
    (15, ErrorCategory.CONTENT_REJECTED, _nothing, "no opt-out", numbers(2), LINE),
]


class TestReturnCodes:
    """Each return code, produced by emulator state, maps to its category for every recipient."""

    @pytest.mark.parametrize(
        ("code", "category", "setup", "text", "recipients", "sender"),
        CASES,
        ids=[f"code-{case[0]}" for case in CASES],
    )
    def test_code(
        self,
        client: smsbridge.Client,
        emulator: Emulator,
        code: int,
        category: ErrorCategory,
        setup: Setup,
        text: str,
        recipients: list[str],
        sender: str,
    ) -> None:
        """Every recipient of the request is rejected with the code's category and raw code."""
        setup(emulator.state)
        report = client.send(text, recipients, sender=sender)
        assert len(report) == len(recipients)
        assert emulator.state.sent == []
        for result in report:
            assert result.status is SendStatus.REJECTED
            assert result.error is not None
            assert (result.error.category, result.error.provider_code) == (category, code)
            assert result.error.retryable is (code == 6)

    def test_code_leaves_other_requests_alone(
        self, client: smsbridge.Client, emulator: Emulator
    ) -> None:
        """Credit for 150 messages: requests 1 and 3 are accepted, request 2 gets code 2."""
        emulator.state.accounts["demo"].credit = 150.0
        report = client.send(f"hi {OPT_OUT}", numbers(250))
        statuses = [r.status for r in report]
        assert (
            statuses
            == [SendStatus.ACCEPTED] * 100
            + [SendStatus.REJECTED] * 100
            + [SendStatus.ACCEPTED] * 50
        )
        assert {r.error.provider_code for r in report.results[100:200] if r.error} == {2}
        assert len(emulator.state.sent) == 150
