"""The Melipayamak provider end to end against the emulator: configuration, secrets, sending,
return codes. Everything goes over real sockets on 127.0.0.1, through ``smsbridge.Client``."""

from __future__ import annotations

import asyncio
import logging
import traceback

import pytest
from meli_support import (
    LINE,
    MODES,
    OPT_OUT,
    PASSWORD,
    RETURN_CODES,
    TEXT,
    Mode,
    Setup,
    closed_port,
    meli_provider,
    meli_url,
    numbers,
    query_through_client,
    send_through_client,
    shared_error,
)
from smsbridge_melipayamak import DEFAULT_ENDPOINT, MelipayamakProvider
from smsbridge_melipayamak.emulator import Emulator

import smsbridge
from smsbridge import Client, Message, ProviderURL, SendStatus
from smsbridge.exceptions import (
    ConfigurationError,
    ErrorCategory,
    InvalidMessageError,
    ProviderUnavailableError,
    SmsBridgeError,
    UnknownProviderError,
)

PERSIAN = "سلام، کد ورود شما ۱۲۳۴ است. ‌نیم‌فاصله و «گیومه» هم هست."


class TestConfiguration:
    """URLs and keywords are checked before any I/O."""

    def test_from_url(self) -> None:
        """Every provider parameter of the URL reaches the provider."""
        url = ProviderURL.parse(
            "melipayamak://user:p%40ss@/?from=5000&endpoint=http://127.0.0.1:1/x"
        )
        provider = MelipayamakProvider.from_url(url)
        assert (provider.username, provider.sender) == ("user", "5000")
        assert provider.endpoint == "http://127.0.0.1:1/x"
        assert provider._password.reveal() == "p@ss"

    def test_timeout_and_pool_are_the_clients(self) -> None:
        """timeout= and concurrency= in a melipayamak:// URL configure the client (the total
        deadline of each request, and how many requests and connections run at once); a
        keyword argument wins over the URL."""
        url = meli_url("http://127.0.0.1:1/x", extra="&timeout=2.5&concurrency=3")
        with Client(url, autoload_plugins=True) as client:
            assert isinstance(client.provider, MelipayamakProvider)
            assert client.provider.endpoint == "http://127.0.0.1:1/x"
            assert (client.settings.timeout, client.concurrency) == (2.5, 3)
        with Client(url, timeout=7, autoload_plugins=True) as client:
            assert client.settings.timeout == 7

    def test_max_connections_is_refused_with_a_hint(self) -> None:
        """The old max_connections parameter is refused, naming concurrency instead."""
        url = "melipayamak://u:p@/?max_connections=3"
        with pytest.raises(ConfigurationError, match=r"max_connections.*concurrency"):
            MelipayamakProvider.from_url(ProviderURL.parse(url))
        with pytest.raises(ConfigurationError, match="max_connections"):
            Client(url, autoload_plugins=True)

    def test_defaults(self) -> None:
        """Without endpoint and timeout the real service and 30 seconds are used."""
        provider = MelipayamakProvider.from_url(ProviderURL.parse("melipayamak://u:p@/"))
        assert (
            provider.endpoint == DEFAULT_ENDPOINT == "https://api.payamak-panel.com/post/Send.asmx"
        )
        assert provider.sender is None
        with Client("melipayamak://u:p@/", autoload_plugins=True) as client:
            assert client.settings.timeout == 30.0

    @pytest.mark.parametrize(
        "url",
        ["melipayamak:///?from=1", "melipayamak://user@/?from=1", "melipayamak://:pw@/?from=1"],
    )
    def test_missing_credentials(self, url: str) -> None:
        """A URL without username or password is a configuration error."""
        with pytest.raises(ConfigurationError, match="credentials"):
            MelipayamakProvider.from_url(ProviderURL.parse(url))

    @pytest.mark.parametrize("timeout", ["0", "-1", "soon", "inf"])
    def test_bad_timeout(self, timeout: str) -> None:
        """A timeout that is not a positive finite number is refused, in the URL and in code."""
        with pytest.raises(ConfigurationError, match="timeout"):
            Client(f"melipayamak://u:p@/?timeout={timeout}", autoload_plugins=True)
        with pytest.raises(ConfigurationError, match="timeout"):
            Client(provider=meli_provider("http://127.0.0.1:9/"), timeout=-1)

    def test_unknown_parameter_is_named(self) -> None:
        """Unknown parameters are listed in the error."""
        with pytest.raises(ConfigurationError, match=r"sendr, verbose"):
            MelipayamakProvider.from_url(ProviderURL.parse("melipayamak://u:p@/?sendr=1&verbose=1"))

    def test_bad_endpoint_and_pool(self) -> None:
        """A non-http endpoint, an empty password and a zero pool size are refused in code."""
        with pytest.raises(ConfigurationError, match="endpoint"):
            MelipayamakProvider(username="u", password="p", endpoint="ftp://x")
        with pytest.raises(ConfigurationError, match="password"):
            MelipayamakProvider(username="u", password="")
        with pytest.raises(ConfigurationError, match="concurrency"):
            Client(provider=MelipayamakProvider(username="u", password="p"), concurrency=0)

    def test_client_builds_it_from_url(self) -> None:
        """The entry point registers melipayamak://, and the client's own params are its own."""
        with smsbridge.Client(
            meli_url("http://127.0.0.1:9/post/Send.asmx", extra="&concurrency=2&region=IR"),
            autoload_plugins=True,
        ) as client:
            assert isinstance(client.provider, MelipayamakProvider)
            assert client.concurrency == 2

    def test_no_sender_refused_before_io(self) -> None:
        """Without ?from= or Message.sender the provider refuses the message before any I/O."""
        meli = MelipayamakProvider(username="demo", password=PASSWORD)
        with pytest.raises(InvalidMessageError, match="sender"):
            meli.validate_message(Message(text="hi"))
        meli.validate_message(Message(text="hi", sender=LINE))

    @MODES
    def test_client_raises_for_a_missing_sender(self, emulator: Emulator, mode: Mode) -> None:
        """Through the client the same mistake is a raised input error, not a report, and
        nothing reaches the service."""
        with pytest.raises(InvalidMessageError, match="sender"):
            _send_without_sender(mode, emulator.url)
        assert emulator.state.requests == []

    @MODES
    def test_control_characters_refused_before_io(self, emulator: Emulator, mode: Mode) -> None:
        """Text or a sender line XML cannot carry is an input error, not a transport failure."""
        with pytest.raises(InvalidMessageError, match="control"):
            send_through_client(mode, emulator.url, text="bad \x01 text")
        with pytest.raises(InvalidMessageError, match="control"):
            send_through_client(mode, emulator.url, sender="5000\n1234")
        assert emulator.state.requests == []


