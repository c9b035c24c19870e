"""fake://?inbox=PATH: every attempt also lands in the shared store, chaos armed there fails
the next sends, and the inbox owns delivery statuses. Plain fake:// is untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from inbox_support import send_elsewhere

from smsbridge import Client, DeliveryStatus, ErrorCategory, Message, Template
from smsbridge.exceptions import ConfigurationError
from smsbridge.inbox import ChaosRule, InboxStore, MessageStatus
from smsbridge.testing import FakeOutbox, FakeProvider


class TestPlainFake:
    """Without ``inbox`` nothing but the in-memory outbox is touched."""

    def test_no_store(
        self, sms_outbox: FakeOutbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Even with $SMSBRIDGE_INBOX set, fake:// keeps to memory and creates no file."""
        monkeypatch.setenv("SMSBRIDGE_INBOX", str(tmp_path / "inbox.sqlite"))
        with Client("fake://") as client:
            report = client.send("hi", ["09123456789"])
            assert client.provider.inbox is None  # type: ignore[attr-defined]
        assert report.message_ids[0].startswith("fake-")
        assert list(tmp_path.iterdir()) == []
        sms_outbox.assert_sent_to("09123456789", text_contains="hi")

    def test_unknown_parameter_still_refused(self) -> None:
        """fake:// still names the parameters it does not take."""
        with pytest.raises(ConfigurationError, match="does not take colour"):
            Client("fake://?colour=red")


class TestInboxStore:
    """Messages reach the store and the outbox alike."""

    def test_recorded_in_both(
        self, sms_outbox: FakeOutbox, store: InboxStore, store_path: Path
    ) -> None:
        """Each accepted message is in the outbox and the store, with the store's id."""
        with Client(f"fake://?inbox={store_path}") as client:
            report = client.send(
                Message(text="سلام، کد شما ۴۸۲۱", sender="3000123", flash=True),
                ["09123456789", "09351234567"],
            )
        stored = store.messages(newest_first=False)
        assert [m.message_id for m in stored] == report.message_ids
        assert [sms.message_id for sms in sms_outbox] == report.message_ids
        first = stored[0]
        assert (first.recipient, first.text, first.sender, first.flash) == (
            "+989123456789",
            "سلام، کد شما ۴۸۲۱",
            "3000123",
            True,
        )
        assert (first.encoding, first.segments, first.provider) == ("UCS-2", 1, "fake")

    def test_blank_means_default(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sms_outbox: FakeOutbox
    ) -> None:
        """fake://?inbox= uses $SMSBRIDGE_INBOX (or the state folder)."""
        path = tmp_path / "default.sqlite"
        monkeypatch.setenv("SMSBRIDGE_INBOX", str(path))
        Client("fake://?inbox=").send("hi", ["09123456789"])
        assert [m.text for m in InboxStore(path).messages()] == ["hi"]

    def test_refused_attempts_shown(self, store: InboxStore, store_path: Path) -> None:
        """Magic numbers and scripted failures are stored as rejected, with their category."""
        client = Client(f"fake://?inbox={store_path}")
        report = client.send("hi", ["09123456789", "09120000001"])
        assert [r.status.value for r in report] == ["accepted", "rejected"]
        rejected = store.messages(number="+989120000001")[0]
        assert (rejected.status, rejected.error, rejected.chaos) == (
            MessageStatus.REJECTED,
            "recipient_rejected",
            False,
        )

    def test_template_rendered_from_store(
        self, store: InboxStore, store_path: Path, sms_outbox: FakeOutbox
    ) -> None:
        """A template registered in the inbox renders sends from a process that does not know
        it; the outbox's own registration still wins."""
        store.add_template("otp", "کد ورود: {0}")
        client = Client(f"fake://?inbox={store_path}")
        client.send(Template(id="otp", variables=["4821"]), ["09123456789"])
        latest = store.latest("+989123456789")
        assert latest is not None
        assert (latest.text, latest.template_id, latest.variables) == (
            "کد ورود: 4821",
            "otp",
            ("4821",),
        )
        sms_outbox.add_template("otp", "Code {0}")
        client.send(Template(id="otp", variables=["1"]), ["09123456789"])
        assert store.latest("+989123456789").text == "Code 1"  # type: ignore[union-attr]

    def test_campaign_rows_labelled(
        self, store: InboxStore, store_path: Path, tmp_path: Path
    ) -> None:
        """A campaign's messages carry their journal position."""
        client = Client(f"fake://?inbox={store_path}")
        client.send_bulk(
            "Sale! لغو11",
            ["09123456789", "09351234567"],
            journal=tmp_path / "campaign.sqlite",
        )
        labels = sorted(m.campaign or "" for m in store.messages())
        assert [label.split(" ", 1)[1] for label in labels] == ["position 0", "position 1"]
        assert len({label.split(" ")[0] for label in labels}) == 1
        single = Client(f"fake://?inbox={store_path}").send(
            Message(text="hi", reference="order-7"), ["09121111111"]
        )
        assert single.all_accepted
        latest = store.latest("+989121111111")
        assert latest is not None
        assert (latest.campaign, latest.reference) == (None, "order-7")

    def test_delivery_from_the_inbox(self, store: InboxStore, store_path: Path) -> None:
        """delivery_status reads the status the inbox shows (set from the page or the API)."""
        client = Client(f"fake://?inbox={store_path}")
        (message_id,) = client.send("hi", ["09123456789"]).message_ids
        assert client.delivery_status([message_id])[0].status is DeliveryStatus.PENDING
        store.set_status(message_id, MessageStatus.FAILED)
        assert client.delivery_status([message_id])[0].status is DeliveryStatus.FAILED

    def test_provider_given_a_store(self, store: InboxStore) -> None:
        """FakeProvider(inbox=...) takes a store object or a path."""
        provider = FakeProvider(outbox=FakeOutbox(), inbox=store)
        with Client(provider=provider) as client:
            client.send("hi", ["09123456789"])
        assert store.count() == 1


