"""The emulator's side of pattern sends and of the REST API, over real sockets and without the
provider: SendByBaseNumber2 through zeep and raw envelopes, the REST endpoints with form and
JSON bodies, the patterns admin endpoints, the ``--pattern`` flag, and the rule order."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import zeep
from smsbridge_melipayamak.emulator import (
    DEMO_PATTERN,
    DEMO_SERVICE_LINE,
    Account,
    Emulator,
    EmulatorState,
    Pattern,
    PatternCode,
)
from smsbridge_melipayamak.emulator.__main__ import build_parser, build_state

import smsbridge
from smsbridge import Template

USER = {"username": "demo", "password": "demo-password"}
ONE = "09121234567"


def zeep_client(url: str) -> Any:
    """A zeep client on the emulator's served WSDL."""
    return zeep.Client(url)  # type: ignore[no-untyped-call]


@pytest.fixture
def soap(emulator: Emulator) -> Iterator[Any]:
    """zeep on the emulator."""
    client = zeep_client(emulator.wsdl_url)
    yield client
    client.transport.session.close()


def http_call(
    emulator: Emulator,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, str, bytes]:
    """One HTTP exchange with the emulator: status, Content-Type, body."""
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        headers = {} if content_type is None else {"Content-Type": content_type}
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def rest(emulator: Emulator, method: str, /, **fields: object) -> Any:
    """POST a form to ``/api/SendSMS/<method>`` and return the decoded JSON answer."""
    status, media, body = http_call(
        emulator,
        "POST",
        f"/api/SendSMS/{method}",
        urlencode({**USER, **fields}).encode(),
        "application/x-www-form-urlencoded",
    )
    assert (status, media) == (200, "application/json; charset=utf-8"), body
    return json.loads(body)


def admin(emulator: Emulator, method: str, name: str, payload: Any = None) -> tuple[int, Any]:
    """An admin call: status and decoded JSON."""
    body = None if payload is None else json.dumps(payload).encode()
    status, _, answer = http_call(emulator, method, f"/_emulator/{name}", body)
    return status, json.loads(answer)


def pattern(client: Any, text: str, to: str = ONE, body_id: int = DEMO_PATTERN, **kw: Any) -> str:
    """SendByBaseNumber2 through zeep; its string result."""
    params = {**USER, **kw}
    result: str = client.service.SendByBaseNumber2(text=text, to=to, bodyId=body_id, **params)
    return result


