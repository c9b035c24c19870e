"""The hand-written SOAP codec (``_envelope.py``) held against zeep, the reference for the WSDL
contract.

Requests: for the same call, the provider posts byte for byte what zeep's transport posts
(``Transport.post_xml``: ``etree_to_string`` of the envelope zeep builds from the packaged
``Send.wsdl``), to the same address, with the same SOAPAction and Content-Type.

Replies: every reply the emulator produces (over a real socket) and every canned or hostile
shape is read both by ``parse_reply`` and the provider's parsers, and by zeep's own reply
processing (``SoapBinding.process_reply`` through a zeep call whose transport answers with
that reply). Both must read the same return code, ids, status bytes, delivery codes and
credit, recognise the same Fault, and refuse the same malformed replies.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
import smsbridge_melipayamak
import zeep
import zeep.exceptions
import zeep.transports
from meli_support import (
    LINE,
    OPT_OUT,
    PASSWORD,
    RETURN_CODES,
    TWO,
    Setup,
    account,
    deliveries_reply,
    meli_provider,
    nothing,
    pattern_reply,
    send_sms_reply,
    service,
)
from smsbridge_melipayamak import DEFAULT_ENDPOINT, MelipayamakProvider
from smsbridge_melipayamak._codes import rec_id_or_error
from smsbridge_melipayamak._envelope import Fault, Malformed, parse_reply
from smsbridge_melipayamak.emulator import DEMO_PATTERN, Emulator

from smsbridge import Batch, DeliveryStatus, Message, SendStatus, Template
from smsbridge.exceptions import (
    OutcomeUnknownError,
    ProviderError,
    RecipientRejectedError,
    UnknownProviderError,
)
from smsbridge.testing.server import ManualClock
from smsbridge.transport import HTTPTransport, Request, Response

WSDL = Path(smsbridge_melipayamak.__file__).resolve().parent / "Send.wsdl"
XML = "text/xml; charset=utf-8"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


# -- zeep, with a transport that records what it posts and answers with a given reply ---------


@attrs.frozen
class Posted:
    """One request as zeep's transport hands it to HTTP."""

    address: str
    body: bytes
    headers: dict[str, str]


def requests_response(status: int, content_type: str, body: bytes) -> requests.Response:
    """A reply as zeep's sync transport receives it from requests."""
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = body
    response.encoding = "utf-8"
    return response


class Recorder(zeep.transports.Transport):
    """Records every post zeep makes and answers it with ``reply``; no socket is opened."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.posted: list[Posted] = []
        self.reply = (200, XML, b"")

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        self.posted.append(Posted(address, message, dict(headers)))
        return requests_response(*self.reply)


@pytest.fixture(scope="module")
def zclient() -> Iterator[Any]:
    """A zeep client on the packaged WSDL, configured as the zeep-based provider was."""
    settings = zeep.Settings(
        strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True
    )
    client = zeep.Client(  # type: ignore[no-untyped-call]
        str(WSDL), transport=Recorder(), settings=settings
    )
    yield client
    client.transport.session.close()


@pytest.fixture
def recorder(zclient: Any) -> Recorder:
    """The zeep client's transport, emptied."""
    transport: Recorder = zclient.transport
    transport.posted.clear()
    return transport


def zeep_call(zclient: Any, operation: str, kwargs: dict[str, Any]) -> Any:
    """Call ``operation`` through zeep; its recording transport answers."""
    return getattr(zclient.service, operation)(**kwargs)


# -- requests --------------------------------------------------------------------------------


@attrs.frozen
class SendCase:
    """One SendSms call: recipients as (E.164, the wire spelling), and the message."""

    name: str
    recipients: tuple[tuple[str, str], ...]
    text: str = f"hi {OPT_OUT}"
    flash: bool = False
    udh: str | None = None
    sender: str | None = None
    username: str = "demo"
    password: str = PASSWORD


