"""Send.asmx over SOAP 1.1: SendSms, SendByBaseNumber2, GetDeliveries and GetCredit.

Sans-I/O, like the provider it serves: requests out, values in. The envelopes come from
``_envelope.py`` (byte for byte zeep's); codes are read with the tables of ``_codes.py``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Final

from smsbridge import (
    Batch,
    Capabilities,
    Message,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    RecipientRejectedError,
    RecipientResult,
    ResultError,
    SendStatus,
    TemplateSupport,
    UnknownProviderError,
)
from smsbridge.config import Secret
from smsbridge.provider import accepted_results, http_status_error
from smsbridge.transport import Request, Response
from smsbridge_melipayamak._codes import (
    PROVIDER,
    SUCCESS,
    credit_amount,
    error_for_code,
    rec_id_or_error,
)
from smsbridge_melipayamak._envelope import (
    Fault,
    Malformed,
    Reply,
    envelope,
    parse_reply,
    soap_action,
)

__all__ = ["DEFAULT_ENDPOINT", "SoapWire"]

DEFAULT_ENDPOINT: Final = "https://api.payamak-panel.com/post/Send.asmx"
_XML_MEDIA: Final = ("text/xml", "application/soap+xml")


class SoapWire:
    """The SOAP operations for one account at one ``Send.asmx`` address."""

    capabilities: Final = Capabilities(
        max_batch_size=100,
        flash=True,
        udh=True,
        delivery_status=True,
        unicode=True,
        templates=TemplateSupport(variables="ordered", max_batch_size=1),
        balance=True,
        max_delivery_batch=100,
    )

    def __init__(self, endpoint: str, username: str, password: Secret) -> None:
        self.endpoint = endpoint
        self._username = username
        self._password = password

    def _call(self, operation: str, fields: list[tuple[str, object]], *, sending: bool) -> Request:
        return Request(
            method="POST",
            url=self.endpoint,
            headers=[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", soap_action(operation)),
            ],
            content=envelope(operation, fields),  # type: ignore[arg-type]
            idempotent=not sending,
        )

    def _credentials(self) -> list[tuple[str, object]]:
        return [("username", self._username), ("password", self._password.reveal())]

    @staticmethod
    def _reply(response: Response, operation: str, *, sending: bool) -> Reply:
        if response.status_code != 200 and response.media_type not in _XML_MEDIA:
            raise http_status_error(response, PROVIDER, sending=sending)
        try:
            return parse_reply(response.content, operation)
        except Fault as fault:
            raise UnknownProviderError(
                f"melipayamak answered with a SOAP Fault ({fault.code or 'no faultcode'})",
                provider=PROVIDER,
                provider_code=fault.code,
                provider_text=fault.message,
            ) from None
        except Malformed as error:
            # A query changes nothing, so an unreadable answer is worth asking again.
            cls = OutcomeUnknownError if sending else ProviderUnavailableError
            hint = "; the request may have been sent" if sending else ""
            raise cls(
                f"melipayamak's reply could not be read: {error}{hint}", provider=PROVIDER
            ) from None

    # -- SendSms ----------------------------------------------------------------------------

    def send(self, numbers: Sequence[str], sender: str, message: Message) -> Request:
        """One SendSms for at most 100 numbers (already in the service's spelling)."""
        fields = [
            *self._credentials(),
            # Every recipient on the wire (zeep's trap: a plain list sends only the first).
            ("to", ("string", numbers)),
            ("from", sender),
            ("text", message.text),
            ("isflash", "true" if message.flash else "false"),
            ("udh", message.udh or ""),
        ]
        return self._call("SendSms", fields, sending=True)

    def sent(self, response: Response, batch: Batch) -> list[RecipientResult]:
        """One result per recipient from the code, the recId array and the status bytes."""
        reply = self._reply(response, "SendSms", sending=True)
        raw_code = reply.text("SendSmsResult")
        if raw_code is None or not raw_code.lstrip("-").isdigit():
            raise OutcomeUnknownError(
                "melipayamak's SendSms reply has no return code; the request may have been sent",
                provider=PROVIDER,
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
                provider=PROVIDER,
                provider_code=code,
            )
        parts = batch.segments
        if not any(statuses) and _all_rec_ids(ids):
            # Every recipient sent (status 0) with an id: the common reply, built in one pass.
            return accepted_results(recipients, ids, segments=parts, provider=PROVIDER)
        return [_result(n, i, s, parts) for n, i, s in zip(recipients, ids, statuses, strict=True)]

    # -- SendByBaseNumber2 ------------------------------------------------------------------

    def pattern(self, number: str, body_id: int, text: str) -> Request:
        """One SendByBaseNumber2: the variables joined by ``;``, one number, the bodyId."""
        fields = [*self._credentials(), ("text", text), ("to", number), ("bodyId", str(body_id))]
        return self._call("SendByBaseNumber2", fields, sending=True)

    def pattern_id(self, response: Response) -> str:
        """The recId of a pattern send, or its code raised."""
        reply = self._reply(response, "SendByBaseNumber2", sending=True)
        return rec_id_or_error(reply.text("SendByBaseNumber2Result"), pattern=True)

    # -- GetDeliveries and GetCredit --------------------------------------------------------

    def deliveries(self, ids: Sequence[str]) -> Request:
        """One GetDeliveries for numeric ids (at most 100)."""
        fields = [("recIds", ("long", list(ids))), *self._credentials()]
        return self._call("GetDeliveries", fields, sending=False)

    def delivery_codes(self, response: Response, ids: Sequence[str]) -> list[int]:
        """One delivery code per id asked."""
        values = self._reply(response, "GetDeliveries", sending=False).items("GetDeliveriesResult")
        if values is None or len(values) != len(ids):
            raise UnknownProviderError(
                f"melipayamak returned {len(values or [])} delivery statuses for {len(ids)} ids "
                "(an empty list usually means wrong credentials)",
                provider=PROVIDER,
            )
        return [int(value) for value in values]

    def credit(self) -> Request:
        """GetCredit."""
        return self._call("GetCredit", self._credentials(), sending=False)

    def credit_value(self, response: Response) -> float:
        """The credit (0 for wrong credentials: the service does not tell them apart)."""
        return credit_amount(
            self._reply(response, "GetCredit", sending=False).text("GetCreditResult")
        )


_ZERO_ID: Final = re.compile(r"^0*$", re.MULTILINE)


def _all_rec_ids(ids: Sequence[str]) -> bool:
    """:func:`_is_rec_id` for every id, checked over their join (no call per recipient)."""
    if "" in ids or not "".join(ids).isdigit():
        return False
    # Every id is digits now, so the newlines between them are unambiguous.
    return _ZERO_ID.search("\n".join(ids)) is None


def _is_rec_id(rec_id: str) -> bool:
    """A recId is a positive number: digits, not all of them zeros."""
    return rec_id.isdigit() and bool(rec_id.strip("0"))


def _result(number: str, rec_id: str, status: int, parts: int) -> RecipientResult:
    if status == 0 and _is_rec_id(rec_id):
        # provider and segments filled here spare the engine rebuilding each result.
        return RecipientResult(
            recipient=number,
            status=SendStatus.ACCEPTED,
            message_id=rec_id,
            segments=parts,
            provider=PROVIDER,
        )
    error: ProviderError
    if status == 0:
        error = OutcomeUnknownError(
            "melipayamak marked this recipient sent but gave no message id",
            provider=PROVIDER,
            provider_code=0,
        )
    elif status == 1:
        error = RecipientRejectedError(
            "melipayamak did not send to this recipient",
            provider=PROVIDER,
            provider_code=1,
            provider_text="not sent",
        )
    else:
        error = UnknownProviderError(
            f"melipayamak returned the unknown recipient status {status}",
            provider=PROVIDER,
            provider_code=status,
        )
    outcome = SendStatus.UNKNOWN if status == 0 else SendStatus.REJECTED
    return RecipientResult(
        recipient=number,
        status=outcome,
        segments=parts,
        error=ResultError.from_exception(error),
        provider=PROVIDER,
    )