class TestPatterns:
    """Registered patterns, rendered into state."""

    def test_render(self) -> None:
        """{0}, {1}… are filled in order, repeated placeholders too; other braces are text."""
        found = Pattern(body_id=1, body="{1} {0} {1} {x} {{0}} {5}")
        assert found.variables == 6
        assert found.render(["a", "b"]) == "b a b {x} {a} {5}"
        assert Pattern(body_id=2, body="no variables").variables == 0

    def test_demo_state(self) -> None:
        """The demo has the OTP pattern, and its account the shared service line."""
        state = EmulatorState.demo()
        assert state.patterns[DEMO_PATTERN].body == "کد ورود شما: {0}"
        assert state.accounts["demo"].service_line == DEMO_SERVICE_LINE
        assert state.service_lines == {DEMO_SERVICE_LINE}

    def test_add_pattern(self) -> None:
        """Without an id the next free one is taken; with one it is replaced."""
        state = EmulatorState.demo()
        assert state.add_pattern("a {0}").body_id == DEMO_PATTERN + 1
        assert state.add_pattern("b", 7, approved=False) == Pattern(
            body_id=7, body="b", approved=False
        )
        assert state.add_pattern("c {0}").body_id == DEMO_PATTERN + 2
        assert state.add_pattern("d", 7).approved

    def test_sent_through_zeep(self, emulator: Emulator, soap: Any) -> None:
        """SendByBaseNumber2 answers a recId; the state keeps the rendered text, the pattern,
        the variables and the service line, and charges per part."""
        before = emulator.state.accounts["demo"].credit
        result = pattern(soap, "4821")
        (sent,) = emulator.state.sent
        assert result == str(sent.rec_id)
        assert (sent.text, sent.body_id, sent.variables) == (
            "کد ورود شما: 4821",
            DEMO_PATTERN,
            ("4821",),
        )
        assert (sent.sender, sent.parts, sent.flash, sent.udh) == (DEMO_SERVICE_LINE, 1, False, "")
        assert emulator.state.accounts["demo"].credit == before - 1
        assert emulator.state.delivery(result) == 0
        assert [r.recipients for r in emulator.state.requests] == [1]

    @pytest.mark.parametrize(
        ("to", "text", "body_id", "code"),
        [
            (f"{ONE},09121234568", "4821", DEMO_PATTERN, PatternCode.ONE_NUMBER_ONLY),
            (f"{ONE};09121234568", "4821", DEMO_PATTERN, PatternCode.ONE_NUMBER_ONLY),
            (f"{ONE} 09121234568", "4821", DEMO_PATTERN, PatternCode.ONE_NUMBER_ONLY),
            (ONE, "4821", 424242, PatternCode.UNKNOWN_PATTERN),
            (ONE, "4821;", DEMO_PATTERN, PatternCode.VARIABLES_MISMATCH),
            (ONE, "", DEMO_PATTERN, PatternCode.VARIABLES_MISMATCH),
            (ONE, "http://x.ir", DEMO_PATTERN, PatternCode.FORBIDDEN_VARIABLE),
            ("9121", "4821", DEMO_PATTERN, PatternCode.NOT_SENT),
            ("", "4821", DEMO_PATTERN, PatternCode.NOT_SENT),
        ],
        ids=[
            "comma",
            "semicolon",
            "space",
            "unknown",
            "trailing-;",
            "empty",
            "link",
            "short",
            "none",
        ],
    )
    def test_codes_from_the_request(
        self, emulator: Emulator, soap: Any, to: str, text: str, body_id: int, code: PatternCode
    ) -> None:
        """Codes the request itself causes, several numbers in ``to`` (-2) included."""
        assert pattern(soap, text, to=to, body_id=body_id) == str(int(code))
        assert emulator.state.sent == []

    def test_rule_order(self, emulator: Emulator, soap: Any) -> None:
        """With everything wrong at once, each fix reveals the next code, in the documented
        order; nothing is sent or charged until the last."""
        state = emulator.state
        demo = state.accounts["demo"]
        demo.pattern_access = False
        state.maintenance = True
        demo.service_line = None
        demo.hourly_pattern_limit = 0
        demo.daily_limit = 0
        demo.credit = 0.0
        state.add_pattern("{0} {1}", 5, approved=False)
        steps = [
            (lambda: None, PatternCode.NO_ACCESS),
            (lambda: setattr(demo, "pattern_access", True), PatternCode.INTERNAL_ERROR),
            (lambda: setattr(state, "maintenance", False), PatternCode.NO_LINE),
            (lambda: setattr(demo, "service_line", "1"), PatternCode.SENDER_ERROR),
            (lambda: setattr(demo, "service_line", DEMO_SERVICE_LINE), PatternCode.UNKNOWN_PATTERN),
            (lambda: state.add_pattern("{0} {1}", 5), PatternCode.VARIABLES_MISMATCH),
            (lambda: state.add_pattern("{0}", 5), PatternCode.FORBIDDEN_VARIABLE),
        ]
        for change, code in steps:
            change()
            assert pattern(soap, "a@b.ir", body_id=5) == str(int(code))
        rest = [
            (lambda: None, PatternCode.HOURLY_LIMIT),
            (lambda: setattr(demo, "hourly_pattern_limit", 10), PatternCode.DAILY_LIMIT),
            (lambda: setattr(demo, "daily_limit", 10), PatternCode.NO_CREDIT),
        ]
        for change, code in rest:
            change()
            assert pattern(soap, "4821", body_id=5) == str(int(code))
        assert pattern(soap, "4821", to="+447911123456", body_id=5) == str(
            int(PatternCode.NOT_SENT)
        )
        demo.credit = 1.0
        assert pattern(soap, "4821", body_id=5).isdigit()
        assert demo.credit == 0.0
        assert pattern(soap, "4821", password="x", body_id=5) == "0"

    def test_hourly_limit_counts_pattern_sends(self, emulator: Emulator, soap: Any) -> None:
        """Two pattern sends an hour: the third is 19, and an hour later it goes."""
        emulator.state.accounts["demo"].hourly_pattern_limit = 2
        assert pattern(soap, "1").isdigit()
        assert pattern(soap, "2").isdigit()
        assert pattern(soap, "3") == "19"
        emulator.state.advance(3600)
        assert pattern(soap, "3").isdigit()

    @pytest.mark.parametrize("body_id", ["12x", "", "۱۲", "2147483648", "-2147483649", "1_0"])
    def test_bad_body_id_is_a_client_fault(self, emulator: Emulator, body_id: str) -> None:
        """A bodyId that is not an xsd:int is refused as ASMX refuses it."""
        body = (
            b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
            b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            b'<SendByBaseNumber2 xmlns="http://tempuri.org/"><username>demo</username>'
            b"<password>demo-password</password><text>1</text><to>09121234567</to>"
            b"<bodyId>%s</bodyId></SendByBaseNumber2></soap:Body></soap:Envelope>"
        ) % body_id.encode()
        status, _, answer = http_call(emulator, "POST", "/post/Send.asmx", body, "text/xml")
        assert status == 500
        assert b"soap:Client" in answer
        assert b"xsd:int" in answer


