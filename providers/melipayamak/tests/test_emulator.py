"""The Send.asmx emulator over real sockets: WSDL, operations, return codes, faults, admin, CLI."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
import zeep.exceptions
import zeep.transports
from lxml import etree
from smsbridge_melipayamak import cli
from smsbridge_melipayamak.emulator import (
    Account,
    DeliveryCode,
    Emulator,
    EmulatorState,
    Fault,
    SendCode,
    normalise_mobile,
)
from smsbridge_melipayamak.emulator.__main__ import build_parser, build_state

import smsbridge
from smsbridge.testing.server import ManualClock

PACKAGE = Path(__file__).resolve().parents[1] / "smsbridge_melipayamak"
WSDL = PACKAGE / "Send.wsdl"
REFERENCE_WSDL = (
    Path(__file__).resolve().parents[3].parent / "shared/reference/melipayamak/Send.asmx.wsdl"
)
LINE = "50004001234567"
USER = {"username": "demo", "password": "demo-password"}
OPT_OUT = "لغو11"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


class OfflineTransport(zeep.transports.Transport):
    """A zeep transport that fails any HTTP load, proving the WSDL needs no network."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def load(self, url: str) -> bytes:
        if url.startswith(("http://", "https://")):
            msg = f"network access attempted: {url}"
            raise AssertionError(msg)
        return super().load(url)  # type: ignore[no-any-return,no-untyped-call]


def zeep_client(url: str, **kwargs: Any) -> Any:
    """A zeep client; zeep is untyped, so its one ignore lives here."""
    return zeep.Client(url, **kwargs)  # type: ignore[no-untyped-call]


@pytest.fixture
def emulator_client(emulator: Emulator) -> Iterator[Any]:
    client = zeep_client(emulator.wsdl_url)
    yield client
    client.transport.session.close()


def send(client: Any, to: list[str], text: str = f"سلام {OPT_OUT}", **kwargs: Any) -> Any:
    params: dict[str, Any] = {**USER, "from": LINE, "isflash": False, "udh": ""}
    params.update(kwargs)
    return client.service.SendSms(to={"string": to}, text=text, **params)


