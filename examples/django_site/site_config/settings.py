"""Settings of the example site: sign-up by OTP, two-factor login by SMS, inbound SMS."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "two_factor.plugins.phonenumber",
    "formtools",
    "phonenumber_field",
    "smsbridge.contrib.django",
    "accounts",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
]

ROOT_URLCONF = "site_config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "/welcome/"

# smsbridge: two senders; secrets come from the environment (${VAR}), never from this file.
SMSBRIDGE = {
    "SENDERS": {
        "default": {
            "URL": "melipayamak://${MELIPAYAMAK_USER}:${MELIPAYAMAK_PASSWORD}@/?from=50004001234567"
        },
        "otp": {
            "URL": "melipayamak://${MELIPAYAMAK_USER}:${MELIPAYAMAK_PASSWORD}@/",
            "OPTIONS": {"timeout": 10, "max_segments": 1},
            "TEMPLATES": {
                "signup": {"ID": "161754", "TEXT": "Your sign-up code is {0}"},
                "login": {"ID": "161755", "TEXT": "Your login code is {0}"},
            },
        },
    },
    "WEBHOOK_SECRET": os.environ.get(
        "SMSBRIDGE_WEBHOOK_SECRET", "example-webhook-secret-0123456789"
    ),
    "TWO_FACTOR": {"USING": "otp", "TEMPLATE": "login"},
}
TWO_FACTOR_SMS_GATEWAY = "smsbridge.contrib.django.two_factor.Gateway"
