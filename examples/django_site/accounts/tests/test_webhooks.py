"""The inbound webhook: Melipayamak's GET, with and without the secret."""

from django.conf import settings
from django.test import TestCase

from accounts.models import InboundMessage, OptOut

URL = "/sms/melipayamak/inbound/"
SECRET = settings.SMSBRIDGE["WEBHOOK_SECRET"]
FIELDS = {"to": "50004001234567", "body": "لغو", "from": "09123456789"}


class InboundWebhookTests(TestCase):
    """Melipayamak forwards an SMS as GET ?to=&body=&from=; the site keeps it."""

    def test_without_the_secret_nothing_is_stored(self) -> None:
        """No secret, or a wrong one: 401 and nothing stored."""
        self.assertEqual(self.client.get(URL, FIELDS).status_code, 401)
        self.assertEqual(self.client.get(URL, {**FIELDS, "token": "wrong"}).status_code, 401)
        self.assertFalse(InboundMessage.objects.exists())

    def test_with_the_secret_it_is_stored_once(self) -> None:
        """The token authenticates; a retry of the same SMS is answered OK and not stored."""
        response = self.client.get(URL, {**FIELDS, "token": SECRET})
        self.assertEqual((response.status_code, response.content), (200, b"OK"))
        message = InboundMessage.objects.get()
        self.assertEqual((message.sender, message.text), ("+989123456789", "لغو"))
        self.assertTrue(OptOut.objects.filter(number="+989123456789").exists())

        self.assertEqual(self.client.get(URL, {**FIELDS, "token": SECRET}).status_code, 200)
        self.assertEqual(InboundMessage.objects.count(), 1)
