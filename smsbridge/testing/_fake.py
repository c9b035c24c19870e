"""The fake provider (``fake://``): sends nothing, records everything, fails on request.

It is a provider like any other — sans-I/O ``request_for``/``results_from`` — whose transport
answers in memory instead of over HTTP. So a send through ``fake://`` takes the engine's real
path: a scripted lost reply is a transport fault the engine must settle as ``unknown``, a
scripted refusal is a reply the provider must parse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Self

import attrs

from smsbridge._models import (
    Balance,
    Capabilities,
    DeliveryReport,
    DeliveryStatus,
    Message,
    RecipientResult,
    ResultError,
    SendStatus,
    Template,
    TemplateSupport,
)
from smsbridge.config import ProviderURL
from smsbridge.exceptions import ConfigurationError, ErrorCategory, error_for_category
from smsbridge.provider import BaseProvider, Batch
from smsbridge.testing._outbox import FakeOutbox, FakeSms, render_template
from smsbridge.testing._outbox import outbox as default_outbox
from smsbridge.transport import MockTransport, ReplyLost, Request, Response

__all__ = ["FakeProvider", "FakeTransport"]

_URL = "fake://outbox"


def _payload(batch: Batch) -> dict[str, Any]:
    message = batch.message
    if isinstance(message, Template):
        variables = message.variables
        return {
            "template": message.id,
            "variables": dict(variables) if isinstance(variables, dict) else list(variables),
            "sender": message.sender,
            "reference": message.reference,
        }
    return {
        "text": message.text,
        "sender": message.sender,
        "flash": message.flash,
        "udh": message.udh,
        "reference": message.reference,
    }


class FakeTransport(MockTransport):
    """The fake provider's service: the outbox, reached without a socket."""

    def __init__(self, provider: FakeProvider) -> None:
        super().__init__(self._handle)
        self.provider = provider

    @staticmethod
    def _json(data: object) -> Response:
        return Response(
            status_code=200,
            headers=[("Content-Type", "application/json")],
            content=json.dumps(data, ensure_ascii=False).encode(),
        )

    def _handle(self, request: Request) -> Response:
        body = json.loads(request.content)
        op = body["op"]
        outbox = self.provider.outbox
        if op == "delivery":
            return self._json({"statuses": [outbox.delivery_of(mid).value for mid in body["ids"]]})
        if op == "balance":
            return self._json({"balance": outbox.balance})
        self.provider.requests += 1
        scripted = outbox.take_scripted_failure()
        if scripted is not None:
            if scripted.lose_reply:
                for number in body["recipients"]:
                    self._record(body, number)
                raise ReplyLost("the fake provider lost the reply (scripted)")
            return self._json(
                {
                    "error": {
                        "category": scripted.category.value,
                        "message": scripted.message,
                        "provider_code": scripted.provider_code,
                    }
                }
            )
        results = []
        for number in body["recipients"]:
            category = outbox.category_for(number)
            if category is None or category is ErrorCategory.OUTCOME_UNKNOWN:
                sms = self._record(body, number)
                if category is None:
                    results.append({"recipient": number, "id": sms.message_id})
                    continue
            results.append(
                {"recipient": number, "category": (category or ErrorCategory.UNEXPECTED).value}
            )
        return self._json({"results": results})

    def _record(self, body: dict[str, Any], number: str) -> FakeSms:
        provider = self.provider
        template = body.get("template")
        if template is None:
            text = body["text"]
        else:
            known = provider.outbox.template_body(template)
            values = body["variables"]
            text = (
                render_template(known, values)
                if known is not None
                else f"[template {template}] "
                + " ".join(values.values() if isinstance(values, dict) else values)
            )
        return provider.outbox.record(
            recipient=number,
            text=text,
            sender=body.get("sender"),
            flash=body.get("flash", False),
            udh=body.get("udh"),
            reference=body.get("reference"),
            segments=body["segments"],
            template_id=template,
            variables=(
                None
                if template is None
                else (
                    dict(body["variables"])
                    if isinstance(body["variables"], dict)
                    else tuple(body["variables"])
                )
            ),
            provider=provider.requested_provider,
            url=provider.requested_url,
        )


