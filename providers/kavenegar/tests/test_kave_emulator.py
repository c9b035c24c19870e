"""The emulator's own rules, over HTTP: local-id deduplication and its window, delivery
progression on the manual clock, credit in rials, templates, the methods the provider does not
use, the admin endpoints and faults, and its command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from kave_support import KEY, LINE, kave_url
from smsbridge_kavenegar.emulator import Emulator, EmulatorState, normalise_receptor

import smsbridge
from smsbridge import DeliveryStatus, Template
from smsbridge.testing.server import ManualClock

HOUR = 3600.0


def call(emulator: Emulator, method: str, key: str = KEY, **fields: str) -> tuple[int, Any]:
    """POST ``fields`` to ``method``: (HTTP status, body)."""
    request = urllib.request.Request(  # noqa: S310 - the emulator on 127.0.0.1
        f"{emulator.url}/v1/{key}/{method}.json", data=urlencode(fields).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def send(emulator: Emulator, receptor: str, message: str = "hi", **more: str) -> list[Any]:
    status, body = call(emulator, "sms/send", receptor=receptor, message=message, **more)
    assert status == 200, body
    entries: list[Any] = body["entries"]
    return entries


def statuses(emulator: Emulator, *ids: int | str) -> list[int]:
    status, body = call(emulator, "sms/status", messageid=",".join(map(str, ids)))
    assert status == 200, body
    return [entry["status"] for entry in body["entries"]]


class TestSend:
    """sms/send."""

    def test_entries(self, emulator: Emulator) -> None:
        """One entry per receptor, in order, with id, status, cost; credit is charged."""
        before = emulator.state.accounts[KEY].credit
        entries = send(emulator, "09121234567,+989351234567,9131234567", "سلام")
        assert [e["receptor"] for e in entries] == ["09121234567", "09351234567", "09131234567"]
        assert [e["status"] for e in entries] == [1, 1, 1]
        assert [e["cost"] for e in entries] == [120, 120, 120]
        assert len({e["messageid"] for e in entries}) == 3
        assert all(e["sender"] == LINE for e in entries)
        assert emulator.state.accounts[KEY].credit == before - 360
        assert [m.recipient for m in emulator.state.sent] == [
            "+989121234567",
            "+989351234567",
            "+989131234567",
        ]

    def test_multipart_costs_more(self, emulator: Emulator) -> None:
        """Cost is per SMS part (71 Persian characters are two)."""
        (entry,) = send(emulator, "09121234567", "س" * 71)
        assert entry["cost"] == 240

    def test_get_with_query_parameters(self, emulator: Emulator) -> None:
        """GET works too, parameters in the query."""
        query = urlencode({"receptor": "09121234567", "message": "hi"})
        url = f"{emulator.url}/v1/{KEY}/sms/send.json?{query}"
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            assert json.loads(answer.read())["entries"][0]["status"] == 1

    def test_localid_deduplicates(self, emulator: Emulator, clock: ManualClock) -> None:
        """A localid seen in the last 12 hours returns its record, unsent and uncharged;
        after 12 hours it is sent again."""
        (first,) = send(emulator, "09121234567", localid="77")
        credit = emulator.state.accounts[KEY].credit
        clock.now += 11 * HOUR
        (again,) = send(emulator, "09121234567", localid="77")
        assert again["messageid"] == first["messageid"]
        assert (len(emulator.state.sent), emulator.state.deduplicated) == (1, 1)
        assert emulator.state.accounts[KEY].credit == credit
        clock.now += 2 * HOUR
        (later,) = send(emulator, "09121234567", localid="77")
        assert later["messageid"] != first["messageid"]
        assert len(emulator.state.sent) == 2

    def test_localids_are_per_account(self, emulator: Emulator) -> None:
        """Another account's localid is its own."""
        state = emulator.state
        other = attrs_copy(state.accounts[KEY], name="other", api_key="other-key")
        state.add_account(other)
        send(emulator, "09121234567", localid="5")
        status, _ = call(
            emulator, "sms/send", key="other-key", receptor="09121234567", message="x", localid="5"
        )
        assert status == 200
        assert len(state.sent) == 2

    def test_blocked_receptor(self, emulator: Emulator) -> None:
        """A receptor refusing advertising lines gets status 14 at no cost."""
        emulator.state.blocked = {"+989121234567"}
        entries = send(emulator, "09121234567,09351234567")
        assert [(e["status"], e["cost"]) for e in entries] == [(14, 0), (1, 120)]

    def test_scheduled(self, emulator: Emulator, clock: ManualClock) -> None:
        """A future date is status 2 until then, then goes out."""
        (entry,) = send(emulator, "09121234567", date=str(int(clock.now) + 60))
        assert entry["status"] == 2
        clock.now += 60.5
        assert statuses(emulator, entry["messageid"]) == [1]
        clock.now += 5
        assert statuses(emulator, entry["messageid"]) == [10]

    @pytest.mark.parametrize(
        ("given", "e164"),
        [
            ("09121234567", "+989121234567"),
            ("00989121234567", "+989121234567"),
            ("+989121234567", "+989121234567"),
            ("9121234567", "+989121234567"),
            ("00447911123456", "+447911123456"),
            ("02112345678", None),
            ("00982112345678", None),
            ("abc", None),
        ],
    )
    def test_receptor_forms(self, given: str, e164: str | None) -> None:
        """The documented receptor forms; landlines are not mobiles."""
        assert normalise_receptor(given) == e164

    def test_sendarray(self, emulator: Emulator) -> None:
        """sendarray takes JSON arrays of equal length, one sender and text each."""
        emulator.state.accounts[KEY].lines.add("3000")
        status, body = call(
            emulator,
            "sms/sendarray",
            receptor='["09121234567", "09351234567"]',
            sender=f'["{LINE}", "3000"]',
            message='["a", "b"]',
            localmessageids="[1, 2]",
        )
        assert status == 200, body
        assert [(m.sender, m.text, m.localid) for m in emulator.state.sent] == [
            (LINE, "a", "1"),
            ("3000", "b", "2"),
        ]


