"""The fake provider (``fake://``): sends nothing, records everything, fails on request.

It is a provider like any other — sans-I/O ``request_for``/``results_from`` — whose transport
answers in memory instead of over HTTP. So a send through ``fake://`` takes the engine's real
path: a scripted lost reply is a transport fault the engine must settle as ``unknown``, a
scripted refusal is a reply the provider must parse.

``fake://?inbox=PATH`` also writes every attempt to the shared store ``smsbridge inbox``
reads (see docs/inbox.md), and asks that store per request whether chaos armed in the inbox
fails it. Without ``inbox`` nothing but the in-memory outbox is touched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

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
from smsbridge.exceptions import ErrorCategory, error_for_category
from smsbridge.provider import BaseProvider, Batch
from smsbridge.testing._outbox import FakeOutbox, FakeSms, ScriptedFailure, render_template
from smsbridge.testing._outbox import outbox as default_outbox
from smsbridge.transport import MockTransport, ReplyLost, Request, Response

if TYPE_CHECKING:
    from smsbridge.inbox import InboxStore

__all__ = ["FakeProvider", "FakeTransport"]

_URL = "fake://outbox"
_INBOX_DELIVERY: dict[str, DeliveryStatus] = {
    "pending": DeliveryStatus.PENDING,
    "delivered": DeliveryStatus.DELIVERED,
    "failed": DeliveryStatus.FAILED,
    "rejected": DeliveryStatus.FAILED,
}


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
            return self._json({"statuses": [self._delivery_of(mid).value for mid in body["ids"]]})
        if op == "balance":
            return self._json({"balance": outbox.balance})
        self.provider.requests += 1
        scripted, chaos = outbox.take_scripted_failure(), False
        inbox = self.provider.inbox
        if scripted is None and inbox is not None:
            fault = inbox.take_fault("fake")
            if fault is not None:
                chaos = True
                scripted = ScriptedFailure(
                    category=fault.category,
                    message=fault.message,
                    provider_code=None,
                    lose_reply=fault.lose_reply,
                )
        if scripted is not None:
            if scripted.lose_reply:
                for number in body["recipients"]:
                    self._record(body, number, error=ErrorCategory.OUTCOME_UNKNOWN, chaos=chaos)
                raise ReplyLost("the fake provider lost the reply (scripted)")
            for number in body["recipients"]:
                self._refused(body, number, scripted.category, chaos=chaos)
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
                sms = self._record(body, number, error=category)
                if category is None:
                    results.append({"recipient": number, "id": sms.message_id})
                    continue
            else:
                self._refused(body, number, category)
            results.append(
                {"recipient": number, "category": (category or ErrorCategory.UNEXPECTED).value}
            )
        return self._json({"results": results})

    def _delivery_of(self, message_id: str) -> DeliveryStatus:
        inbox = self.provider.inbox
        if inbox is not None and message_id.startswith("inbox-"):
            # The inbox owns the statuses of the messages it holds: the page changes them.
            status = inbox.status_of(message_id)
            if status is not None:
                return _INBOX_DELIVERY[status.value]
        return self.provider.outbox.delivery_of(message_id)

    def _text(self, body: dict[str, Any]) -> str:
        template = body.get("template")
        if template is None:
            return str(body["text"])
        known = self.provider.outbox.template_body(template)
        if known is None and self.provider.inbox is not None:
            known = self.provider.inbox.template_body(template)
        values = body["variables"]
        return (
            render_template(known, values)
            if known is not None
            else f"[template {template}] "
            + " ".join(values.values() if isinstance(values, dict) else values)
        )

    def _to_inbox(
        self,
        body: dict[str, Any],
        number: str,
        text: str,
        *,
        error: ErrorCategory | None = None,
        chaos: bool = False,
        rejected: bool = False,
    ) -> str | None:
        """Write one attempt to the inbox store, if there is one; the id it assigned."""
        from smsbridge.inbox import MessageStatus

        inbox = self.provider.inbox
        if inbox is None:
            return None
        keys = body.get("keys")
        index = body["recipients"].index(number)
        stored = inbox.add(
            provider=self.provider.requested_provider,
            recipient=number,
            text=text,
            segments=body["segments"],
            sender=body.get("sender"),
            flash=body.get("flash", False),
            udh=body.get("udh"),
            status=MessageStatus.REJECTED if rejected else MessageStatus.PENDING,
            error=None if error is None else error.value,
            chaos=chaos,
            reference=body.get("reference"),
            key=keys[index] if keys else None,
            template_id=body.get("template"),
            variables=body.get("variables"),
        )
        return stored.message_id

    def _refused(
        self,
        body: dict[str, Any],
        number: str,
        category: ErrorCategory,
        *,
        chaos: bool = False,
    ) -> None:
        """A recipient the provider refused: nothing is sent; the inbox shows the attempt."""
        if self.provider.inbox is not None:
            self._to_inbox(
                body, number, self._text(body), error=category, chaos=chaos, rejected=True
            )

    def _record(
        self,
        body: dict[str, Any],
        number: str,
        *,
        error: ErrorCategory | None = None,
        chaos: bool = False,
    ) -> FakeSms:
        provider = self.provider
        template = body.get("template")
        text = self._text(body)
        message_id = self._to_inbox(body, number, text, error=error, chaos=chaos)
        return provider.outbox.record(
            message_id=message_id,
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
        inbox: InboxStore | str | Path | None = None,
    ) -> None:
        self.outbox = outbox if outbox is not None else default_outbox
        if isinstance(inbox, str | Path):
            from smsbridge.inbox import open_store

            inbox = open_store(inbox)
        self.inbox: InboxStore | None = inbox
        """The shared inbox store this provider also writes to, or None (``fake://``)."""
        if batch_size != type(self).capabilities.max_batch_size:
            self.capabilities = attrs.evolve(self.capabilities, max_batch_size=batch_size)
        self.requested_provider = requested_provider
        self.requested_url = requested_url
        self.requests = 0
        """How many send requests this instance received (batches)."""
        self._transport = FakeTransport(self)

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        url.only_params({"batch_size", "inbox"})
        inbox: Path | None = None
        if "inbox" in url.params:
            from smsbridge.inbox import default_store_path

            raw = url.params["inbox"].strip()
            # A blank value is the default inbox: $SMSBRIDGE_INBOX, or the user's state folder.
            inbox = Path(raw).expanduser() if raw else default_store_path()
        return cls(batch_size=url.int_param("batch_size", 100), inbox=inbox)

    def transport(self) -> tuple[FakeTransport, FakeTransport]:
        return self._transport, self._transport

    def request_for(self, batch: Batch) -> Request:
        body = {
            "op": "send",
            "recipients": list(batch.recipients),
            "segments": batch.segments,
            **_payload(batch),
        }
        if batch.keys is not None:
            body["keys"] = list(batch.keys)
        return Request(method="POST", url=_URL, content=json.dumps(body).encode())

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        body = response.json()
        if "error" in body:
            error = body["error"]
            raise error_for_category(ErrorCategory(error["category"]))(
                error["message"], provider="fake", provider_code=error["provider_code"]
            )
        return [self._result(item, batch.segments) for item in body["results"]]

    def _result(self, item: dict[str, Any], segments: int) -> RecipientResult:
        number = item["recipient"]
        if "id" in item:
            # provider and segments filled here spare the engine rebuilding each result.
            return RecipientResult(
                recipient=number,
                status=SendStatus.ACCEPTED,
                message_id=item["id"],
                segments=segments,
                provider=self.name,
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
            provider=self.name,
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