def envelope(operation: str, inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body>'
        f'<{operation} xmlns="http://tempuri.org/">{inner}</{operation}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


SEND_ONE = envelope(
    "SendSms",
    "<username>demo</username><password>demo-password</password>"
    f"<to><string>09121234567</string></to><from>{LINE}</from><text>سلام</text>"
    "<isflash>false</isflash>",
)


def post(
    emulator: Emulator,
    body: bytes,
    action: str | None = '"http://tempuri.org/SendSms"',
    content_type: str = "text/xml; charset=utf-8",
    path: str = "/post/Send.asmx",
) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        headers = {"Content-Type": content_type}
        if action is not None:
            headers["SOAPAction"] = action
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def roundtrip(conn: http.client.HTTPConnection) -> bytes:
    conn.request("POST", "/post/Send.asmx", SEND_ONE, {"Content-Type": "text/xml"})
    return conn.getresponse().read()


def body_child(payload: bytes) -> etree._Element:
    root = etree.fromstring(payload)
    return root.find(f"{{{SOAP_NS}}}Body")[0]  # type: ignore[index]


def fault_code(payload: bytes) -> str:
    fault = body_child(payload)
    assert fault.tag == f"{{{SOAP_NS}}}Fault"
    return fault.findtext("faultcode") or ""


def admin(emulator: Emulator, method: str, name: str, payload: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        body = None if payload is None else json.dumps(payload).encode()
        conn.request(method, f"/_emulator/{name}", body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


class TestWsdl:
    """The shipped WSDL and the one the emulator serves."""

    def test_loads_offline_in_zeep(self) -> None:
        """Send.wsdl loads from a file URL without touching the network."""
        client = zeep_client(WSDL.as_uri(), transport=OfflineTransport())
        operations = set(client.service._binding._operations)
        assert operations == {
            "SendSms",
            "SendByBaseNumber2",
            "GetDeliveries",
            "GetDeliveries2",
            "GetCredit",
        }
        assert client.service._binding_options["address"] == (
            "https://api.payamak-panel.com/post/Send.asmx"
        )

    @pytest.mark.parametrize("query", ["wsdl", "WSDL"])
    def test_served_wsdl_points_at_emulator(self, emulator: Emulator, query: str) -> None:
        """?wsdl and ?WSDL serve the WSDL with soap:address rewritten to the emulator."""
        client = zeep_client(f"{emulator.url}?{query}")
        try:
            assert client.service._binding_options["address"] == emulator.url
        finally:
            client.transport.session.close()

    def test_matches_reference(self) -> None:
        """Elements, order, types, occurrence and soapAction agree with the real WSDL."""
        if not REFERENCE_WSDL.exists():
            pytest.skip(f"reference WSDL not found at {REFERENCE_WSDL}")
        ours, theirs = etree.parse(str(WSDL)), etree.parse(str(REFERENCE_WSDL))
        ns = {
            "s": "http://www.w3.org/2001/XMLSchema",
            "w": "http://schemas.xmlsoap.org/wsdl/",
            "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
        }

        def shape(tree: Any, name: str, kind: str = "element") -> list[tuple[str, ...]]:
            path = f"//s:schema[@targetNamespace='http://tempuri.org/']/s:{kind}[@name='{name}']"
            (node,) = tree.xpath(path, namespaces=ns)
            return [
                tuple(el.get(a, "") for a in ("name", "type", "minOccurs", "maxOccurs", "nillable"))
                for el in node.iterfind(".//s:element", ns)
            ]

        def action(tree: Any, op: str) -> str:
            path = (
                f"//w:binding[@name='SendSoap']/w:operation[@name='{op}']"
                "/soap:operation/@soapAction"
            )
            (value,) = tree.xpath(path, namespaces=ns)
            return str(value)

        for op in ("SendSms", "SendByBaseNumber2", "GetDeliveries", "GetDeliveries2", "GetCredit"):
            assert shape(ours, op) == shape(theirs, op)
            assert shape(ours, f"{op}Response") == shape(theirs, f"{op}Response")
            assert action(ours, op) == action(theirs, op) == f"http://tempuri.org/{op}"
        for array in ("ArrayOfString", "ArrayOfLong", "ArrayOfInt"):
            assert shape(ours, array, "complexType") == shape(theirs, array, "complexType")


class TestSendSms:
    """SendSms through zeep, as a real client would call it."""

    def test_all_recipients_recorded(self, emulator: Emulator, emulator_client: Any) -> None:
        """Every recipient is sent, with unique ids, status 0 and the Persian text intact."""
        numbers = [f"0912{n:07d}" for n in range(50)]
        text = f"سلام دنیا، این یک آزمایش است {OPT_OUT}"
        result = send(emulator_client, numbers, text)
        assert result.SendSmsResult == SendCode.OK
        rec_ids = result.recId["long"]
        assert len(set(rec_ids)) == 50
        assert all(0 < rec_id < 2**63 for rec_id in rec_ids)
        assert result.status == bytes(50)
        assert [m.rec_id for m in emulator.state.sent] == rec_ids
        assert {m.text for m in emulator.state.sent} == {text}
        assert emulator.state.sent_to("+989120000007")[0].recipient == "989120000007"
        assert emulator.state.requests[-1].recipients == 50

    def test_invalid_recipients_not_sent(self, emulator: Emulator, emulator_client: Any) -> None:
        """A non-mobile recipient gets status 1 and recId 0; the others still go."""
        result = send(emulator_client, ["09121234567", "02188776655", "hello"], f"hi {OPT_OUT}")
        assert result.SendSmsResult == SendCode.OK
        assert result.status == b"\x00\x01\x01"
        assert result.recId["long"][1:] == [0, 0]
        assert len(emulator.state.sent) == 1

    def test_flash_and_udh_recorded(self, emulator: Emulator, emulator_client: Any) -> None:
        """isflash and udh are stored with the message."""
        send(emulator_client, ["9121234567"], "hi", isflash=True, udh="050003")
        (message,) = emulator.state.sent
        assert (message.flash, message.udh, message.sender) == (True, "050003", LINE)

    @pytest.mark.parametrize(
        "number", ["09121234567", "9121234567", "989121234567", "+989121234567", "00989121234567"]
    )
    def test_mobile_spellings(self, number: str) -> None:
        """Every usual spelling of an Iranian mobile normalises to 98…."""
        assert normalise_mobile(number) == "989121234567"

    @pytest.mark.parametrize("number", ["", "0912123456", "08121234567", "+14155550100", "x"])
    def test_not_mobiles(self, number: str) -> None:
        """Landlines, foreign and short numbers are not Iranian mobiles."""
        assert normalise_mobile(number) is None


def _inactive(state: EmulatorState) -> None:
    state.accounts["demo"].active = False


def _documents(state: EmulatorState) -> None:
    state.accounts["demo"].documents_complete = False


def _maintenance(state: EmulatorState) -> None:
    state.maintenance = True


def _volume(state: EmulatorState) -> None:
    state.accounts["demo"].volume_limit = 2


def _minimum(state: EmulatorState) -> None:
    state.accounts["demo"].min_recipients = 5


def _daily(state: EmulatorState) -> None:
    state.accounts["demo"].daily_limit = 1


def _credit(state: EmulatorState) -> None:
    state.accounts["demo"].credit = 1.5


def _nothing(state: EmulatorState) -> None:
    pass


TWO = ["09121234567", "09121234568"]
CODE_TABLE: list[tuple[SendCode, Callable[[EmulatorState], None], dict[str, Any]]] = [
    (SendCode.WRONG_CREDENTIALS, _nothing, {"password": "wrong"}),
    (SendCode.WRONG_CREDENTIALS, _nothing, {"username": "nobody"}),
    (SendCode.NO_CREDIT, _credit, {"to": TWO}),
    (SendCode.DAILY_LIMIT, _daily, {"to": TWO}),
    (SendCode.VOLUME_LIMIT, _volume, {"to": [*TWO, "09121234569"]}),
    (SendCode.INVALID_SENDER, _nothing, {"from": "3000123"}),
    (SendCode.MAINTENANCE, _maintenance, {}),
    (SendCode.FILTERED_WORD, _nothing, {"text": "بازی قمار آنلاین"}),
    (SendCode.FILTERED_WORD, lambda s: s.filtered_words.add("Casino"), {"text": "CASINO"}),
    (SendCode.TOO_FEW_RECIPIENTS, _minimum, {}),
    (SendCode.PUBLIC_LINE, _nothing, {"from": "10002188"}),
    (SendCode.INACTIVE, _inactive, {}),
    (SendCode.NOT_SENT, _nothing, {"to": ["02112345678"]}),
    (SendCode.DOCUMENTS_INCOMPLETE, _documents, {}),
    (SendCode.LINK, _nothing, {"text": "see https://x"}),
    (SendCode.LINK, _nothing, {"text": "visit www.shop"}),
    (SendCode.LINK, _nothing, {"text": "خرید از example.com"}),
    (SendCode.OPT_OUT_MISSING, _nothing, {"to": TWO, "text": "no opt-out"}),
    (SendCode.OK, _nothing, {"to": TWO}),
]


class TestReturnCodes:
    """Each SendSms return code comes from state, not from a magic input."""

    @pytest.mark.parametrize(
        ("code", "setup", "overrides"),
        CODE_TABLE,
        ids=[f"{code.value}-{code.name}-{i}" for i, (code, _, _) in enumerate(CODE_TABLE)],
    )
    def test_code(
        self,
        emulator: Emulator,
        emulator_client: Any,
        code: SendCode,
        setup: Callable[[EmulatorState], None],
        overrides: dict[str, Any],
    ) -> None:
        """The state set up for a code produces exactly that code."""
        setup(emulator.state)
        kwargs = {"to": ["09121234567"], "text": f"سلام {OPT_OUT}", **overrides}
        credit = emulator.state.accounts["demo"].credit
        result = send(emulator_client, **kwargs)
        assert result.SendSmsResult == code
        if code is SendCode.OK:
            return
        # Nothing sent means no ids, no status bytes and no charge.
        assert (result.recId, result.status) == (None, None)
        assert emulator.state.sent == []
        assert emulator.state.accounts["demo"].credit == credit

    def test_daily_limit_counts_earlier_sends(
        self, emulator: Emulator, emulator_client: Any
    ) -> None:
        """The daily limit adds today's earlier sends and resets the next day."""
        emulator.state.accounts["demo"].daily_limit = 3
        assert send(emulator_client, TWO).SendSmsResult == SendCode.OK
        assert send(emulator_client, TWO).SendSmsResult == SendCode.DAILY_LIMIT
        emulator.state.advance(86_400)
        assert send(emulator_client, TWO).SendSmsResult == SendCode.OK


class TestCredit:
    """Charging and GetCredit."""

    def test_charged_per_part_per_recipient(self, emulator: Emulator, emulator_client: Any) -> None:
        """A 2-part UCS-2 text to 3 recipients costs 6 parts."""
        emulator.state.price_per_part = 10.0
        emulator.state.accounts["demo"].credit = 100.0
        text = "س" * 80 + OPT_OUT  # 85 UCS-2 units: more than 70, so 2 parts of 67.
        result = send(emulator_client, ["09121234567", "09121234568", "09121234569"], text)
        assert result.SendSmsResult == SendCode.OK
        assert {m.parts for m in emulator.state.sent} == {2}
        assert emulator_client.service.GetCredit(**USER) == pytest.approx(40.0)

    def test_not_enough_for_all_parts(self, emulator: Emulator, emulator_client: Any) -> None:
        """Credit for one part but not two gives code 2."""
        emulator.state.accounts["demo"].credit = 1.0
        assert send(emulator_client, ["09121234567"], "س" * 80).SendSmsResult == SendCode.NO_CREDIT

    def test_wrong_credentials_read_zero(self, emulator_client: Any) -> None:
        """GetCredit answers 0 for a wrong password, like the real service."""
        assert emulator_client.service.GetCredit("demo", "nope") == 0.0
        assert emulator_client.service.GetCredit(**USER) == 1_000_000.0


class TestDeliveries:
    """Delivery statuses move with the injected clock."""

    def test_progression(
        self, emulator: Emulator, emulator_client: Any, clock: ManualClock
    ) -> None:
        """0 just after sending, 8 half-way, then 1 or 2 (unreachable) after the delay."""
        emulator.state.unreachable.add("+989121234568")
        rec_ids = send(emulator_client, TWO).recId["long"]

        def statuses() -> list[int]:
            result = emulator_client.service.GetDeliveries(recIds={"long": rec_ids}, **USER)
            return list(result)  # zeep flattens ArrayOfInt to a list

        assert statuses() == [DeliveryCode.SENT_TO_TELECOM] * 2
        clock.now += emulator.state.delivery_delay / 2
        assert statuses() == [DeliveryCode.REACHED_TELECOM] * 2
        clock.now += emulator.state.delivery_delay / 2
        assert statuses() == [DeliveryCode.DELIVERED, DeliveryCode.NOT_DELIVERED]
        assert emulator_client.service.GetDeliveries2(recId=str(rec_ids[0])) == 1
        assert emulator_client.service.GetDeliveries2(recId=str(rec_ids[1])) == 2

    def test_unknown_ids(self, emulator: Emulator, emulator_client: Any) -> None:
        """Unknown ids read 100; another account's ids too; a non-number reads -1."""
        emulator.state.add_account(
            Account(username="other", password="pw", credit=10, lines={LINE})
        )
        theirs = send(emulator_client, ["09121234567"], "hi", username="other", password="pw")
        other_id = theirs.recId["long"][0]
        result = emulator_client.service.GetDeliveries(recIds={"long": [12345, other_id]}, **USER)
        assert result == [DeliveryCode.UNKNOWN, DeliveryCode.UNKNOWN]
        assert emulator_client.service.GetDeliveries2(recId="12345") == DeliveryCode.UNKNOWN
        assert emulator_client.service.GetDeliveries2(recId="abc") == DeliveryCode.INVALID_ID

    def test_wrong_credentials_empty(self, emulator_client: Any) -> None:
        """GetDeliveries with wrong credentials returns an empty array."""
        result = emulator_client.service.GetDeliveries(
            recIds={"long": [1]}, username="demo", password="x"
        )
        assert not result


class TestRawEnvelope:
    """Hand-written envelopes posted with http.client."""

    @pytest.mark.parametrize(
        "action", ['"http://tempuri.org/SendSms"', "http://tempuri.org/SendSms", '""', None]
    )
    def test_default_namespace(self, emulator: Emulator, action: str | None) -> None:
        """A default-namespace body works with a quoted, unquoted, empty or absent SOAPAction."""
        status, content_type, payload = post(emulator, SEND_ONE, action)
        assert (status, content_type) == (200, "text/xml; charset=utf-8")
        response = body_child(payload)
        assert response.tag == "{http://tempuri.org/}SendSmsResponse"
        ns = {"t": "http://tempuri.org/"}
        assert response.findtext("t:SendSmsResult", namespaces=ns) == "1"
        rec_id = response.findtext("t:recId/t:long", namespaces=ns)
        assert rec_id == str(emulator.state.sent[0].rec_id)
        assert base64.b64decode(response.findtext("t:status", namespaces=ns) or "") == b"\x00"
        assert emulator.state.sent[0].text == "سلام"

    def test_keep_alive(self, emulator: Emulator) -> None:
        """Several requests travel over one HTTP/1.1 connection, each with Content-Length."""
        conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
        try:
            for _ in range(3):
                headers = {"Content-Type": "text/xml; charset=utf-8"}
                conn.request("POST", "/post/Send.asmx", SEND_ONE, headers)
                response = conn.getresponse()
                assert response.getheader("Content-Length") is not None
                response.read()
                assert response.status == 200
        finally:
            conn.close()
        assert len(emulator.state.sent) == 3

    @pytest.mark.parametrize(
        ("body", "action"),
        [
            (b"<not xml", None),
            (SEND_ONE, "http://tempuri.org/GetCredit"),
            (envelope("SendSimpleSMS2", "<to>1</to>"), "http://tempuri.org/SendSimpleSMS2"),
            (b"<Envelope><Body/></Envelope>", None),
            (SEND_ONE.replace(b"<isflash>false", b"<isflash>maybe"), None),
        ],
        ids=["malformed", "action-mismatch", "unknown-operation", "not-soap", "bad-boolean"],
    )
    def test_client_faults(self, emulator: Emulator, body: bytes, action: str | None) -> None:
        """Bad requests get HTTP 500 with a soap:Client Fault and send nothing."""
        status, _, payload = post(emulator, body, action)
        assert status == 500
        assert fault_code(payload) == "soap:Client"
        assert emulator.state.sent == []

    def test_doctype_refused(self, emulator: Emulator) -> None:
        """A DOCTYPE with entities is refused before anything is processed."""
        body = (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "09121234567">'
            b'<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + SEND_ONE.split(b"?>", 1)[1].replace(b"09121234567", b"&x;&e;")
        )
        status, _, payload = post(emulator, body)
        assert status == 500
        assert fault_code(payload) == "soap:Client"
        assert b"root:" not in payload
        assert emulator.state.sent == []

    def test_wrong_content_type(self, emulator: Emulator) -> None:
        """SOAP 1.1 must be text/xml, as ASMX insists."""
        status, _, _ = post(emulator, SEND_ONE, content_type="application/json")
        assert status == 415

    def test_get_and_unknown_paths(self, emulator: Emulator) -> None:
        """GET without ?wsdl shows a page; other paths are 404."""
        conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
        try:
            conn.request("GET", "/post/Send.asmx")
            response = conn.getresponse()
            assert (response.status, response.read()[:6]) == (200, b"<html>")
            conn.request("GET", "/elsewhere")
            response = conn.getresponse()
            assert (response.status, response.read()) == (404, b"Not Found")
        finally:
            conn.close()
        assert post(emulator, SEND_ONE, path="/elsewhere")[0] == 404


class TestFaults:
    """Injected transport faults apply to the next N SOAP POSTs."""

    def test_delay_then_answer(self, emulator: Emulator) -> None:
        """A client timing out before the delay ends sees a timeout."""
        emulator.faults.delay(1.0)
        conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=0.05)
        try:
            conn.request("POST", "/post/Send.asmx", SEND_ONE, {"Content-Type": "text/xml"})
            with pytest.raises(TimeoutError):
                conn.getresponse()
        finally:
            conn.close()
        assert emulator.state.requests[-1].fault == "delay"

    def test_short_delay_still_answers(self, emulator: Emulator) -> None:
        """After the delay the reply is normal."""
        emulator.faults.next(Fault.DELAY, seconds=0.01)
        assert post(emulator, SEND_ONE)[0] == 200
        assert len(emulator.state.sent) == 1

    def test_http_500(self, emulator: Emulator) -> None:
        """HTTP 500 with an HTML page, and nothing is sent."""
        emulator.faults.http_500()
        status, content_type, payload = post(emulator, SEND_ONE)
        assert (status, content_type.split(";")[0]) == (500, "text/html")
        assert payload.startswith(b"<html>")
        assert emulator.state.sent == []

    def test_soap_fault(self, emulator: Emulator, emulator_client: Any) -> None:
        """A soap:Server Fault with the given message, seen by zeep as a Fault."""
        emulator.faults.soap_fault("database is down")
        with pytest.raises(zeep.exceptions.Fault, match="database is down"):
            send(emulator_client, ["09121234567"])
        assert emulator.state.sent == []

    def test_drop_connection_after_sending(self, emulator: Emulator) -> None:
        """The socket closes without a reply, yet the message was sent."""
        emulator.faults.drop_connection()
        with pytest.raises(http.client.RemoteDisconnected):
            post(emulator, SEND_ONE)
        assert len(emulator.state.sent) == 1
        assert post(emulator, SEND_ONE)[0] == 200

    def test_garbage(self, emulator: Emulator) -> None:
        """HTTP 200 text/xml whose body is not well-formed XML."""
        emulator.faults.garbage()
        status, content_type, payload = post(emulator, SEND_ONE)
        assert (status, content_type) == (200, "text/xml; charset=utf-8")
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(payload)

    def test_wrong_shape(self, emulator: Emulator, emulator_client: Any) -> None:
        """A valid envelope whose body is not SendSmsResponse."""
        emulator.faults.wrong_shape()
        status, _, payload = post(emulator, SEND_ONE)
        assert status == 200
        assert body_child(payload).tag == "{http://tempuri.org/}UnexpectedResponse"

    def test_count_and_persistent(self, emulator: Emulator) -> None:
        """count=N hits N requests; count=None hits every request until cleared."""
        emulator.faults.http_500(count=2)
        assert [post(emulator, SEND_ONE)[0] for _ in range(3)] == [500, 500, 200]
        emulator.faults.http_500(count=None)
        assert [post(emulator, SEND_ONE)[0] for _ in range(3)] == [500, 500, 500]
        emulator.faults.clear()
        assert post(emulator, SEND_ONE)[0] == 200

    def test_bad_count(self, emulator: Emulator) -> None:
        """A count below one is a configuration error."""
        with pytest.raises(ValueError, match="count"):
            emulator.faults.next(Fault.GARBAGE, count=0)

    def test_admin_and_wsdl_not_faulted(self, emulator: Emulator) -> None:
        """Faults only hit SOAP POSTs; the WSDL and admin endpoints stay usable."""
        emulator.faults.http_500()
        client = zeep_client(emulator.wsdl_url)
        client.transport.session.close()
        assert admin(emulator, "GET", "sent")[0] == 200
        assert post(emulator, SEND_ONE)[0] == 500


class TestAdmin:
    """JSON endpoints under /_emulator/."""

    def test_sent_and_requests(self, emulator: Emulator) -> None:
        """GET sent and requests list what arrived, Persian included."""
        post(emulator, SEND_ONE)
        status, sent = admin(emulator, "GET", "sent")
        assert status == 200
        assert sent[0]["recipient"] == "989121234567"
        assert sent[0]["text"] == "سلام"
        assert sent[0]["rec_id"] == emulator.state.sent[0].rec_id
        status, requests = admin(emulator, "GET", "requests")
        assert requests == [
            {
                "operation": "SendSms",
                "recipients": 1,
                "fault": None,
                "at": emulator.state.requests[0].at,
                "in_flight": 1,
            }
        ]

    def test_arm_fault(self, emulator: Emulator) -> None:
        """POST faults arms a fault for the next SOAP request."""
        status, armed = admin(emulator, "POST", "faults", {"fault": "drop", "count": 1})
        assert status == 200
        assert armed["armed"][0]["fault"] == "drop"
        assert admin(emulator, "GET", "faults")[1][0]["remaining"] == 1
        with pytest.raises(http.client.RemoteDisconnected):
            post(emulator, SEND_ONE)
        assert len(emulator.state.sent) == 1

    @pytest.mark.parametrize(
        "payload", [{"fault": "meteor"}, {"count": 1}, [1], {"fault": "drop", "count": 0}]
    )
    def test_bad_fault(self, emulator: Emulator, payload: Any) -> None:
        """An unknown fault or bad count is a 400 with an error message."""
        status, body = admin(emulator, "POST", "faults", payload)
        assert status == 400
        assert "error" in body

    def test_advance_and_reset(self, emulator: Emulator) -> None:
        """advance moves time forward; reset clears records and faults."""
        post(emulator, SEND_ONE)
        before = emulator.state.now()
        assert admin(emulator, "POST", "advance", {"seconds": 60})[0] == 200
        assert emulator.state.now() == before + 60
        assert admin(emulator, "POST", "advance", {})[0] == 400
        emulator.faults.garbage()
        assert admin(emulator, "POST", "reset", {})[0] == 200
        assert (emulator.state.sent, emulator.state.requests) == ([], [])
        assert emulator.faults.pending == []
        assert admin(emulator, "GET", "nothing")[0] == 404


class TestLifecycle:
    """Starting and stopping."""

    def test_url_needs_start(self) -> None:
        """The URL is only known once the socket is bound."""
        emulator = Emulator()
        with pytest.raises(RuntimeError, match="start"):
            _ = emulator.url
        emulator.stop()  # stopping an emulator that never ran is harmless

    def test_stop_closes_idle_connections(self) -> None:
        """stop() ends keep-alive connections so no handler thread lingers."""
        emulator = Emulator().start()
        conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
        conn.request("POST", "/post/Send.asmx", SEND_ONE, {"Content-Type": "text/xml"})
        conn.getresponse().read()
        emulator.stop()
        emulator.stop()
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            roundtrip(conn)
        conn.close()


class TestProviderUrl:
    """Emulator.provider_url() is a melipayamak:// URL smsbridge sends through as it is."""

    def test_demo(self, emulator: Emulator) -> None:
        """The first account (demo) and its line, pointed at the emulator."""
        assert emulator.provider_url() == (
            f"melipayamak://demo:demo-password@/?from={LINE}&endpoint={emulator.url}"
        )

    def test_any_account_sends(self, emulator: Emulator) -> None:
        """Names and passwords are escaped, so any account's URL sends."""
        emulator.state.add_account(
            Account(username="al ice", password="p@ss:w/rd%", credit=10, lines={"3000505"})
        )
        url = emulator.provider_url("al ice")
        with smsbridge.Client(url, autoload_plugins=True) as client:
            assert client.send("hi", "09121234567").all_accepted
        (message,) = emulator.state.sent
        assert (message.username, message.sender) == ("al ice", "3000505")


class TestCli:
    """python -m smsbridge_melipayamak.emulator."""

    def test_options_shape_state(self) -> None:
        """--account, --line and --credit extend the demo state."""
        args = build_parser().parse_args(
            ["--account", "alice:s3cret", "--line", "3000505", "--credit", "42"]
        )
        state = build_state(args)
        assert state.accounts["alice"].password == "s3cret"
        assert {"3000505", LINE} <= state.accounts["alice"].lines
        assert state.accounts["demo"].credit == 42.0

    def test_prints_a_provider_url(self) -> None:
        """The second line is a provider URL that smsbridge sends through as it is."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        command = [sys.executable, "-m", "smsbridge_melipayamak.emulator", "--port", "0"]
        command += ["--account", "alice:pw"]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
            try:
                assert process.stdout is not None
                endpoint = process.stdout.readline().split()[-1]
                line = process.stdout.readline().rstrip("\n")
                assert line == (
                    f"provider URL: melipayamak://alice:pw@/?from={LINE}&endpoint={endpoint}"
                )
                with smsbridge.Client(line.split()[-1], autoload_plugins=True) as client:
                    assert client.send("hi", "09121234567").all_accepted
                port = int(endpoint.split(":")[2].split("/")[0])
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/_emulator/sent")
                (sent,) = json.loads(conn.getresponse().read())
                conn.close()
                assert sent["username"] == "alice"
            finally:
                process.terminate()
                process.wait(timeout=10)

    def test_busy_port_is_one_line(self, emulator: Emulator) -> None:
        """A port in use: one line on stderr naming the port, exit status 1, no traceback."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        command = [sys.executable, "-m", "smsbridge_melipayamak.emulator"]
        done = subprocess.run(
            [*command, "--port", str(emulator.port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(
            "python -m smsbridge_melipayamak.emulator: error: "
            f"port {emulator.port} is already in use on 127.0.0.1"
        )

    def test_busy_port_through_the_provider_command(
        self, emulator: Emulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """smsbridge-melipayamak emulator names itself in the same one line."""
        assert cli.main(["emulator", "--port", str(emulator.port)]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith(
            f"smsbridge-melipayamak emulator: error: port {emulator.port} is already in use"
        )
        assert err.count("\n") == 1

    def test_runs_on_port_zero(self) -> None:
        """It prints the real URL and answers SOAP until killed."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        command = [sys.executable, "-m", "smsbridge_melipayamak.emulator", "--port", "0"]
        command += ["--account", "alice:pw"]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
            try:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert line.startswith("emulator listening on http://127.0.0.1:")
                url = line.split()[-1]
                port = int(url.split(":")[2].split("/")[0])
                assert port != 0
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                body = envelope("GetCredit", "<username>alice</username><password>pw</password>")
                conn.request("POST", "/post/Send.asmx", body, {"Content-Type": "text/xml"})
                response = conn.getresponse()
                assert response.status == 200
                assert b"<GetCreditResult>1000000.0</GetCreditResult>" in response.read()
                conn.close()
            finally:
                process.terminate()
                process.wait(timeout=10)
