"""The URLs of the in-process Django tests: the webhook routes under ``sms/``."""

from django.urls import include, path

urlpatterns = [path("sms/", include("smsbridge.contrib.django.urls"))]
