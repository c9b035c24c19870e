"""django-two-factor-auth's login, its token texted through smsbridge's gateway."""

import re

from django.contrib.auth import get_user_model
from django.test import TestCase
from smsbridge.contrib.django import outbox, sent_using
from two_factor.plugins.phonenumber.models import PhoneDevice

PHONE = "+989121234567"


class TwoFactorLoginTests(TestCase):
    """Password, then the code sent by SMS, then the user is in and verified."""

    def setUp(self) -> None:
        self.user = get_user_model().objects.create_user(username="sara", password="pw-123456")
        PhoneDevice.objects.create(user=self.user, name="default", number=PHONE, method="sms")

    def login_step(self, step: str, **fields: str):  # type: ignore[no-untyped-def]
        data = {"login_view-current_step": step}
        data.update({f"{step}-{name}": value for name, value in fields.items()})
        return self.client.post("/account/login/", data)

    def test_the_code_is_texted_and_logs_the_user_in(self) -> None:
        """The gateway sends the login template through the 'otp' alias."""
        response = self.login_step("auth", username="sara", password="pw-123456")
        self.assertEqual(response.status_code, 200)
        sms = outbox.assert_sent_to(PHONE, template="161755", times=1)
        self.assertEqual(sent_using(sms), "otp")
        code = re.fullmatch(r"Your login code is (\d{6})", sms.text)
        assert code is not None, sms.text

        response = self.login_step("token", otp_token=code.group(1))
        self.assertRedirects(response, "/welcome/", fetch_redirect_response=False)
        self.assertEqual(self.client.get("/welcome/").json(), {"user": "sara", "verified": True})

    def test_a_wrong_code_does_not_log_in(self) -> None:
        """The token step refuses a code that was not sent."""
        self.login_step("auth", username="sara", password="pw-123456")
        sent = outbox.latest_to(PHONE)
        assert sent is not None
        wrong = "000000" if not sent.text.endswith("000000") else "111111"
        response = self.login_step("token", otp_token=wrong)
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("_auth_user_id", self.client.session)
