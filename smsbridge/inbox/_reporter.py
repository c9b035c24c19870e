"""How an emulator (or any sender) reports to the inbox: in-process or over HTTP.

An emulator needs three calls, whichever way it reaches the inbox:

- before it processes a send request, ``fault(provider)``: ``None``, or the chaos category
  the request must fail with, which the emulator turns into its own wire answer (a result
  code, an HTTP 500, a dropped connection for ``outcome_unknown``);
- for every message it accepts, ``sent(...)``;
- when a message's delivery status changes, ``delivery(...)``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from smsbridge.exceptions import ErrorCategory
from smsbridge.inbox._model import ChaosFault, InboxError, MessageStatus
from smsbridge.inbox._store import InboxStore, open_store

__all__ = ["HttpReporter", "Reporter", "SentRecord", "StoreReporter"]


@attrs.frozen(kw_only=True)
class SentRecord:
    """One message an emulator accepted, to one number, as it reports it to the inbox."""

    provider: str
    """The emulator's provider name, e.g. ``melipayamak``; chaos rules are armed per name."""
    message_id: str | None = None
    """The emulator's own id for it (what its delivery queries use); None when refused."""
    recipient: str
    """E.164 preferred; local forms (``0912…``, ``98912…``) are normalised when valid."""
    text: str
    sender: str | None = None
    flash: bool = False
    udh: str | None = None
    segments: int | None = None
    """The parts the emulator billed; None lets the inbox count them."""
    status: MessageStatus | None = None
    """The initial status; None lets the inbox simulate delivery after its delay.
    ``REJECTED`` shows a send the emulator refused (``error`` says why)."""
    error: str | None = None
    """Why it was refused (an error category, or the service's code), or ``outcome_unknown``
    when the reply was lost."""
    chaos: bool = False
    """True when the inbox's chaos, not the emulator's own rules, decided the outcome."""
    reference: str | None = None
    template_id: str | None = None
    variables: Mapping[str, str] | Sequence[str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form ``POST /api/v1/intake`` takes."""
        data = attrs.asdict(self, recurse=False)
        data["status"] = None if self.status is None else self.status.value
        if self.variables is not None and not isinstance(self.variables, Mapping):
            data["variables"] = list(self.variables)
        return {
            key: value for key, value in data.items() if value is not None and value is not False
        }


class Reporter(Protocol):
    """What an emulator calls to show its traffic in the inbox and take part in its chaos."""

    def fault(self, provider: str) -> ChaosFault | None:
        """The chaos this request must fail with (consumed), or None to answer normally."""

    def sent(self, record: SentRecord) -> None:
        """Show one accepted message in the inbox."""

    def delivery(self, provider: str, message_id: str, status: MessageStatus) -> None:
        """Change the status the inbox shows for one of the emulator's messages."""


def _recipient(number: str) -> str:
    from smsbridge.exceptions import InvalidRecipientError
    from smsbridge.phone import normalize_number

    candidates = [number]
    if number.isdigit() and not number.startswith("0"):
        candidates.append("+" + number)  # 98912…: international without the plus
    for candidate in candidates:
        try:
            return normalize_number(candidate, landlines=True)
        except InvalidRecipientError:
            continue
    return number


class StoreReporter:
    """Reports straight into an inbox store: for an emulator in the inbox's process, or one
    that shares its file."""

    def __init__(self, store: InboxStore | str | Path) -> None:
        self.store = store if isinstance(store, InboxStore) else open_store(store)

    def fault(self, provider: str) -> ChaosFault | None:
        """See :meth:`Reporter.fault`."""
        return self.store.take_fault(provider)

    def sent(self, record: SentRecord) -> None:
        """See :meth:`Reporter.sent`."""
        self.store.add(
            provider=record.provider,
            message_id=record.message_id,
            recipient=_recipient(record.recipient),
            text=record.text,
            sender=record.sender,
            flash=record.flash,
            udh=record.udh,
            segments=record.segments,
            status=record.status or MessageStatus.PENDING,
            simulated=record.status is None,
            error=record.error,
            chaos=record.chaos,
            reference=record.reference,
            template_id=record.template_id,
            variables=record.variables,
        )

    def delivery(self, provider: str, message_id: str, status: MessageStatus) -> None:
        """See :meth:`Reporter.delivery`."""
        self.store.set_status(message_id, status, provider=provider)


class HttpReporter:
    """Reports to a running inbox over its REST API (``/api/v1/intake``, ``/api/v1/chaos/take``).

    :param url: the inbox's base URL, e.g. ``http://127.0.0.1:8090/``.
    :param token: the inbox's token, when it was started with one.
    :raises InboxError: from each call when the inbox cannot be reached or refuses.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._token = token
        # No proxies from the environment: the inbox is local, and messages must not leave.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"HttpReporter({self.url!r})"

    def _post(self, path: str, body: object) -> Any:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(  # noqa: S310 - the URL is the inbox the caller named
            self.url + path,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise InboxError(f"the inbox refused {path}: HTTP {exc.code} {detail}") from None
        except (OSError, ValueError) as exc:
            raise InboxError(f"the inbox at {self.url} cannot be reached: {exc}") from None

    def fault(self, provider: str) -> ChaosFault | None:
        """See :meth:`Reporter.fault`."""
        answer = self._post("/api/v1/chaos/take", {"provider": provider})
        fault = answer.get("fault") if isinstance(answer, dict) else None
        if fault is None:
            return None
        return ChaosFault(
            category=ErrorCategory(fault["category"]), message=fault["message"], rule=fault["rule"]
        )

    def sent(self, record: SentRecord) -> None:
        """See :meth:`Reporter.sent`."""
        self._post("/api/v1/intake", {"messages": [record.to_json()]})

    def delivery(self, provider: str, message_id: str, status: MessageStatus) -> None:
        """See :meth:`Reporter.delivery`."""
        self._post(
            "/api/v1/intake/status",
            {"provider": provider, "message_id": message_id, "status": status.value},
        )