IRAN = (("+989121234567", "09121234567"),)
ABROAD = (
    ("+989121234567", "09121234567"),
    ("+447911123456", "00447911123456"),
    ("+14155550100", "0014155550100"),
    ("+4915112345678", "004915112345678"),
    ("+989351234567", "09351234567"),
)
HUNDRED = tuple((f"+98912{n:07d}", f"0912{n:07d}") for n in range(100))
SEND_CASES = [
    SendCase("one", IRAN),
    SendCase("abroad", ABROAD),
    SendCase("hundred", HUNDRED),
    SendCase("persian", IRAN, "سلام، کد ورود شما ۱۲۳۴ است. ‌نیم‌فاصله و «گیومه» هم هست."),
    SendCase("markup", IRAN, "a & b < c > d \"e\" 'f' ]]> &amp; <![CDATA[x]]> <!-- c -->"),
    SendCase("line-breaks", ABROAD, "one\r\ntwo\rthree\nfour\r\n\r\n"),
    SendCase("tabs-and-spaces", IRAN, "\tcode:\t1234  \t \n  "),
    SendCase("emoji", IRAN, "تبریک 🎉👍🏽 \u200d\u2067rtl\u2069 \ufeff"),
    SendCase("flash", IRAN, "hi", flash=True),
    SendCase("udh", ABROAD, "part 1", udh="050003AA0201"),
    SendCase("flash-udh-sender", IRAN, "hi", flash=True, udh="0605040B8423F0", sender="3000123"),
    SendCase("credentials-with-markup", IRAN, username="a&b<c>", password="p&<>\"'w\u0627"),
]


def _provider(case: SendCase) -> MelipayamakProvider:
    return MelipayamakProvider(username=case.username, password=case.password, sender=LINE)


def _zeep_headers(request: Request) -> dict[str, str]:
    return dict(request.headers)


class TestRequests:
    """What the provider posts equals what zeep posts for the same call."""

    @pytest.mark.parametrize("case", SEND_CASES, ids=[case.name for case in SEND_CASES])
    def test_send_sms(self, zclient: Any, recorder: Recorder, case: SendCase) -> None:
        """SendSms: body bytes, address, SOAPAction and Content-Type."""
        message = Message(text=case.text, flash=case.flash, udh=case.udh, sender=case.sender)
        batch = Batch(message=message, recipients=tuple(e164 for e164, _ in case.recipients))
        ours = _provider(case).request_for(batch)
        count = len(case.recipients)
        recorder.reply = (200, XML, send_sms_reply(1, list(range(1, count + 1)), bytes(count)))
        zeep_call(
            zclient,
            "SendSms",
            {
                "username": case.username,
                "password": case.password,
                "to": {"string": [wire for _, wire in case.recipients]},
                "from": case.sender or LINE,
                "text": case.text,
                "isflash": case.flash,
                "udh": case.udh or "",
            },
        )
        (theirs,) = recorder.posted
        assert ours.content == theirs.body
        assert (ours.method, ours.url) == ("POST", theirs.address)
        assert _zeep_headers(ours) == theirs.headers
        assert ours.idempotent is False

    @pytest.mark.parametrize(
        ("variables", "number", "body_id", "username", "password"),
        [
            (["4821"], "+989121234567", "100001", "demo", PASSWORD),
            (["4821", "علی", "۱۴۰۳/۰۱/۰۱"], "+989351234567", "7", "demo", PASSWORD),
            ([], "+989121234567", "2147483647", "demo", PASSWORD),
            (["a & b < c > \"d\" 'e' ]]>", "x\r\ny\rz\n"], "+447911123456", "42", "demo", PASSWORD),
            (["\t 12 \t", "", " "], "+989121234567", "100001", "a&b<c>", "p&<>\"'w\u0627"),
            (["تبریک 🎉👍🏽 \u200d\u2067rtl\u2069"], "+989121234567", "100001", "demo", PASSWORD),
        ],
        ids=[
            "otp",
            "three-persian",
            "no-variables",
            "markup-and-breaks",
            "blank-and-credentials",
            "emoji",
        ],
    )
    def test_send_by_base_number2(
        self,
        zclient: Any,
        recorder: Recorder,
        variables: list[str],
        number: str,
        body_id: str,
        username: str,
        password: str,
    ) -> None:
        """SendByBaseNumber2: the variables joined by ';', one number, the bodyId as an
        xsd:int, exactly as zeep would post them."""
        meli = MelipayamakProvider(username=username, password=password)
        template = Template(id=body_id, variables=variables)
        meli.validate_template(template)
        ours = meli.request_for(Batch(message=template, recipients=(number,)))
        recorder.reply = (200, XML, pattern_reply("soap", "3000000000000000001")[0])
        zeep_call(
            zclient,
            "SendByBaseNumber2",
            {
                "username": username,
                "password": password,
                "text": ";".join(variables),
                "to": "0" + number[3:] if number.startswith("+98") else "00" + number[1:],
                "bodyId": int(body_id),
            },
        )
        (theirs,) = recorder.posted
        assert ours.content == theirs.body
        assert (ours.method, ours.url) == ("POST", theirs.address)
        assert _zeep_headers(ours) == theirs.headers
        assert ours.idempotent is False

    @pytest.mark.parametrize(
        ("ids", "asked"),
        [
            (["3000000000000000001"], [3000000000000000001]),
            (["30", "10", "x", "20", "10", "۱۲", ""], [10, 20, 30]),
            ([str(n) for n in range(5000, 4900, -1)], list(range(4901, 5001))),
            (["9223372036854775807", "1"], [1, 9223372036854775807]),
        ],
        ids=["one", "unsorted-repeated-and-not-numbers", "hundred", "largest-long"],
    )
    def test_get_deliveries(
        self, zclient: Any, recorder: Recorder, ids: list[str], asked: list[int]
    ) -> None:
        """GetDeliveries asks each numeric id once, ascending, exactly as zeep would."""
        ours = meli_provider(DEFAULT_ENDPOINT).delivery_request_for(ids)
        assert ours is not None
        recorder.reply = (200, XML, deliveries_reply([0] * len(asked)))
        zeep_call(
            zclient,
            "GetDeliveries",
            {"recIds": {"long": asked}, "username": "demo", "password": PASSWORD},
        )
        (theirs,) = recorder.posted
        assert ours.content == theirs.body
        assert (ours.method, ours.url) == ("POST", theirs.address)
        assert _zeep_headers(ours) == theirs.headers
        assert ours.idempotent is True

    @pytest.mark.parametrize(
        ("username", "password"),
        [("demo", PASSWORD), ("a&b<c>", "p&<>\"' w\u0627]]>")],
        ids=["plain", "markup"],
    )
    def test_get_credit(
        self, zclient: Any, recorder: Recorder, username: str, password: str
    ) -> None:
        """GetCredit carries the credentials exactly as zeep would."""
        ours = MelipayamakProvider(username=username, password=password).balance_request_for()
        recorder.reply = (200, XML, credit_reply("1.0"))
        zeep_call(zclient, "GetCredit", {"username": username, "password": password})
        (theirs,) = recorder.posted
        assert ours.content == theirs.body
        assert (ours.method, ours.url) == ("POST", theirs.address)
        assert _zeep_headers(ours) == theirs.headers
        assert ours.idempotent is True

    def test_no_request_without_a_numeric_id(self) -> None:
        """Ids zeep could not even put on the wire as xsd:long are never asked about."""
        assert meli_provider(DEFAULT_ENDPOINT).delivery_request_for(["x", "۱۲", ""]) is None


