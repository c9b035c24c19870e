"""The Melipayamak provider: SendSms over SOAP for sending, GetDeliveries for delivery status."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Final, Self

from smsbridge._models import (
    Capabilities,
    DeliveryReport,
    DeliveryStatus,
    Message,
    RecipientResult,
    ResultError,
    SendStatus,
)
from smsbridge.config import ProviderURL, Secret
from smsbridge.exceptions import (
    ConfigurationError,
    InvalidMessageError,
    OutcomeUnknownError,
    ProviderError,
    RecipientRejectedError,
    UnknownProviderError,
)
from smsbridge.provider import BaseProvider
from smsbridge_melipayamak._codes import SUCCESS, delivery_code, error_for_code
from smsbridge_melipayamak._soap_client import SoapClients, translate_errors

__all__ = ["DEFAULT_ENDPOINT", "MelipayamakProvider"]

DEFAULT_ENDPOINT: Final = "https://api.payamak-panel.com/post/Send.asmx"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_CONNECTIONS: Final = 10
_URL_PARAMS: Final = frozenset({"from", "endpoint", "timeout", "max_connections"})
# Characters XML 1.0 cannot carry; lxml would refuse them while building the request.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def wire_number(e164: str) -> str:
    """How the service wants a number: ``09...`` for Iran, ``00`` + digits elsewhere."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


def _is_id(message_id: str) -> bool:
    return message_id.isascii() and message_id.isdigit()


def _field(response: Any, name: str) -> Any:
    try:
        return response[name]
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


