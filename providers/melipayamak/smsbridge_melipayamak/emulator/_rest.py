"""The REST API (``/api/SendSMS/<Method>``): SendSMS, BaseServiceNumber, GetDeliveries2 and
GetCredit, over the same state as the SOAP service.

Requests are form-encoded (as every official SDK posts them) or JSON; field names and the
method in the path are case-insensitive, as ASP.NET's binding is. Every answer is
``{"Value": …, "RetStatus": …, "StrRetStatus": …}``: a call the service ran answers RetStatus 1
"Ok" with the recId *or the code* in ``Value``; wrong credentials answer RetStatus 0
"InvalidUserPass".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qsl

import attrs

from smsbridge.testing.server import Operation, Reply, Request

from ._rules import DeliveryCode, PatternCode, SendCode
from ._state import EmulatorState

__all__ = ["METHODS", "REST_PATH", "handle"]

REST_PATH: Final = "/api/SendSMS"
_PREFIX: Final = REST_PATH.lower() + "/"
_JSON: Final = "application/json; charset=utf-8"
_WRONG_CREDENTIALS_DELIVERY: Final = -3
"""GetDeliveries2's answer for wrong credentials (third-party, status_codes.md section 4)."""


@attrs.frozen
class Form:
    """A request's fields by lower-cased name."""

    fields: Mapping[str, str]

    def text(self, name: str) -> str:
        """A field; missing reads as the empty string."""
        return self.fields.get(name.lower(), "")

    def integer(self, name: str) -> int:
        """A number field; anything else reads 0, as ASP.NET's binder leaves it."""
        value = self.text(name).strip()
        return int(value) if value.lstrip("-").isdigit() and value.isascii() else 0

    def boolean(self, name: str) -> bool:
        """A boolean field (``true``/``1``, any case)."""
        return self.text(name).strip().lower() in {"true", "1"}


def _answer(value: str | None, *, authenticated: bool = True) -> Reply:
    status, text = (1, "Ok") if authenticated else (0, "InvalidUserPass")
    body = {"Value": value, "RetStatus": status, "StrRetStatus": text}
    return Reply(body=json.dumps(body, ensure_ascii=False).encode(), content_type=_JSON)


def _error(status: HTTPStatus, message: str) -> Reply:
    body = json.dumps({"Message": message}).encode()
    return Reply(status=status, body=body, content_type=_JSON)


def _send_sms(state: EmulatorState, form: Form) -> Reply:
    outcome = state.send_sms(
        username=form.text("username"),
        password=form.text("password"),
        to=[number for number in form.text("to").split(",") if number.strip()],
        sender=form.text("from"),
        text=form.text("text"),
        flash=form.boolean("isFlash"),
    )
    if outcome.code is not SendCode.OK:
        code = outcome.code
        return _answer(str(int(code)), authenticated=code is not SendCode.WRONG_CREDENTIALS)
    return _answer(",".join(str(rec_id) for rec_id in outcome.rec_ids))


def _base_service_number(state: EmulatorState, form: Form) -> Reply:
    outcome = state.send_pattern(
        username=form.text("username"),
        password=form.text("password"),
        text=form.text("text"),
        to=form.text("to"),
        body_id=form.integer("bodyId"),
    )
    return _answer(outcome.result, authenticated=outcome.code is not PatternCode.WRONG_CREDENTIALS)


def _get_deliveries2(state: EmulatorState, form: Form) -> Reply:
    username, password = form.text("username"), form.text("password")
    if not state.authenticates(username, password):
        return _answer(str(_WRONG_CREDENTIALS_DELIVERY), authenticated=False)
    rec_id = form.text("recId").strip()
    if not (rec_id.isascii() and rec_id.isdigit()):
        return _answer(str(int(DeliveryCode.INVALID_ID)))
    (code,) = state.deliveries([int(rec_id)], username, password)
    return _answer(str(code))


def _get_credit(state: EmulatorState, form: Form) -> Reply:
    username, password = form.text("username"), form.text("password")
    if not state.authenticates(username, password):
        return _answer(None, authenticated=False)
    return _answer(repr(state.credit_of(username, password)))


METHODS: Final[dict[str, tuple[str, Callable[[EmulatorState, Form], Reply]]]] = {
    "sendsms": ("SendSMS", _send_sms),
    "baseservicenumber": ("BaseServiceNumber", _base_service_number),
    "getdeliveries2": ("GetDeliveries2", _get_deliveries2),
    "getcredit": ("GetCredit", _get_credit),
}
"""The methods by lower-cased name: their own spelling, and what runs them."""


def operation_name(method: str) -> str:
    """How the request log (and fault rules) name a REST method: ``rest/SendSMS``."""
    return f"rest/{method}"


def _form(request: Request) -> Form | None:
    media = request.media_type
    try:
        if media == "application/json":
            data = json.loads(request.body or b"{}")
            if not isinstance(data, dict):
                return None
            return Form({str(k).lower(): "" if v is None else _scalar(v) for k, v in data.items()})
        if media in ("application/x-www-form-urlencoded", ""):
            pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
            return Form({name.lower(): value for name, value in pairs})
    except (UnicodeDecodeError, ValueError):
        return None
    return None


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def handle(state: EmulatorState, request: Request) -> Reply | Operation | None:
    """The REST surface: None when the path is not under ``/api/SendSMS/``."""
    path = request.path.lower()
    if not path.startswith(_PREFIX):
        return None
    found = METHODS.get(path.removeprefix(_PREFIX).strip("/"))
    if found is None:
        return _error(
            HTTPStatus.NOT_FOUND,
            f"No HTTP resource was found that matches the request URI '{request.path}'.",
        )
    if request.method != "POST":
        return _error(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"The requested resource does not support http method '{request.method}'.",
        )
    form = _form(request)
    if form is None:
        return _error(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "The request entity's media type is not supported for this resource.",
        )
    name, run = found
    recipients = 1 if name == "BaseServiceNumber" else 0
    if name == "SendSMS":
        recipients = len([number for number in form.text("to").split(",") if number.strip()])
    return Operation(name=operation_name(name), recipients=recipients, run=lambda: run(state, form))
