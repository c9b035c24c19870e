"""The REST API as the provider's second transport (``?api=rest``), through ``smsbridge.Client``
against the emulator over real sockets: configuration, the requests, sends and return codes,
the ``Value`` rule, faults, delivery status, credit, shared state with SOAP, and secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from urllib.parse import parse_qsl, quote

import pytest
from meli_support import (
    LINE,
    MODES,
    OPT_OUT,
    PASSWORD,
    RETURN_CODES,
    Mode,
    Setup,
    account,
    client_for,
    closed_port,
    meli_url,
    numbers,
)
from smsbridge_melipayamak import DEFAULT_REST_ENDPOINT, MelipayamakProvider
from smsbridge_melipayamak.emulator import Emulator

import smsbridge
from smsbridge import Batch, Message, ProviderURL, SendStatus, Template
from smsbridge.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ErrorCategory,
    InvalidMessageError,
    OutcomeUnknownError,
    ProviderUnavailableError,
    SmsBridgeError,
    UnknownProviderError,
)
from smsbridge.segments import count_segments
from smsbridge.testing.server import ManualClock
from smsbridge.transport import HTTPTransport, Request, Response

ONE = "+989121234567"
JSON = "application/json; charset=utf-8"


def rest_provider(
    endpoint: str = DEFAULT_REST_ENDPOINT, password: str = PASSWORD
) -> MelipayamakProvider:
    """The demo account over REST at ``endpoint``."""
    return MelipayamakProvider(
        username="demo", password=password, sender=LINE, endpoint=endpoint, api="rest"
    )


def fields(request: Request) -> dict[str, str]:
    """A form-encoded request's fields."""
    assert request.header("Content-Type") == "application/x-www-form-urlencoded"
    return dict(
        parse_qsl(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    )


def answer(value: object, ret_status: object = 1, text: str = "Ok") -> bytes:
    """A REST reply as the service writes it."""
    return json.dumps({"Value": value, "RetStatus": ret_status, "StrRetStatus": text}).encode()


class TestConfiguration:
    """``api=rest`` in the URL (or ``api="rest"`` in code) picks the REST API."""

    def test_from_url(self) -> None:
        """Without endpoint, the real REST base; with it, the given base."""
        default = MelipayamakProvider.from_url(ProviderURL.parse("melipayamak://u:p@/?api=rest"))
        assert (default.api, default.endpoint) == ("rest", DEFAULT_REST_ENDPOINT)
        assert DEFAULT_REST_ENDPOINT == "https://rest.payamak-panel.com/api/SendSMS"
        url = "melipayamak://u:p@/?api=rest&endpoint=http://127.0.0.1:1/api/SendSMS/&from=5000"
        given = MelipayamakProvider.from_url(ProviderURL.parse(url))
        assert given.endpoint == "http://127.0.0.1:1/api/SendSMS/"
        assert "api='rest'" in repr(given)
        soap = MelipayamakProvider.from_url(ProviderURL.parse("melipayamak://u:p@/?api=soap"))
        assert soap.api == "soap"

    @pytest.mark.parametrize("api", ["xml", "REST", "console"])
    def test_unknown_api(self, api: str) -> None:
        """Only soap and rest are APIs, in the URL and in code."""
        with pytest.raises(ConfigurationError, match="'soap' or 'rest'"):
            MelipayamakProvider.from_url(ProviderURL.parse(f"melipayamak://u:p@/?api={api}"))
        with pytest.raises(ConfigurationError, match="'soap' or 'rest'"):
            MelipayamakProvider(username="u", password="p", api=api)  # type: ignore[arg-type]

    def test_capabilities(self) -> None:
        """One number a request (plain and pattern), one id per delivery query, no UDH."""
        caps = rest_provider().capabilities
        assert (caps.max_batch_size, caps.max_delivery_batch, caps.udh) == (1, 1, False)
        assert (caps.flash, caps.delivery_status, caps.balance) == (True, True, True)
        assert caps.templates is not None
        assert (caps.templates.variables, caps.templates.max_batch_size) == ("ordered", 1)
        assert MelipayamakProvider.capabilities.max_batch_size == 100  # SOAP stays the class's

    def test_udh_refused_before_io(self, emulator: Emulator) -> None:
        """The REST API carries no UDH: refused before anything is sent."""
        with (
            client_for(emulator, "rest") as client,
            pytest.raises(InvalidMessageError, match="udh"),
        ):
            client.send("part", [ONE], udh="050003AA0201")
        assert emulator.state.requests == []


class TestRequests:
    """What the provider posts: form fields as the official SDKs send them."""

    def test_send_sms(self) -> None:
        """SendSMS: one number in the service's spelling, the line, the text, isFlash."""
        message = Message(text="سلام & = + ؛ %", flash=True, sender="3000123")
        request = rest_provider().request_for(Batch(message=message, recipients=(ONE,)))
        assert (request.method, request.url) == ("POST", f"{DEFAULT_REST_ENDPOINT}/SendSMS")
        assert request.header("Accept") == "application/json"
        assert fields(request) == {
            "username": "demo",
            "password": PASSWORD,
            "to": "09121234567",
            "from": "3000123",
            "text": "سلام & = + ؛ %",
            "isFlash": "true",
        }
        assert request.idempotent is False

    def test_base_service_number(self) -> None:
        """BaseServiceNumber: the variables joined by ';', one number, the bodyId."""
        template = Template(id="100001", variables=["4821", "علی"])
        request = rest_provider().request_for(Batch(message=template, recipients=(ONE,)))
        assert request.url == f"{DEFAULT_REST_ENDPOINT}/BaseServiceNumber"
        assert fields(request) == {
            "username": "demo",
            "password": PASSWORD,
            "text": "4821;علی",
            "to": "09121234567",
            "bodyId": "100001",
        }
        assert request.idempotent is False

    def test_queries(self) -> None:
        """GetDeliveries2 asks one numeric id; GetCredit only the credentials; both repeatable."""
        meli = rest_provider("http://127.0.0.1:1/api/SendSMS/")
        delivery = meli.delivery_request_for(["x", "3000000000000000001"])
        assert delivery is not None
        assert delivery.url == "http://127.0.0.1:1/api/SendSMS/GetDeliveries2"
        assert fields(delivery) == {
            "username": "demo",
            "password": PASSWORD,
            "recId": "3000000000000000001",
        }
        credit = meli.balance_request_for()
        assert credit.url == "http://127.0.0.1:1/api/SendSMS/GetCredit"
        assert fields(credit) == {"username": "demo", "password": PASSWORD}
        assert delivery.idempotent
        assert credit.idempotent
        assert meli.delivery_request_for(["x", "۱۲"]) is None

    def test_password_only_in_the_body(self) -> None:
        """The password is in the form, never in the URL, headers or repr."""
        secret = "p@ss w&rd=+/ك"
        meli = MelipayamakProvider(username="demo", password=secret, sender=LINE, api="rest")
        batch = Batch(message=Message(text="hi"), recipients=(ONE,))
        for request in (meli.request_for(batch), meli.balance_request_for()):
            assert fields(request)["password"] == secret
            assert secret not in repr(request) + request.url + repr(request.headers)
        assert secret not in repr(meli) + repr(vars(meli))


REST_RETURN_CODES = [
    # One number a request: the volume limit is reached with none allowed.
    (4, category, account(volume_limit=0), text, numbers(1), sender)
    if code == 4
    else (code, category, setup, text, recipients, sender)
    for code, category, setup, text, recipients, sender in RETURN_CODES
    # Code 15 is about several numbers in one request, which REST never sends.
    if code != 15
]


class TestSending:
    """SendSMS over the wire."""

    @MODES
    def test_persian_markup_and_flash(self, emulator: Emulator, mode: Mode) -> None:
        """Form-encoded text arrives exactly (Persian, &, =, +, %, line breaks), flash too."""
        text = "سلام، کد ۱۲۳۴ & a=b + 50% ;\r\nخط دوم " + "ب" * 40

        if mode == "sync":
            with client_for(emulator, "rest") as client:
                (result,) = client.send(text, [ONE], flash=True)
        else:

            async def go() -> smsbridge.RecipientResult:
                async with client_for(emulator, "rest") as client:
                    return (await client.asend(text, [ONE], flash=True))[0]

            result = asyncio.run(go())
        (sent,) = emulator.state.sent
        assert (sent.text, sent.flash, sent.sender, sent.recipient) == (
            text,
            True,
            LINE,
            "989121234567",
        )
        assert (result.status, result.message_id) == (SendStatus.ACCEPTED, str(sent.rec_id))
        assert result.segments == count_segments(text).segments == 2
        assert [r.operation for r in emulator.state.requests] == ["rest/SendSMS"]

    def test_one_request_per_recipient(self, emulator: Emulator) -> None:
        """Five recipients: five SendSMS requests, each result with its own recId."""
        targets = numbers(5)
        with client_for(emulator, "rest", concurrency=3) as client:
            report = client.send(f"hi {OPT_OUT}", targets)
        assert [r.recipients for r in emulator.state.requests] == [1] * 5
        by_number = {"+" + m.recipient: str(m.rec_id) for m in emulator.state.sent}
        assert [r.message_id for r in report] == [by_number[n] for n in targets]

    @pytest.mark.parametrize(
        ("code", "category", "setup", "text", "recipients", "sender"),
        REST_RETURN_CODES,
        ids=[f"code-{case[0]}" for case in REST_RETURN_CODES],
    )
    def test_code(
        self,
        emulator: Emulator,
        code: int,
        category: ErrorCategory,
        setup: Setup,
        text: str,
        recipients: list[str],
        sender: str,
    ) -> None:
        """The SendSms codes come back in Value, with RetStatus 1 (0 for wrong credentials),
        and reject the recipient with the same category as over SOAP."""
        setup(emulator.state)
        with client_for(emulator, "rest") as client:
            (result,) = client.send(text, recipients, sender=sender)
        assert result.status is SendStatus.REJECTED
        assert result.error is not None
        assert (result.error.category, result.error.provider_code) == (category, code)
        assert emulator.state.sent == []

    def test_a_code_is_an_error_even_with_ret_status_1(self, emulator: Emulator) -> None:
        """The emulator answers a filtered word as the service does: RetStatus 1 "Ok" and the
        code in Value; the provider still rejects."""
        provider = rest_provider(emulator.rest_url)
        batch = Batch(message=Message(text="بازی قمار"), recipients=(ONE,))
        with HTTPTransport() as transport:
            response = transport.handle_request(provider.request_for(batch), timeout=5)
        assert json.loads(response.content) == {"Value": "7", "RetStatus": 1, "StrRetStatus": "Ok"}
        with client_for(emulator, "rest") as client:
            (result,) = client.send("بازی قمار", [ONE])
        assert result.error is not None
        assert (result.error.category, result.error.provider_code) == (
            ErrorCategory.CONTENT_REJECTED,
            7,
        )


class TestReplies:
    """Every reply shape, scripted on the emulator's socket, maps to one honest outcome."""

    @pytest.mark.parametrize(
        ("status", "body", "content_type", "outcome", "category", "code"),
        [
            (200, answer("3000000000000000001"), JSON, "accepted", None, None),
            (200, answer(3000000000000000001), JSON, "accepted", None, None),
            (200, answer("11"), JSON, "rejected", "recipient_rejected", 11),
            (200, answer("11", 0, "Failed"), JSON, "rejected", "recipient_rejected", 11),
            (200, answer(" 2 "), JSON, "rejected", "insufficient_credit", 2),
            (200, answer("-5"), JSON, "rejected", "unknown_provider_error", -5),
            (200, answer("3000000000000000001", 0), JSON, "unknown", "outcome_unknown", 0),
            (
                200,
                answer(None, 0, "InvalidUserPass"),
                JSON,
                "rejected",
                "unknown_provider_error",
                0,
            ),
            (200, answer(None, 1), JSON, "unknown", "outcome_unknown", None),
            (200, answer("123456"), JSON, "unknown", "outcome_unknown", None),
            (200, answer(True), JSON, "unknown", "outcome_unknown", None),
            (200, answer("3000000000000000001", True), JSON, "unknown", "outcome_unknown", None),
            (200, b'{"RetStatus": 1}', JSON, "unknown", "outcome_unknown", None),
            (200, b"[1]", JSON, "unknown", "outcome_unknown", None),
            (200, b"[" * 100_000 + b"]" * 100_000, JSON, "unknown", "outcome_unknown", None),
            (200, b"<html>ok</html>", "text/html", "unknown", "outcome_unknown", None),
            (200, b'{"Value": "30000', JSON, "unknown", "outcome_unknown", None),
            (
                500,
                b'{"Message": "An error has occurred."}',
                JSON,
                "rejected",
                "unknown_provider_error",
                500,
            ),
            (
                500,
                b"<html>Runtime Error</html>",
                "text/html",
                "rejected",
                "provider_unavailable",
                500,
            ),
            (503, b"", "text/plain", "rejected", "provider_unavailable", 503),
            (502, b"<html>Bad Gateway</html>", "text/html", "unknown", "outcome_unknown", 502),
            (404, b"Not Found", "text/plain", "rejected", "unknown_provider_error", 404),
        ],
        ids=[
            "rec-id",
            "rec-id-as-number",
            "code-with-ret-status-1",
            "code-with-ret-status-0",
            "padded-code",
            "pattern-code-from-a-plain-send",
            "rec-id-with-ret-status-0",
            "null-with-ret-status-0",
            "null-with-ret-status-1",
            "neither-code-nor-id",
            "boolean-value",
            "boolean-ret-status",
            "no-value",
            "not-an-object",
            "nested-past-the-limit",
            "html-200",
            "truncated-json",
            "json-500",
            "html-500",
            "empty-503",
            "gateway-502",
            "not-found",
        ],
    )
    def test_send_reply(
        self,
        emulator: Emulator,
        status: int,
        body: bytes,
        content_type: str,
        outcome: str,
        category: str | None,
        code: int | None,
    ) -> None:
        """SendSMS replies (armed for every request: a retry reads the same)."""
        emulator.faults.http_status(status, body, content_type=content_type, count=None)
        with client_for(emulator, "rest") as client:
            (result,) = client.send("hi", [ONE])
        assert result.status.value == outcome
        if category is None:
            assert (result.error, result.message_id) == (None, "3000000000000000001")
            return
        assert result.error is not None
        assert (result.error.category.value, result.error.provider_code) == (category, code)

    @pytest.mark.parametrize("depth", [100_000, 10])
    def test_deep_json_is_unreadable(self, depth: int) -> None:
        """JSON nested past the parser's limit is an unreadable reply, not a parser crash."""
        reply = Response(
            status_code=200,
            headers=[("Content-Type", JSON)],
            content=b"[" * depth + b"]" * depth,
        )
        batch = Batch(message=Message(text="hi"), recipients=(ONE,))
        with pytest.raises(OutcomeUnknownError, match="could not be read"):
            rest_provider().results_from(reply, batch)

    def test_ret_status_text_is_kept(self, emulator: Emulator) -> None:
        """StrRetStatus travels as the provider text of a refusal."""
        emulator.faults.http_status(200, answer(None, 35, "InvalidData"), content_type=JSON)
        with client_for(emulator, "rest") as client:
            (result,) = client.send("hi", [ONE])
        assert result.error is not None
        assert (result.error.provider_code, result.error.provider_text) == (35, "InvalidData")

    @pytest.mark.parametrize("fault", ["drop_connection", "garbage", "wrong_shape"])
    def test_after_processing(self, emulator: Emulator, fault: str) -> None:
        """The emulator sends, then the reply is lost or unreadable: unknown, never retried."""
        getattr(emulator.faults, fault)()
        with client_for(emulator, "rest") as client:
            (result,) = client.send("hi", [ONE])
        assert result.status is SendStatus.UNKNOWN
        assert len(emulator.state.sent) == 1
        assert len(emulator.state.requests) == 1


class TestDeliveries:
    """GetDeliveries2, one id per request, with credentials."""

    def test_progression(self, emulator: Emulator, clock: ManualClock) -> None:
        """Pending, then delivered or failed; an unknown id reads 100, a non-number is not
        asked."""
        emulator.state.unreachable = {"09121234568"}
        with client_for(emulator, "rest") as client:
            ids = client.send(f"hi {OPT_OUT}", [ONE, "+989121234568"]).message_ids
            asked = [*ids, "42", "x"]
            first = client.delivery_status(asked)
            clock.now += emulator.state.delivery_delay
            later = client.delivery_status(asked)
        assert [(r.status.value, r.provider_code) for r in first] == [
            ("pending", 0),
            ("pending", 0),
            ("unknown", 100),
            ("unknown", None),
        ]
        assert [r.status.value for r in later] == ["delivered", "failed", "unknown", "unknown"]
        queries = [r for r in emulator.state.requests if r.operation == "rest/GetDeliveries2"]
        assert len(queries) == 6

    def test_wrong_credentials(self, emulator: Emulator) -> None:
        """-3 is wrong credentials: AuthenticationError."""
        with (
            client_for(emulator, "rest", password="nope") as client,
            pytest.raises(AuthenticationError) as caught,
        ):
            client.delivery_status(["3000000000000000001"])
        assert caught.value.provider_code == -3

    @pytest.mark.parametrize("value", [None, "many", ""])
    def test_no_code(self, emulator: Emulator, value: object) -> None:
        """A Value that is not a code (null: reports are off for the account) is an error."""
        emulator.faults.http_status(200, answer(value), content_type=JSON)
        with client_for(emulator, "rest") as client, pytest.raises(UnknownProviderError):
            client.delivery_status(["3000000000000000001"])

    @pytest.mark.parametrize("fault", ["drop_connection", "garbage", "http_500"])
    def test_unavailable(self, emulator: Emulator, fault: str) -> None:
        """A lost or unreadable answer to a query is 'unavailable': it can be asked again."""
        getattr(emulator.faults, fault)()
        with client_for(emulator, "rest") as client, pytest.raises(ProviderUnavailableError):
            client.delivery_status(["3000000000000000001"])


class TestBalance:
    """GetCredit over REST."""

    @MODES
    def test_credit(self, emulator: Emulator, mode: Mode) -> None:
        """The credit in messages, the same as SOAP reads it."""
        emulator.state.accounts["demo"].credit = 1234.5
        with client_for(emulator, "rest") as client:
            balance = client.balance() if mode == "sync" else asyncio.run(client.abalance())
        assert (balance.amount, balance.unit, balance.provider) == (
            1234.5,
            "messages",
            "melipayamak",
        )
        with client_for(emulator, "soap") as client:
            assert client.balance() == balance
        assert [r.operation for r in emulator.state.requests] == ["rest/GetCredit", "GetCredit"]

    def test_wrong_credentials(self, emulator: Emulator) -> None:
        """Value null is wrong credentials (SOAP can only say 0)."""
        with (
            client_for(emulator, "rest", password="nope") as client,
            pytest.raises(AuthenticationError),
        ):
            client.balance()

    @pytest.mark.parametrize("value", ["many", "NaN", "inf", True, [1]])
    def test_not_a_number(self, emulator: Emulator, value: object) -> None:
        """A credit that is not a finite number is an error, not a Balance."""
        emulator.faults.http_status(200, answer(value), content_type=JSON)
        with client_for(emulator, "rest") as client, pytest.raises(UnknownProviderError):
            client.balance()


class TestSharedState:
    """The REST endpoints and Send.asmx are one service: one account, one set of messages."""

    def test_sent_over_one_asked_over_the_other(self, emulator: Emulator) -> None:
        """A message sent over REST is known to GetDeliveries (SOAP), and the reverse; credit
        is spent once, from the one account."""
        before = emulator.state.accounts["demo"].credit
        with client_for(emulator, "rest") as rest, client_for(emulator, "soap") as soap:
            over_rest = rest.send("one", [ONE]).message_ids
            over_soap = soap.send("two", [ONE]).message_ids
            pattern = rest.send(Template(id="100001", variables=["1"]), [ONE]).message_ids
            ids = over_rest + over_soap + pattern
            assert [r.provider_code for r in soap.delivery_status(ids)] == [0, 0, 0]
            assert [r.provider_code for r in rest.delivery_status(ids)] == [0, 0, 0]
            assert rest.balance().amount == soap.balance().amount == before - 3
        assert [m.text for m in emulator.state.sent] == ["one", "two", "کد ورود شما: 1"]


class TestSecrets:
    """The password travels in the REST form; it never shows anywhere else."""

    def test_failing_sends_never_show_it(
        self, emulator: Emulator, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Error replies echoing it (raw, percent-encoded, JSON-escaped), a lost reply, HTML and
        JSON 500s, wrong credentials, an unreachable service, failing queries: results, raised
        errors with their chains, and log records hold no trace of it."""
        secret = "Very S3cret&Pass+word/ك"
        emulator.state.accounts["demo"].password = secret
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        # The form-encoded body, as an error page might quote the request back.
        encoded = rest_provider(emulator.rest_url, secret).balance_request_for().content.decode()
        echoes = [
            answer(None, 0, f"login failed for demo/{secret}"),
            json.dumps({"Message": f"bad password {secret}"}).encode(),
            f"<html>{encoded} {secret}</html>".encode(),
        ]
        seen: list[str] = []
        raised: list[BaseException] = []
        url = meli_url(emulator.rest_url, password=quote(secret, safe=""), api="rest")
        with smsbridge.Client(url, timeout=5, autoload_plugins=True) as client:
            emulator.faults.http_status(200, echoes[0], content_type=JSON)
            emulator.faults.http_status(500, echoes[1], content_type=JSON)
            emulator.faults.http_status(500, echoes[2], content_type="text/html")
            emulator.faults.drop_connection()
            emulator.faults.http_500()
            emulator.faults.garbage()
            for _ in range(6):
                report = client.send("hi", [ONE])
                seen.append(repr(report))
                seen.extend(repr(r.error.to_dict()) for r in report if r.error)
                seen.extend(json.dumps(r.to_dict()) for r in report)
            assert client.send("hi", [ONE]).all_accepted
            for echo in echoes[:2]:
                emulator.faults.http_status(500, echo, content_type=JSON)
                with pytest.raises(SmsBridgeError) as failed_query:
                    client.balance()
                raised.append(failed_query.value)
                emulator.faults.http_status(500, echo, content_type=JSON)
                with pytest.raises(SmsBridgeError) as failed_query:
                    client.delivery_status(["3000000000000000001"])
                raised.append(failed_query.value)
        wrong = meli_url(emulator.rest_url, password="wrong-pw", api="rest")
        with smsbridge.Client(wrong, autoload_plugins=True) as client:
            results = client.send("hi", [ONE])
            assert results[0].error is not None
            assert results[0].error.category is ErrorCategory.AUTHENTICATION
        offline = rest_provider(f"http://127.0.0.1:{closed_port()}/api/SendSMS", secret)
        with smsbridge.Client(provider=offline, timeout=5) as client:
            seen.extend(repr(r) for r in client.send("hi", [ONE]))
            with pytest.raises(ProviderUnavailableError) as caught:
                client.balance()
            raised.append(caught.value)
        for failure in raised:
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
        leaks = [text for text in seen if "S3cret" in text]
        assert not leaks, leaks[:3]
