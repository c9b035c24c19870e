"""The webhook views, through Django's test client: secrets, duplicates, failures."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from smsbridge import DeliveryStatus
from smsbridge.contrib.django import DeliveryEvent, InboundEvent, delivery_status, inbound

from .conftest import OLD_SECRET, SECRET, SMSBRIDGE

INBOUND = "/sms/melipayamak/inbound/"
FIELDS = {"to": "50004001234567", "body": "سلام", "from": "09123456789"}


@pytest.fixture
def http() -> HttpClient:
    return HttpClient()


@pytest.fixture
def events() -> Iterator[list[Any]]:
    """Every inbound and delivery event fired while the test runs."""
    found: list[Any] = []

    def keep(event: Any, **kwargs: Any) -> None:
        found.append(event)

    inbound.connect(keep)
    delivery_status.connect(keep)
    yield found
    inbound.disconnect(keep)
    delivery_status.disconnect(keep)


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


class TestAuthentication:
    """Only a request with a configured secret gets through."""

    def test_without_a_secret(self, http: HttpClient, events: list[Any]) -> None:
        """401 with a basic-auth challenge; no event."""
        response = http.get(INBOUND, FIELDS)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="sms"'
        assert events == []

    @pytest.mark.parametrize(
        "how",
        [
            {"token": SECRET},
            {"HTTP_AUTHORIZATION": f"Bearer {SECRET}"},
            {"HTTP_AUTHORIZATION": basic(OLD_SECRET)},
        ],
        ids=["token parameter", "bearer", "basic auth (the older secret)"],
    )
    def test_with_a_secret(self, http: HttpClient, events: list[Any], how: dict[str, str]) -> None:
        """A token as ?token= or a bearer header, or user:password by basic auth."""
        params = {k: v for k, v in how.items() if not k.startswith("HTTP_")}
        headers = {k: v for k, v in how.items() if k.startswith("HTTP_")}
        response = http.get(INBOUND, {**FIELDS, **params}, **headers)  # type: ignore[arg-type]
        assert (response.status_code, response.content) == (200, b"OK")
        (event,) = events
        assert isinstance(event, InboundEvent)
        assert (event.provider, event.sender, event.recipient, event.text) == (
            "melipayamak",
            "+989123456789",
            "50004001234567",
            "سلام",
        )
        assert "token" not in event.raw

    @pytest.mark.parametrize(
        "how",
        [
            {"token": SECRET[:-1]},
            {"token": SECRET + "x"},
            {"HTTP_AUTHORIZATION": basic("hook:wrong")},
            {"HTTP_AUTHORIZATION": "Basic !!!"},
            {"HTTP_AUTHORIZATION": f"Bearer {OLD_SECRET}x"},
        ],
    )
    def test_wrong_secrets(self, http: HttpClient, events: list[Any], how: dict[str, str]) -> None:
        """Near misses are refused."""
        params = {k: v for k, v in how.items() if not k.startswith("HTTP_")}
        headers = {k: v for k, v in how.items() if k.startswith("HTTP_")}
        assert http.get(INBOUND, {**FIELDS, **params}, **headers).status_code == 401  # type: ignore[arg-type]
        assert events == []

    def test_rotation(self, http: HttpClient) -> None:
        """Dropping the old secret from the list refuses it from then on."""
        assert http.get(INBOUND, FIELDS, HTTP_AUTHORIZATION=basic(OLD_SECRET)).status_code == 200
        with override_settings(SMSBRIDGE={**SMSBRIDGE, "WEBHOOK_SECRET": SECRET}):
            refused = http.get(
                INBOUND, {**FIELDS, "body": "2"}, HTTP_AUTHORIZATION=basic(OLD_SECRET)
            )
            assert refused.status_code == 401
            assert http.get(INBOUND, {**FIELDS, "body": "2", "token": SECRET}).status_code == 200

    def test_no_secret_configured_refuses_everything(self, http: HttpClient) -> None:
        """Fail closed: 403 until WEBHOOK_SECRET is set."""
        settings = {k: v for k, v in SMSBRIDGE.items() if k != "WEBHOOK_SECRET"}
        with override_settings(SMSBRIDGE=settings):
            assert http.get(INBOUND, {**FIELDS, "token": SECRET}).status_code == 403

    def test_secrets_stay_out_of_the_logs(
        self, http: HttpClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Neither our log records nor Django's request log carry the token."""
        caplog.set_level(logging.DEBUG)
        http.get(INBOUND, {**FIELDS, "token": SECRET + "x"})
        http.get(INBOUND, {"token": SECRET})  # authenticated, fields missing: 400

        def broken(**kwargs: Any) -> None:
            raise RuntimeError(f"receiver failed with {SECRET}")

        inbound.connect(broken)
        try:
            assert http.get(INBOUND, {**FIELDS, "token": SECRET}).status_code == 500
        finally:
            inbound.disconnect(broken)
        assert caplog.records
        assert all(record.name != "django.request" for record in caplog.records)
        for record in caplog.records:
            assert SECRET not in record.getMessage()
            assert SECRET not in repr(record.__dict__)


