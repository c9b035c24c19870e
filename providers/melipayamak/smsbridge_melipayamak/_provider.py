"""The Melipayamak provider: plain and pattern sends, delivery status and credit, sans-I/O, over
``Send.asmx`` (SOAP, ``_soap.py``) or the REST API (``_rest.py``), chosen in the URL.

It only turns sends into requests and replies into results; the engine's transport carries
them (deadline, size cap, no redirects, TLS, proxies, fault mapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final, Literal, Self, cast
from urllib.parse import urlsplit

from smsbridge import (
    Balance,
    BaseProvider,
    Batch,
    ConfigurationError,
    DeliveryReport,
    DeliveryStatus,
    InvalidMessageError,
    Message,
    RecipientResult,
    SendStatus,
    Template,
)
from smsbridge.config import ProviderURL, Secret, check_endpoint, check_printable
from smsbridge.transport import Request, Response
from smsbridge_melipayamak._codes import delivery_code
from smsbridge_melipayamak._rest import DEFAULT_REST_ENDPOINT, RestWire
from smsbridge_melipayamak._soap import DEFAULT_ENDPOINT, SoapWire

__all__ = ["DEFAULT_ENDPOINT", "DEFAULT_REST_ENDPOINT", "MelipayamakProvider", "wire_number"]

Api = Literal["soap", "rest"]
_URL_PARAMS: Final = frozenset({"from", "endpoint", "api", "replace_semicolon"})
_SEPARATOR: Final = ";"
_MAX_BODY_ID: Final = 2**31 - 1  # bodyId is an xsd:int


def wire_number(e164: str) -> str:
    """How the service wants a number: ``09...`` for Iran, ``00`` + digits elsewhere."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


