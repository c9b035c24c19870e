"""smsbridge for Django (``pip install smsbridge[django]``); see docs/django.md.

``INSTALLED_APPS = [..., "smsbridge.contrib.django"]`` and a ``SMSBRIDGE`` setting::

    SMSBRIDGE = {
        "SENDERS": {
            "default": {"URL": "melipayamak://${MELI_USER}:${MELI_PASSWORD}@/?from=5000..."},
            "otp": {"URL": "...", "OPTIONS": {"timeout": 10}, "TEMPLATES": {"login": "161754"}},
        },
        "WEBHOOK_SECRET": "${SMSBRIDGE_WEBHOOK_SECRET}",
    }

then ``send_sms("09123456789", "Hi", using="otp")``. In tests every alias is the fake provider
and :data:`outbox` is emptied before each test.
"""

from smsbridge.contrib.django._conf import SmsSettingsError
from smsbridge.contrib.django._polling import poll_deliveries, poll_journal
from smsbridge.contrib.django._senders import Senders, senders
from smsbridge.contrib.django._shortcuts import (
    asend_mass_sms,
    asend_sms,
    asend_template,
    send_mass_sms,
    send_sms,
    send_template,
)
from smsbridge.contrib.django.signals import (
    CancelSend,
    DeliveryEvent,
    InboundEvent,
    delivery_status,
    inbound,
    post_send,
    pre_send,
)
from smsbridge.contrib.django.testing import outbox, sent_using

__all__ = [
    "CancelSend",
    "DeliveryEvent",
    "InboundEvent",
    "Senders",
    "SmsSettingsError",
    "asend_mass_sms",
    "asend_sms",
    "asend_template",
    "delivery_status",
    "inbound",
    "outbox",
    "poll_deliveries",
    "poll_journal",
    "post_send",
    "pre_send",
    "send_mass_sms",
    "send_sms",
    "send_template",
    "senders",
    "sent_using",
]
