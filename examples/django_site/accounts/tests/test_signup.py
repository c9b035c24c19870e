"""Sign-up by OTP, asserted on smsbridge's outbox; the suppression list; the commands."""

import re
import tempfile
from io import StringIO
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase
from smsbridge import ErrorCategory
from smsbridge.contrib.django import outbox, send_sms, sent_using

from accounts.models import OptOut

PHONE = "+989123456789"


class SignupTests(TestCase):
    """A visitor signs up with the code texted to them."""

    def test_the_outbox_starts_empty(self) -> None:
        """Each test sees an empty outbox, whatever the test before sent."""
        outbox.assert_nothing_sent()
        send_sms(PHONE, "left behind for the next test")

    def test_the_outbox_is_emptied_before_each_test(self) -> None:
        """The same check in the other order of execution."""
        outbox.assert_nothing_sent()
        send_sms(PHONE, "left behind for the next test")

    def test_sign_up_with_the_code_texted(self) -> None:
        """The code goes out through the 'otp' alias's template; it makes the account."""
        response = self.client.post("/signup/", {"phone": "0912 345 6789"})
        self.assertEqual(response.status_code, 202)
        sms = outbox.assert_sent_to(PHONE, template="161754", times=1)
        self.assertEqual(sent_using(sms), "otp")
        self.assertEqual(sms.provider, "melipayamak")
        self.assertNotIn("${", sms.url or "")
        code = re.fullmatch(r"Your sign-up code is (\d{6})", sms.text)
        assert code is not None, sms.text

        response = self.client.post("/signup/verify/", {"code": "000000"})
        self.assertEqual(response.status_code, 400)
        response = self.client.post("/signup/verify/", {"code": code.group(1), "password": "pw"})
        self.assertEqual(response.status_code, 201)
        self.assertTrue(get_user_model().objects.filter(username=PHONE).exists())
        self.assertEqual(self.client.get("/welcome/").json()["user"], PHONE)

    def test_a_provider_refusal_is_reported(self) -> None:
        """When the provider refuses, no code is pending and the visitor is told."""
        outbox.fail_number(PHONE, ErrorCategory.RECIPIENT_REJECTED)
        response = self.client.post("/signup/", {"phone": PHONE})
        self.assertEqual(response.status_code, 503)
        outbox.assert_nothing_sent()

    def test_an_invalid_number_sends_nothing(self) -> None:
        """A number that is not a mobile is refused before any SMS."""
        self.assertEqual(self.client.post("/signup/", {"phone": "12"}).status_code, 400)
        outbox.assert_nothing_sent()


class SuppressionTests(TestCase):
    """The site's pre_send receiver keeps opted-out numbers out of marketing sends."""

    def test_opted_out_numbers_are_skipped(self) -> None:
        """The report says 'vetoed' for them; the others get the text; OTPs still go out."""
        OptOut.objects.create(number="+989351234567")
        report = send_sms([PHONE, "09351234567"], "Sale tomorrow")
        self.assertEqual([r.status.value for r in report], ["accepted", "rejected"])
        assert report[1].error is not None
        self.assertEqual(report[1].error.category.value, "vetoed")
        outbox.assert_not_sent_to("09351234567")
        send_sms("09351234567", "Your code is 1234", using="otp")
        outbox.assert_sent_to("09351234567", text_contains="1234")


class CommandTests(TestCase):
    """The campaign and polling commands, through the fake provider."""

    def test_a_campaign_then_its_deliveries(self) -> None:
        """The campaign sends through the journal; polling it reports each message."""
        folder = Path(tempfile.mkdtemp())
        numbers = folder / "numbers.txt"
        numbers.write_text("09121111111\n09122222222\nnot a number\n", encoding="utf-8")
        journal = folder / "campaign.sqlite"
        out = StringIO()
        call_command(
            "smsbridge_campaign", "--text", "Sale! لغو11", "--to-file", str(numbers),
            "--journal", str(journal), stdout=out,
        )  # fmt: skip
        self.assertIn('"accepted": 2', out.getvalue())
        self.assertIn('"rejected": 1', out.getvalue())
        self.assertEqual(len(outbox), 2)

        out = StringIO()
        call_command("smsbridge_poll_deliveries", "--journal", str(journal), stdout=out)
        self.assertEqual(out.getvalue().strip(), '{"pending": 2}')