# -- replies ---------------------------------------------------------------------------------


def credit_reply(value: str) -> bytes:
    """A GetCreditResponse envelope with ``value`` as its text."""
    return wrap(
        f'<GetCreditResponse xmlns="http://tempuri.org/"><GetCreditResult>{value}'
        "</GetCreditResult></GetCreditResponse>"
    )


def wrap(body: str, header: str = "") -> bytes:
    """A SOAP 1.1 envelope around ``body``."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_NS}">{header}<soap:Body>{body}</soap:Body>'
        "</soap:Envelope>"
    ).encode()


@attrs.frozen
class Reading:
    """A reply as one parser understood it: a value, a Fault, or a refusal."""

    kind: str
    """``value``, ``fault`` or ``refused``."""
    value: object = None
    """SendSms: (code, ids, status bytes); GetDeliveries: codes; GetCredit: the credit."""


def zeep_reading(zclient: Any, operation: str, response: Response) -> Reading:
    """What zeep's reply processing makes of ``response`` to ``operation``."""
    zclient.transport.reply = (
        response.status_code,
        response.header("content-type") or "",
        response.content,
    )
    kwargs: dict[str, Any] = {"username": "demo", "password": PASSWORD}
    if operation == "SendSms":
        kwargs |= {"to": {"string": ["09121234567"]}, "from": LINE, "text": "hi"}
        kwargs |= {"isflash": False, "udh": ""}
    elif operation == "GetDeliveries":
        kwargs["recIds"] = {"long": [1]}
    elif operation == "SendByBaseNumber2":
        kwargs |= {"text": "4821", "to": "09121234567", "bodyId": DEMO_PATTERN}
    try:
        value = zeep_call(zclient, operation, kwargs)
    except zeep.exceptions.Fault as fault:
        if fault.code is None and fault.message == "Unknown fault occured":
            # zeep's word for a non-200 reply that holds no Fault: not a reply it can read.
            return Reading("refused")
        return Reading("fault", (fault.code, fault.message))
    except Exception:  # any other zeep failure means zeep refused the reply
        return Reading("refused")
    # zeep logs a value that is not of its XSD type and reads it as None.
    if operation == "SendSms":
        if value.SendSmsResult is None:
            return Reading("refused")
        ids = list(value.recId["long"]) if value.recId is not None else []
        if None in ids:
            return Reading("refused")
        return Reading("value", (value.SendSmsResult, ids, value.status or b""))
    if operation == "GetDeliveries":
        codes = list(value or [])
        return Reading("refused") if None in codes else Reading("value", codes)
    if operation == "SendByBaseNumber2":
        # An xsd:string keeps its spaces in zeep; the provider strips them (the value is a
        # number either way), so the two are compared stripped, and empty as absent.
        return Reading("value", str(value or "").strip() or None)
    return Reading("refused") if value is None else Reading("value", float(value))


