"""The same outbox as a pytest fixture (pytest-django only; Django's runner finds no test
case here)."""

import pytest
from smsbridge.contrib.django import outbox, send_sms, sent_using
from smsbridge.testing import FakeOutbox


def test_the_fixture_is_the_django_outbox(sms_outbox: FakeOutbox) -> None:
    """sms_outbox is smsbridge.contrib.django.outbox, emptied before the test."""
    assert sms_outbox is outbox
    sms_outbox.assert_nothing_sent()
    send_sms("09123456789", "hello from pytest", using="otp")
    assert sent_using(sms_outbox.assert_sent_to("09123456789", text_contains="pytest")) == "otp"


@pytest.mark.django_db
def test_the_signup_view(client, sms_outbox: FakeOutbox) -> None:  # type: ignore[no-untyped-def]
    """pytest-django's client and the fixture together."""
    assert client.post("/signup/", {"phone": "09351234567"}).status_code == 202
    sms_outbox.assert_sent_to("09351234567", template="161754", times=1)
