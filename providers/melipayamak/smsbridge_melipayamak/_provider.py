"""The Melipayamak provider: Send.asmx over SOAP (SendSms, GetDeliveries, GetCredit), sans-I/O.

It only turns sends into envelopes and replies into results; the engine's transport carries
them (deadline, size cap, no redirects, TLS, proxies, fault mapping).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import ClassVar, Final, Self
from urllib.parse import urlsplit

from smsbridge import (
    Balance,
    BaseProvider,
    Batch,
    Capabilities,
    ConfigurationError,
    DeliveryReport,
    DeliveryStatus,
    InvalidMessageError,
    Message,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    RecipientRejectedError,
    RecipientResult,
    ResultError,
    SendStatus,
    Template,
    UnknownProviderError,
)
from smsbridge.config import ProviderURL, Secret, check_endpoint, check_printable
from smsbridge.provider import http_status_error
from smsbridge.transport import Request, Response
from smsbridge_melipayamak._codes import SUCCESS, delivery_code, error_for_code
from smsbridge_melipayamak._envelope import (
    Fault,
    Malformed,
    Reply,
    envelope,
    parse_reply,
    soap_action,
)

__all__ = ["DEFAULT_ENDPOINT", "MelipayamakProvider", "wire_number"]

DEFAULT_ENDPOINT: Final = "https://api.payamak-panel.com/post/Send.asmx"
_URL_PARAMS: Final = frozenset({"from", "endpoint"})
_XML_MEDIA: Final = ("text/xml", "application/soap+xml")


def wire_number(e164: str) -> str:
    """How the service wants a number: ``09...`` for Iran, ``00`` + digits elsewhere."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


