"""The REST API over real sockets: list, search, latest, delete, status, chaos, intake, and
the live-update stream."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from inbox_support import Api, send_elsewhere

from smsbridge import Client
from smsbridge.inbox import InboxServer, InboxStore


def _fake(store_path: Path) -> Client:
    return Client(f"fake://?inbox={store_path}")


class TestReading:
    """Messages, conversations and the latest message to a number."""

    def test_messages_and_search(self, api: Api, store_path: Path) -> None:
        """GET /api/v1/messages lists newest first and filters by q, number and provider."""
        client = _fake(store_path)
        client.send("Your code is 4821", ["09123456789"])
        client.send("سلام دنیا", ["09351234567"])
        found = api.get("/api/v1/messages")["messages"]
        assert [m["text"] for m in found] == ["سلام دنیا", "Your code is 4821"]
        assert found[0]["encoding"] == "UCS-2"
        assert found[0]["direction"] == "incoming"
        assert [m["text"] for m in api.get("/api/v1/messages?q=4821")["messages"]] == [
            "Your code is 4821"
        ]
        by_number = api.get("/api/v1/messages?number=0935%20123%204567")["messages"]
        assert [m["recipient"] for m in by_number] == ["+989351234567"]
        assert api.get("/api/v1/messages?provider=melipayamak")["messages"] == []
        oldest = api.get("/api/v1/messages?order=oldest&limit=1")["messages"]
        assert [m["text"] for m in oldest] == ["Your code is 4821"]

    def test_conversations(self, api: Api, store_path: Path) -> None:
        """One entry per number with its latest message; q narrows them."""
        client = _fake(store_path)
        client.send("one", ["09123456789"])
        client.send("two", ["09351234567"])
        client.send("three", ["09123456789"])
        found = api.get("/api/v1/conversations")["conversations"]
        assert [(c["number"], c["count"], c["latest"]["text"]) for c in found] == [
            ("+989123456789", 2, "three"),
            ("+989351234567", 1, "two"),
        ]
        assert [c["number"] for c in api.get("/api/v1/conversations?q=two")["conversations"]] == [
            "+989351234567"
        ]
        thread = api.get("/api/v1/conversations/" + quote("+989123456789"))
        assert [m["text"] for m in thread["messages"]] == ["one", "three"]
        assert api.get("/api/v1/conversations/09123456789")["number"] == "+989123456789"

    def test_latest(self, api: Api, store_path: Path) -> None:
        """The OTP a browser test needs: the newest message to the number, 404 when none."""
        client = _fake(store_path)
        client.send("Your code is 1111", ["09123456789"])
        client.send("Your code is 2222", ["09123456789"])
        assert api.get("/api/v1/latest?number=09123456789")["text"] == "Your code is 2222"
        assert api.get("/api/v1/latest?number=09123456789&q=1111")["text"] == "Your code is 1111"
        status, body = api.call("GET", "/api/v1/latest?number=09351234567")
        assert (status, body) == (404, {"error": "no message to +989351234567"})
        status, body = api.call("GET", "/api/v1/latest?number=hello")
        assert status == 400
        assert "not a phone number" in body["error"]

    def test_latest_waits(self, api: Api, store_path: Path) -> None:
        """wait=S holds the request until a message newer than ``after`` arrives."""
        client = _fake(store_path)
        client.send("old", ["09123456789"])
        newest = api.get("/api/v1/latest?number=09123456789")["id"]
        timer = threading.Timer(0.4, lambda: client.send("Your code is 5555", ["09123456789"]))
        timer.start()
        started = time.monotonic()
        found = api.get(f"/api/v1/latest?number=09123456789&after={newest}&wait=10")
        timer.join()
        assert found["text"] == "Your code is 5555"
        assert 0.3 < time.monotonic() - started < 5

    def test_single_message(self, api: Api, store_path: Path) -> None:
        """GET /api/v1/messages/ID; 404 for an unknown id."""
        _fake(store_path).send("hi", ["09123456789"])
        (message,) = api.get("/api/v1/messages")["messages"]
        assert api.get(f"/api/v1/messages/{message['id']}") == message
        assert api.call("GET", "/api/v1/messages/999")[0] == 404

    def test_info(self, api: Api, inbox: InboxServer) -> None:
        """Settings, the chaos categories with labels, and how to send here."""
        info = api.get("/api/v1/info")
        assert info["send_url"] == f"fake://?inbox={inbox.store.path}"
        assert {"value": "recipient_rejected", "label": "blacklisted / rejected number"} in info[
            "categories"
        ]
        assert info["token_required"] is False
        assert "fake" in info["providers"]


class TestWriting:
    """Deleting, statuses, templates and intake."""

    def test_delete(self, api: Api, store_path: Path, store: InboxStore) -> None:
        """Clear one number, one message, by search, and everything."""
        client = _fake(store_path)
        client.send("a", ["09123456789"])
        client.send("b", ["09351234567"])
        client.send("secret", ["09121111111"])
        client.send("d", ["09122222222"])
        assert api.delete("/api/v1/conversations/09123456789") == {"deleted": 1}
        assert api.delete("/api/v1/messages?q=secret") == {"deleted": 1}
        (b_id,) = [m.id for m in store.messages(number="+989351234567")]
        assert api.delete(f"/api/v1/messages/{b_id}") == {"deleted": 1}
        assert api.delete("/api/v1/messages") == {"deleted": 1}
        assert store.count() == 0

    def test_set_status(self, api: Api, store_path: Path) -> None:
        """POST a status; the sender's delivery query reads it."""
        client = _fake(store_path)
        (message_id,) = client.send("hi", ["09123456789"]).message_ids
        (message,) = api.get("/api/v1/messages")["messages"]
        changed = api.post(f"/api/v1/messages/{message['id']}/status", {"status": "failed"})
        assert changed["status"] == "failed"
        assert client.delivery_status([message_id])[0].status.value == "failed"
        status, body = api.call(
            "POST", f"/api/v1/messages/{message['id']}/status", {"status": "lost"}
        )
        assert status == 400
        assert "pending, delivered, failed, rejected" in body["error"]

    def test_simulated_delivery(self, api: Api, store_path: Path) -> None:
        """A fake message shows pending, then delivered after the inbox's delay."""
        _fake(store_path).send("hi", ["09123456789"])
        assert api.get("/api/v1/latest?number=09123456789")["status"] == "pending"
        deadline = time.monotonic() + 5
        while api.get("/api/v1/latest?number=09123456789")["status"] != "delivered":
            assert time.monotonic() < deadline, "never delivered"
            time.sleep(0.05)

    def test_templates(self, api: Api, store_path: Path) -> None:
        """PUT a template body; fake template sends render with it."""
        from smsbridge import Template

        api.call("PUT", "/api/v1/templates/otp", {"body": "Code: {code}"})
        assert api.get("/api/v1/templates") == {"templates": {"otp": "Code: {code}"}}
        _fake(store_path).send(Template(id="otp", variables={"code": "99"}), ["09123456789"])
        assert api.get("/api/v1/latest?number=09123456789")["text"] == "Code: 99"

    def test_intake(self, api: Api) -> None:
        """An emulator reports messages and then their statuses."""
        report = {
            "provider": "kavenegar",
            "message_id": "8792343",
            "recipient": "09123456789",
            "text": "سلام",
            "sender": "10004346",
            "status": "pending",
        }
        assert api.post("/api/v1/intake", {"messages": [report]}) == {"stored": 1}
        assert api.post("/api/v1/intake", {"messages": [report]}) == {"stored": 1}
        (stored,) = api.get("/api/v1/messages")["messages"]
        assert (stored["recipient"], stored["provider"], stored["status"]) == (
            "+989123456789",
            "kavenegar",
            "pending",
        )
        update = {"provider": "kavenegar", "message_id": "8792343", "status": "delivered"}
        assert api.post("/api/v1/intake/status", update) == {"updated": 1}
        assert api.get("/api/v1/latest?number=09123456789")["status"] == "delivered"
        missing = {**update, "message_id": "1"}
        assert api.call("POST", "/api/v1/intake/status", missing)[0] == 404

    def test_intake_refuses_bad_records(self, api: Api) -> None:
        """Each record is checked: required fields, types, unknown fields, text length."""
        base = {"provider": "x", "message_id": "1", "recipient": "+989123456789", "text": "t"}
        cases = [
            ({**base, "text": 5}, "messages[0]: text is required"),
            ({**base, "colour": "red"}, "unknown fields: colour"),
            ({**base, "flash": "yes"}, "flash must be a bool"),
            ({**base, "text": "x" * 5000}, "text is too long"),
            ({k: v for k, v in base.items() if k != "message_id"}, "message_id is required"),
        ]
        for record, error in cases:
            status, body = api.call("POST", "/api/v1/intake", {"messages": [record]})
            assert status == 400, record
            assert error in body["error"]
        assert api.call("POST", "/api/v1/intake", {"messages": []})[0] == 400
        assert api.get("/api/v1/messages")["messages"] == []