class TestChaos:
    """Rules armed in the store fail fake sends, here and in other processes."""

    def test_next_send_fails(self, store: InboxStore, store_path: Path) -> None:
        """The next request fails with the armed category; the one after goes through."""
        store.arm(ChaosRule(category="recipient_rejected"))
        client = Client(f"fake://?inbox={store_path}")
        first = client.send("hi", ["09123456789", "09351234567"])
        assert [r.status.value for r in first] == ["rejected", "rejected"]
        assert all(r.error.category is ErrorCategory.RECIPIENT_REJECTED for r in first)  # type: ignore[union-attr]
        assert client.send("hi", ["09123456789"]).all_accepted
        refused = store.messages(number="+989351234567")[0]
        assert (refused.status, refused.chaos) == (MessageStatus.REJECTED, True)

    def test_lost_reply(self, store: InboxStore, store_path: Path) -> None:
        """outcome_unknown: the message goes out, the sender sees unknown, the inbox says so."""
        store.arm(ChaosRule(category="outcome_unknown"))
        report = Client(f"fake://?inbox={store_path}").send("hi", ["09123456789"])
        assert report.unknown == 1
        sent = store.latest("+989123456789")
        assert sent is not None
        assert (sent.status, sent.error, sent.chaos) == (
            MessageStatus.PENDING,
            "outcome_unknown",
            True,
        )

    def test_reaches_another_process(self, store: InboxStore, store_path: Path) -> None:
        """A rule armed here fails the next send of a process started afterwards, once."""
        store.arm(ChaosRule(category="insufficient_credit", provider="fake"))
        assert send_elsewhere(store_path, "one", ["09123456789"])[0]["category"] == (
            "insufficient_credit"
        )
        assert send_elsewhere(store_path, "two", ["09123456789"])[0]["status"] == "accepted"
        assert store.rules() == []

    def test_local_script_first(
        self, sms_outbox: FakeOutbox, store: InboxStore, store_path: Path
    ) -> None:
        """The outbox's own fail_next is used before the inbox's chaos."""
        store.arm(ChaosRule(category="rate_limited"))
        sms_outbox.fail_next(ErrorCategory.AUTHENTICATION)
        client = Client(f"fake://?inbox={store_path}")
        assert client.send("a", ["09123456789"])[0].error.category is ErrorCategory.AUTHENTICATION  # type: ignore[union-attr]
        assert client.send("b", ["09123456789"])[0].error.category is ErrorCategory.RATE_LIMITED  # type: ignore[union-attr]