class MelipayamakProvider(BaseProvider):
    """Sends through Melipayamak's ``Send.asmx`` SOAP service (``melipayamak://`` URLs).

    :param username: the panel user name.
    :param password: the panel password (or API key); kept as a :class:`~smsbridge.Secret`.
    :param sender: the default sending line; ``Message.sender`` overrides it.
    :param endpoint: the ``Send.asmx`` address, e.g. an emulator's.
    """

    scheme: ClassVar[str] = "melipayamak"
    capabilities = Capabilities(
        max_batch_size=100,
        flash=True,
        udh=True,
        delivery_status=True,
        unicode=True,
        balance=True,
        max_delivery_batch=100,
    )

    def __init__(
        self,
        *,
        username: str,
        password: str | Secret,
        sender: str | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
    ) -> None:
        secret = password if isinstance(password, Secret) else Secret(password)
        if not username or not secret:
            raise ConfigurationError("the melipayamak provider needs a username and a password")
        check_printable(username, "the melipayamak username")
        check_printable(secret.reveal(), "the melipayamak password")
        check_printable(sender or "", "the melipayamak sender line")
        self.username = username
        self._password = secret
        self.sender = sender or None
        self.endpoint = check_endpoint(endpoint)

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        """``melipayamak://USER:PASSWORD@/?from=SENDER[&endpoint=URL]``."""
        unknown = set(url.params) - _URL_PARAMS
        if "max_connections" in unknown:
            raise ConfigurationError(
                "melipayamak:// no longer takes max_connections: the client's concurrency "
                "decides how many connections are open"
            )
        if unknown:
            raise ConfigurationError(
                f"melipayamak:// does not take {', '.join(sorted(unknown))} "
                f"(it takes {', '.join(sorted(_URL_PARAMS))}, plus the client's own options)"
            )
        username, password = url.require_credentials()
        return cls(
            username=username,
            password=password,
            sender=url.params.get("from") or None,
            endpoint=url.params.get("endpoint") or DEFAULT_ENDPOINT,
        )

    def __repr__(self) -> str:
        return (
            f"<MelipayamakProvider username={self.username!r} sender={self.sender!r} "
            f"endpoint={self.endpoint!r}>"
        )

    def secrets(self) -> Sequence[str]:
        return (self._password.reveal(),)

    def account(self) -> str:
        return f"{self.username}@{urlsplit(self.endpoint).hostname}"

    def sender_for(self, message: Message | Template) -> str | None:
        return message.sender or self.sender

    # -- sending ----------------------------------------------------------------------------

    def validate_message(self, message: Message) -> None:
        """A sender line is needed; checked before any I/O."""
        if message.sender is None and self.sender is None:
            raise InvalidMessageError(
                "melipayamak needs a sender line: set ?from= in the URL or Message.sender"
            )

    def _soap(
        self, operation: str, fields: list[tuple[str, object]], *, idempotent: bool
    ) -> Request:
        return Request(
            method="POST",
            url=self.endpoint,
            headers=[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", soap_action(operation)),
            ],
            content=envelope(operation, fields),  # type: ignore[arg-type]
            idempotent=idempotent,
        )

    def _credentials(self) -> list[tuple[str, object]]:
        return [("username", self.username), ("password", self._password.reveal())]

    def request_for(self, batch: Batch) -> Request:
        """One SendSms for at most 100 recipients."""
        message = batch.message
        assert isinstance(message, Message)  # noqa: S101 - no template capability here
        fields = [
            *self._credentials(),
            # Every recipient on the wire (zeep's trap: a plain list sends only the first).
            ("to", [("string", wire_number(n)) for n in batch.recipients]),
            ("from", message.sender or self.sender or ""),
            ("text", message.text),
            ("isflash", "true" if message.flash else "false"),
            ("udh", message.udh or ""),
        ]
        return self._soap("SendSms", fields, idempotent=False)

    def _reply(self, response: Response, operation: str, *, sending: bool) -> Reply:
        if response.status_code != 200 and response.media_type not in _XML_MEDIA:
            raise http_status_error(response, self.name, sending=sending)
        try:
            return parse_reply(response.content, operation)
        except Fault as fault:
            raise UnknownProviderError(
                f"melipayamak answered with a SOAP Fault ({fault.code or 'no faultcode'})",
                provider=self.name,
                provider_code=fault.code,
                provider_text=fault.message,
            ) from None
        except Malformed as error:
            # A query changes nothing, so an unreadable answer is worth asking again.
            cls = OutcomeUnknownError if sending else ProviderUnavailableError
            hint = "; the request may have been sent" if sending else ""
            raise cls(
                f"melipayamak's reply could not be read: {error}{hint}", provider=self.name
            ) from None

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        reply = self._reply(response, "SendSms", sending=True)
        raw_code = reply.text("SendSmsResult")
        if raw_code is None or not raw_code.strip().lstrip("-").isdigit():
            raise OutcomeUnknownError(
                "melipayamak's SendSms reply has no return code; the request may have been sent",
                provider=self.name,
            )
        code = int(raw_code)
        if code != SUCCESS:
            raise error_for_code(code)
        ids = reply.items("recId") or []
        try:
            statuses = base64.b64decode(reply.text("status") or "", validate=True)
        except binascii.Error:
            statuses = b""
        recipients = batch.recipients
        if len(ids) != len(recipients) or len(statuses) != len(recipients):
            raise OutcomeUnknownError(
                f"melipayamak accepted the request but returned {len(ids)} ids and "
                f"{len(statuses)} statuses for {len(recipients)} recipients; who was sent to "
                "cannot be told",
                provider=self.name,
                provider_code=code,
            )
        parts = batch.segments
        return [
            self._result(n, i, s, parts) for n, i, s in zip(recipients, ids, statuses, strict=True)
        ]

    def _result(self, number: str, rec_id: str, status: int, parts: int) -> RecipientResult:
        # A recId is a positive number: digits, not all of them zeros.
        if status == 0 and rec_id.isdigit() and rec_id.strip("0"):
            return RecipientResult(
                recipient=number, status=SendStatus.ACCEPTED, message_id=rec_id, segments=parts
            )
        error: ProviderError
        if status == 0:
            error = OutcomeUnknownError(
                "melipayamak marked this recipient sent but gave no message id",
                provider=self.name,
                provider_code=0,
            )
        elif status == 1:
            error = RecipientRejectedError(
                "melipayamak did not send to this recipient",
                provider=self.name,
                provider_code=1,
                provider_text="not sent",
            )
        else:
            error = UnknownProviderError(
                f"melipayamak returned the unknown recipient status {status}",
                provider=self.name,
                provider_code=status,
            )
        outcome = SendStatus.UNKNOWN if status == 0 else SendStatus.REJECTED
        return RecipientResult(
            recipient=number,
            status=outcome,
            segments=parts,
            error=ResultError.from_exception(error),
        )

    # -- delivery status and credit -----------------------------------------------------------

    def delivery_request_for(self, message_ids: Sequence[str]) -> Request | None:
        """GetDeliveries for the ids that are numbers (others can only be ``unknown``)."""
        ids = sorted({mid for mid in message_ids if mid.isascii() and mid.isdigit()}, key=int)
        if not ids:
            return None
        fields = [("recIds", [("long", mid) for mid in ids]), *self._credentials()]
        return self._soap("GetDeliveries", fields, idempotent=True)

    def delivery_from(
        self, response: Response | None, message_ids: Sequence[str]
    ) -> list[DeliveryReport]:
        codes: dict[str, int] = {}
        if response is not None:
            ids = sorted({mid for mid in message_ids if mid.isascii() and mid.isdigit()}, key=int)
            values = (
                self._reply(response, "GetDeliveries", sending=False).items("GetDeliveriesResult")
                or []
            )
            if len(values) != len(ids):
                raise UnknownProviderError(
                    f"melipayamak returned {len(values)} delivery statuses for {len(ids)} ids "
                    "(an empty list usually means wrong credentials)",
                    provider=self.name,
                )
            codes = {mid: int(value) for mid, value in zip(ids, values, strict=True)}
        reports = []
        for mid in message_ids:
            raw = codes.get(mid)
            if raw is None:
                reports.append(DeliveryReport(message_id=mid, status=DeliveryStatus.UNKNOWN))
                continue
            row = delivery_code(raw)
            reports.append(
                DeliveryReport(
                    message_id=mid, status=row.status, provider_code=raw, provider_text=row.meaning
                )
            )
        return reports

    def balance_request_for(self) -> Request:
        return self._soap("GetCredit", self._credentials(), idempotent=True)

    def balance_from(self, response: Response) -> Balance:
        value = self._reply(response, "GetCredit", sending=False).text("GetCreditResult")
        try:
            amount = float(value or "")
        except ValueError:
            raise UnknownProviderError(
                "melipayamak's GetCredit reply holds no number", provider=self.name
            ) from None
        return Balance(amount=amount, unit="messages", provider=self.name)
