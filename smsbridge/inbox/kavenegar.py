"""The Kavenegar emulator in the inbox: its sends shown (``sms/send``, ``sms/sendarray``, and
``verify/lookup`` with the template text the handset gets), its message statuses followed, and
the inbox's chaos answered as Kavenegar refuses (a return code as the HTTP status and in the
body, or a lost reply).

Needs the Kavenegar provider (``pip install -e providers/kavenegar``). Either let the inbox
run the emulator::

    emulator = host(inbox_server)          # listed on the page, stopped with the inbox

or connect an emulator you run yourself, in this process or another one::

    bridge = KavenegarBridge(emulator, HttpReporter("http://127.0.0.1:8090/")).start()
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

import attrs
from smsbridge_kavenegar.emulator import Emulator, EmulatorState, error_body

from smsbridge.exceptions import ErrorCategory
from smsbridge.inbox._bridge import Attempt, EmulatorBridge, host_bridged
from smsbridge.inbox._model import MessageStatus
from smsbridge.inbox._reporter import Reporter, StoreReporter
from smsbridge.inbox._server import InboxServer
from smsbridge.testing.server import Fault, FaultKind, Reply, Request

__all__ = ["PROVIDER", "KavenegarBridge", "host"]

PROVIDER: Final = "kavenegar"
SEND: Final = "sms/send"
SEND_ARRAY: Final = "sms/sendarray"
LOOKUP: Final = "verify/lookup"
_OK: Final = 200
# The return code Kavenegar answers for each refusal chaos can ask for (docs/inbox.md): codes
# the general table lists for every method, each read by the provider as that category.
_CODES: Final[Mapping[ErrorCategory, int]] = {
    ErrorCategory.AUTHENTICATION: 403,  # API key not valid
    ErrorCategory.ACCOUNT_RESTRICTED: 401,  # account disabled
    ErrorCategory.PROVIDER_UNAVAILABLE: 409,  # the server cannot answer, try later
    ErrorCategory.RECIPIENT_REJECTED: 411,  # receptor not valid
    ErrorCategory.SENDER_REJECTED: 412,  # sender not valid
    ErrorCategory.INSUFFICIENT_CREDIT: 418,  # not enough credit
    ErrorCategory.CONTENT_REJECTED: 422,  # invalid characters
    ErrorCategory.RATE_LIMITED: 451,  # too many calls in a time window
}
# Message statuses (sms/status): queued, scheduled, with the operator; delivered; failed at
# the operator, undelivered, cancelled, blocked. Only the first five mean a send was taken.
_TAKEN: Final = frozenset({1, 2, 4, 5, 10})
_DELIVERY: Final = {
    1: MessageStatus.PENDING,
    2: MessageStatus.PENDING,
    4: MessageStatus.PENDING,
    5: MessageStatus.PENDING,
    10: MessageStatus.DELIVERED,
    6: MessageStatus.FAILED,
    11: MessageStatus.FAILED,
    13: MessageStatus.FAILED,
    14: MessageStatus.FAILED,
}
_TOKENS: Final = ("token", "token2", "token3", "token10", "token20")
# The emulator's own placeholder rule; used only to show a lookup it never ran (chaos refused
# it): a lookup it took is shown with the text it recorded.
_PLACEHOLDER: Final = re.compile(r"%(token20|token10|token3|token2|token)")
_FORM: Final = "application/x-www-form-urlencoded"
_JSON: Final = "application/json; charset=utf-8"


def _params(request: Request) -> dict[str, str]:
    """Query and form parameters, the form winning, as the emulator reads them."""
    params = dict(parse_qsl(request.query, keep_blank_values=True))
    if request.body and request.media_type in ("", _FORM):
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _strings(raw: str) -> list[str]:
    value = json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("not a JSON array of strings")
    return value


def _body(reply: Reply) -> tuple[int | None, Any]:
    """A reply's ``return.status`` (None when unreadable) and its ``entries``."""
    try:
        data = json.loads(reply.body)
    except ValueError:
        return None, None
    head = data.get("return") if isinstance(data, dict) else None
    code = head.get("status") if isinstance(head, dict) else None
    if type(code) is not int:
        return None, None
    return code, data.get("entries")