class TestAdmin:
    """GET and POST /_emulator/patterns; sent messages show the pattern."""

    def test_list_and_add(self, emulator: Emulator) -> None:
        """A pattern added over HTTP is listed, and sends."""
        status, added = admin(emulator, "POST", "patterns", {"body": "Your code: {0}"})
        assert status == 200
        assert added == {
            "body_id": DEMO_PATTERN + 1,
            "body": "Your code: {0}",
            "approved": True,
            "variables": 1,
        }
        admin(emulator, "POST", "patterns", {"body": "x {0} {1}", "body_id": 9, "approved": False})
        status, listed = admin(emulator, "GET", "patterns")
        assert [(p["body_id"], p["approved"], p["variables"]) for p in listed] == [
            (9, False, 2),
            (DEMO_PATTERN, True, 1),
            (DEMO_PATTERN + 1, True, 1),
        ]
        with smsbridge.Client(emulator.provider_url(), autoload_plugins=True) as client:
            template = Template(id=str(DEMO_PATTERN + 1), variables=["77"])
            assert client.send(template, [ONE]).all_accepted

    @pytest.mark.parametrize(
        "payload",
        [None, {}, {"body": 1}, {"body": "x", "body_id": "7"}, {"body": "x", "approved": "yes"}],
    )
    def test_bad_pattern(self, emulator: Emulator, payload: Any) -> None:
        """A pattern without a text, or with a bad id or flag, is a 400."""
        status, answer = admin(emulator, "POST", "patterns", payload)
        assert status == 400
        assert "error" in answer

    def test_sent_shows_the_rendered_text(self, emulator: Emulator) -> None:
        """GET sent lists a pattern send with its text, pattern and variables."""
        rest(emulator, "BaseServiceNumber", text="۴۸۲۱", to=ONE, bodyId=DEMO_PATTERN)
        _, (sent,) = admin(emulator, "GET", "sent")
        assert (sent["text"], sent["body_id"], sent["variables"]) == (
            "کد ورود شما: ۴۸۲۱",
            DEMO_PATTERN,
            ["۴۸۲۱"],
        )
        assert sent["sender"] == DEMO_SERVICE_LINE
        _, accounts = admin(emulator, "GET", "accounts")
        assert accounts[0]["service_line"] == DEMO_SERVICE_LINE
        assert "password" not in accounts[0]