class FakeProvider(BaseProvider):
    """A provider for tests and demos. ``fake://?batch_size=N`` sets its request size."""

    scheme = "fake"
    capabilities = Capabilities(
        max_batch_size=100,
        flash=True,
        udh=True,
        delivery_status=True,
        unicode=True,
        templates=TemplateSupport(variables="any", max_batch_size=100),
        balance=True,
        max_delivery_batch=500,
    )
    outbox: FakeOutbox

    def __init__(
        self,
        *,
        outbox: FakeOutbox | None = None,
        batch_size: int = 100,
        requested_provider: str = "fake",
        requested_url: str | None = None,
    ) -> None:
        self.outbox = outbox if outbox is not None else default_outbox
        if batch_size != type(self).capabilities.max_batch_size:
            self.capabilities = attrs.evolve(self.capabilities, max_batch_size=batch_size)
        self.requested_provider = requested_provider
        self.requested_url = requested_url
        self.requests = 0
        """How many send requests this instance received (batches)."""
        self._transport = FakeTransport(self)

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        unknown = set(url.params) - {"batch_size"}
        if unknown:
            raise ConfigurationError(f"fake:// does not take {', '.join(sorted(unknown))}")
        return cls(batch_size=url.int_param("batch_size", 100))

    def transport(self) -> tuple[FakeTransport, FakeTransport]:
        return self._transport, self._transport

    def request_for(self, batch: Batch) -> Request:
        body = {
            "op": "send",
            "recipients": list(batch.recipients),
            "segments": batch.segments,
            **_payload(batch),
        }
        return Request(method="POST", url=_URL, content=json.dumps(body).encode())

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        body = response.json()
        if "error" in body:
            error = body["error"]
            raise error_for_category(ErrorCategory(error["category"]))(
                error["message"], provider="fake", provider_code=error["provider_code"]
            )
        return [self._result(item, batch.segments) for item in body["results"]]

    @staticmethod
    def _result(item: dict[str, Any], segments: int) -> RecipientResult:
        number = item["recipient"]
        if "id" in item:
            return RecipientResult(
                recipient=number,
                status=SendStatus.ACCEPTED,
                message_id=item["id"],
                segments=segments,
            )
        category = ErrorCategory(item["category"])
        error = error_for_category(category)(
            f"fake provider: {category.value} for this number", provider="fake"
        )
        status = (
            SendStatus.UNKNOWN if category is ErrorCategory.OUTCOME_UNKNOWN else SendStatus.REJECTED
        )
        return RecipientResult(
            recipient=number,
            status=status,
            segments=segments,
            error=ResultError.from_exception(error),
        )

    def delivery_request_for(self, message_ids: Sequence[str]) -> Request:
        body = json.dumps({"op": "delivery", "ids": list(message_ids)}).encode()
        return Request(method="POST", url=_URL, content=body, idempotent=True)

    def delivery_from(
        self, response: Response | None, message_ids: Sequence[str]
    ) -> list[DeliveryReport]:
        assert response is not None  # noqa: S101 - the fake always asks
        statuses = response.json()["statuses"]
        return [
            DeliveryReport(message_id=mid, status=DeliveryStatus(status))
            for mid, status in zip(message_ids, statuses, strict=True)
        ]

    def balance_request_for(self) -> Request:
        return Request(method="POST", url=_URL, content=b'{"op": "balance"}', idempotent=True)

    def balance_from(self, response: Response) -> Balance:
        return Balance(amount=float(response.json()["balance"]), unit="messages", provider="fake")

    def validate_message(self, message: Message) -> None:
        """Everything is sendable through the fake."""
