"""The Melipayamak emulator reporting to the inbox, hosted by it or from another process: its
sends shown, its delivery statuses followed, the inbox's chaos answered in Send.asmx's words."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Literal

import pytest
from inbox_support import Api, child_env, melipayamak_client

pytest.importorskip("smsbridge_melipayamak", reason="the Melipayamak provider is not installed")

from smsbridge_melipayamak.emulator import DEMO_PATTERN, DEMO_SERVICE_LINE, Emulator, EmulatorState

from smsbridge import Client, ErrorCategory, Message, Retry, Template
from smsbridge.inbox import (
    CHAOS_CATEGORIES,
    ChaosRule,
    HttpReporter,
    InboxMessage,
    InboxServer,
    InboxStore,
    MessageStatus,
)
from smsbridge.inbox.melipayamak import MelipayamakBridge, host
from smsbridge.testing.server import ManualClock

LINE = "50004001234567"
OTP = Template(id=str(DEMO_PATTERN), variables=["4821"])
OTP_TEXT = "کد ورود شما: 4821"
REFUSALS = [c for c in CHAOS_CATEGORIES if c is not ErrorCategory.OUTCOME_UNKNOWN]
# A pattern send over SOAP (SendByBaseNumber2) or REST (BaseServiceNumber), a plain REST SendSMS.
WIRES = pytest.mark.parametrize(
    ("api", "otp"),
    [("soap", True), ("rest", True), ("rest", False)],
    ids=["SendByBaseNumber2", "BaseServiceNumber", "rest-SendSMS"],
)


def _client(emulator: Emulator, api: Literal["soap", "rest"] = "soap") -> Client:
    return melipayamak_client(emulator.provider_url(api=api))


def _latest(store: InboxStore, number: str, *, include_rejected: bool = True) -> InboxMessage:
    found = store.latest(number, include_rejected=include_rejected)
    assert found is not None, f"nothing to {number}"
    return found


def _until(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def clock() -> ManualClock:
    """The emulator's clock, moved by hand."""
    return ManualClock()


@pytest.fixture
def emulator(inbox: InboxServer, clock: ManualClock) -> Emulator:
    """A Melipayamak emulator hosted by the inbox (demo account, delivery after 2 s)."""
    state = EmulatorState.demo()
    state.clock = clock
    return host(inbox, state=state)