class TestDelivery:
    """Statuses move with the clock."""

    def test_progression(self, emulator: Emulator, clock: ManualClock) -> None:
        """Queued, with the operator, then delivered, undelivered or failed."""
        emulator.state.unreachable = {"+989351234567"}
        emulator.state.operator_failures = {"+989131234567"}
        ids = [e["messageid"] for e in send(emulator, "09121234567,09351234567,09131234567")]
        assert statuses(emulator, *ids) == [1, 1, 1]
        clock.now += 1
        assert statuses(emulator, *ids) == [4, 4, 4]
        clock.now += 1
        assert statuses(emulator, *ids) == [10, 11, 6]

    def test_unknown_foreign_and_old_ids(self, emulator: Emulator, clock: ManualClock) -> None:
        """Ids never sent, of another account, not numbers, or older than 48 hours: 100."""
        (entry,) = send(emulator, "09121234567")
        other = attrs_copy(emulator.state.accounts[KEY], name="other", api_key="other-key")
        emulator.state.add_account(other)
        _, body = call(emulator, "sms/status", key="other-key", messageid=str(entry["messageid"]))
        assert body["entries"][0]["status"] == 100
        _, body = call(emulator, "sms/status", messageid="5,x")
        assert [(e["messageid"], e["status"]) for e in body["entries"]] == [(5, 100), ("x", 100)]
        clock.now += 47 * HOUR
        assert statuses(emulator, entry["messageid"]) == [10]
        clock.now += 2 * HOUR
        assert statuses(emulator, entry["messageid"]) == [100]

    def test_status_by_localid(self, emulator: Emulator, clock: ManualClock) -> None:
        """Found within 12 hours (localid as text), else 100."""
        (entry,) = send(emulator, "09121234567", localid="450")
        _, body = call(emulator, "sms/statuslocalmessageid", localid="450,451")
        assert body["entries"] == [
            {"messageid": entry["messageid"], "localid": "450", "status": 1,
             "statustext": "در صف ارسال"},
            {"messageid": 0, "localid": "451", "status": 100,
             "statustext": "شناسه پیامک نامعتبر است"},
        ]  # fmt: skip
        clock.now += 12 * HOUR + 1
        _, body = call(emulator, "sms/statuslocalmessageid", localid="450")
        assert body["entries"][0]["status"] == 100