class KavenegarBridge(EmulatorBridge):
    """Connects a :class:`smsbridge_kavenegar.emulator.Emulator` to an inbox.

    :param emulator: the emulator (started or not).
    :param reporter: where to report; see :class:`~smsbridge.inbox.EmulatorBridge`.
    """

    provider = PROVIDER
    send_operations = frozenset({SEND, SEND_ARRAY, LOOKUP})

    def __init__(self, emulator: Emulator, reporter: Reporter, *, poll: float = 0.25) -> None:
        super().__init__(emulator.server, reporter, poll=poll)
        self.emulator = emulator

    # -- requests ---------------------------------------------------------------------------

    def attempts(self, operation: str, request: Request) -> Sequence[Attempt]:
        """The receptors of a send, each with its text and line; a lookup's text is its
        template filled with its tokens."""
        params = _params(request)
        flash = params.get("type", "").strip() == "0"
        if operation == SEND:
            text, sender = params["message"], params.get("sender") or None
            receptors = [r.strip() for r in params["receptor"].split(",") if r.strip()]
            return [Attempt(recipient=r, text=text, sender=sender, flash=flash) for r in receptors]
        if operation == SEND_ARRAY:
            receptors, senders, texts = (
                _strings(params[name]) for name in ("receptor", "sender", "message")
            )
            return [
                Attempt(recipient=r.strip(), text=t, sender=s or None, flash=flash)
                for r, s, t in zip(receptors, senders, texts, strict=False)
            ]
        name = params["template"]
        tokens: dict[str, str] = {t: params[t] for t in _TOKENS if t in params}
        api_key = unquote(request.path.split("/")[2])
        return [
            Attempt(
                recipient=params["receptor"].strip(),
                text=self._rendered(api_key, name, tokens),
                sender=self.emulator.state.lookup_line,
                template_id=name,
                variables=tokens,
            )
        ]

    def _rendered(self, api_key: str, name: str, tokens: Mapping[str, str]) -> str:
        account = self.emulator.state.accounts.get(api_key)
        template = None if account is None else account.templates.get(name)
        if template is None:
            return f"[template {name}] " + " ".join(tokens.values())
        return _PLACEHOLDER.sub(lambda match: tokens.get(match.group(1), ""), template.text)

    # -- replies ----------------------------------------------------------------------------

    def refused(self, operation: str, reply: Reply) -> str | None:
        """``kavenegar code N`` for a return code other than 200 (nothing was sent)."""
        del operation
        code, _ = _body(reply)
        if code is None:
            return None if reply.status == _OK else f"{PROVIDER} HTTP {reply.status}"
        return None if code == _OK else f"{PROVIDER} code {code}"

    def accepted(
        self, operation: str, attempts: Sequence[Attempt], reply: Reply
    ) -> Sequence[str | None]:
        """Each entry's messageid; an entry whose status says it was not taken (14: the
        receptor blocks advertising) is a refusal, as the client reads it."""
        del operation, attempts
        _, entries = _body(reply)
        if not isinstance(entries, list):
            return []
        ids: list[str | None] = []
        for entry in entries:
            found = entry if isinstance(entry, dict) else {}
            message_id, status = found.get("messageid"), found.get("status")
            taken = type(message_id) is int and message_id > 0 and status in _TAKEN
            ids.append(str(message_id) if taken else None)
        return ids

    def shown(self, attempt: Attempt, message_id: str) -> Attempt:
        """The text (a lookup's rendered template), line and parts the emulator recorded."""
        message = self.emulator.state.message_by_id(message_id)
        if message is None:
            return attempt
        return attrs.evolve(
            attempt, text=message.text, sender=message.sender, segments=message.parts
        )

    def refusal(self, operation: str, category: ErrorCategory) -> Fault:
        """The return code for ``category`` (as the HTTP status and in the body, not
        processed); a dropped reply for a lost one."""
        if category is ErrorCategory.OUTCOME_UNKNOWN:
            return Fault(kind=FaultKind.DROP, name="inbox_chaos_drop")
        code = _CODES.get(category, _CODES[ErrorCategory.PROVIDER_UNAVAILABLE])
        return Fault(
            kind=FaultKind.STATUS,
            name=f"inbox_chaos_{category.value}",
            status=code,
            body=error_body(code),
            content_type=_JSON,
            detail=f"{operation} code {code}",
        )

    def delivery(self, message_id: str) -> MessageStatus | None:
        """The message's status in the emulator now, as an inbox status."""
        state = self.emulator.state
        message = state.message_by_id(message_id)
        return None if message is None else _DELIVERY.get(state.status_of(message))


def host(
    server: InboxServer,
    *,
    state: EmulatorState | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Emulator:
    """Run a Kavenegar emulator for ``server``: started, reporting to its store, listed on its
    page, and stopped with it.

    :raises smsbridge.testing.server.PortInUseError: when ``port`` is taken.
    """
    emulator = Emulator(state, host=host, port=port)
    host_bridged(server, KavenegarBridge(emulator, StoreReporter(server.store)), emulator)
    return emulator
