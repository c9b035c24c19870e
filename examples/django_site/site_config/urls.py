"""URLs: sign-up, two-factor login, and smsbridge's webhooks under sms/."""

from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/verify/", views.verify, name="signup-verify"),
    path("welcome/", views.welcome, name="welcome"),
    path("", include(two_factor_urls)),
    path("sms/", include("smsbridge.contrib.django.urls")),
]