def _send_without_sender(mode: Mode, endpoint: str) -> None:
    meli = meli_provider(endpoint, sender=None)
    if mode == "sync":
        with Client(provider=meli) as client:
            client.send("hi", ["09120000000", "09120000001"])
        return

    async def go() -> None:
        async with Client(provider=meli) as client:
            await client.asend("hi", ["09120000000", "09120000001"])

    asyncio.run(go())


class TestSecrets:
    """The password never shows."""

    def test_repr_and_str(self) -> None:
        """Neither the provider nor its URL shows the password."""
        url = ProviderURL.parse("melipayamak://demo:S3cr3t-pw@/?from=1")
        provider = MelipayamakProvider.from_url(url)
        for text in (repr(provider), str(provider), repr(url), str(url), repr(vars(provider))):
            assert "S3cr3t-pw" not in text

    def test_requests_do_not_show_it(self, provider: MelipayamakProvider) -> None:
        """The requests the provider builds carry the password only in their body."""
        batch = smsbridge.Batch(message=Message(text="hi"), recipients=("+989120000001",))
        for request in (
            provider.request_for(batch),
            provider.delivery_request_for(["1"]),
            provider.balance_request_for(),
        ):
            assert request is not None
            assert PASSWORD.encode() in request.content
            assert PASSWORD not in repr(request) + request.url + repr(request.headers)

    def test_not_in_logs_or_errors(
        self, emulator: Emulator, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Log records, results and raised errors (with their chains) of failing sends and
        queries never hold it, not even when the service echoes it back in a Fault."""
        secret = "Very-S3cret-Password"
        emulator.state.accounts["demo"].password = secret
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        seen: list[str] = []
        raised: list[BaseException] = []

        def show(*results: smsbridge.RecipientResult) -> None:
            seen.extend(repr(result) for result in results)
            seen.extend(repr(result.error.to_dict()) for result in results if result.error)

        with smsbridge.Client(
            meli_url(emulator.url, password=secret, extra="&timeout=5"), autoload_plugins=True
        ) as client:
            emulator.faults.drop_connection()
            emulator.faults.soap_fault(message=f"login failed for demo/{secret}")
            emulator.faults.garbage()
            for _ in range(4):
                report = client.send("hi", ["+989120000001"])
                seen.append(repr(report))
                show(*report)
            assert [r.status for r in report] == [SendStatus.ACCEPTED]
            emulator.faults.soap_fault(message=f"login failed for demo/{secret}")
            with pytest.raises(UnknownProviderError) as fault:
                client.delivery_status(report.message_ids)
            raised.append(fault.value)
        wrong = send_through_client("sync", emulator.url, password="wrong-" + secret)
        assert shared_error(wrong).category is ErrorCategory.AUTHENTICATION
        show(*wrong)
        unreachable = f"http://127.0.0.1:{closed_port()}/"
        with Client(provider=meli_provider(unreachable, password=secret)) as offline:
            results = offline.send(TEXT, ["+989120000001"])
            assert shared_error(results).category is ErrorCategory.PROVIDER_UNAVAILABLE
            show(*results)
            with pytest.raises(ProviderUnavailableError) as caught:
                offline.delivery_status(["1"])
            raised.append(caught.value)
            with pytest.raises(ProviderUnavailableError) as caught:
                offline.balance()
            raised.append(caught.value)
        for failure in raised:
            # The chain a traceback shows: causes, and contexts that were not suppressed.
            error: BaseException | None = failure
            while error is not None:
                seen.extend([repr(error), str(error)])
                if isinstance(error, SmsBridgeError):
                    seen.extend([repr(error.provider_text), repr(error.provider_code)])
                error = error.__cause__ or (
                    None if error.__suppress_context__ else error.__context__
                )
            seen.append("".join(traceback.format_exception(failure)))
        assert caplog.records
        for record in caplog.records:
            seen.extend([record.getMessage(), repr(vars(record))])
        assert not [text for text in seen if secret in text]


class TestSending:
    """SendSms over the wire."""

    @MODES
    def test_persian_round_trip(self, emulator: Emulator, mode: Mode) -> None:
        """The emulator stores the exact Persian text, sender and wire number."""
        results = send_through_client(
            mode, emulator.url, recipients=["+989121234567"], text=PERSIAN
        )
        assert [r.status for r in results] == [SendStatus.ACCEPTED]
        (sent,) = emulator.state.sent
        assert sent.text == PERSIAN
        assert sent.sender == LINE
        assert sent.recipient == "989121234567"
        assert results[0].message_id == str(sent.rec_id)

    @MODES
    def test_markup_and_line_breaks_round_trip(self, emulator: Emulator, mode: Mode) -> None:
        """XML's special characters, tabs and both kinds of line break arrive unchanged (a
        bare carriage return in XML text would be read back as a newline)."""
        text = f"a & b < c > d \"e\" 'f'\r\nline 2\rline 3\n\tend ]]> {OPT_OUT}"
        results = send_through_client(mode, emulator.url, recipients=["+989121234567"], text=text)
        assert [r.status for r in results] == [SendStatus.ACCEPTED]
        assert [m.text for m in emulator.state.sent] == [text]

    @MODES
    def test_flash_udh_and_sender_override(self, emulator: Emulator, mode: Mode) -> None:
        """isflash, udh and the per-send sender go on the wire."""
        emulator.state.accounts["demo"].lines.add("3000123")
        results = send_through_client(
            mode,
            emulator.url,
            recipients=["+989121234567"],
            text="hi",
            flash=True,
            udh="050003AA0201",
            sender="3000123",
        )
        assert results[0].accepted
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

    @MODES
    def test_status_byte_one_is_rejected(self, emulator: Emulator, mode: Mode) -> None:
        """A recipient the service marks 1 is rejected; the others of the request are accepted."""
        results = send_through_client(
            mode, emulator.url, recipients=["+989121234567", "+447911123456"]
        )
        assert [r.status for r in results] == [SendStatus.ACCEPTED, SendStatus.REJECTED]
        error = results[1].error
        assert error is not None
        assert (error.category, error.provider_code, error.provider_text) == (
            ErrorCategory.RECIPIENT_REJECTED,
            1,
            "not sent",
        )

    def test_wire_numbers(self, client: smsbridge.Client, emulator: Emulator) -> None:
        """Iranian numbers are sent as 09..., others as 00 + country code."""
        client.send(TEXT, ["+989121234567", "+447911123456"])
        assert emulator.state.requests[-1].recipients == 2
        assert [m.recipient for m in emulator.state.sent] == ["989121234567"]

    def test_wire_numbers_in_the_request(self, provider: MelipayamakProvider) -> None:
        """The request itself carries 09... and 00 + country code, in order."""
        batch = smsbridge.Batch(
            message=Message(text="hi"), recipients=("+989121234567", "+447911123456")
        )
        body = provider.request_for(batch).content
        assert b"<ns0:string>09121234567</ns0:string><ns0:string>00447911123456</ns0:string>" in (
            body
        )


class TestReturnCodes:
    """Each return code, produced by emulator state, maps to its category for every recipient."""

    @MODES
    @pytest.mark.parametrize(
        ("code", "category", "setup", "text", "recipients", "sender"),
        RETURN_CODES,
        ids=[f"code-{case[0]}" for case in RETURN_CODES],
    )
    def test_code(
        self,
        emulator: Emulator,
        mode: Mode,
        code: int,
        category: ErrorCategory,
        setup: Setup,
        text: str,
        recipients: list[str],
        sender: str,
    ) -> None:
        """Every recipient of the request is rejected with the code's category and raw code."""
        setup(emulator.state)
        results = send_through_client(
            mode, emulator.url, recipients=recipients, text=text, sender=sender
        )
        assert len(results) == len(recipients)
        assert emulator.state.sent == []
        for result in results:
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