class MelipayamakProvider(BaseProvider):
    """Sends through Melipayamak (``melipayamak://`` URLs), over SOAP or REST.

    :param username: the panel user name.
    :param password: the panel password (or API key); kept as a :class:`~smsbridge.Secret`.
    :param sender: the default sending line; ``Message.sender`` overrides it (pattern sends go
        out on the pattern's shared service line and need none).
    :param endpoint: the ``Send.asmx`` address, or with ``api="rest"`` the REST base
        (``…/api/SendSMS``), e.g. an emulator's.
    :param api: ``"soap"`` (``Send.asmx``, the default) or ``"rest"``.
    :param replace_semicolon: what a ``;`` inside a template variable becomes; without it such
        a variable is refused, since ``;`` separates the variables on the wire.
    """

    scheme: ClassVar[str] = "melipayamak"
    capabilities = SoapWire.capabilities

    def __init__(
        self,
        *,
        username: str,
        password: str | Secret,
        sender: str | None = None,
        endpoint: str | None = None,
        api: Api = "soap",
        replace_semicolon: str | None = None,
    ) -> None:
        secret = password if isinstance(password, Secret) else Secret(password)
        if not username or not secret:
            raise ConfigurationError("the melipayamak provider needs a username and a password")
        check_printable(username, "the melipayamak username")
        check_printable(secret.reveal(), "the melipayamak password")
        check_printable(sender or "", "the melipayamak sender line")
        if api not in ("soap", "rest"):
            raise ConfigurationError(f"melipayamak's api is 'soap' or 'rest', not {api!r}")
        if replace_semicolon is not None and (
            _SEPARATOR in replace_semicolon or not replace_semicolon
        ):
            raise ConfigurationError("replace_semicolon must be a non-empty text without ';'")
        check_printable(replace_semicolon or "", "replace_semicolon")
        self.username = username
        self._password = secret
        self.sender = sender or None
        self.api: Api = api
        self.replace_semicolon = replace_semicolon
        default = DEFAULT_REST_ENDPOINT if api == "rest" else DEFAULT_ENDPOINT
        self.endpoint = check_endpoint(endpoint or default)
        wire = RestWire if api == "rest" else SoapWire
        self._wire: SoapWire | RestWire = wire(self.endpoint, username, secret)
        self.capabilities = wire.capabilities

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        """``melipayamak://USER:PASSWORD@/?from=SENDER[&api=rest][&endpoint=URL]
        [&replace_semicolon=TEXT]``."""
        if "max_connections" in url.params:
            raise ConfigurationError(
                "melipayamak:// no longer takes max_connections: the client's concurrency "
                "decides how many connections are open"
            )
        url.only_params(_URL_PARAMS)
        username, password = url.require_credentials()
        return cls(
            username=username,
            password=password,
            sender=url.params.get("from") or None,
            endpoint=url.params.get("endpoint") or None,
            api=cast("Api", url.params.get("api") or "soap"),  # checked by __init__
            replace_semicolon=url.params.get("replace_semicolon"),
        )

    def __repr__(self) -> str:
        return (
            f"<MelipayamakProvider username={self.username!r} sender={self.sender!r} "
            f"api={self.api!r} endpoint={self.endpoint!r}>"
        )

    def secrets(self) -> Sequence[str]:
        return (self._password.reveal(),)

    def account(self) -> str:
        return f"{self.username}@{urlsplit(self.endpoint).hostname}"

    def sender_for(self, message: Message | Template) -> str | None:
        return message.sender or self.sender

    # -- checks before any I/O --------------------------------------------------------------

    def validate_message(self, message: Message) -> None:
        """A sender line is needed."""
        if message.sender is None and self.sender is None:
            raise InvalidMessageError(
                "melipayamak needs a sender line: set ?from= in the URL or Message.sender"
            )

    def validate_template(self, template: Template) -> None:
        """The id is a bodyId (a number), and no variable holds the ``;`` separator unless
        the caller chose a replacement."""
        if not (template.id.isascii() and template.id.isdigit()) or not (
            0 < int(template.id) <= _MAX_BODY_ID
        ):
            raise InvalidMessageError(
                "a melipayamak template id is the pattern's bodyId, a positive number "
                f"(got {template.id!r})"
            )
        if self.replace_semicolon is None:
            for position, value in enumerate(template.values):
                if _SEPARATOR in value:
                    raise InvalidMessageError(
                        f"template variable {position} contains ';', which separates "
                        "melipayamak's pattern variables and would shift every later one; "
                        "remove it, or set ?replace_semicolon= (for example the Arabic comma)"
                    )

    def _pattern_text(self, template: Template) -> str:
        values = template.values
        if self.replace_semicolon is not None:
            values = [value.replace(_SEPARATOR, self.replace_semicolon) for value in values]
        return _SEPARATOR.join(values)

    # -- the sans-I/O pairs -----------------------------------------------------------------

    def request_for(self, batch: Batch) -> Request:
        """SendSms (up to 100 numbers) or SendSMS (one), or a pattern send for one number."""
        # wire_number inlined: this runs once per recipient of a campaign.
        numbers = [
            "0" + number[3:] if number.startswith("+98") else "00" + number.lstrip("+")
            for number in batch.recipients
        ]
        template = batch.template
        if template is not None:
            (number,) = numbers
            return self._wire.pattern(number, int(template.id), self._pattern_text(template))
        message = batch.message
        assert isinstance(message, Message)  # noqa: S101 - not a template, so a Message
        return self._wire.send(numbers, message.sender or self.sender or "", message)

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        if batch.template is None:
            return self._wire.sent(response, batch)
        rec_id = self._wire.pattern_id(response)
        (number,) = batch.recipients
        return [
            RecipientResult(
                recipient=number, status=SendStatus.ACCEPTED, message_id=rec_id, provider=self.name
            )
        ]

    @staticmethod
    def _numeric(message_ids: Sequence[str]) -> list[str]:
        return sorted({mid for mid in message_ids if mid.isascii() and mid.isdigit()}, key=int)

    def delivery_request_for(self, message_ids: Sequence[str]) -> Request | None:
        """GetDeliveries (SOAP) or GetDeliveries2 (REST) for the ids that are numbers
        (others can only be ``unknown``)."""
        ids = self._numeric(message_ids)
        return self._wire.deliveries(ids) if ids else None

    def delivery_from(
        self, response: Response | None, message_ids: Sequence[str]
    ) -> list[DeliveryReport]:
        codes: dict[str, int] = {}
        if response is not None:
            ids = self._numeric(message_ids)
            codes = dict(zip(ids, self._wire.delivery_codes(response, ids), strict=True))
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
        return self._wire.credit()

    def balance_from(self, response: Response) -> Balance:
        # The GetCredit page counts the credit in messages ("in number of SMS").
        amount = self._wire.credit_value(response)
        return Balance(amount=amount, unit="messages", provider=self.name)
