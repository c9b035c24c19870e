"""send_sms, send_template, send_mass_sms and their async twins; pre_send and post_send."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from phonenumber_field.phonenumber import PhoneNumber

from smsbridge import ErrorCategory, InvalidRecipientError, Message, SendReport, Template
from smsbridge.contrib.django import (
    CancelSend,
    asend_mass_sms,
    asend_sms,
    asend_template,
    outbox,
    post_send,
    pre_send,
    send_mass_sms,
    send_sms,
    send_template,
    sent_using,
)


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    """What post_send receivers were given, while the test runs."""
    calls: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        calls.append(kwargs)

    post_send.connect(receiver)
    yield calls
    post_send.disconnect(receiver)


class TestSendSms:
    """send_sms returns smsbridge's per-recipient report."""

    def test_one_result_per_recipient(self) -> None:
        """Partial success is a report: magic number 09120000001 is refused."""
        report = send_sms(["09123456789", "09120000001"], "Hello", using="otp")
        assert isinstance(report, SendReport)
        assert [r.status.value for r in report] == ["accepted", "rejected"]
        assert report[1].error is not None
        assert report[1].error.category is ErrorCategory.RECIPIENT_REJECTED
        assert outbox.recipients == ["+989123456789"]

    def test_phone_number_objects(self) -> None:
        """django-phonenumber-field's PhoneNumber, alone or in a list."""
        number = PhoneNumber.from_string("+989123456789")
        send_sms(number, "one")
        send_sms([number, "09351234567"], "two")
        assert outbox.recipients == ["+989123456789", "+989123456789", "+989351234567"]

    def test_options_reach_the_message(self) -> None:
        """sender, flash and reference; a Message is taken as it is."""
        send_sms("09123456789", "hi", sender="5000", flash=True, reference="r-1")
        send_sms("09123456789", Message(text="as a message"))
        first, second = outbox.messages
        assert (first.sender, first.flash, first.reference) == ("5000", True, "r-1")
        assert second.text == "as a message"

    def test_bad_input_raises_before_sending(self) -> None:
        """An invalid number raises, unless skip_invalid reports it."""
        with pytest.raises(InvalidRecipientError):
            send_sms(["09123456789", "nope"], "hi")
        outbox.assert_nothing_sent()
        report = send_sms(["09123456789", "nope"], "hi", skip_invalid=True)
        assert [r.status.value for r in report] == ["accepted", "rejected"]

    def test_alias_options_apply(self) -> None:
        """'otp' allows two segments: a longer text is refused before sending."""
        from smsbridge import InvalidMessageError

        with pytest.raises(InvalidMessageError):
            send_sms("09123456789", "x" * 400, using="otp")


class TestSendTemplate:
    """Templates by the alias's own names."""

    def test_a_named_template(self) -> None:
        """'login' is id 161754 on 'otp'; in tests its TEXT is what the outbox shows."""
        send_template("09123456789", "login", ["4821"], using="otp")
        sms = outbox.assert_sent_to("09123456789", template="161754")
        assert sms.text == "Your login code is 4821"
        assert sent_using(sms) == "otp"

    def test_an_id_the_alias_does_not_name(self) -> None:
        """Any other name is the provider's id itself."""
        send_template("09123456789", "99", {"token": "1"}, using="otp")
        sms = outbox.assert_sent_to("09123456789", template="99")
        assert sms.variables == {"token": "1"}


class TestSendMass:
    """Several messages through one client."""

    def test_one_report_per_message(self) -> None:
        """Texts and templates mixed, each to its own recipients."""
        reports = send_mass_sms(
            [
                ("Hello", ["09123456789", "09351234567"]),
                (Template(id="161754", variables=["1"]), "09121111111"),
            ],
            using="otp",
        )
        assert [len(r) for r in reports] == [2, 1]
        assert len(outbox) == 3


class TestAsync:
    """The async twins, for async views."""

    def test_the_twins(self) -> None:
        """Each returns what its blocking twin does."""

        async def main() -> list[SendReport]:
            one = await asend_sms("09123456789", "a")
            two = await asend_template("09123456789", "login", ["1"], using="otp")
            more = await asend_mass_sms([("b", "09123456789")])
            return [one, two, *more]

        reports = asyncio.run(main())
        assert all(r.all_accepted for r in reports)
        assert [sent_using(s) for s in outbox] == ["default", "otp", "default"]
        assert asend_sms.__name__ == "asend_sms"


class TestSignals:
    """pre_send may drop recipients or cancel; post_send gets the report."""

    def test_post_send_gets_the_report(self, received: list[dict[str, Any]]) -> None:
        """Once per send, with the alias."""
        report = send_sms("09123456789", "hi", using="otp")
        (call,) = received
        assert call["using"] == "otp"
        assert call["report"] == report
        assert call["send"].recipients == ("+989123456789",)

    def test_a_suppression_list(self) -> None:
        """send.reject() drops one recipient; the report says vetoed."""

        def suppress(send: Any, **kwargs: Any) -> None:
            send.reject("+989351234567", "opted out")

        pre_send.connect(suppress)
        try:
            report = send_sms(["09123456789", "09351234567"], "Sale")
        finally:
            pre_send.disconnect(suppress)
        assert [r.status.value for r in report] == ["accepted", "rejected"]
        assert report[1].error is not None
        assert report[1].error.category is ErrorCategory.VETOED
        assert report[1].error.message == "opted out"
        outbox.assert_not_sent_to("09351234567")

    def test_cancel(self, received: list[dict[str, Any]]) -> None:
        """CancelSend sends to nobody, quietly: a report, every recipient vetoed."""

        def cancel(using: str, **kwargs: Any) -> None:
            if using == "default":
                raise CancelSend("quiet hours")

        pre_send.connect(cancel)
        try:
            report = send_sms(["09123456789", "09351234567"], "Sale")
            kept = send_sms("09123456789", "code 1", using="otp")
        finally:
            pre_send.disconnect(cancel)
        assert report.rejected == 2
        assert {r.error.message for r in report if r.error} == {"quiet hours"}
        assert kept.all_accepted
        assert outbox.recipients == ["+989123456789"]
        assert len(received) == 2

    def test_a_receiver_error_propagates(self) -> None:
        """Any other exception is the caller's, like in any Django signal."""

        def broken(**kwargs: Any) -> None:
            raise RuntimeError("receiver bug")

        pre_send.connect(broken)
        try:
            with pytest.raises(RuntimeError, match="receiver bug"):
                send_sms("09123456789", "hi")
        finally:
            pre_send.disconnect(broken)
        outbox.assert_nothing_sent()

    def test_campaigns_fire_them_outside_the_event_loop(self, tmp_path: Any) -> None:
        """send_bulk runs an event loop; receivers still run where the ORM may be used."""
        from smsbridge.contrib.django import senders

        seen: list[bool] = []

        def where(**kwargs: Any) -> None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                seen.append(True)
            else:
                seen.append(False)

        pre_send.connect(where)
        try:
            summary = senders["otp"].send_bulk(
                "Sale! لغو11", ["09121111111", "09122222222"], journal=tmp_path / "j.sqlite"
            )
        finally:
            pre_send.disconnect(where)
        assert summary.totals.accepted == 2
        assert seen
        assert all(seen)