class TestHosted:
    """An emulator the inbox runs."""

    def test_send_shown(self, emulator: Emulator, store: InboxStore, inbox: InboxServer) -> None:
        """A send through the provider is in the inbox under melipayamak, with its line."""
        with _client(emulator) as client:
            report = client.send(Message(text="سلام از ملی‌پیامک"), ["09123456789"])
        assert report.all_accepted
        (shown,) = store.messages()
        assert (shown.provider, shown.recipient, shown.sender, shown.text) == (
            "melipayamak",
            "+989123456789",
            LINE,
            "سلام از ملی‌پیامک",
        )
        assert shown.message_id == report.message_ids[0]
        assert (shown.status, shown.chaos) == (MessageStatus.PENDING, False)
        assert inbox.info()["services"] == [{"name": "melipayamak", "url": emulator.url}]
        assert "melipayamak" in inbox.info()["providers"]

    def test_delivery_followed(
        self, emulator: Emulator, store: InboxStore, clock: ManualClock
    ) -> None:
        """When the emulator's time passes its delivery delay, the inbox shows delivered;
        an unreachable number shows failed."""
        emulator.state.unreachable.add("09351234567")
        with _client(emulator) as client:
            client.send("hi", ["09123456789"])
            client.send("hi", ["09351234567"])
        clock.advance(5)

        def settled() -> bool:
            return {m.recipient: m.status for m in store.messages()} == {
                "+989123456789": MessageStatus.DELIVERED,
                "+989351234567": MessageStatus.FAILED,
            }

        _until(settled, "the delivery statuses")

    def test_own_refusal_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A text the emulator's rules refuse (a filtered word) shows as not sent, code 7."""
        with _client(emulator) as client:
            report = client.send("قمار", ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.CONTENT_REJECTED
        (shown,) = store.messages()
        assert (shown.status, shown.error, shown.chaos) == (
            MessageStatus.REJECTED,
            "melipayamak code 7",
            False,
        )

    @pytest.mark.parametrize(
        "category",
        [c for c in CHAOS_CATEGORIES if c is not ErrorCategory.OUTCOME_UNKNOWN],
        ids=lambda c: c.value,
    )
    def test_chaos_refusal(
        self, emulator: Emulator, store: InboxStore, category: ErrorCategory
    ) -> None:
        """Each chaos category reaches the client as that category, through a SendSms return
        code; the emulator sends nothing, and the inbox shows the refused attempt."""
        store.arm(ChaosRule(category=category, provider="melipayamak"))
        with _client(emulator) as client:
            report = client.send("hi", ["09123456789"])
            assert report[0].error is not None
            assert report[0].error.category is category
            assert client.send("hi", ["09123456789"]).all_accepted
        assert len(emulator.state.sent) == 1
        refused: InboxMessage = store.messages(newest_first=False)[0]
        assert (refused.status, refused.error, refused.chaos) == (
            MessageStatus.REJECTED,
            category.value,
            True,
        )

    def test_chaos_lost_reply(self, emulator: Emulator, store: InboxStore) -> None:
        """outcome_unknown: the emulator sends, the client hears nothing, the inbox says so."""
        store.arm(ChaosRule(category="outcome_unknown", provider="*"))
        with _client(emulator) as client:
            assert client.send("hi", ["09123456789"]).unknown == 1
        assert len(emulator.state.sent) == 1
        (shown,) = store.messages()
        assert (shown.status, shown.error, shown.chaos) == (
            MessageStatus.PENDING,
            "outcome_unknown",
            True,
        )
        assert shown.message_id == str(emulator.state.sent[0].rec_id)

    def test_chaos_for_another_provider(self, emulator: Emulator, store: InboxStore) -> None:
        """A rule for fake:// does not touch Melipayamak sends."""
        store.arm(ChaosRule(category="rate_limited", provider="fake"))
        with _client(emulator) as client:
            assert client.send("hi", ["09123456789"]).all_accepted
        assert len(store.rules()) == 1

    def test_chaos_refusal_retried_by_default(self, emulator: Emulator, store: InboxStore) -> None:
        """With the client's default retries, an unavailable provider is tried again: the
        inbox shows the refused attempt, then the message the retry delivered."""
        store.arm(ChaosRule(category=ErrorCategory.PROVIDER_UNAVAILABLE, provider="melipayamak"))
        with melipayamak_client(
            emulator.provider_url(), retry=Retry(attempts=2, backoff=0)
        ) as client:
            report = client.send("hi", ["09123456789"])
        assert (report[0].accepted, report[0].attempts) == (True, 2)
        refused, sent = store.messages(newest_first=False)
        assert (refused.status, refused.chaos) == (MessageStatus.REJECTED, True)
        assert sent.status is not MessageStatus.REJECTED
        assert len(emulator.state.sent) == 1

    def test_emulator_faults_still_work(self, emulator: Emulator) -> None:
        """Faults armed on the emulator itself apply as before."""
        emulator.faults.http_500()
        with _client(emulator) as client:
            report = client.send("hi", ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.PROVIDER_UNAVAILABLE

    def test_stopped_with_the_inbox(self, store: InboxStore) -> None:
        """Stopping the inbox stops the emulator it hosts."""
        with InboxServer(store) as server:
            emulator = host(server)
            assert emulator.server.running
        assert not emulator.server.running

    def test_bridge_stop_untaps(self, store: InboxStore) -> None:
        """After stop() the emulator answers on its own and nothing more is reported."""
        from smsbridge.inbox import StoreReporter

        with Emulator() as emulator:
            bridge = MelipayamakBridge(emulator, StoreReporter(store)).start()
            bridge.stop()
            store.arm(ChaosRule(category="rate_limited"))
            with _client(emulator) as client:
                assert client.send("hi", ["09123456789"]).all_accepted
        assert store.count() == 0


class TestPatternsAndRest:
    """Pattern (OTP) sends over SOAP and REST, and REST's plain SendSMS, through the bridge."""

    @pytest.mark.parametrize("api", ["soap", "rest"])
    def test_pattern_shown(
        self, emulator: Emulator, store: InboxStore, api: Literal["soap", "rest"]
    ) -> None:
        """A pattern send shows the rendered pattern the handset gets, from the shared service
        line, with its bodyId as the template and its variables."""
        with _client(emulator, api) as client:
            report = client.send(OTP, ["09123456789"])
        assert report.all_accepted
        shown = _latest(store, "+989123456789")
        assert (shown.provider, shown.text, shown.sender) == (
            "melipayamak",
            OTP_TEXT,
            DEMO_SERVICE_LINE,
        )
        assert (shown.template_id, shown.variables) == (str(DEMO_PATTERN), ("4821",))
        assert (shown.message_id, shown.status) == (report.message_ids[0], MessageStatus.PENDING)
        assert emulator.state.sent[0].text == OTP_TEXT

    def test_rest_send_shown(self, emulator: Emulator, store: InboxStore) -> None:
        """A plain REST SendSMS shows its text, line and flash flag."""
        with _client(emulator, "rest") as client:
            report = client.send(Message(text="سلام از REST", flash=True), ["09123456789"])
        assert report.all_accepted
        shown = _latest(store, "+989123456789")
        assert (shown.text, shown.sender, shown.flash, shown.template_id) == (
            "سلام از REST",
            LINE,
            True,
            None,
        )
        assert shown.message_id == report.message_ids[0]

    @WIRES
    def test_delivery_followed(
        self,
        emulator: Emulator,
        store: InboxStore,
        clock: ManualClock,
        api: Literal["soap", "rest"],
        otp: bool,
    ) -> None:
        """Their delivery statuses follow the emulator's."""
        emulator.state.unreachable.add("09351234567")
        with _client(emulator, api) as client:
            for number in ("09123456789", "09351234567"):
                assert client.send(OTP if otp else "hi", [number]).all_accepted
        assert {m.status for m in store.messages()} == {MessageStatus.PENDING}
        clock.advance(5)

        def settled() -> bool:
            return {m.recipient: m.status for m in store.messages()} == {
                "+989123456789": MessageStatus.DELIVERED,
                "+989351234567": MessageStatus.FAILED,
            }

        _until(settled, "the delivery statuses")

    @pytest.mark.parametrize("api", ["soap", "rest"])
    def test_own_refusal_shown(
        self, emulator: Emulator, store: InboxStore, api: Literal["soap", "rest"]
    ) -> None:
        """A pattern the panel does not have (code -4) shows as not sent, with its bodyId and
        variables since there is no text to render."""
        with _client(emulator, api) as client:
            report = client.send(Template(id="999", variables=["1"]), ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.CONTENT_REJECTED
        shown = _latest(store, "+989123456789")
        assert (shown.status, shown.error, shown.chaos, shown.text, shown.template_id) == (
            MessageStatus.REJECTED,
            "melipayamak code -4",
            False,
            "[template 999] 1",
            "999",
        )

    @WIRES
    @pytest.mark.parametrize("category", REFUSALS, ids=lambda c: c.value)
    def test_chaos_refusal(
        self,
        emulator: Emulator,
        store: InboxStore,
        category: ErrorCategory,
        api: Literal["soap", "rest"],
        otp: bool,
    ) -> None:
        """Each chaos category reaches the client as that category, through the pattern codes
        or REST's Value; the emulator sends nothing, and the inbox shows the refused attempt
        (a pattern's rendered text)."""
        store.arm(ChaosRule(category=category, provider="melipayamak"))
        with _client(emulator, api) as client:
            report = client.send(OTP if otp else "hi", ["09123456789"])
            assert report[0].error is not None
            assert report[0].error.category is category
            assert client.send(OTP if otp else "hi", ["09123456789"]).all_accepted
        assert len(emulator.state.sent) == 1
        refused = store.messages(newest_first=False)[0]
        assert (refused.status, refused.error, refused.chaos, refused.text) == (
            MessageStatus.REJECTED,
            category.value,
            True,
            OTP_TEXT if otp else "hi",
        )

    @WIRES
    def test_chaos_lost_reply(
        self, emulator: Emulator, store: InboxStore, api: Literal["soap", "rest"], otp: bool
    ) -> None:
        """outcome_unknown: the emulator sends, the client hears nothing, the inbox says so."""
        store.arm(ChaosRule(category="outcome_unknown", provider="melipayamak"))
        with _client(emulator, api) as client:
            assert client.send(OTP if otp else "hi", ["09123456789"]).unknown == 1
        (sent,) = emulator.state.sent
        (shown,) = store.messages()
        assert (shown.status, shown.error, shown.chaos) == (
            MessageStatus.PENDING,
            "outcome_unknown",
            True,
        )
        assert (shown.message_id, shown.text) == (str(sent.rec_id), sent.text)


class TestOverHttp:
    """An emulator in another process reporting through the inbox's REST API."""

    @pytest.fixture
    def remote(self, inbox: InboxServer) -> Iterator[str]:
        """A Melipayamak emulator in a child process, bridged over HTTP; its provider URL."""
        script = (
            "import sys\n"
            "from smsbridge_melipayamak.emulator import Emulator\n"
            "from smsbridge.inbox import HttpReporter\n"
            "from smsbridge.inbox.melipayamak import MelipayamakBridge\n"
            "emulator = Emulator()\n"
            "emulator.state.delivery_delay = 0.3\n"
            "bridge = MelipayamakBridge(emulator, HttpReporter(sys.argv[1]), poll=0.05)\n"
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
        assert url.startswith("melipayamak://"), url
        yield url
        child.stdin.close()
        errors = child.stdout.read().strip()
        child.stdout.close()
        assert child.wait(timeout=10) == 0
        assert errors == "0"

    def test_pattern_reported(self, remote: str, api: Api) -> None:
        """A pattern send from the remote emulator shows rendered, with its bodyId."""
        with melipayamak_client(remote) as client:
            assert client.send(OTP, ["09123456789"]).all_accepted
        latest = api.get("/api/v1/latest?number=09123456789")
        assert (latest["text"], latest["template_id"], latest["variables"]) == (
            OTP_TEXT,
            str(DEMO_PATTERN),
            ["4821"],
        )

    def test_reported_and_delivered(self, remote: str, api: Api) -> None:
        """The send shows up through /api/v1/intake and turns delivered through
        /api/v1/intake/status."""
        with melipayamak_client(remote) as client:
            report = client.send("Your code is 4821", ["09123456789"])
        assert report.all_accepted
        latest = api.get("/api/v1/latest?number=09123456789")
        assert (latest["provider"], latest["text"], latest["sender"]) == (
            "melipayamak",
            "Your code is 4821",
            LINE,
        )
        _until(
            lambda: api.get("/api/v1/latest?number=09123456789")["status"] == "delivered",
            "the delivered status",
        )

    def test_chaos_over_http(self, remote: str, api: Api) -> None:
        """Chaos armed through the API fails the remote emulator's next send."""
        api.post("/api/v1/chaos", {"category": "insufficient_credit", "provider": "melipayamak"})
        with melipayamak_client(remote) as client:
            report = client.send("hi", ["09123456789"])
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.INSUFFICIENT_CREDIT
        refused = api.get("/api/v1/latest?number=09123456789&include_rejected=1")
        assert (refused["status"], refused["error"], refused["chaos"]) == (
            "rejected",
            "insufficient_credit",
            True,
        )


def test_inbox_gone(store: InboxStore) -> None:
    """An inbox that cannot be reached never breaks the emulator: failures are counted."""
    with Emulator() as emulator:
        dead = HttpReporter("http://127.0.0.1:9", timeout=0.5)
        with MelipayamakBridge(emulator, dead) as bridge, _client(emulator) as client:
            assert client.send("hi", ["09123456789"]).all_accepted
        assert bridge.errors >= 2  # the chaos question and the report
