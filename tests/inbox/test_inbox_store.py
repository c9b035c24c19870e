"""The inbox store: messages, search, deletion, chaos rules and templates in one SQLite file
that several processes share."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from inbox_support import child_env

from smsbridge.exceptions import ConfigurationError, ErrorCategory
from smsbridge.inbox import ChaosRule, InboxError, InboxStore, MessageStatus, default_store_path


class TestOpening:
    """The file is created on first use and refused when it is not an inbox."""

    def test_created_in_wal_mode(self, store_path: Path) -> None:
        """A new store is an SQLite file in WAL mode with the inbox's application id."""
        InboxStore(store_path).close()
        db = sqlite3.connect(store_path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x534D5349
        db.close()

    def test_reopened_keeps_messages(self, store_path: Path) -> None:
        """Messages survive closing and reopening the file."""
        with InboxStore(store_path) as store:
            store.add(provider="fake", recipient="+989123456789", text="hi")
        with InboxStore(store_path) as store:
            assert [m.text for m in store.messages()] == ["hi"]

    def test_foreign_database_refused(self, tmp_path: Path) -> None:
        """Another application's SQLite file is refused untouched."""
        path = tmp_path / "other.sqlite"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE things (x)")
        db.commit()
        db.close()
        with pytest.raises(InboxError, match="another application's database"):
            InboxStore(path)
        db = sqlite3.connect(path)
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("things",)]
        db.close()

    def test_not_sqlite_refused(self, tmp_path: Path) -> None:
        """A text file is refused and left as it was."""
        path = tmp_path / "notes.txt"
        path.write_text("my notes")
        with pytest.raises(InboxError, match="not an SQLite file"):
            InboxStore(path)
        assert path.read_text() == "my notes"

    def test_missing_folder(self, tmp_path: Path) -> None:
        """A store in a folder that does not exist is a configuration error naming it."""
        with pytest.raises(ConfigurationError, match="does not exist"):
            InboxStore(tmp_path / "nope" / "inbox.sqlite")

    def test_default_path(self) -> None:
        """$SMSBRIDGE_INBOX wins; otherwise the user's state folder."""
        assert default_store_path({"SMSBRIDGE_INBOX": "/x/y.sqlite"}) == Path("/x/y.sqlite")
        assert default_store_path({"XDG_STATE_HOME": "/state"}) == Path(
            "/state/smsbridge/inbox.sqlite"
        )


