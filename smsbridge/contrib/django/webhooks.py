"""Webhook views: inbound SMS and delivery callbacks, as normalised events and signals.

``path("sms/", include("smsbridge.contrib.django.urls"))`` routes
``sms/<provider>/inbound/`` and ``sms/<provider>/status/``. Each request:

1. is authenticated by ``SMSBRIDGE["WEBHOOK_SECRET"]`` (one secret or a list, for rotation):
   HTTP basic auth with ``user:password``, or a token as ``?token=`` or
   ``Authorization: Bearer``; compared in constant time; anything else is 401;
2. is parsed by the provider's parser into events (400 when its fields are missing);
3. is deduplicated with Django's cache (a retried delivery is answered 200, not sent again);
4. fires ``inbound`` or ``delivery_status``; a receiver that raises makes the answer 500, and
   the event is forgotten, so the provider's retry is handled anew.

Failures are logged on ``smsbridge.contrib.django`` without the query string (which may hold
the token), and Django's own request log line is skipped for these responses: its admin
e-mails would show the query. No exception leaves a view, so no debug page shows one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from smsbridge import DeliveryStatus
from smsbridge.contrib.django._senders import senders
from smsbridge.contrib.django.signals import DeliveryEvent, InboundEvent
from smsbridge.contrib.django.signals import delivery_status as delivery_signal
from smsbridge.contrib.django.signals import inbound as inbound_signal
from smsbridge.phone import check_number

__all__ = [
    "INBOUND_PARSERS",
    "STATUS_PARSERS",
    "WebhookRefused",
    "inbound",
    "status",
]

logger = logging.getLogger("smsbridge.contrib.django")

TOKEN_PARAM: Final = "token"  # noqa: S105 - the parameter's name, not a secret
_STATUS_DEDUPE_SECONDS: Final = 24 * 3600
_METHODS: Final = ("GET", "POST", "HEAD", "OPTIONS")


class WebhookRefused(Exception):
    """A parser's verdict: the request is not a valid callback of its provider (answered 400,
    so the provider does not retry it)."""


def _fields(request: HttpRequest) -> dict[str, str]:
    """The callback's fields, from the query and a form body, without the secret."""
    fields = {key: request.GET.get(key, "") for key in request.GET}
    if request.method == "POST":
        fields.update({key: request.POST.get(key, "") for key in request.POST})
    fields.pop(TOKEN_PARAM, None)
    return fields


def _required(fields: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if name not in fields]
    if missing:
        raise WebhookRefused(f"missing field(s): {', '.join(missing)}")
    return [fields[name] for name in names]


def _number(raw: str, region: str) -> str:
    number, _ = check_number(raw, region, landlines=True)
    return number or raw


def _now() -> dt.datetime:
    return timezone.now().astimezone(dt.UTC)


def parse_melipayamak_inbound(fields: Mapping[str, str], region: str) -> list[InboundEvent]:
    """Melipayamak forwards an inbound SMS as ``GET ...?to=$TO$&body=$TEXT$&from=$FROM$``."""
    to, sender = _required(fields, "to", "from")
    return [
        InboundEvent(
            provider="melipayamak",
            sender=_number(sender, region),
            recipient=to,
            text=fields.get("body", ""),
            received_at=_now(),
            raw=fields,
        )
    ]


def parse_generic_inbound(fields: Mapping[str, str], region: str) -> list[InboundEvent]:
    """A provider-neutral form: ``from``, ``to``, ``body`` and an optional ``id``."""
    to, sender = _required(fields, "to", "from")
    return [
        InboundEvent(
            provider="generic",
            sender=_number(sender, region),
            recipient=to,
            text=fields.get("body", ""),
            received_at=_now(),
            event_id=fields.get("id") or None,
            raw=fields,
        )
    ]


def parse_generic_status(fields: Mapping[str, str], region: str) -> list[DeliveryEvent]:
    """A provider-neutral form: ``message_id``, ``status`` (``delivered``, ``failed``,
    ``pending`` or ``unknown``) and an optional ``to``."""
    message_id, raw_status = _required(fields, "message_id", "status")
    try:
        status = DeliveryStatus(raw_status.lower())
    except ValueError:
        raise WebhookRefused(f"unknown status {raw_status[:20]!r}") from None
    recipient = fields.get("to")
    return [
        DeliveryEvent(
            provider="generic",
            message_id=message_id,
            status=status,
            timestamp=_now(),
            source="webhook",
            recipient=None if recipient is None else _number(recipient, region),
            raw=fields,
        )
    ]


INBOUND_PARSERS: dict[str, Callable[[Mapping[str, str], str], list[InboundEvent]]] = {
    "generic": parse_generic_inbound,
    "melipayamak": parse_melipayamak_inbound,
}
"""Inbound parsers by the ``<provider>`` of the URL."""

STATUS_PARSERS: dict[str, Callable[[Mapping[str, str], str], list[DeliveryEvent]]] = {
    "generic": parse_generic_status,
}
"""Delivery-callback parsers by provider. Melipayamak has no delivery callback (poll it with
``manage.py smsbridge_poll_deliveries``)."""


def _presented(request: HttpRequest) -> list[bytes]:
    """Every credential the request presents: basic auth's ``user:password``, a bearer token,
    the ``token`` parameter."""
    found = []
    header = request.META.get("HTTP_AUTHORIZATION", "")
    kind, _, value = header.partition(" ")
    if kind.lower() == "basic":
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.b64decode(value.strip(), validate=True))
    elif kind.lower() == "bearer" and value.strip():
        found.append(value.strip().encode())
    token = request.GET.get(TOKEN_PARAM)
    if token:
        found.append(token.encode())
    return found