class TestRest:
    """The REST endpoints, on the same state as Send.asmx."""

    def test_send_sms(self, emulator: Emulator) -> None:
        """A recId in Value, RetStatus 1; a code in Value with RetStatus 1; wrong credentials
        with RetStatus 0."""
        sent = rest(emulator, "SendSMS", to=ONE, **{"from": "50004001234567"}, text="سلام")
        assert (sent["RetStatus"], sent["StrRetStatus"]) == (1, "Ok")
        assert sent["Value"] == str(emulator.state.sent[0].rec_id)
        refused = rest(emulator, "SendSMS", to=ONE, **{"from": "999"}, text="سلام")
        assert refused == {"Value": "5", "RetStatus": 1, "StrRetStatus": "Ok"}
        wrong = rest(emulator, "SendSMS", to=ONE, password="x", text="hi")
        assert wrong == {"Value": "0", "RetStatus": 0, "StrRetStatus": "InvalidUserPass"}

    def test_several_numbers(self, emulator: Emulator) -> None:
        """A comma-separated ``to`` is one request of several recipients (SendSms's rules:
        without the opt-out text it is code 15)."""
        line = {"from": "50004001234567"}
        assert rest(emulator, "SendSMS", to=f"{ONE},09121234568", **line, text="x")["Value"] == "15"
        answer = rest(emulator, "SendSMS", to=f"{ONE},09121234568", **line, text="x لغو11")
        assert answer["Value"].split(",") == [str(m.rec_id) for m in emulator.state.sent]
        assert emulator.state.requests[-1].recipients == 2

    def test_json_body_and_case(self, emulator: Emulator) -> None:
        """JSON bodies and any spelling of the method and field names are accepted."""
        body = json.dumps(
            {
                "UserName": "demo",
                "PassWord": "demo-password",
                "To": ONE,
                "Text": "1",
                "BodyId": DEMO_PATTERN,
            }
        ).encode()
        status, _, answer = http_call(
            emulator, "POST", "/API/sendsms/baseservicenumber", body, "application/json"
        )
        assert status == 200
        assert json.loads(answer)["Value"] == str(emulator.state.sent[0].rec_id)
        assert emulator.state.requests[-1].operation == "rest/BaseServiceNumber"

    def test_flash_from_the_form(self, emulator: Emulator) -> None:
        """isFlash (any case) marks the message flash."""
        rest(emulator, "SendSMS", to=ONE, **{"from": "50004001234567"}, text="a", isflash="True")
        rest(emulator, "SendSMS", to=ONE, **{"from": "50004001234567"}, text="b", isFlash="false")
        assert [m.flash for m in emulator.state.sent] == [True, False]

    def test_deliveries_and_credit(self, emulator: Emulator) -> None:
        """GetDeliveries2 and GetCredit answer from the same state as SOAP."""
        rec_id = rest(emulator, "BaseServiceNumber", text="1", to=ONE, bodyId=DEMO_PATTERN)["Value"]
        assert rest(emulator, "GetDeliveries2", recId=rec_id)["Value"] == "0"
        emulator.state.advance(emulator.state.delivery_delay)
        assert rest(emulator, "GetDeliveries2", recId=rec_id)["Value"] == "1"
        assert rest(emulator, "GetDeliveries2", recId="x")["Value"] == "-1"
        assert rest(emulator, "GetDeliveries2", recId="7")["Value"] == "100"
        assert rest(emulator, "GetDeliveries2", recId=rec_id, password="x") == {
            "Value": "-3",
            "RetStatus": 0,
            "StrRetStatus": "InvalidUserPass",
        }
        credit = emulator.state.accounts["demo"].credit
        assert rest(emulator, "GetCredit") == {
            "Value": repr(credit),
            "RetStatus": 1,
            "StrRetStatus": "Ok",
        }
        assert rest(emulator, "GetCredit", password="x")["Value"] is None

    @pytest.mark.parametrize(
        ("method", "path", "body", "content_type", "status"),
        [
            ("POST", "/api/SendSMS/Nothing", b"", "application/x-www-form-urlencoded", 404),
            ("GET", "/api/SendSMS/GetCredit", None, None, 405),
            ("POST", "/api/SendSMS/GetCredit", b"<x/>", "text/xml", 415),
            ("POST", "/api/SendSMS/GetCredit", b"[1]", "application/json", 415),
            ("POST", "/api/SendSMS/GetCredit", b"{", "application/json", 415),
            ("POST", "/api/Other/GetCredit", b"", None, 404),
        ],
        ids=["unknown-method", "get", "xml", "json-array", "bad-json", "other-path"],
    )
    def test_refusals(
        self,
        emulator: Emulator,
        method: str,
        path: str,
        body: bytes | None,
        content_type: str | None,
        status: int,
    ) -> None:
        """Unknown methods and paths, other HTTP methods and bodies are refused as ASP.NET
        refuses them, with nothing logged as a service call."""
        assert http_call(emulator, method, path, body, content_type)[0] == status
        assert emulator.state.requests == []

    def test_faults_apply(self, emulator: Emulator) -> None:
        """Faults armed for an operation hit the REST one by its name."""
        emulator.faults.http_500(count=None)
        emulator.faults.clear()
        emulator.faults.drop_connection(operation="rest/GetCredit")
        with pytest.raises(http.client.RemoteDisconnected):
            rest(emulator, "GetCredit")
        assert rest(emulator, "GetCredit")["RetStatus"] == 1
        assert [r.fault for r in emulator.state.requests] == ["drop", None]


