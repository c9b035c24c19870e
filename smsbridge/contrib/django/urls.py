"""``path("sms/", include("smsbridge.contrib.django.urls"))``: the webhook routes.

- ``<provider>/inbound/`` (name ``smsbridge:inbound``): inbound SMS;
- ``<provider>/status/`` (name ``smsbridge:status``): delivery callbacks.
"""

from __future__ import annotations

from django.urls import path

from smsbridge.contrib.django import webhooks

app_name = "smsbridge"

urlpatterns = [
    path("<slug:provider>/inbound/", webhooks.inbound, name="inbound"),
    path("<slug:provider>/status/", webhooks.status, name="status"),
]