def our_reading(operation: str, response: Response) -> Reading:
    """What ``parse_reply`` makes of ``response`` to ``operation``."""
    try:
        reply = parse_reply(response.content, operation)
    except Fault as fault:
        return Reading("fault", (fault.code, fault.message))
    except Malformed:
        return Reading("refused")
    try:
        if operation == "SendSms":
            code = int(reply.text("SendSmsResult") or "")
            ids = [int(rec_id) for rec_id in reply.items("recId") or []]
            status = base64.b64decode(reply.text("status") or "", validate=True)
            return Reading("value", (code, ids, status))
        if operation == "GetDeliveries":
            codes = [int(code) for code in reply.items("GetDeliveriesResult") or []]
            return Reading("value", codes)
        if operation == "SendByBaseNumber2":
            return Reading("value", reply.text("SendByBaseNumber2Result") or None)
        return Reading("value", float(reply.text("GetCreditResult") or ""))
    except ValueError:  # a value that is not of its XSD type (binascii.Error included)
        return Reading("refused")


def batch_of(count: int) -> Batch:
    """A batch of ``count`` distinct Iranian mobiles."""
    numbers = tuple(f"+98912{n:07d}" for n in range(count))
    return Batch(message=Message(text="hi"), recipients=numbers)


def check_send_results(
    meli: MelipayamakProvider, response: Response, batch: Batch, zeep: Reading
) -> None:
    """``results_from`` says what zeep's reading says, recipient by recipient."""
    if zeep.kind == "fault":
        with pytest.raises(UnknownProviderError) as raised:
            meli.results_from(response, batch)
        assert (raised.value.provider_code, raised.value.provider_text) == zeep.value
        return
    if zeep.kind == "refused":
        # Unreadable after the service took the request: it may have been sent. Error pages
        # of other statuses are judged by their status (see test_transport_faults).
        expected = OutcomeUnknownError if response.status_code == 200 else ProviderError
        with pytest.raises(expected):
            meli.results_from(response, batch)
        return
    assert isinstance(zeep.value, tuple)
    code, ids, statuses = zeep.value
    if code != 1:
        with pytest.raises(ProviderError) as refused:
            meli.results_from(response, batch)
        assert refused.value.provider_code == code
        return
    if not len(ids) == len(statuses) == len(batch.recipients):
        with pytest.raises(OutcomeUnknownError, match="cannot be told"):
            meli.results_from(response, batch)
        return
    results = meli.results_from(response, batch)
    assert [r.recipient for r in results] == list(batch.recipients)
    for result, rec_id, status in zip(results, ids, statuses, strict=True):
        if status == 0 and rec_id > 0:
            assert (result.status, result.message_id) == (SendStatus.ACCEPTED, str(rec_id))
            continue
        assert result.message_id is None
        assert result.error is not None
        assert result.error.provider_code == status
        if status == 0:
            assert result.status is SendStatus.UNKNOWN
        elif status == 1:
            assert result.status is SendStatus.REJECTED
            assert result.error.category is RecipientRejectedError.category
        else:
            assert result.status is SendStatus.REJECTED
            assert result.error.category is UnknownProviderError.category


def check_pattern_results(meli: MelipayamakProvider, response: Response, zeep: Reading) -> None:
    """``results_from`` for a pattern send says what zeep's value means: the recId, or the
    error of its code, or an unknown outcome."""
    batch = Batch(message=Template(id=str(DEMO_PATTERN), variables=["4821"]), recipients=TWO[:1])
    if zeep.kind == "fault":
        with pytest.raises(UnknownProviderError) as raised:
            meli.results_from(response, batch)
        assert (raised.value.provider_code, raised.value.provider_text) == zeep.value
        return
    if zeep.kind == "refused":
        expected = OutcomeUnknownError if response.status_code == 200 else ProviderError
        with pytest.raises(expected):
            meli.results_from(response, batch)
        return
    expected: ProviderError | str
    try:
        expected = rec_id_or_error(zeep.value, pattern=True)
    except ProviderError as error:
        expected = error
    if isinstance(expected, str):
        (result,) = meli.results_from(response, batch)
        assert (result.status, result.message_id) == (SendStatus.ACCEPTED, expected)
        return
    with pytest.raises(type(expected)) as raised:
        meli.results_from(response, batch)
    assert raised.value.provider_code == expected.provider_code