class TestLookupAndAccount:
    """verify/lookup, account/info, utils/getdate and unknown methods."""

    def test_lookup_renders_the_template(self, emulator: Emulator) -> None:
        """Tokens fill %token, %token2...; the service's own line sends; it is charged."""
        status, body = call(
            emulator,
            "verify/lookup",
            receptor="09121234567",
            template="welcome",
            token="علی",
            token2="smsbridge",
        )
        assert status == 200, body
        (message,) = emulator.state.sent
        assert message.text == "علی عزیز، به smsbridge خوش آمدید"
        assert (message.sender, message.template) == (emulator.state.lookup_line, "welcome")
        assert body["entries"][0]["messageid"] == message.message_id

    def test_lookup_reaches_blocked_numbers(self, emulator: Emulator) -> None:
        """Lookup messages are not filtered."""
        emulator.state.blocked = {"+989121234567"}
        _, body = call(
            emulator, "verify/lookup", receptor="09121234567", template="verify", token="1"
        )
        assert body["entries"][0]["status"] == 1

    def test_unapproved_template(self, emulator: Emulator) -> None:
        """A template not yet approved is 424."""
        templates = emulator.state.accounts[KEY].templates
        templates["verify"] = attrs_copy(templates["verify"], approved=False)
        status, _ = call(
            emulator, "verify/lookup", receptor="09121234567", template="verify", token="1"
        )
        assert status == 424

    def test_info(self, emulator: Emulator) -> None:
        """remaincredit in rials, the account type."""
        status, body = call(emulator, "account/info")
        assert status == 200
        assert body["entries"]["remaincredit"] == 10_000_000
        assert body["entries"]["type"] == "master"

    def test_getdate_needs_no_key(self, emulator: Emulator, clock: ManualClock) -> None:
        """utils/getdate answers with key 0."""
        _, body = call(emulator, "utils/getdate", key="0")
        assert body["entries"]["unixtime"] == int(clock.now)

    def test_unknown_paths(self, emulator: Emulator) -> None:
        """Not the API's shape: 404 with a JSON body."""
        for path in ("/", "/v1/KEY/sms", "/v2/k/sms/send.json", "/v1/k/sms/send.xml"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{emulator.url}{path}", timeout=5)  # noqa: S310
            assert refused.value.code == 404
            assert json.loads(refused.value.read())["return"]["status"] == 404


class TestThroughTheProvider:
    """The emulator and the provider together."""

    def test_lost_reply_then_retry_is_deduplicated(self, emulator: Emulator) -> None:
        """The drop fault records the send with its localids and closes; the same send again
        (same reference) is answered from those records: nobody gets it twice."""
        url = kave_url(emulator.url, extra="&timeout=5")
        recipients = ["09121234567", "09351234567"]
        with smsbridge.Client(url, autoload_plugins=True) as client:
            emulator.faults.drop_connection()
            lost = client.send("سلام", recipients, reference="order-17")
            assert [r.status.value for r in lost] == ["unknown", "unknown"]
            again = client.send("سلام", recipients, reference="order-17")
        assert again.all_accepted
        assert [m.message_id for m in emulator.state.sent] == [int(i) for i in again.message_ids]
        assert emulator.state.deduplicated == 2

    def test_without_reference_there_is_no_localid(self, emulator: Emulator) -> None:
        """No reference, no keys: sent twice when sent twice."""
        with smsbridge.Client(kave_url(emulator.url), autoload_plugins=True) as client:
            client.send("x", ["09121234567"])
            client.send("x", ["09121234567"])
        assert [m.localid for m in emulator.state.sent] == [None, None]

    def test_template_otp(self, emulator: Emulator, clock: ManualClock) -> None:
        """An OTP through verify/lookup, its delivery and the balance after it."""
        with smsbridge.Client(kave_url(emulator.url), autoload_plugins=True) as client:
            report = client.send(
                Template(id="verify", variables={"token": "4821"}), ["09121234567"]
            )
            clock.now += 5
            (delivery,) = client.delivery_status(report.message_ids)
            balance = client.balance()
        assert [m.text for m in emulator.state.sent] == ["کد ورود شما: 4821"]
        assert delivery.status is DeliveryStatus.DELIVERED
        assert (balance.amount, balance.unit) == (10_000_000 - 120, "rials")


class TestAdmin:
    """The kit's admin endpoints, with the emulator's own."""

    def test_accounts_and_sent_hold_no_key(self, emulator: Emulator) -> None:
        """GET accounts and GET sent never show an API key."""
        send(emulator, "09121234567", localid="1")
        for name in ("accounts", "sent"):
            with urllib.request.urlopen(emulator.admin_url + name, timeout=5) as answer:  # noqa: S310
                text = answer.read().decode()
            assert KEY not in text
            assert json.loads(text)

    def test_faults_by_name(self, emulator: Emulator) -> None:
        """The API's faults arm through POST /_emulator/faults."""
        request = urllib.request.Request(  # noqa: S310
            emulator.admin_url + "faults",
            data=json.dumps({"fault": "code", "code": 418}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
        status, body = call(emulator, "sms/send", receptor="09121234567", message="x")
        assert (status, body["return"]["status"]) == (418, 418)
        assert emulator.state.sent == []
        assert set(emulator.faults.presets) >= {"code", "http_500", "garbage", "wrong_shape"}


def attrs_copy(value: Any, **changes: Any) -> Any:
    import attrs

    return attrs.evolve(value, **changes)


# -- the command line ---------------------------------------------------------------------------

ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMSBRIDGE_")}


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smsbridge_kavenegar.cli", "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


class TestCommandLine:
    """``smsbridge-kavenegar emulator``."""

    def test_prints_a_working_provider_url(self) -> None:
        """The second line is a provider URL the client sends through as printed."""
        child = _start("--port", "0", "--key", "my-own-key", "--credit", "500")
        try:
            assert child.stdout is not None
            listening = child.stdout.readline()
            url = child.stdout.readline().removeprefix("provider URL: ").strip()
            assert listening.startswith("emulator listening on http://127.0.0.1:")
            assert url.startswith("kavenegar://my-own-key@/?from=10004346&endpoint=http://")
            with smsbridge.Client(url, autoload_plugins=True) as client:
                report = client.send("hi", ["09121234567"])
                balance = client.balance()
            assert report.all_accepted
            assert balance.amount == 500 - 120
        finally:
            child.terminate()
            child.communicate(timeout=10)

    def test_busy_port(self) -> None:
        """A port in use: one line on stderr, exit 1."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            child = _start("--port", str(port))
            out, err = child.communicate(timeout=30)
        assert child.returncode == 1
        assert out == ""
        assert err.count("\n") == 1
        assert f"port {port} is already in use" in err

    def test_default_port(self) -> None:
        """8090 unless told otherwise."""
        from smsbridge_kavenegar.emulator.__main__ import build_parser, build_state

        args = build_parser().parse_args(["--delivery-delay", "0.5", "--line", "2000"])
        assert args.port == 8090
        state = build_state(args)
        assert (state.delivery_delay, state.operator_delay) == (0.5, 0.25)
        assert "2000" in state.accounts[KEY].lines
        assert isinstance(state, EmulatorState)
