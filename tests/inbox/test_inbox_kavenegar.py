"""The Kavenegar emulator reporting to the inbox, hosted by it or from another process: its
sends (sms/send, sms/sendarray, verify/lookup) shown, its message statuses followed, the
inbox's chaos answered with Kavenegar's return codes or a lost reply."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from inbox_support import Api, child_env, kavenegar_client

pytest.importorskip("smsbridge_kavenegar", reason="the Kavenegar provider is not installed")

from smsbridge_kavenegar.emulator import Emulator, EmulatorState

from smsbridge import Client, ErrorCategory, Message, Retry, Template
from smsbridge.inbox import (
    CHAOS_CATEGORIES,
    ChaosRule,
    HttpReporter,
    InboxMessage,
    InboxServer,
    InboxStore,
    MessageStatus,
    StoreReporter,
)
from smsbridge.inbox.kavenegar import KavenegarBridge, host
from smsbridge.testing.server import ManualClock

LINE = "10004346"
LOOKUP_LINE = "10008663"
OTP = Template(id="verify", variables={"token": "4821"})
OTP_TEXT = "کد ورود شما: 4821"
REFUSALS = [c for c in CHAOS_CATEGORIES if c is not ErrorCategory.OUTCOME_UNKNOWN]


def _client(emulator: Emulator, *, sender: str | None = None) -> Client:
    return kavenegar_client(emulator.provider_url(sender=sender))


def _latest(store: InboxStore, number: str, *, include_rejected: bool = False) -> InboxMessage:
    found = store.latest(number, include_rejected=include_rejected)
    assert found is not None, f"nothing to {number}"
    return found


def _until(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _send_array(emulator: Emulator, **arrays: list[str]) -> tuple[int, Any]:
    """POST sms/sendarray as the official SDKs do (each field a JSON array); status and body."""
    body = urlencode({name: json.dumps(items) for name, items in arrays.items()}).encode()
    request = urllib.request.Request(  # noqa: S310 - the emulator on 127.0.0.1
        f"{emulator.url}/v1/demo-api-key/sms/sendarray.json",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def clock() -> ManualClock:
    """The emulator's clock, moved by hand."""
    return ManualClock()


@pytest.fixture
def emulator(inbox: InboxServer, clock: ManualClock) -> Emulator:
    """A Kavenegar emulator hosted by the inbox (demo account: with the operator after 1 s,
    delivered after 2 s)."""
    state = EmulatorState.demo()
    state.clock = clock
    return host(inbox, state=state)