def check_reply(
    zclient: Any,
    operation: str,
    response: Response,
    *,
    recipients: int = 1,
    ids: Sequence[str] = ("1",),
) -> Reading:
    """Both parsers agree on ``response``, and so does the provider's own parser."""
    theirs = zeep_reading(zclient, operation, response)
    ours = our_reading(operation, response)
    assert ours == theirs
    meli = meli_provider(DEFAULT_ENDPOINT)
    if operation == "SendSms":
        check_send_results(meli, response, batch_of(recipients), theirs)
    elif operation == "SendByBaseNumber2":
        check_pattern_results(meli, response, theirs)
    elif operation == "GetDeliveries":
        # zeep's codes answer the numeric ids asked, ascending (as the zeep provider did).
        asked = sorted({int(i) for i in ids if i.isascii() and i.isdigit()})
        codes = theirs.value if isinstance(theirs.value, list) else None
        if codes is None or len(codes) != len(asked):
            with pytest.raises(ProviderError):
                meli.delivery_from(response, ids)
        else:
            by_id = dict(zip(asked, codes, strict=True))
            reports = meli.delivery_from(response, ids)
            assert [r.message_id for r in reports] == list(ids)
            assert [r.provider_code for r in reports] == [
                by_id.get(int(i)) if i.isascii() and i.isdigit() else None for i in ids
            ]
    elif theirs.kind != "value":
        with pytest.raises(ProviderError):
            meli.balance_from(response)
    else:
        assert meli.balance_from(response).amount == theirs.value
    return theirs


def xml_reply(body: bytes, status: int = 200, content_type: str = XML) -> Response:
    """A reply as the transport hands it over."""
    return Response(status_code=status, headers=[("Content-Type", content_type)], content=body)


def exchange(emulator: Emulator, request: Request) -> Response:
    """Carry ``request`` to the emulator over a real socket."""
    with HTTPTransport() as transport:
        return transport.handle_request(request, timeout=10)