class TestMessages:
    """Adding, reading and searching."""

    def test_add_counts_segments_and_assigns_ids(self, store: InboxStore) -> None:
        """Encoding and parts are counted from the text; fake ids are inbox-NNNNNNNN."""
        first = store.add(provider="fake", recipient="+989123456789", text="سلام " * 20)
        second = store.add(provider="fake", recipient="+989123456789", text="hello")
        assert (first.encoding, first.segments) == ("UCS-2", 2)
        assert (second.encoding, second.segments) == ("GSM-7", 1)
        assert [first.message_id, second.message_id] == ["inbox-00000001", "inbox-00000002"]
        assert first.status is MessageStatus.PENDING

    def test_rejected_has_no_id(self, store: InboxStore) -> None:
        """A refused send is stored, shown as rejected, and has no provider id."""
        sms = store.add(
            provider="fake",
            recipient="+989123456789",
            text="hi",
            status=MessageStatus.REJECTED,
            error="recipient_rejected",
        )
        assert sms.message_id is None
        assert store.latest("+989123456789") is None
        assert store.latest("+989123456789", include_rejected=True) == sms

    def test_repeated_report_is_one_message(self, store: InboxStore) -> None:
        """The same provider id reported twice is stored once."""
        one = store.add(provider="melipayamak", message_id="7", recipient="+989123456789", text="a")
        two = store.add(provider="melipayamak", message_id="7", recipient="+989123456789", text="b")
        assert one == two
        assert store.count() == 1

    def test_text_cap(self, store: InboxStore) -> None:
        """A text longer than the cap is refused."""
        with pytest.raises(ValueError, match="longer than 4096"):
            store.add(provider="fake", recipient="+989123456789", text="x" * 4097)

    def test_search_text_and_number(self, store: InboxStore) -> None:
        """A query matches text, sender, and numbers by their digits (local form too)."""
        store.add(provider="fake", recipient="+989123456789", text="Your code is 4821")
        store.add(provider="fake", recipient="+989351234567", text="کد شما ۷۳۱۶", sender="3000")
        assert [m.recipient for m in store.messages(query="code")] == ["+989123456789"]
        assert [m.recipient for m in store.messages(query="کد")] == ["+989351234567"]
        assert [m.recipient for m in store.messages(query="0935 123")] == ["+989351234567"]
        assert [m.recipient for m in store.messages(query="۰۹۱۲")] == ["+989123456789"]
        assert [m.recipient for m in store.messages(query="3000")] == ["+989351234567"]
        assert store.messages(query="100%") == []

    def test_latest_and_after(self, store: InboxStore) -> None:
        """latest() is the newest message to the number, optionally after a known id."""
        first = store.add(provider="fake", recipient="+989123456789", text="code 1111")
        store.add(provider="fake", recipient="+989351234567", text="other")
        second = store.add(provider="fake", recipient="+989123456789", text="code 2222")
        latest = store.latest("+989123456789")
        assert latest is not None
        assert latest.text == "code 2222"
        assert store.latest("+989123456789", after=second.id) is None
        match = store.latest("+989123456789", query="1111")
        assert match is not None
        assert match.id == first.id

    def test_conversations(self, store: InboxStore) -> None:
        """One entry per number, the most recently messaged first, with its latest message."""
        store.add(provider="fake", recipient="+989123456789", text="a")
        store.add(provider="fake", recipient="+989351234567", text="b")
        store.add(provider="fake", recipient="+989123456789", text="c")
        found = store.conversations()
        assert [(c["number"], c["count"], c["latest"]["text"]) for c in found] == [
            ("+989123456789", 2, "c"),
            ("+989351234567", 1, "b"),
        ]

    def test_delete(self, store: InboxStore) -> None:
        """Delete one number, by search, one message, or everything."""
        a = store.add(provider="fake", recipient="+989123456789", text="a")
        store.add(provider="fake", recipient="+989123456789", text="secret b")
        store.add(provider="fake", recipient="+989351234567", text="c")
        store.add(provider="fake", recipient="+989121111111", text="d")
        assert store.delete(inbox_id=a.id) == 1
        assert store.delete(query="secret") == 1
        assert store.delete(number="+989351234567") == 1
        assert [m.text for m in store.messages()] == ["d"]
        assert store.delete() == 1
        assert store.count() == 0

    def test_deliveries_age(self, store_path: Path) -> None:
        """Simulated messages become delivered after the delay; reported ones do not."""
        now = [1000.0]
        with InboxStore(store_path, clock=lambda: now[0]) as store:
            fake = store.add(provider="fake", recipient="+989123456789", text="a")
            reported = store.add(
                provider="x", message_id="1", recipient="+989123456789", text="b", simulated=False
            )
            now[0] += 1.0
            assert store.advance_deliveries(2.0) == 0
            now[0] += 1.0
            assert store.advance_deliveries(2.0) == 1
            assert store.status_of(fake.message_id or "") is MessageStatus.DELIVERED
            assert store.status_of("1", provider="x") is MessageStatus.PENDING
            assert reported.message_id == "1"

    def test_prune(self, store: InboxStore) -> None:
        """prune() keeps the newest N."""
        for i in range(5):
            store.add(provider="fake", recipient="+989123456789", text=str(i))
        assert store.prune(2) == 3
        assert [m.text for m in store.messages()] == ["4", "3"]

    def test_revision_moves_on_every_change(self, store: InboxStore) -> None:
        """Adding, changing, deleting and arming all move the revision."""
        seen = [store.revision()]
        sms = store.add(provider="fake", recipient="+989123456789", text="a")
        seen.append(store.revision())
        store.set_status_of(sms.id, MessageStatus.FAILED)
        seen.append(store.revision())
        store.arm(ChaosRule(category="rate_limited"))
        seen.append(store.revision())
        store.delete()
        seen.append(store.revision())
        assert seen == sorted(set(seen))