class MelipayamakProvider(BaseProvider):
    """Sends through Melipayamak's ``Send.asmx`` SOAP service (``melipayamak://`` URLs).

    :param username: the panel user name.
    :param password: the panel password (or API key); kept as a :class:`~smsbridge.Secret`.
    :param sender: the default sending line; ``Message.sender`` overrides it.
    :param endpoint: the ``Send.asmx`` address, e.g. an emulator's.
    :param timeout: seconds allowed for connecting and for each reply.
    :param max_connections: size of the connection pool (the client's ``concurrency`` decides
        how many requests of one send run at once).
    """

    scheme: ClassVar[str] = "melipayamak"
    capabilities = Capabilities(
        max_batch_size=100, flash=True, udh=True, delivery_status=True, unicode=True
    )

    def __init__(
        self,
        *,
        username: str,
        password: str | Secret,
        sender: str | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        secret = password if isinstance(password, Secret) else Secret(password)
        if not username or not secret:
            raise ConfigurationError("the melipayamak provider needs a username and a password")
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number, got {timeout!r}")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or (max_connections < 1)
        ):
            raise ConfigurationError(
                f"max_connections must be a positive whole number, got {max_connections!r}"
            )
        self.username = username
        self._password = secret
        self.sender = sender or None
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self._clients = SoapClients(endpoint, self.timeout, max_connections)

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        """``melipayamak://USER:PASSWORD@/?from=SENDER[&endpoint=URL][&timeout=S]``."""
        unknown = set(url.params) - _URL_PARAMS
        if unknown:
            raise ConfigurationError(
                f"melipayamak:// does not take {', '.join(sorted(unknown))} "
                f"(it takes {', '.join(sorted(_URL_PARAMS))})"
            )
        username, password = url.require_credentials()
        return cls(
            username=username,
            password=password,
            sender=url.params.get("from") or None,
            endpoint=url.params.get("endpoint") or DEFAULT_ENDPOINT,
            timeout=url.float_param("timeout", DEFAULT_TIMEOUT),
            max_connections=url.int_param("max_connections", DEFAULT_MAX_CONNECTIONS),
        )

    def __repr__(self) -> str:
        return (
            f"<MelipayamakProvider username={self.username!r} sender={self.sender!r} "
            f"endpoint={self.endpoint!r}>"
        )

    # -- sending ----------------------------------------------------------------------------

    def validate_message(self, message: Message) -> None:
        """A sender line is needed, and text XML can carry; checked before any I/O."""
        if message.sender is None and self.sender is None:
            raise InvalidMessageError(
                "melipayamak needs a sender line: set ?from= in the URL or Message.sender"
            )
        if _NOT_XML.search(message.text) or (message.udh and _NOT_XML.search(message.udh)):
            raise InvalidMessageError("the message contains control characters XML cannot carry")

    def _request(self, message: Message, recipients: Sequence[str]) -> dict[str, Any]:
        """The SendSms arguments; a message that cannot go out is refused before any I/O."""
        # The client has called validate_message already; a direct caller may not have.
        self.validate_message(message)
        sender = message.sender or self.sender
        return {
            "username": self.username,
            "password": self._password.reveal(),
            # A plain list would put only its first element on the wire (a zeep trap).
            "to": {"string": [wire_number(number) for number in recipients]},
            "from": sender,
            "text": message.text,
            "isflash": message.flash,
            "udh": message.udh or "",
        }

    def _results(self, response: Any, recipients: Sequence[str]) -> list[RecipientResult]:
        code = _field(response, "SendSmsResult")
        if not isinstance(code, int) or isinstance(code, bool):
            raise OutcomeUnknownError(
                "melipayamak's SendSms reply has no return code; the request may have been sent",
                provider=self.name,
            )
        if code != SUCCESS:
            raise error_for_code(code)
        rec_ids = _field(_field(response, "recId"), "long") or []
        statuses = _field(response, "status") or b""
        if len(rec_ids) != len(recipients) or len(statuses) != len(recipients):
            raise OutcomeUnknownError(
                f"melipayamak accepted the request but returned {len(rec_ids)} ids and "
                f"{len(statuses)} statuses for {len(recipients)} recipients; who was sent to "
                "cannot be told",
                provider=self.name,
                provider_code=code,
            )
        return [
            self._result(number, rec_id, status)
            for number, rec_id, status in zip(recipients, rec_ids, statuses, strict=True)
        ]

    def _result(self, number: str, rec_id: int, status: int) -> RecipientResult:
        if status == 0 and isinstance(rec_id, int) and rec_id > 0:
            return RecipientResult(
                recipient=number, status=SendStatus.ACCEPTED, message_id=str(rec_id)
            )
        if status == 0:
            error: ProviderError = OutcomeUnknownError(
                "melipayamak marked this recipient sent but gave no message id",
                provider=self.name,
                provider_code=0,
            )
            outcome = SendStatus.UNKNOWN
        elif status == 1:
            error = RecipientRejectedError(
                "melipayamak did not send to this recipient",
                provider=self.name,
                provider_code=1,
                provider_text="not sent",
            )
            outcome = SendStatus.REJECTED
        else:
            error = UnknownProviderError(
                f"melipayamak returned the unknown recipient status {status}",
                provider=self.name,
                provider_code=status,
            )
            outcome = SendStatus.REJECTED
        return RecipientResult(
            recipient=number, status=outcome, error=ResultError.from_exception(error)
        )

    def send(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        """One SendSms request for at most 100 recipients."""
        request = self._request(message, recipients)
        service = self._clients.service()
        with translate_errors(idempotent=False):
            response = service.SendSms(**request)
        return self._results(response, recipients)

    async def asend(self, message: Message, recipients: Sequence[str]) -> list[RecipientResult]:
        """Async twin of :meth:`send`, through zeep's async client and httpx."""
        request = self._request(message, recipients)
        service = self._clients.aservice()
        with translate_errors(idempotent=False):
            response = await service.SendSms(**request)
        return self._results(response, recipients)

    # -- delivery status --------------------------------------------------------------------

    def _delivery_request(self, ids: Sequence[int]) -> dict[str, Any]:
        return {
            "recIds": {"long": list(ids)},
            "username": self.username,
            "password": self._password.reveal(),
        }

    def _reports(self, message_ids: Sequence[str], codes: dict[int, int]) -> list[DeliveryReport]:
        reports = []
        for message_id in message_ids:
            raw = codes.get(int(message_id)) if _is_id(message_id) else None
            if raw is None:
                reports.append(DeliveryReport(message_id=message_id, status=DeliveryStatus.UNKNOWN))
                continue
            row = delivery_code(raw)
            reports.append(
                DeliveryReport(
                    message_id=message_id,
                    status=row.status,
                    provider_code=raw,
                    provider_text=row.meaning,
                )
            )
        return reports

    def _codes(self, ids: Sequence[int], response: Any) -> dict[int, int]:
        # zeep unwraps an ArrayOfInt result into a plain list, and an empty one into None.
        values = response if isinstance(response, list) else _field(response, "int") or []
        if len(values) != len(ids):
            raise UnknownProviderError(
                f"melipayamak returned {len(values)} delivery statuses for {len(ids)} ids "
                "(an empty list usually means wrong credentials)",
                provider=self.name,
            )
        return dict(zip(ids, values, strict=True))

    @staticmethod
    def _chunks(message_ids: Sequence[str]) -> list[list[int]]:
        ids = sorted({int(mid) for mid in message_ids if _is_id(mid)})
        return [ids[i : i + 100] for i in range(0, len(ids), 100)]

    def delivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """GetDeliveries in chunks of 100; ids that are not numbers report ``unknown``."""
        codes: dict[int, int] = {}
        for chunk in self._chunks(message_ids):
            service = self._clients.service()
            with translate_errors(idempotent=True):
                response = service.GetDeliveries(**self._delivery_request(chunk))
            codes.update(self._codes(chunk, response))
        return self._reports(message_ids, codes)

    async def adelivery_status(self, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """Async twin of :meth:`delivery_status`."""
        codes: dict[int, int] = {}
        for chunk in self._chunks(message_ids):
            service = self._clients.aservice()
            with translate_errors(idempotent=True):
                response = await service.GetDeliveries(**self._delivery_request(chunk))
            codes.update(self._codes(chunk, response))
        return self._reports(message_ids, codes)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP sessions; the provider builds new ones if used again."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the HTTP sessions, including this event loop's async client."""
        await self._clients.aclose()
