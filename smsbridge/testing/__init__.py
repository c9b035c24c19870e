"""Testing without a vendor: the fake provider, its outbox, and the pytest fixture.

>>> from smsbridge import Client
>>> from smsbridge.testing import outbox
>>> outbox.clear()
>>> Client("fake://").send("hi", ["+989123456789"]).accepted
1
>>> outbox.assert_sent_to("09123456789", text_contains="hi").recipient
'+989123456789'

In pytest, the ``sms_outbox`` fixture (installed with smsbridge) gives the same outbox, emptied
before each test.
"""

from smsbridge.testing._fake import FakeProvider
from smsbridge.testing._outbox import MAGIC_NUMBERS, FakeOutbox, FakeSms, outbox

__all__ = ["MAGIC_NUMBERS", "FakeOutbox", "FakeProvider", "FakeSms", "outbox"]