class TestChaos:
    """Rules armed in the store and consumed per request."""

    def test_next_n(self, store: InboxStore) -> None:
        """A rule for the next 2 sends fires twice, then is gone."""
        store.arm(ChaosRule(category="recipient_rejected", remaining=2))
        taken = [store.take_fault("fake") for _ in range(3)]
        assert [f.category if f else None for f in taken] == [
            ErrorCategory.RECIPIENT_REJECTED,
            ErrorCategory.RECIPIENT_REJECTED,
            None,
        ]
        assert store.rules() == []

    def test_provider_filter(self, store: InboxStore) -> None:
        """A rule for one provider leaves the others alone; ``*`` hits any."""
        store.arm(ChaosRule(category="rate_limited", provider="melipayamak"))
        assert store.take_fault("fake") is None
        fault = store.take_fault("melipayamak")
        assert fault is not None
        assert fault.category is ErrorCategory.RATE_LIMITED
        store.arm(ChaosRule(category="outcome_unknown", provider="*"))
        lost = store.take_fault("fake")
        assert lost is not None
        assert lost.lose_reply

    def test_share(self, store: InboxStore) -> None:
        """A 30% share stays armed and hits roughly 30% of sends (seeded)."""
        store.seed(7)
        store.arm(ChaosRule(category="provider_unavailable", remaining=None, share=0.3))
        hits = sum(store.take_fault("fake") is not None for _ in range(1000))
        assert 240 < hits < 360
        (rule,) = store.rules()
        assert rule.hits == hits

    def test_bad_rules(self) -> None:
        """Categories chaos cannot inject, and counts or shares out of range, are refused."""
        with pytest.raises(ValueError, match="cannot inject"):
            ChaosRule(category="invalid_input")
        with pytest.raises(ValueError, match="count"):
            ChaosRule(category="rate_limited", remaining=0)
        with pytest.raises(ValueError, match="share"):
            ChaosRule(category="rate_limited", share=1.5)
        with pytest.raises(ValueError, match="unknown fields"):
            ChaosRule.from_json({"category": "rate_limited", "times": 2})

    def test_disarm(self, store: InboxStore) -> None:
        """One rule or all of them."""
        one = store.arm(ChaosRule(category="rate_limited"))
        store.arm(ChaosRule(category="authentication"))
        assert store.disarm(one.id) == 1
        assert [r.category.value for r in store.rules()] == ["authentication"]
        assert store.disarm() == 1


_CONSUMER = """
import json, sys
from smsbridge.inbox import InboxStore
store = InboxStore(sys.argv[1])
hits = 0
for i in range(50):
    store.add(provider="fake", recipient="+98912%07d" % int(sys.argv[2]), text=str(i))
    hits += store.take_fault("fake") is not None
print(hits)
"""


def test_several_processes(store: InboxStore) -> None:
    """Four processes writing at once lose nothing, collide on no id, and consume a chaos
    rule of 30 sends exactly 30 times between them."""
    store.arm(ChaosRule(category="rate_limited", remaining=30))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CONSUMER, str(store.path), str(n)],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for n in range(4)
    ]
    hits = [int(child.communicate(timeout=60)[0]) for child in children]
    assert all(child.returncode == 0 for child in children)
    assert sum(hits) == 30
    messages = store.messages(limit=1000)
    assert len(messages) == 200
    assert len({m.message_id for m in messages}) == 200
    assert store.rules() == []