def authenticated(request: HttpRequest, secrets: Sequence[str]) -> bool:
    """True when the request presents one of ``secrets``; every pair is compared, in constant
    time, so neither which secret nor how much of it matched shows in the timing."""
    matched = False
    for candidate in _presented(request):
        for secret in secrets:
            matched |= hmac.compare_digest(candidate, secret.encode())
    return matched


def _answer(content: str, status: int, **headers: str) -> HttpResponse:
    response = HttpResponse(content, status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    # Django's request logger would log this response with the request, query and all (its
    # admin e-mails show the token); the view logs what matters itself.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"smsbridge:webhook:{kind}:{digest}"


def _inbound_keys(event: InboundEvent, window: int) -> list[str]:
    """The dedupe keys of an inbound event: its id, or (from, to, body) in this time bucket
    and the one before (so a retry just across a bucket's edge is still caught)."""
    if event.event_id:
        return [_key("inbound", event.provider, "id", event.event_id)]
    bucket = int(event.received_at.timestamp()) // window
    parts = (event.provider, event.sender, event.recipient, event.text)
    return [_key("inbound", *parts, str(b)) for b in (bucket, bucket - 1)]


def _status_keys(event: DeliveryEvent) -> list[str]:
    return [_key("status", event.provider, event.message_id, event.status.value)]


def _refusal(request: HttpRequest, secrets: Sequence[str]) -> HttpResponse | None:
    """The answer to a request that goes no further: a method not taken, no secret
    configured, bad credentials; and OPTIONS and HEAD, which carry no callback."""
    if request.method not in _METHODS:
        return _answer("method not allowed", 405, Allow=", ".join(_METHODS))
    if request.method == "OPTIONS":
        return _answer("", 200, Allow=", ".join(_METHODS))
    if not secrets:
        logger.warning("sms_webhook_refused", extra={"reason": "no WEBHOOK_SECRET configured"})
        return _answer("webhook secret not configured", 403)
    if not authenticated(request, secrets):
        logger.warning(
            "sms_webhook_refused", extra={"reason": "bad credentials", "path": request.path}
        )
        return _answer("authentication required", 401, **{"WWW-Authenticate": 'Basic realm="sms"'})
    if request.method == "HEAD":  # some providers check the URL before using it
        return _answer("", 200)
    return None


def _process(
    request: HttpRequest,
    provider: str,
    parsers: Mapping[str, Callable[[Mapping[str, str], str], Sequence[InboundEvent]]]
    | Mapping[str, Callable[[Mapping[str, str], str], Sequence[DeliveryEvent]]],
    kind: str,
) -> HttpResponse:
    parser = parsers.get(provider)
    if parser is None:
        return _answer("unknown provider", 404)
    config = senders.config()
    refusal = _refusal(request, config.webhook_secrets)
    if refusal is not None:
        return refusal
    try:
        events = parser(_fields(request), config.inbound_region)
    except WebhookRefused as refused:
        logger.warning("sms_webhook_invalid", extra={"reason": str(refused), "path": request.path})
        return _answer(f"invalid callback: {refused}", 400)
    cache = caches[config.webhook_cache]
    for event in events:
        if isinstance(event, InboundEvent):
            keys = _inbound_keys(event, config.inbound_dedupe_seconds)
            timeout = 2 * config.inbound_dedupe_seconds
        else:
            keys = _status_keys(event)
            timeout = _STATUS_DEDUPE_SECONDS
        if cache.get_many(keys) or not cache.add(keys[0], 1, timeout):
            logger.info("sms_webhook_duplicate", extra={"provider": provider, "kind": kind})
            continue
        try:
            if isinstance(event, InboundEvent):
                inbound_signal.send(sender=InboundEvent, event=event)
            else:
                delivery_signal.send(sender=DeliveryEvent, event=event)
        except Exception as error:
            cache.delete(keys[0])  # not handled: the provider's retry must be handled anew
            logger.error(
                "sms_webhook_handler_failed",
                extra={"provider": provider, "kind": kind, "error_type": type(error).__name__},
            )
            return _answer("handler failed; try again later", 500)
    return _answer("OK", 200)


def _handle(
    request: HttpRequest,
    provider: str,
    parsers: Mapping[str, Callable[[Mapping[str, str], str], Sequence[InboundEvent]]]
    | Mapping[str, Callable[[Mapping[str, str], str], Sequence[DeliveryEvent]]],
    kind: str,
) -> HttpResponse:
    try:
        return _process(request, provider, parsers, kind)
    except Exception as error:  # no debug page, no traceback with the request in a log
        logger.error(
            "sms_webhook_failed",
            extra={"provider": provider, "kind": kind, "error_type": type(error).__name__},
        )
        return _answer("webhook failed; try again later", 500)


def _exempt(view: Callable[[HttpRequest, str], HttpResponse]) -> Callable[..., HttpResponse]:
    """CSRF-exempt (providers post no token) and, on Django 5.1+, open under
    ``LoginRequiredMiddleware`` (the secret is the authentication)."""
    exempted = csrf_exempt(view)
    try:
        from django.contrib.auth.decorators import login_not_required
    except ImportError:  # Django before 5.1
        return exempted
    return login_not_required(exempted)  # type: ignore[no-any-return, unused-ignore]


@_exempt
def inbound(request: HttpRequest, provider: str) -> HttpResponse:
    """An inbound SMS from ``provider``'s callback; fires ``inbound``."""
    return _handle(request, provider, INBOUND_PARSERS, "inbound")


@_exempt
def status(request: HttpRequest, provider: str) -> HttpResponse:
    """A delivery callback from ``provider``; fires ``delivery_status``."""
    return _handle(request, provider, STATUS_PARSERS, "status")