class TestRequests:
    """Methods, providers and malformed callbacks."""

    def test_head_and_options(self, http: HttpClient) -> None:
        """HEAD (with the secret) and OPTIONS answer 200 without an event."""
        assert http.head(INBOUND, {"token": SECRET}).status_code == 200
        response = http.options(INBOUND)
        assert response.status_code == 200
        assert "GET" in response["Allow"]

    def test_post_form(self, http: HttpClient, events: list[Any]) -> None:
        """Fields may come as a form body; no CSRF token is needed."""
        response = HttpClient(enforce_csrf_checks=True).post(f"{INBOUND}?token={SECRET}", FIELDS)
        assert response.status_code == 200
        assert events[0].text == "سلام"

    def test_other_methods(self, http: HttpClient) -> None:
        """PUT is 405."""
        assert http.put(INBOUND, {"token": SECRET}).status_code == 405

    def test_unknown_provider(self, http: HttpClient) -> None:
        """A provider without a parser is 404; melipayamak has no delivery callback."""
        assert http.get("/sms/nosuch/inbound/", {"token": SECRET}).status_code == 404
        assert http.get("/sms/melipayamak/status/", {"token": SECRET}).status_code == 404

    def test_missing_fields(self, http: HttpClient, events: list[Any]) -> None:
        """400, so the provider does not retry a callback that will never parse."""
        response = http.get(INBOUND, {"token": SECRET, "body": "x"})
        assert response.status_code == 400
        assert b"from" in response.content
        assert events == []


class TestDuplicates:
    """A retried callback is acknowledged and not handled twice."""

    def test_the_same_sms_twice(self, http: HttpClient, events: list[Any]) -> None:
        """Same from, to and body within the window: one event; another body: another."""
        for _ in range(3):
            assert http.get(INBOUND, {**FIELDS, "token": SECRET}).status_code == 200
        assert len(events) == 1
        http.get(INBOUND, {**FIELDS, "body": "another", "token": SECRET})
        assert len(events) == 2

    def test_ids_when_the_provider_gives_them(self, http: HttpClient, events: list[Any]) -> None:
        """The generic form's id: the same text twice with two ids is two messages."""
        url = "/sms/generic/inbound/"
        for message_id in ("a", "b", "a"):
            http.get(url, {**FIELDS, "id": message_id, "token": SECRET})
        assert [e.event_id for e in events] == ["a", "b"]

    def test_a_failed_handler_is_retried(self, http: HttpClient, events: list[Any]) -> None:
        """500 when a receiver raises; the retry is handled, not taken for a duplicate."""
        failures = [RuntimeError("database down")]

        def flaky(**kwargs: Any) -> None:
            if failures:
                raise failures.pop()

        inbound.connect(flaky)
        try:
            assert http.get(INBOUND, {**FIELDS, "token": SECRET}).status_code == 500
            assert http.get(INBOUND, {**FIELDS, "token": SECRET}).status_code == 200
        finally:
            inbound.disconnect(flaky)
        assert len(events) == 2  # the first event reached `keep` before `flaky` failed

    def test_broken_settings_are_a_500_without_a_debug_page(self, http: HttpClient) -> None:
        """Nothing escapes the view."""
        with override_settings(SMSBRIDGE=None, DEBUG=True):
            response = http.get(INBOUND, {**FIELDS, "token": SECRET})
        assert response.status_code == 500
        assert SECRET.encode() not in response.content


class TestDeliveryCallbacks:
    """The generic delivery callback fires delivery_status."""

    def test_status(self, http: HttpClient, events: list[Any]) -> None:
        """Normalised, deduplicated per (message, status)."""
        url = "/sms/generic/status/"
        for status in ("pending", "delivered", "delivered"):
            response = http.post(
                url, {"message_id": "m-1", "status": status, "to": "09123456789"},
                HTTP_AUTHORIZATION=f"Bearer {SECRET}",
            )  # fmt: skip
            assert response.status_code == 200
        assert [(e.message_id, e.status) for e in events] == [
            ("m-1", DeliveryStatus.PENDING),
            ("m-1", DeliveryStatus.DELIVERED),
        ]
        assert all(isinstance(e, DeliveryEvent) and e.source == "webhook" for e in events)
        assert events[0].recipient == "+989123456789"

    def test_unknown_status(self, http: HttpClient) -> None:
        """A status outside the vocabulary is 400."""
        response = http.get(
            "/sms/generic/status/", {"message_id": "m", "status": "lost", "token": SECRET}
        )
        assert response.status_code == 400