class TestBalance:
    """GetCredit through the client."""

    @MODES
    def test_credit(self, emulator: Emulator, mode: Mode) -> None:
        """The account's credit, in messages, read from GetCredit."""
        emulator.state.accounts["demo"].credit = 1234.5

        balance = query_through_client(mode, meli_provider(emulator.url), "balance")
        assert (balance.amount, balance.unit, balance.provider) == (
            1234.5,
            "messages",
            "melipayamak",
        )
        assert [r.operation for r in emulator.state.requests] == ["GetCredit"]


def test_all_rec_ids_agrees_with_one_at_a_time() -> None:
    """The whole-reply check of recIds (one pass, for campaigns) says what checking each id
    says, on hostile shapes too: empty, zeros, separators and non-ASCII digits inside ids."""
    import random

    from smsbridge_melipayamak._soap import _all_rec_ids, _is_rec_id

    rng = random.Random("rec-ids")  # noqa: S311 - reproducible test data
    pieces = ["0", "00", "1", "9", "3000000000000000001", "", ",", "\n", " ", "٣", "x", "-1"]
    for _ in range(5000):
        ids = ["".join(rng.choices(pieces, k=rng.randint(1, 3))) for _ in range(rng.randint(1, 4))]
        assert _all_rec_ids(ids) == all(map(_is_rec_id, ids)), ids
