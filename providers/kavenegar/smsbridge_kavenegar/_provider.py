"""The Kavenegar provider: its REST API, sans-I/O. The API key is a path segment of every URL
(``/v1/KEY/sms/send.json``): it is revealed only in the requests built here and never logged,
and smsbridge scrubs it from every text a reply hands back."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Self
from urllib.parse import quote, urlencode, urlsplit

from smsbridge import (
    Balance,
    BaseProvider,
    Batch,
    Capabilities,
    ConfigurationError,
    DeliveryReport,
    DeliveryStatus,
    ErrorCategory,
    InvalidMessageError,
    Message,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    RecipientResult,
    ResultError,
    SendStatus,
    Settlement,
    Template,
    TemplateSupport,
    UnknownProviderError,
)
from smsbridge.config import ProviderURL, Secret, check_endpoint, check_printable
from smsbridge.provider import http_status_error
from smsbridge.transport import Request, Response
from smsbridge_kavenegar import _codes as codes

__all__ = ["DEFAULT_ENDPOINT", "KavenegarProvider", "local_id"]

DEFAULT_ENDPOINT: Final = "https://api.kavenegar.com"
_URL_PARAMS: Final = frozenset({"from", "endpoint"})
_FORM: Final = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")


def local_id(key: str) -> str:
    """The ``localid`` of a send key: a positive 62-bit number, the same for the same key."""
    return str(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 2 or 1)


def _wire(e164: str) -> str:
    return "00" + e164[1:]  # a form every Kavenegar method takes, Iranian or not


def _id(value: object) -> str | None:
    """A message id as text, when ``value`` is a positive number."""
    text = str(value) if type(value) in (int, str) else ""
    return text if text.isascii() and text.isdigit() and text.strip("0") else None


def _dicts(entries: object) -> bool:
    return isinstance(entries, list) and all(isinstance(entry, dict) for entry in entries)


def _read(response: Response, name: str, *, sending: bool) -> tuple[ProviderError | None, Any]:
    """The error a reply means, or its ``entries`` when ``return.status`` is 200. The error is
    built here, never raised: the frame holding the reply (which may echo the key) is gone
    before anything raises, so no traceback printed with its locals shows the reply."""
    try:
        body = response.json()  # on every HTTP status: the code is in the body too
    except ValueError:
        body = None
    head = body.get("return") if isinstance(body, dict) else None
    code = head.get("status") if isinstance(head, dict) else None
    if type(code) is not int:
        if not sending and 200 <= response.status_code < 300:  # a query: ask again
            return ProviderUnavailableError("kavenegar's reply is unreadable", provider=name), None
        return http_status_error(response, name, sending=sending), None
    if code != codes.SUCCESS:
        return codes.error_for_code(code, head.get("message")), None  # type: ignore[union-attr]
    return None, body.get("entries")


class KavenegarProvider(BaseProvider):
    """Sends through Kavenegar's REST API (``kavenegar://API_KEY@/?from=LINE`` URLs).

    :param api_key: the panel's API key; kept as a :class:`~smsbridge.Secret`.
    :param sender: the default line (else the account's default line sends).
    :param endpoint: the base URL the provider adds ``/v1/KEY/...`` to, e.g. an emulator's.
    """

    scheme: ClassVar[str] = "kavenegar"
    capabilities = Capabilities(
        max_batch_size=codes.MAX_RECEPTORS,
        flash=True,
        delivery_status=True,
        templates=TemplateSupport(variables="any", max_batch_size=1),
        balance=True,
        max_delivery_batch=codes.MAX_IDS,
        settle_window=codes.LOCALID_WINDOW,
    )

    def __init__(
        self, *, api_key: str | Secret, sender: str | None = None, endpoint: str = DEFAULT_ENDPOINT
    ) -> None:
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        if not self._key:
            raise ConfigurationError("the kavenegar provider needs an API key")
        check_printable(self._key.reveal(), "the kavenegar API key")
        self.sender = check_printable(sender, "the kavenegar sender line") if sender else None
        self.endpoint = check_endpoint(endpoint).rstrip("/")
        if urlsplit(self.endpoint).query or "#" in self.endpoint:
            raise ConfigurationError("the kavenegar endpoint is a base URL, without ? or #")

    @classmethod
    def from_url(cls, url: ProviderURL) -> Self:
        """``kavenegar://API_KEY@/?from=LINE[&endpoint=URL]``."""
        url.only_params(_URL_PARAMS)
        # Never quote the URL's parts: a key written in the wrong place is still the key.
        if not url.username or url.password is not None or url.host or url.port:
            raise ConfigurationError(
                "kavenegar:// takes the API key as its user part, with no host: "
                "kavenegar://API_KEY@/?from=LINE"
            )
        endpoint = url.params.get("endpoint") or DEFAULT_ENDPOINT
        return cls(api_key=url.username, sender=url.params.get("from"), endpoint=endpoint)

    def __repr__(self) -> str:
        return f"<KavenegarProvider key=******** sender={self.sender!r} endpoint={self.endpoint!r}>"

    def secrets(self) -> Sequence[str]:
        return (self._key.reveal(),)

    def account(self) -> str:
        fingerprint = hashlib.sha256(self._key.reveal().encode()).hexdigest()[:12]
        return f"key-{fingerprint}@{urlsplit(self.endpoint).hostname}"

    def sender_for(self, message: Message | Template) -> str | None:
        return None if isinstance(message, Template) else message.sender or self.sender

    def validate_message(self, message: Message) -> None:
        if len(message.text) > codes.MAX_TEXT:
            raise InvalidMessageError(f"kavenegar takes at most {codes.MAX_TEXT} characters")

    def validate_template(self, template: Template) -> None:
        """The token rules of verify/lookup, before any I/O."""
        tokens = _tokens(template)
        if "token" not in tokens:
            raise InvalidMessageError("kavenegar's verify/lookup needs at least {'token': ...}")
        problems = [codes.token_problem(name, value) for name, value in tokens.items()]
        if problem := next(filter(None, problems), None):
            raise InvalidMessageError(problem)
        if template.sender is not None:
            raise InvalidMessageError("kavenegar's verify/lookup picks its own line: no sender")

    # -- requests -------------------------------------------------------------------------

    def _post(
        self, method: str, fields: list[tuple[str, str]], *, sending: bool = False
    ) -> Request:
        return Request(
            method="POST",
            url=f"{self.endpoint}/v1/{quote(self._key.reveal(), safe='')}/{method}.json",
            headers=[_FORM],
            content=urlencode(fields).encode(),
            idempotent=not sending,
        )

    def request_for(self, batch: Batch) -> Request:
        """verify/lookup for a template (one receptor), else sms/send for up to 200."""
        if (template := batch.template) is not None:
            fields = [("receptor", _wire(batch.recipients[0])), ("template", template.id)]
            tokens = _tokens(template)
            return self._post("verify/lookup", fields + list(tokens.items()), sending=True)
        message = batch.message
        assert isinstance(message, Message)  # noqa: S101 - not a template, so a Message
        fields = [("receptor", ",".join(map(_wire, batch.recipients))), ("message", message.text)]
        if sender := message.sender or self.sender:
            fields.append(("sender", sender))
        if message.flash:
            fields.append(("type", "0"))
        if batch.keys is not None:  # the service refuses a localid it has already seen
            fields.append(("localid", ",".join(map(local_id, batch.keys))))
        return self._post("sms/send", fields, sending=True)

    def delivery_request_for(self, message_ids: Sequence[str]) -> Request | None:
        """sms/status for the ids that are numbers (others can only be ``unknown``)."""
        ids = sorted({mid for mid in message_ids if _id(mid) == mid}, key=int)
        return self._post("sms/status", [("messageid", ",".join(ids))]) if ids else None

    def settle_request_for(self, keys: Sequence[str]) -> Request:
        localids = ",".join(map(local_id, keys))
        return self._post("sms/statuslocalmessageid", [("localid", localids)])

    def balance_request_for(self) -> Request:
        return self._post("account/info", [])

    # -- replies --------------------------------------------------------------------------

    def _entries(self, response: Response, listed: bool = True, *, sending: bool = False) -> Any:
        """``entries`` of a reply whose ``return.status`` is 200; raises for any other."""
        error, entries = _read(response, self.name, sending=sending)
        if error is None and listed and not _dicts(entries):
            cls = OutcomeUnknownError if sending else UnknownProviderError
            error = cls("kavenegar's reply holds no list of entries", provider=self.name)
        if error is not None:
            del entries  # see _read
            raise error
        return entries

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        entries, numbers = self._entries(response, sending=True), batch.recipients
        if len(entries) != len(numbers):
            raise OutcomeUnknownError(
                f"kavenegar took the request but returned {len(entries)} entries for "
                f"{len(numbers)} recipients; who was sent to cannot be told",
                provider=self.name,
            )
        return [self._result(n, e, batch.segments) for n, e in zip(numbers, entries, strict=True)]

    def _result(self, number: str, entry: dict[str, Any], parts: int) -> RecipientResult:
        row, mid = codes.message_status(entry.get("status")), _id(entry.get("messageid"))
        if row.refusal is None and mid is not None:
            return RecipientResult(
                recipient=number, status=SendStatus.ACCEPTED, message_id=mid, segments=parts
            )
        category = row.refusal or ErrorCategory.OUTCOME_UNKNOWN  # taken, but no message id
        error = ResultError(
            category=category,
            message=f"kavenegar did not take this recipient: {row.meaning}",
            provider_code=row.code or None,
            provider_text=f"{row.meaning}; messageid {mid}, cost {entry.get('cost')!r} rials",
        )
        unknown = category is ErrorCategory.OUTCOME_UNKNOWN
        outcome = SendStatus.UNKNOWN if unknown else SendStatus.REJECTED
        return RecipientResult(recipient=number, status=outcome, segments=parts, error=error)

    def delivery_from(
        self, response: Response | None, message_ids: Sequence[str]
    ) -> list[DeliveryReport]:
        entries = [] if response is None else self._entries(response)
        found = {_id(entry.get("messageid")): entry.get("status") for entry in entries}
        reports = []
        for mid in message_ids:
            if mid not in found:  # not asked (not a number) or not answered
                reports.append(DeliveryReport(message_id=mid, status=DeliveryStatus.UNKNOWN))
                continue
            row = codes.message_status(found[mid])
            code, text = row.code or None, row.meaning
            reports.append(
                DeliveryReport(
                    message_id=mid, status=row.delivery, provider_code=code, provider_text=text
                )
            )
        return reports

    def settled_from(self, response: Response | None, keys: Sequence[str]) -> list[Settlement]:
        entries = [] if response is None else self._entries(response)
        found = {str(entry.get("localid")): entry for entry in entries}
        settlements = []
        for key in keys:
            entry = found.get(local_id(key), {})
            row, mid = codes.message_status(entry.get("status")), _id(entry.get("messageid"))
            # 100: no send under this localid in the last 12 hours, so it was not sent.
            sent = False if row.code == 100 else (True if mid is not None else None)
            settlements.append(Settlement(key=key, sent=sent, message_id=mid, status=row.delivery))
        return settlements

    def balance_from(self, response: Response) -> Balance:
        entries = self._entries(response, listed=False)
        credit = entries.get("remaincredit") if isinstance(entries, dict) else None
        if isinstance(credit, bool) or not isinstance(credit, int | float):
            del entries, credit  # see _read
            raise UnknownProviderError("kavenegar's account/info has no credit", provider=self.name)
        return Balance(amount=float(credit), unit="rials", provider=self.name)


_ORDERED: Final = ("token", "token2", "token3")


def _tokens(template: Template) -> Mapping[str, str]:
    """The template's tokens by name; ordered variables fill ``token``, ``token2``, ``token3``
    (so one ``Template`` serves this provider and an ordered one, such as Melipayamak's)."""
    variables = template.variables
    if isinstance(variables, Mapping):
        return variables
    if len(variables) > len(_ORDERED):
        raise InvalidMessageError(
            f"kavenegar's verify/lookup takes at most {len(_ORDERED)} ordered tokens "
            "(token, token2, token3); name them to use token10 or token20"
        )
    return dict(zip(_ORDERED, variables, strict=False))