class TestHosted:
    """An emulator the inbox runs."""

    def test_send_shown(self, emulator: Emulator, store: InboxStore, inbox: InboxServer) -> None:
        """An sms/send to two numbers is in the inbox under kavenegar: each number, the text,
        the line, pending, the id the client got."""
        with _client(emulator) as client:
            report = client.send(Message(text="سلام از کاوه‌نگار"), ["09123456789", "09351234567"])
        assert report.all_accepted
        shown = store.messages(newest_first=False)
        assert [(m.provider, m.recipient, m.sender, m.text) for m in shown] == [
            ("kavenegar", "+989123456789", LINE, "سلام از کاوه‌نگار"),
            ("kavenegar", "+989351234567", LINE, "سلام از کاوه‌نگار"),
        ]
        assert [m.message_id for m in shown] == list(report.message_ids)
        assert {(m.status, m.chaos, m.error) for m in shown} == {
            (MessageStatus.PENDING, False, None)
        }
        assert inbox.info()["services"] == [{"name": "kavenegar", "url": emulator.url}]
        assert "kavenegar" in inbox.info()["providers"]

    def test_default_line_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A send without a sender shows the line the service sent it from (its record)."""
        url = f"kavenegar://demo-api-key@/?endpoint={emulator.url}"
        with kavenegar_client(url) as client:
            assert client.send("hi", ["09123456789"]).all_accepted
        assert _latest(store, "+989123456789").sender == LINE

    def test_flash_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A flash send (type=0) shows as flash."""
        with _client(emulator) as client:
            assert client.send(Message(text="hi", flash=True), ["09123456789"]).all_accepted
        assert _latest(store, "+989123456789").flash

    def test_lookup_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A verify/lookup OTP shows the rendered template text the handset gets, from the
        lookup line, with the template's name and tokens."""
        with _client(emulator) as client:
            report = client.send(OTP, ["09123456789"])
        assert report.all_accepted
        shown = _latest(store, "+989123456789")
        assert (shown.provider, shown.text, shown.sender) == ("kavenegar", OTP_TEXT, LOOKUP_LINE)
        assert (shown.template_id, shown.variables) == ("verify", {"token": "4821"})
        assert (shown.message_id, shown.status) == (report.message_ids[0], MessageStatus.PENDING)
        assert (shown.segments, shown.encoding) == (1, "UCS-2")

    def test_send_array_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """An sms/sendarray (one text and line per receptor) shows each message as sent."""
        status, body = _send_array(
            emulator,
            receptor=["09123456789", "09351234567"],
            sender=[LINE, LINE],
            message=["first", "دومی"],
        )
        assert (status, body["return"]["status"]) == (200, 200)
        shown = store.messages(newest_first=False)
        assert [(m.recipient, m.text, m.sender, m.message_id) for m in shown] == [
            ("+989123456789", "first", LINE, str(body["entries"][0]["messageid"])),
            ("+989351234567", "دومی", LINE, str(body["entries"][1]["messageid"])),
        ]

    def test_delivery_followed(
        self, emulator: Emulator, store: InboxStore, clock: ManualClock
    ) -> None:
        """Statuses move with the emulator's time: queued and with the operator are pending,
        then delivered; an unreachable number and an operator failure end failed."""
        emulator.state.unreachable.add("+989351234567")
        emulator.state.operator_failures.add("+989121111111")
        with _client(emulator) as client:
            client.send("hi", ["09123456789", "09351234567", "09121111111"])
            client.send(OTP, ["09122222222"])

        def statuses() -> dict[str, MessageStatus]:
            return {m.recipient: m.status for m in store.messages()}

        clock.advance(1.5)  # status 4: with the operator
        time.sleep(0.6)  # more than two polls of the bridge
        assert set(statuses().values()) == {MessageStatus.PENDING}
        clock.advance(5)
        expected = {
            "+989123456789": MessageStatus.DELIVERED,
            "+989351234567": MessageStatus.FAILED,
            "+989121111111": MessageStatus.FAILED,
            "+989122222222": MessageStatus.DELIVERED,
        }
        _until(lambda: statuses() == expected, "the delivery statuses")
        assert _latest(store, "+989123456789").status_at is not None

    def test_own_refusal_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A call the emulator's own rules refuse (too little credit: 418) shows as not sent,
        with Kavenegar's code."""
        emulator.state.accounts["demo-api-key"].credit = 0
        with _client(emulator) as client:
            report = client.send("hi", ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.INSUFFICIENT_CREDIT
        shown = _latest(store, "+989123456789", include_rejected=True)
        assert (shown.status, shown.error, shown.chaos, shown.message_id) == (
            MessageStatus.REJECTED,
            "kavenegar code 418",
            False,
            None,
        )

    def test_unknown_template_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A lookup of a template the account lacks (424) shows as not sent, with its name and
        tokens since there is no text to render."""
        with _client(emulator) as client:
            report = client.send(Template(id="nope", variables={"token": "1"}), ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.CONTENT_REJECTED
        shown = _latest(store, "+989123456789", include_rejected=True)
        assert (shown.text, shown.template_id, shown.error) == (
            "[template nope] 1",
            "nope",
            "kavenegar code 424",
        )

    def test_blocked_receptor(self, emulator: Emulator, store: InboxStore) -> None:
        """A receptor that blocks advertising lines (status 14 in the entry) is rejected for
        the client and shown rejected; the other receptor of the call is sent."""
        emulator.state.blocked.add("+989123456789")
        with _client(emulator) as client:
            report = client.send("hi", ["09123456789", "09351234567"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.RECIPIENT_REJECTED
        assert report[1].accepted
        blocked = _latest(store, "+989123456789", include_rejected=True)
        assert (blocked.status, blocked.error) == (MessageStatus.REJECTED, "recipient_rejected")
        assert _latest(store, "+989351234567").message_id == report[1].message_id

    @pytest.mark.parametrize("category", REFUSALS, ids=lambda c: c.value)
    def test_chaos_refusal(
        self, emulator: Emulator, store: InboxStore, category: ErrorCategory
    ) -> None:
        """Each chaos category reaches the client as that category, through a Kavenegar return
        code on sms/send; the emulator sends nothing, and the inbox shows the refused attempt."""
        store.arm(ChaosRule(category=category, provider="kavenegar"))
        with _client(emulator) as client:
            report = client.send("hi", ["09123456789", "09351234567"])
            assert [r.error.category if r.error else None for r in report] == [category] * 2
            assert client.send("hi", ["09123456789"]).all_accepted
        assert len(emulator.state.sent) == 1
        refused = store.messages(newest_first=False)[:2]
        assert [(m.recipient, m.status, m.error, m.chaos) for m in refused] == [
            (number, MessageStatus.REJECTED, category.value, True)
            for number in ("+989123456789", "+989351234567")
        ]

    @pytest.mark.parametrize("category", REFUSALS, ids=lambda c: c.value)
    def test_chaos_refusal_lookup(
        self, emulator: Emulator, store: InboxStore, category: ErrorCategory
    ) -> None:
        """The same for a verify/lookup OTP: the refused attempt shows its rendered text."""
        store.arm(ChaosRule(category=category, provider="kavenegar"))
        with _client(emulator) as client:
            report = client.send(OTP, ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is category
        assert emulator.state.sent == []
        refused = _latest(store, "+989123456789", include_rejected=True)
        assert (refused.text, refused.template_id, refused.status, refused.error) == (
            OTP_TEXT,
            "verify",
            MessageStatus.REJECTED,
            category.value,
        )
        assert refused.chaos

    def test_chaos_send_array(self, emulator: Emulator, store: InboxStore) -> None:
        """Chaos answers sms/sendarray with the code too (418 as the status and in the body)."""
        store.arm(ChaosRule(category="insufficient_credit", provider="kavenegar"))
        status, body = _send_array(
            emulator, receptor=["09123456789"], sender=[LINE], message=["hi"]
        )
        assert (status, body["return"]["status"], body["entries"]) == (418, 418, None)
        assert emulator.state.sent == []
        refused = _latest(store, "+989123456789", include_rejected=True)
        assert (refused.status, refused.error, refused.chaos) == (
            MessageStatus.REJECTED,
            "insufficient_credit",
            True,
        )

    @pytest.mark.parametrize("otp", [False, True], ids=["send", "lookup"])
    def test_chaos_lost_reply(self, emulator: Emulator, store: InboxStore, otp: bool) -> None:
        """outcome_unknown: the emulator sends, the client hears nothing, the inbox says so."""
        store.arm(ChaosRule(category="outcome_unknown", provider="*"))
        with _client(emulator) as client:
            assert client.send(OTP if otp else Message(text="hi"), ["09123456789"]).unknown == 1
        (sent,) = emulator.state.sent
        (shown,) = store.messages()
        assert (shown.status, shown.error, shown.chaos) == (
            MessageStatus.PENDING,
            "outcome_unknown",
            True,
        )
        assert (shown.message_id, shown.text) == (str(sent.message_id), sent.text)

    def test_chaos_for_another_provider(self, emulator: Emulator, store: InboxStore) -> None:
        """A rule for melipayamak does not touch Kavenegar sends."""
        store.arm(ChaosRule(category="rate_limited", provider="melipayamak"))
        with _client(emulator) as client:
            assert client.send("hi", ["09123456789"]).all_accepted
        assert len(store.rules()) == 1

    def test_chaos_refusal_retried_by_default(self, emulator: Emulator, store: InboxStore) -> None:
        """With retries, an unavailable provider (409) is tried again: the inbox shows the
        refused attempt, then the message the retry sent."""
        store.arm(ChaosRule(category=ErrorCategory.PROVIDER_UNAVAILABLE, provider="kavenegar"))
        with kavenegar_client(emulator.provider_url(), retry=Retry(attempts=2, backoff=0)) as c:
            report = c.send("hi", ["09123456789"])
        assert (report[0].accepted, report[0].attempts) == (True, 2)
        refused, sent = store.messages(newest_first=False)
        assert (refused.status, refused.chaos) == (MessageStatus.REJECTED, True)
        assert sent.status is MessageStatus.PENDING
        assert len(emulator.state.sent) == 1

    def test_emulator_faults_still_work(self, emulator: Emulator) -> None:
        """Faults armed on the emulator itself apply as before."""
        emulator.faults.code(418)
        with _client(emulator) as client:
            report = client.send("hi", ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.INSUFFICIENT_CREDIT

    def test_stopped_with_the_inbox(self, store: InboxStore) -> None:
        """Stopping the inbox stops the emulator it hosts."""
        with InboxServer(store) as server:
            emulator = host(server)
            assert emulator.server.running
        assert not emulator.server.running

    def test_bridge_stop_untaps(self, store: InboxStore) -> None:
        """After stop() the emulator answers on its own and nothing more is reported."""
        with Emulator() as emulator:
            bridge = KavenegarBridge(emulator, StoreReporter(store)).start()
            bridge.stop()
            store.arm(ChaosRule(category="rate_limited"))
            with _client(emulator) as client:
                assert client.send("hi", ["09123456789"]).all_accepted
        assert store.count() == 0


class TestOverHttp:
    """An emulator in another process reporting through the inbox's REST API."""

    @pytest.fixture
    def remote(self, inbox: InboxServer) -> Iterator[str]:
        """A Kavenegar emulator in a child process, bridged over HTTP; its provider URL."""
        script = (
            "import sys\n"
            "from smsbridge_kavenegar.emulator import Emulator\n"
            "from smsbridge.inbox import HttpReporter\n"
            "from smsbridge.inbox.kavenegar import KavenegarBridge\n"
            "emulator = Emulator()\n"
            "emulator.state.operator_delay = 0.1\n"
            "emulator.state.delivery_delay = 0.3\n"
            "bridge = KavenegarBridge(emulator, HttpReporter(sys.argv[1]), poll=0.05)\n"
            "with bridge, emulator:\n"
            "    print(emulator.provider_url(), flush=True)\n"
            "    sys.stdin.read()\n"
            "print(bridge.errors, flush=True)\n"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", script, inbox.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert child.stdout is not None
        assert child.stdin is not None
        url = child.stdout.readline().strip()
        assert url.startswith("kavenegar://"), url
        yield url
        child.stdin.close()
        errors = child.stdout.read().strip()
        child.stdout.close()
        assert child.wait(timeout=10) == 0
        assert errors == "0"

    def test_reported_and_delivered(self, remote: str, api: Api) -> None:
        """A lookup shows up through /api/v1/intake, rendered, and turns delivered through
        /api/v1/intake/status."""
        with kavenegar_client(remote) as client:
            report = client.send(OTP, ["09123456789"])
        assert report.all_accepted
        latest = api.get("/api/v1/latest?number=09123456789")
        assert (latest["provider"], latest["text"], latest["sender"], latest["template_id"]) == (
            "kavenegar",
            OTP_TEXT,
            LOOKUP_LINE,
            "verify",
        )
        assert (latest["message_id"], latest["variables"]) == (
            report.message_ids[0],
            {"token": "4821"},
        )
        _until(
            lambda: api.get("/api/v1/latest?number=09123456789")["status"] == "delivered",
            "the delivered status",
        )

    def test_chaos_over_http(self, remote: str, api: Api) -> None:
        """Chaos armed through the API fails the remote emulator's next send."""
        api.post("/api/v1/chaos", {"category": "recipient_rejected", "provider": "kavenegar"})
        with kavenegar_client(remote) as client:
            report = client.send("hi", ["09123456789"])
            assert report[0].error is not None
            assert report[0].error.category is ErrorCategory.RECIPIENT_REJECTED
            assert report[0].error.provider_code == 411
            assert client.send("hi", ["09123456789"]).all_accepted
        refused = api.get("/api/v1/messages?number=09123456789&order=oldest")["messages"][0]
        assert (refused["status"], refused["error"], refused["chaos"]) == (
            "rejected",
            "recipient_rejected",
            True,
        )


def test_inbox_gone(store: InboxStore) -> None:
    """An inbox that cannot be reached never breaks the emulator: failures are counted."""
    with Emulator() as emulator:
        dead = HttpReporter("http://127.0.0.1:9", timeout=0.5)
        with KavenegarBridge(emulator, dead) as bridge, _client(emulator) as client:
            assert client.send("hi", ["09123456789"]).all_accepted
        assert bridge.errors >= 2  # the chaos question and the report
