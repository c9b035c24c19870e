"""Sign-up by phone: a one-time code by SMS, then the account."""

import hmac
import secrets

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from smsbridge import InvalidRecipientError, normalize_number
from smsbridge.contrib.django import send_template


def signup(request: HttpRequest) -> HttpResponse:
    """POST phone: send a sign-up code to it."""
    if request.method != "POST":
        return JsonResponse({"error": "POST a phone"}, status=405)
    try:
        phone = normalize_number(request.POST.get("phone", ""))
    except InvalidRecipientError:
        return JsonResponse({"error": "not a mobile number"}, status=400)
    if get_user_model().objects.filter(username=phone).exists():
        return JsonResponse({"error": "already signed up"}, status=409)
    code = f"{secrets.randbelow(10**6):06d}"
    report = send_template(phone, "signup", [code], using="otp")
    if report[0].status.value == "rejected":
        return JsonResponse({"error": "the code could not be sent, try again later"}, status=503)
    request.session["signup"] = {"phone": phone, "code": code}
    return JsonResponse({"sent_to": phone}, status=202)


def verify(request: HttpRequest) -> HttpResponse:
    """POST code (and password): the account, logged in."""
    pending = request.session.get("signup")
    if request.method != "POST" or pending is None:
        return JsonResponse({"error": "sign up first"}, status=400)
    if not hmac.compare_digest(request.POST.get("code", ""), pending["code"]):
        return JsonResponse({"error": "wrong code"}, status=400)
    user = get_user_model().objects.create_user(
        username=pending["phone"], password=request.POST.get("password") or None
    )
    del request.session["signup"]
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.get_username()}, status=201)


@login_required
def welcome(request: HttpRequest) -> HttpResponse:
    """Where a login lands."""
    return JsonResponse(
        {"user": request.user.get_username(), "verified": request.user.is_verified()}
    )