class TestCommandLine:
    """``--pattern`` and the printed REST URL."""

    def test_pattern_flag(self) -> None:
        """--pattern ID=TEXT and --pattern TEXT register approved patterns; extra accounts get
        the demo's service line."""
        args = build_parser().parse_args(
            ["--pattern", "7=Code {0}", "--pattern", "کد {0} برای {1}", "--account", "al:pw"]
        )
        state = build_state(args)
        assert state.patterns[7] == Pattern(body_id=7, body="Code {0}")
        assert state.patterns[DEMO_PATTERN + 1].body == "کد {0} برای {1}"
        assert state.accounts["al"].service_line == DEMO_SERVICE_LINE

    def test_prints_the_rest_url_and_patterns(self) -> None:
        """The fourth line is a REST provider URL that sends as printed; then the patterns."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        command = [sys.executable, "-m", "smsbridge_melipayamak.emulator", "--port", "0"]
        command += ["--pattern", "7=Code {0}"]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
            try:
                assert process.stdout is not None
                lines = [process.stdout.readline().rstrip("\n") for _ in range(6)]
                base = lines[0].split()[-1].removesuffix("/post/Send.asmx")
                assert lines[3] == (
                    "provider URL (REST): melipayamak://demo:demo-password@/?from=50004001234567"
                    f"&api=rest&endpoint={base}/api/SendSMS"
                )
                assert lines[4:] == [
                    "pattern 7: 'Code {0}'",
                    f"pattern {DEMO_PATTERN}: 'کد ورود شما: {{0}}'",
                ]
                with smsbridge.Client(lines[3].split()[-1], autoload_plugins=True) as client:
                    report = client.send(Template(id="7", variables=["55"]), ONE)
                    assert report.all_accepted
                    assert client.balance().amount == 1_000_000 - 1
            finally:
                process.terminate()
                process.wait(timeout=10)

    def test_account_for_the_rest_url(self) -> None:
        """provider_url(api="rest") escapes any account like the SOAP one."""
        with Emulator() as emulator:
            emulator.state.add_account(
                Account(
                    username="al ice",
                    password="p@ss:w/rd%",
                    credit=10,
                    lines={"3000505"},
                    service_line=DEMO_SERVICE_LINE,
                )
            )
            url = emulator.provider_url("al ice", api="rest")
            assert "api=rest" in url
            with smsbridge.Client(url, autoload_plugins=True) as client:
                assert client.send("hi", ONE).all_accepted
                assert client.send(
                    Template(id=str(DEMO_PATTERN), variables=["1"]), ONE
                ).all_accepted
            assert [m.username for m in emulator.state.sent] == ["al ice", "al ice"]