class TestChaosApi:
    """Arming, listing and disarming chaos, and taking it as an emulator does."""

    def test_arm_and_fail_another_process(self, api: Api, store_path: Path) -> None:
        """Arm the next 2 sends as blacklisted; a sender in another process sees exactly that."""
        rule = api.post("/api/v1/chaos", {"category": "recipient_rejected", "count": 2})
        assert (rule["remaining"], rule["share"], rule["provider"]) == (2, 1.0, "*")
        report = send_elsewhere(store_path, "hi", ["09123456789"])
        assert report[0]["category"] == "recipient_rejected"
        assert api.get("/api/v1/chaos")["rules"][0]["remaining"] == 1
        send_elsewhere(store_path, "hi", ["09123456789"])
        assert api.get("/api/v1/chaos") == {"rules": []}
        assert send_elsewhere(store_path, "hi", ["09123456789"])[0]["status"] == "accepted"

    def test_share(self, api: Api) -> None:
        """A share without a count stays armed."""
        rule = api.post("/api/v1/chaos", {"category": "provider_unavailable", "share": 0.5})
        assert (rule["remaining"], rule["share"]) == (None, 0.5)
        assert api.delete(f"/api/v1/chaos/{rule['id']}") == {"disarmed": 1}

    def test_take(self, api: Api) -> None:
        """POST /api/v1/chaos/take answers the fault for that provider, once."""
        api.post("/api/v1/chaos", {"category": "outcome_unknown", "provider": "kavenegar"})
        assert api.post("/api/v1/chaos/take", {"provider": "fake"}) == {"fault": None}
        fault = api.post("/api/v1/chaos/take", {"provider": "kavenegar"})["fault"]
        assert (fault["category"], fault["lose_reply"]) == ("outcome_unknown", True)
        assert api.post("/api/v1/chaos/take", {"provider": "kavenegar"}) == {"fault": None}

    def test_bad_rules(self, api: Api) -> None:
        """Unknown categories and bad counts are 400s that say why; nothing is armed."""
        for body, error in [
            ({"category": "invalid_input"}, "cannot inject"),
            ({"category": "nope"}, "'nope' is not a valid ErrorCategory"),
            ({"category": "rate_limited", "count": 0}, "count must be at least 1"),
            ({"category": "rate_limited", "count": True}, "count must be a whole number"),
            ({"category": "rate_limited", "share": 2}, "share must be above 0"),
            ([], "expected a JSON object"),
        ]:
            status, answer = api.call("POST", "/api/v1/chaos", body)
            assert status == 400, body
            assert error in answer["error"]
        assert api.delete("/api/v1/chaos") == {"disarmed": 0}


class TestEvents:
    """GET /api/v1/events streams a change event whenever the store changes, from any process."""

    def test_change_events(self, inbox: InboxServer, store_path: Path) -> None:
        """The stream opens with the current revision and announces a send from elsewhere."""
        parts = urlsplit(inbox.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        connection.request("GET", "/api/v1/events")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
        assert response.readline() == b"retry: 1000\n"
        assert response.readline() == b"event: change\n"
        first = int(response.readline().removeprefix(b"data: "))
        response.readline()
        send_elsewhere(store_path, "hi", ["09123456789"])
        assert response.readline() == b"event: change\n"
        assert int(response.readline().removeprefix(b"data: ")) > first
        connection.close()

    def test_unknown_endpoint(self, api: Api) -> None:
        """Unknown paths are 404, wrong methods 405, both as JSON."""
        assert api.call("GET", "/api/v1/nothing") == (
            404,
            {"error": "no such endpoint (see docs/inbox.md)"},
        )
        assert api.call("PUT", "/api/v1/messages")[0] == 405
        assert api.call("GET", "/nothing")[0] == 404
