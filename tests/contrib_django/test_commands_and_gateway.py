"""The polling and campaign commands, and the django-two-factor-auth gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import attrs
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from phonenumber_field.phonenumber import PhoneNumber

from smsbridge import DeliveryStatus, ErrorCategory
from smsbridge.contrib.django import (
    DeliveryEvent,
    delivery_status,
    outbox,
    poll_deliveries,
    send_sms,
    sent_using,
)
from smsbridge.contrib.django.two_factor import Gateway, TokenNotSent

from .conftest import SMSBRIDGE

PENDING: list[str] = []


def pending_ids(using: str) -> list[str]:
    """SMSBRIDGE['PENDING_MESSAGES'] in the tests below."""
    return list(PENDING)


@pytest.fixture
def events() -> Iterator[list[DeliveryEvent]]:
    found: list[DeliveryEvent] = []

    def keep(event: DeliveryEvent, **kwargs: Any) -> None:
        found.append(event)

    delivery_status.connect(keep)
    yield found
    delivery_status.disconnect(keep)


def run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


class TestPolling:
    """smsbridge_poll_deliveries and poll_deliveries()."""

    def test_ids(self, events: list[DeliveryEvent]) -> None:
        """Each id's status becomes a delivery_status event, with the alias polled."""
        report = send_sms(["09123456789", "09351234567"], "hi", using="otp")
        first, second = report.message_ids
        outbox.set_delivery(first, DeliveryStatus.DELIVERED)
        assert run("smsbridge_poll_deliveries", "--using", "otp", first, second) == {
            "delivered": 1,
            "pending": 1,
        }
        assert [(e.message_id, e.status, e.using, e.source) for e in events] == [
            (first, DeliveryStatus.DELIVERED, "otp", "poll"),
            (second, DeliveryStatus.PENDING, "otp", "poll"),
        ]

    def test_pending_messages_setting(self, events: list[DeliveryEvent]) -> None:
        """Without ids, the function named by PENDING_MESSAGES says what to poll."""
        PENDING[:] = send_sms("09123456789", "hi").message_ids
        name = f"{__name__}.pending_ids"
        with override_settings(SMSBRIDGE={**SMSBRIDGE, "PENDING_MESSAGES": name}):
            assert run("smsbridge_poll_deliveries") == {"pending": 1}
        assert len(events) == 1

    def test_nothing_to_poll(self) -> None:
        """No ids, no journal, no PENDING_MESSAGES: a command error that says what to give."""
        with pytest.raises(CommandError, match="PENDING_MESSAGES"):
            call_command("smsbridge_poll_deliveries")

    def test_the_function(self) -> None:
        """poll_deliveries() for tasks and cron jobs."""
        ids = send_sms("09123456789", "hi").message_ids
        assert poll_deliveries(ids) == {"pending": 1}


class TestCampaign:
    """smsbridge_campaign: a resumable campaign through an alias."""

    def test_text_campaign_and_its_journal(self, tmp_path: Path, events: list[Any]) -> None:
        """Invalid numbers are reported; a second run resumes and sends nothing again."""
        numbers = tmp_path / "numbers.txt"
        numbers.write_text("09121111111\n09122222222\nnope\n", encoding="utf-8")
        journal = str(tmp_path / "j.sqlite")
        args = ("smsbridge_campaign", "--using", "otp", "--text", "Sale! لغو11")
        first = run(*args, "--to-file", str(numbers), "--journal", journal)
        assert (first["accepted"], first["rejected"], first["resumed"]) == (2, 1, False)
        again = run(*args, "--to-file", str(numbers), "--journal", journal)
        assert (again["accepted"], again["resumed"]) == (2, True)
        assert len(outbox) == 2
        assert all(sent_using(sms) == "otp" for sms in outbox)
        assert run("smsbridge_poll_deliveries", "--using", "otp", "--journal", journal) == {
            "pending": 2
        }
        assert len(events) == 2

    def test_template_campaign(self, tmp_path: Path) -> None:
        """--template takes the alias's template names; --var fills it."""
        numbers = tmp_path / "numbers.csv"
        numbers.write_text("name,mobile\nA,09121111111\n", encoding="utf-8")
        summary = run(
            "smsbridge_campaign", "--using", "otp", "--template", "login", "--var", "77",
            "--to-file", str(numbers), "--column", "mobile",
            "--journal", str(tmp_path / "j.sqlite"),
        )  # fmt: skip
        assert summary["accepted"] == 1
        assert outbox.assert_sent_to("09121111111").text == "Your login code is 77"

    def test_errors_are_command_errors(self, tmp_path: Path) -> None:
        """A journal of another campaign is refused as a command error."""
        numbers = tmp_path / "n.txt"
        numbers.write_text("09121111111\n", encoding="utf-8")
        journal = str(tmp_path / "j.sqlite")
        run("smsbridge_campaign", "--text", "A", "--to-file", str(numbers), "--journal", journal)
        with pytest.raises(CommandError):
            call_command(
                "smsbridge_campaign", "--text", "B", "--to-file", str(numbers),
                "--journal", journal, stdout=StringIO(),
            )  # fmt: skip


@attrs.define
class Device:
    """What django-two-factor-auth hands a gateway: a device with a number."""

    number: object


class TestTwoFactorGateway:
    """send_sms(device, token) through SMSBRIDGE['TWO_FACTOR']."""

    def test_through_the_template(self) -> None:
        """The suite's TWO_FACTOR sends template 'login' of 'otp', the token its variable."""
        Gateway().send_sms(Device(PhoneNumber.from_string("+989123456789")), "123456")
        sms = outbox.assert_sent_to("09123456789", template="161754")
        assert (sms.text, sent_using(sms)) == ("Your login code is 123456", "otp")

    def test_a_named_variable(self) -> None:
        """TEMPLATE_VARIABLE names the variable, for providers with named ones."""
        two_factor = {"USING": "otp", "TEMPLATE": "777", "TEMPLATE_VARIABLE": "token"}
        with override_settings(SMSBRIDGE={**SMSBRIDGE, "TWO_FACTOR": two_factor}):
            Gateway().send_sms(Device("+989123456789"), "123456")
        assert outbox.assert_sent_to("09123456789", template="777").variables == {"token": "123456"}

    def test_a_text(self) -> None:
        """Without a template, TEXT (default 'Your verification code is {token}')."""
        with override_settings(SMSBRIDGE={**SMSBRIDGE, "TWO_FACTOR": {"USING": "default"}}):
            Gateway().send_sms(Device("09123456789"), "654321")
        sms = outbox.assert_sent_to("09123456789")
        assert (sms.text, sent_using(sms)) == ("Your verification code is 654321", "default")

    def test_a_refused_token_raises(self) -> None:
        """The login form must not wait for a code that was refused."""
        outbox.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        with pytest.raises(TokenNotSent, match="insufficient_credit"):
            Gateway().send_sms(Device("09123456789"), "1")

    def test_an_unknown_outcome_does_not(self) -> None:
        """A lost reply may still have delivered the code: the user may try it."""
        outbox.lose_next_reply()
        report = Gateway().send_sms(Device("09123456789"), "1")
        assert report.unknown == 1

    def test_no_calls(self) -> None:
        """Voice is another gateway's job."""
        with pytest.raises(NotImplementedError, match="TWO_FACTOR_CALL_GATEWAY"):
            Gateway().make_call(Device("09123456789"), "1")