class TestEmulatorReplies:
    """Every reply the emulator gives, read by both."""

    @pytest.mark.parametrize(
        ("setup", "recipients", "text", "sender"),
        [
            (nothing, list(TWO), f"hi {OPT_OUT}", LINE),
            (nothing, ["+989121234567", "+447911123456", "+989121234568"], f"x {OPT_OUT}", LINE),
            *[
                (setup, numbers, text, sender)
                for _, _, setup, text, numbers, sender in RETURN_CODES
            ],
        ],
        ids=["accepted", "one-not-sent", *[f"code-{case[0]}" for case in RETURN_CODES]],
    )
    def test_send_sms(
        self,
        zclient: Any,
        emulator: Emulator,
        setup: Setup,
        recipients: list[str],
        text: str,
        sender: str,
    ) -> None:
        """Success with ids and statuses, a recipient not sent to, and each return code."""
        setup(emulator.state)
        batch = Batch(message=Message(text=text, sender=sender), recipients=tuple(recipients))
        response = exchange(emulator, meli_provider(emulator.url).request_for(batch))
        reading = check_reply(zclient, "SendSms", response, recipients=len(recipients))
        assert reading.kind == "value"
        assert isinstance(reading.value, tuple)
        code, ids, _ = reading.value
        if emulator.state.sent:
            assert code == 1
            assert [rec_id for rec_id in ids if rec_id] == [m.rec_id for m in emulator.state.sent]
        else:
            assert (code, ids) != (1, [])

    def test_get_deliveries(self, zclient: Any, emulator: Emulator, clock: ManualClock) -> None:
        """Pending, reached telecom, delivered and failed, unknown ids, wrong credentials."""
        emulator.state.unreachable = {"09121234568"}
        meli = meli_provider(emulator.url)
        batch = Batch(
            message=Message(text=f"hi {OPT_OUT}"), recipients=("+989121234567", "+989121234568")
        )
        exchange(emulator, meli.request_for(batch))
        ids = [str(m.rec_id) for m in emulator.state.sent] + ["42"]
        request = meli.delivery_request_for(ids)
        assert request is not None
        seen = []
        for _ in range(3):
            reading = check_reply(zclient, "GetDeliveries", exchange(emulator, request), ids=ids)
            seen.append(reading.value)
            clock.now += emulator.state.delivery_delay * 0.6
        assert seen == [[100, 0, 0], [100, 8, 8], [100, 1, 2]]  # 42 is asked first
        wrong = meli_provider(emulator.url, password="nope").delivery_request_for(ids)
        assert wrong is not None
        reading = check_reply(zclient, "GetDeliveries", exchange(emulator, wrong), ids=ids)
        assert reading == Reading("value", [])

    @pytest.mark.parametrize(
        ("credit", "password"),
        [(1_000_000.0, PASSWORD), (12.5, PASSWORD), (0.1 + 0.2, PASSWORD), (7.0, "nope")],
        ids=["demo", "fraction", "repr-float", "wrong-credentials"],
    )
    def test_get_credit(
        self, zclient: Any, emulator: Emulator, credit: float, password: str
    ) -> None:
        """The credit as the emulator writes it, and 0 for wrong credentials."""
        emulator.state.accounts["demo"].credit = credit
        request = meli_provider(emulator.url, password=password).balance_request_for()
        reading = check_reply(zclient, "GetCredit", exchange(emulator, request))
        assert reading == Reading("value", credit if password == PASSWORD else 0.0)

    @pytest.mark.parametrize(
        ("setup", "body_id", "variables", "expected"),
        [
            (nothing, DEMO_PATTERN, ["4821"], None),
            (nothing, 999, ["4821"], "-4"),
            (nothing, DEMO_PATTERN, ["1", "2"], "-5"),
            (nothing, DEMO_PATTERN, ["www.example.com"], "-10"),
            (account(password="changed"), DEMO_PATTERN, ["4821"], "0"),
            (account(pattern_access=False), DEMO_PATTERN, ["4821"], "-1"),
            (account(service_line=None), DEMO_PATTERN, ["4821"], "-3"),
            (account(service_line="1"), DEMO_PATTERN, ["4821"], "-7"),
            (service(maintenance=True), DEMO_PATTERN, ["4821"], "-6"),
            (account(credit=0.0), DEMO_PATTERN, ["4821"], "2"),
            (account(hourly_pattern_limit=0), DEMO_PATTERN, ["4821"], "19"),
        ],
        ids=["accepted", "-4", "-5", "-10", "0", "-1", "-3", "-7", "-6", "2", "19"],
    )
    def test_send_by_base_number2(
        self,
        zclient: Any,
        emulator: Emulator,
        setup: Setup,
        body_id: int,
        variables: list[str],
        expected: str | None,
    ) -> None:
        """A recId, and each pattern code the emulator answers, read alike by both."""
        setup(emulator.state)
        template = Template(id=str(body_id), variables=variables)
        batch = Batch(message=template, recipients=("+989121234567",))
        response = exchange(emulator, meli_provider(emulator.url).request_for(batch))
        reading = check_reply(zclient, "SendByBaseNumber2", response)
        if expected is None:
            (sent,) = emulator.state.sent
            assert reading == Reading("value", str(sent.rec_id))
        else:
            assert reading == Reading("value", expected)

    @pytest.mark.parametrize(
        "operation", ["SendSms", "SendByBaseNumber2", "GetDeliveries", "GetCredit"]
    )
    @pytest.mark.parametrize("fault", ["soap_fault", "garbage", "wrong_shape", "http_500"])
    def test_faults(self, zclient: Any, emulator: Emulator, operation: str, fault: str) -> None:
        """A Fault is a Fault to both, with the same faultcode and faultstring; truncated XML,
        an unexpected element and an HTML error page are refused by both."""
        if fault == "soap_fault":
            emulator.faults.soap_fault(message="Server was unable: 'x' < 1 & \"y\" > 2.")
        else:
            getattr(emulator.faults, fault)()
        meli = meli_provider(emulator.url)
        pattern = Batch(message=Template(id="100001", variables=["1"]), recipients=TWO[:1])
        request = {
            "SendSms": meli.request_for(batch_of(1)),
            "SendByBaseNumber2": meli.request_for(pattern),
            "GetDeliveries": meli.delivery_request_for(["1"]),
            "GetCredit": meli.balance_request_for(),
        }[operation]
        assert request is not None
        reading = check_reply(zclient, operation, exchange(emulator, request))
        if fault == "soap_fault":
            assert reading == Reading(
                "fault", ("soap:Server", "Server was unable: 'x' < 1 & \"y\" > 2.")
            )
        else:
            assert reading == Reading("refused")

    def test_client_fault(self, zclient: Any, emulator: Emulator) -> None:
        """The emulator's soap:Client Fault for a request it cannot dispatch."""
        request = meli_provider(emulator.url).balance_request_for()
        wrong_action = Request(
            method="POST",
            url=request.url,
            headers=[("Content-Type", XML), ("SOAPAction", '"http://tempuri.org/SendSms"')],
            content=request.content,
        )
        reading = check_reply(zclient, "GetCredit", exchange(emulator, wrong_action))
        assert reading.kind == "fault"
        assert isinstance(reading.value, tuple)
        assert reading.value[0] == "soap:Client"


