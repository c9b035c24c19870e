"""Melipayamak's REST API (``rest.payamak-panel.com/api/SendSMS/<Method>``): SendSMS,
BaseServiceNumber, GetDeliveries2 and GetCredit, sans-I/O.

Form-encoded requests, as the official SDKs post them; every reply is
``{"Value": …, "RetStatus": …, "StrRetStatus": …}``. ``Value`` holds a recId *or* a code, and
a code is an error even when ``RetStatus`` is 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

import attrs

from smsbridge import (
    AuthenticationError,
    Batch,
    Capabilities,
    Message,
    OutcomeUnknownError,
    ProviderUnavailableError,
    RecipientResult,
    SendStatus,
    TemplateSupport,
    UnknownProviderError,
)
from smsbridge.config import Secret
from smsbridge.provider import http_status_error
from smsbridge.transport import Request, Response
from smsbridge_melipayamak._codes import PROVIDER, credit_amount, rec_id_or_error

__all__ = ["DEFAULT_REST_ENDPOINT", "RestWire"]

DEFAULT_REST_ENDPOINT: Final = "https://rest.payamak-panel.com/api/SendSMS"
_OK: Final = 1
_WRONG_CREDENTIALS: Final = -3
"""GetDeliveries2's answer for wrong credentials (third-party, status_codes.md section 4)."""


@attrs.frozen
class Answer:
    """A REST reply: ``Value``, ``RetStatus`` and ``StrRetStatus``."""

    value: object
    status: object
    text: str | None

    @property
    def code(self) -> int | None:
        """``RetStatus`` when it is an integer."""
        status = self.status
        return status if isinstance(status, int) and not isinstance(status, bool) else None


class RestWire:
    """The REST methods for one account at one base address."""

    capabilities: Final = Capabilities(
        # SendSMS takes one number in every official example; a list is unverified.
        max_batch_size=1,
        flash=True,
        delivery_status=True,
        unicode=True,
        templates=TemplateSupport(variables="ordered", max_batch_size=1),
        balance=True,
        max_delivery_batch=1,
    )

    def __init__(self, endpoint: str, username: str, password: Secret) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._username = username
        self._password = password

    def _call(self, method: str, fields: list[tuple[str, str]], *, sending: bool) -> Request:
        credentials = [("username", self._username), ("password", self._password.reveal())]
        return Request(
            method="POST",
            url=f"{self.endpoint}/{method}",
            headers=[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            content=urlencode([*credentials, *fields]).encode("ascii"),
            idempotent=not sending,
        )

    @staticmethod
    def _reply(response: Response, method: str, *, sending: bool) -> Answer:
        try:
            data = response.json()
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit
            data = None
        if response.status_code != 200:
            if not isinstance(data, dict):
                raise http_status_error(response, PROVIDER, sending=sending)
            # ASP.NET's own error object: the method ran and failed, like a SOAP Fault.
            message = data.get("Message")
            raise UnknownProviderError(
                f"melipayamak's REST {method} failed (HTTP {response.status_code})",
                provider=PROVIDER,
                provider_code=response.status_code,
                provider_text=message if isinstance(message, str) else None,
            )
        if not isinstance(data, dict) or "Value" not in data:
            cls = OutcomeUnknownError if sending else ProviderUnavailableError
            hint = "; the request may have been sent" if sending else ""
            raise cls(
                f"melipayamak's REST {method} reply could not be read{hint}", provider=PROVIDER
            )
        text = data.get("StrRetStatus")
        return Answer(data["Value"], data.get("RetStatus"), text if isinstance(text, str) else None)

    @staticmethod
    def _rec_id(answer: Answer, *, pattern: bool) -> str:
        status = answer.code
        if answer.value is None and status != _OK:
            raise UnknownProviderError(
                f"melipayamak refused the send (RetStatus {answer.status!r}, no Value)",
                provider=PROVIDER,
                provider_code=status,
                provider_text=answer.text,
            )
        rec_id = rec_id_or_error(answer.value, pattern=pattern)
        if status != _OK:
            raise OutcomeUnknownError(
                f"melipayamak gave a message id with RetStatus {answer.status!r}; the message "
                "may have been sent",
                provider=PROVIDER,
                provider_code=status,
                provider_text=answer.text,
            )
        return rec_id

    # -- sends ------------------------------------------------------------------------------

    def send(self, numbers: Sequence[str], sender: str, message: Message) -> Request:
        """One SendSMS for one number (already in the service's spelling)."""
        (number,) = numbers
        fields = [
            ("to", number),
            ("from", sender),
            ("text", message.text),
            ("isFlash", "true" if message.flash else "false"),
        ]
        return self._call("SendSMS", fields, sending=True)

    def sent(self, response: Response, batch: Batch) -> list[RecipientResult]:
        """The one recipient's result."""
        rec_id = self._rec_id(self._reply(response, "SendSMS", sending=True), pattern=False)
        (number,) = batch.recipients
        return [
            RecipientResult(
                recipient=number,
                status=SendStatus.ACCEPTED,
                message_id=rec_id,
                segments=batch.segments,
                provider=PROVIDER,
            )
        ]

    def pattern(self, number: str, body_id: int, text: str) -> Request:
        """One BaseServiceNumber: the variables joined by ``;``, one number, the bodyId."""
        fields = [("text", text), ("to", number), ("bodyId", str(body_id))]
        return self._call("BaseServiceNumber", fields, sending=True)

    def pattern_id(self, response: Response) -> str:
        """The recId of a pattern send, or its code raised."""
        answer = self._reply(response, "BaseServiceNumber", sending=True)
        return self._rec_id(answer, pattern=True)

    # -- queries ----------------------------------------------------------------------------

    def deliveries(self, ids: Sequence[str]) -> Request:
        """One GetDeliveries2 (the REST API asks one id at a time)."""
        (rec_id,) = ids
        return self._call("GetDeliveries2", [("recId", rec_id)], sending=False)

    def delivery_codes(self, response: Response, ids: Sequence[str]) -> list[int]:
        """The delivery code of the one id asked."""
        answer = self._reply(response, "GetDeliveries2", sending=False)
        value = str(answer.value).strip() if isinstance(answer.value, str | int) else ""
        if not value.removeprefix("-").isdigit():
            raise UnknownProviderError(
                "melipayamak's GetDeliveries2 gave no code (null: delivery reports are not "
                "enabled for this account)",
                provider=PROVIDER,
                provider_code=answer.code,
                provider_text=answer.text,
            )
        if int(value) == _WRONG_CREDENTIALS:
            raise AuthenticationError(
                "melipayamak refused the delivery query: wrong username or password (code -3)",
                provider=PROVIDER,
                provider_code=_WRONG_CREDENTIALS,
                provider_text=answer.text,
            )
        return [int(value)]

    def credit(self) -> Request:
        """GetCredit."""
        return self._call("GetCredit", [], sending=False)

    def credit_value(self, response: Response) -> float:
        """The credit; ``Value`` null means wrong credentials."""
        answer = self._reply(response, "GetCredit", sending=False)
        if answer.value is None:
            raise AuthenticationError(
                "melipayamak refused GetCredit: wrong username or password (Value null)",
                provider=PROVIDER,
                provider_code=answer.code,
                provider_text=answer.text,
            )
        return credit_amount(answer.value)