DTD = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "1">]>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<SendSmsResponse xmlns="http://tempuri.org/"><SendSmsResult>&x;</SendSmsResult>'
    b"</SendSmsResponse></soap:Body></soap:Envelope>"
)
PRETTY = b"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <SendSmsResponse xmlns="http://tempuri.org/">
      <SendSmsResult>1</SendSmsResult>
      <recId>
        <long>5</long>
        <long>6</long>
      </recId>
      <status>AAE=</status>
    </SendSmsResponse>
  </soap:Body>
</soap:Envelope>
"""
SEND_SHAPES: list[tuple[str, Response, int]] = [
    ("mismatched-arrays", xml_reply(send_sms_reply(1, [7], b"\x00")), 2),
    ("unknown-code", xml_reply(send_sms_reply(13, [], b"")), 2),
    ("unknown-status-byte", xml_reply(send_sms_reply(1, [5, 6], b"\x00\x07")), 2),
    ("empty-recid-array", xml_reply(send_sms_reply(1, [], b"")), 2),
    ("no-id-for-a-sent-one", xml_reply(send_sms_reply(1, [5, 0], b"\x00\x00")), 2),
    ("large-ids", xml_reply(send_sms_reply(1, [2**63 - 1, 2**62], b"\x00\x00")), 2),
    (
        "prefixed",
        xml_reply(
            wrap(
                '<m:SendSmsResponse xmlns:m="http://tempuri.org/"><m:SendSmsResult>1'
                "</m:SendSmsResult><m:recId><m:long>9</m:long></m:recId><m:status>AA==</m:status>"
                "</m:SendSmsResponse>"
            )
        ),
        1,
    ),
    (
        "soap-header",
        xml_reply(
            wrap(
                '<SendSmsResponse xmlns="http://tempuri.org/"><SendSmsResult>2</SendSmsResult>'
                "</SendSmsResponse>",
                header="<soap:Header/>",
            )
        ),
        1,
    ),
    (
        "fault-with-200",
        xml_reply(
            wrap(
                "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>busy</faultstring>"
                "</soap:Fault>"
            )
        ),
        1,
    ),
    ("pretty-printed", xml_reply(PRETTY), 2),
    (
        "padded-values",
        xml_reply(
            send_sms_reply(1, [5], b"\x00")
            .replace(b"<SendSmsResult>1", b"<SendSmsResult>\n 1 ")
            .replace(b"<long>5", b"<long> 5\t")
        ),
        1,
    ),
    (
        "comments",
        xml_reply(
            send_sms_reply(1, [5], b"\x00")
            .replace(b"<SendSmsResult>1", b"<SendSmsResult><!-- code -->1")
            .replace(b"<soap:Body>", b"<soap:Body><!-- body -->")
        ),
        1,
    ),
    ("byte-order-mark", xml_reply(b"\xef\xbb\xbf" + send_sms_reply(1, [5], b"\x00")), 1),
    (
        "utf-16",
        xml_reply(
            send_sms_reply(1, [5], b"\x00")
            .decode()
            .replace('encoding="utf-8"', 'encoding="utf-16"')
            .encode("utf-16")
        ),
        1,
    ),
    (
        "nil-recid",
        xml_reply(
            send_sms_reply(1, [5], b"\x00").replace(
                b"<recId><long>5</long></recId>",
                b'<recId xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>',
            )
        ),
        1,
    ),
    ("dtd", xml_reply(DTD), 1),
    ("not-soap", xml_reply(b"<Envelope><Body><SendSmsResponse/></Body></Envelope>"), 1),
    (
        "soap-1.2",
        xml_reply(
            send_sms_reply(1, [5], b"\x00").replace(
                SOAP_NS.encode(), b"http://www.w3.org/2003/05/soap-envelope"
            )
        ),
        1,
    ),
    ("empty-body", xml_reply(wrap("")), 1),
    ("other-operation", xml_reply(credit_reply("1.0")), 1),
    ("empty", xml_reply(b""), 1),
    ("not-found-page", xml_reply(b"Not Found", 404, "text/plain"), 1),
    ("gateway-page", xml_reply(b"<html>Gateway Timeout</html>", 504, "text/html"), 1),
]


class TestCannedReplies:
    """The canned shapes of meli_support and hostile ones, read by both."""

    @pytest.mark.parametrize(
        ("response", "recipients"),
        [(response, count) for _, response, count in SEND_SHAPES],
        ids=[name for name, _, _ in SEND_SHAPES],
    )
    def test_send_sms(self, zclient: Any, response: Response, recipients: int) -> None:
        """SendSms replies."""
        check_reply(zclient, "SendSms", response, recipients=recipients)

    @pytest.mark.parametrize(
        ("response", "ids"),
        [
            (xml_reply(deliveries_reply([35, 777])), ["1", "2"]),
            (xml_reply(deliveries_reply([])), ["1"]),
            (xml_reply(deliveries_reply([1, 2])), ["1"]),
            (xml_reply(send_sms_reply(1, [5], b"\x00")), ["1"]),
            (
                xml_reply(deliveries_reply([1, 2]).replace(b"<int>1<", b"<int>\n  1 <")),
                ["1", "2"],
            ),
        ],
        ids=["unlisted-code", "empty", "too-many", "other-operation", "padded"],
    )
    def test_get_deliveries(self, zclient: Any, response: Response, ids: list[str]) -> None:
        """GetDeliveries replies."""
        check_reply(zclient, "GetDeliveries", response, ids=ids)

    @pytest.mark.parametrize(
        "response",
        [
            xml_reply(pattern_reply("soap", "3000000000000000001")[0]),
            xml_reply(pattern_reply("soap", "\n  3000000000000000001 \t")[0]),
            xml_reply(pattern_reply("soap", str(2**63 - 1))[0]),
            xml_reply(pattern_reply("soap", "-4")[0]),
            xml_reply(pattern_reply("soap", " -10 ")[0]),
            xml_reply(pattern_reply("soap", "13")[0]),
            xml_reply(pattern_reply("soap", "۱۲۳۴۵۶۷۸۹۰۱۲")[0]),
            xml_reply(pattern_reply("soap", "1234567")[0]),
            xml_reply(pattern_reply("soap", "")[0]),
            xml_reply(pattern_reply("soap", None)[0]),
            xml_reply(
                pattern_reply("soap", "x")[0].replace(
                    b"<SendByBaseNumber2Result>x</SendByBaseNumber2Result>",
                    b'<SendByBaseNumber2Result xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                    b' xsi:nil="true"/>',
                )
            ),
            xml_reply(pattern_reply("soap", "<!-- id -->3000000000000000001")[0]),
            xml_reply(
                wrap(
                    "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad bodyId"
                    "</faultstring></soap:Fault>"
                )
            ),
            xml_reply(credit_reply("1.0")),
            xml_reply(b"<html>Runtime Error</html>", 500, "text/html"),
            xml_reply(b"", 200),
        ],
        ids=[
            "rec-id",
            "padded",
            "largest-long",
            "code",
            "padded-code",
            "send-code",
            "persian-digits",
            "neither",
            "empty",
            "absent",
            "nil",
            "comment",
            "fault",
            "other-operation",
            "html-500",
            "empty-body",
        ],
    )
    def test_send_by_base_number2(self, zclient: Any, response: Response) -> None:
        """SendByBaseNumber2 replies: ids, codes, and what is neither."""
        check_reply(zclient, "SendByBaseNumber2", response)

    @pytest.mark.parametrize(
        "value", ["0", "-3.5", "1E3", "12", " 12.5\n", "1.7976931348623157E+308", "many"]
    )
    def test_get_credit(self, zclient: Any, value: str) -> None:
        """GetCredit replies: xsd:double spellings, and a text that is not a number."""
        check_reply(zclient, "GetCredit", xml_reply(credit_reply(value)))

    def test_delivery_codes_read_as_zeep_reads_them(self, zclient: Any) -> None:
        """The delivery codes zeep reads map to the provider's statuses."""
        response = xml_reply(deliveries_reply([1, 2, 0]))
        assert zeep_reading(zclient, "GetDeliveries", response).value == [1, 2, 0]
        reports = meli_provider(DEFAULT_ENDPOINT).delivery_from(response, ["3", "1", "2"])
        assert [(r.message_id, r.status) for r in reports] == [
            ("3", DeliveryStatus.PENDING),
            ("1", DeliveryStatus.DELIVERED),
            ("2", DeliveryStatus.FAILED),
        ]
