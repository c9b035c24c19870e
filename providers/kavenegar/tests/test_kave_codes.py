"""The code tables: consistent, complete for the documented codes, rendered in the docs, and
every return code reached on the emulator and mapped by the provider."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from kave_support import KEY, LINE, kave_url
from smsbridge_kavenegar._codes import (
    MESSAGE_STATUSES,
    RETURN_CODES,
    SUCCESS,
    ReturnCode,
    error_for_code,
    message_status,
)
from smsbridge_kavenegar.emulator import Emulator, EmulatorState, KavenegarTemplate

import smsbridge
from smsbridge import DeliveryStatus, SendStatus, Template
from smsbridge.exceptions import (
    ErrorCategory,
    ProviderError,
    ProviderUnavailableError,
    UnknownProviderError,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "providers" / "kavenegar.md"
DOCUMENTED = {
    200, 400, 401, 402, 403, 404, 405, 406, 407, 409, 411, 412, 413, 414, 415, 416, 417, 418,
    419, 420, 422, 424, 426, 427, 428, 429, 431, 432, 451, 501, 607,
}  # fmt: skip
"""Table 1 of the REST documentation plus the per-method 607 (api.md section 6)."""


def _doc_rows(section: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {section}:start -->(.*?)<!-- {section}:end -->", text, re.S)
    assert block is not None, f"{section} table missing from {DOC.name}"
    lines = [line for line in block.group(1).strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


class TestReturnCodes:
    """Return codes (``return.status``, also the HTTP status)."""

    def test_documented_codes_are_all_mapped(self) -> None:
        """Every documented code has exactly one row, in order."""
        codes = [row.code for row in RETURN_CODES]
        assert codes == sorted(set(codes))
        assert set(codes) == DOCUMENTED

    def test_only_success_has_no_category(self) -> None:
        """200 is the one success; every other row names a provider error category."""
        for row in RETURN_CODES:
            assert (row.category is None) is (row.code == SUCCESS)
            assert row.category not in (ErrorCategory.CONFIGURATION, ErrorCategory.VETOED)

    def test_retryable(self) -> None:
        """Only 'operation failed' and 'cannot answer, try later' are worth retrying as is."""
        assert [row.code for row in RETURN_CODES if row.retryable] == [402, 409]

    @pytest.mark.parametrize(
        "row", [r for r in RETURN_CODES if r.code != SUCCESS], ids=lambda row: str(row.code)
    )
    def test_error_for_code(self, row: ReturnCode) -> None:
        """The raised error has the row's category, the raw code and the service's text."""
        error = error_for_code(row.code, "متن سرویس")
        assert isinstance(error, ProviderError)
        assert (error.category, error.provider_code) == (row.category, row.code)
        assert error.provider_text == "متن سرویس"
        assert row.meaning in error.message
        assert error_for_code(row.code).provider_text == row.meaning
        assert error.retryable is row.retryable

    @pytest.mark.parametrize("code", [408, 410, 421, 423, 425, 430, 500, 999, -1])
    def test_unknown_code_is_kept_raw(self, code: int) -> None:
        """Codes listed elsewhere but not in the docs are unknown errors keeping the code."""
        error = error_for_code(code, "x")
        assert type(error) is UnknownProviderError
        assert (error.provider_code, error.provider_text) == (code, "x")
        assert str(code) in error.message


class TestMessageStatuses:
    """Message statuses (send entries, sms/status, sms/statuslocalmessageid)."""

    def test_documented_statuses(self) -> None:
        """Table 2 of the docs, mapped to the neutral delivery statuses."""
        expected = {
            1: "pending", 2: "pending", 4: "pending", 5: "pending", 6: "failed",
            10: "delivered", 11: "failed", 13: "failed", 14: "failed", 100: "unknown",
        }  # fmt: skip
        assert {row.code: row.delivery.value for row in MESSAGE_STATUSES} == expected

    def test_refusals_at_send_time(self) -> None:
        """Taken: queued, scheduled, with the operator, delivered; 14 is recipient_rejected."""
        taken = [row.code for row in MESSAGE_STATUSES if row.refusal is None]
        assert taken == [1, 2, 4, 5, 10]
        assert message_status(14).refusal is ErrorCategory.RECIPIENT_REJECTED
        assert message_status(100).refusal is ErrorCategory.OUTCOME_UNKNOWN

    @pytest.mark.parametrize("code", [0, 3, 50, 101, "1", None, True])
    def test_unlisted_status(self, code: object) -> None:
        """An unlisted status is unknown, and cannot be read as taken."""
        row = message_status(code)
        assert row.delivery is DeliveryStatus.UNKNOWN
        assert row.refusal is ErrorCategory.OUTCOME_UNKNOWN
        assert row.code == (code if type(code) is int else 0)


class TestDocs:
    """docs/providers/kavenegar.md renders the same tables."""

    def test_return_code_table_matches(self) -> None:
        """Each row's code, meaning, category and retryability."""
        expected = [
            [
                str(row.code),
                row.meaning,
                row.category.value if row.category else "— (success)",
                "yes" if row.retryable else "no",
            ]
            for row in RETURN_CODES
        ]
        assert _doc_rows("return-codes") == expected

    def test_message_status_table_matches(self) -> None:
        """Each status's code, meaning, delivery status and meaning at send time."""
        expected = [
            [
                str(row.code),
                row.meaning,
                row.delivery.value,
                "accepted" if row.refusal is None else row.refusal.value,
            ]
            for row in MESSAGE_STATUSES
        ]
        assert _doc_rows("message-statuses") == expected


# -- every code on the emulator ------------------------------------------------------------------

Setup = Callable[[EmulatorState], None]


def account(**changes: object) -> Setup:
    """Change the demo account's fields."""

    def apply(state: EmulatorState) -> None:
        for name, value in changes.items():
            setattr(state.accounts[KEY], name, value)

    return apply


def service(**changes: object) -> Setup:
    """Change the emulator's own fields."""

    def apply(state: EmulatorState) -> None:
        for name, value in changes.items():
            setattr(state, name, value)

    return apply


def nothing(state: EmulatorState) -> None:
    """No state change: the call itself triggers the code."""


BARE = KavenegarTemplate(name="bare", text="no placeholder")
OTP = Template(id="verify", variables={"token": "4821"})
# code, state, what the provider sends, its recipient, the URL's key and line
THROUGH_THE_PROVIDER: list[tuple[int, Setup, str | Template, str, str, str]] = [
    (401, account(active=False), "hi", "+989121234567", KEY, LINE),
    (402, service(failing=True), "hi", "+989121234567", KEY, LINE),
    (403, nothing, "hi", "+989121234567", "wrong-key", LINE),
    (407, nothing, "hi", "+447911123456", KEY, LINE),
    (409, service(busy=True), "hi", "+989121234567", KEY, LINE),
    (412, nothing, "hi", "+989121234567", KEY, "30001234"),
    (416, account(ip_allowed=False), "hi", "+989121234567", KEY, LINE),
    (418, account(credit=0), "hi", "+989121234567", KEY, LINE),
    (420, account(links_allowed=False), "see https://x.ir", "+989121234567", KEY, LINE),
    (422, service(invalid_characters={"¤"}), "hi ¤", "+989121234567", KEY, LINE),
    (424, nothing, Template(id="nope", variables={"token": "1"}), "+989121234567", KEY, LINE),
    (426, account(advanced=False), OTP, "+989121234567", KEY, LINE),
    (427, account(restricted_lines={LINE}), "hi", "+989121234567", KEY, LINE),
    (429, account(ip_blocked=True), "hi", "+989121234567", KEY, LINE),
    (432, account(templates=[BARE]), Template(id="bare", variables={"token": "1"}),
     "+989121234567", KEY, LINE),
    (451, account(calls_per_minute=0), "hi", "+989121234567", KEY, LINE),
    (501, account(test_mode=True, owner="+989000000000"), OTP, "+989121234567", KEY, LINE),
]  # fmt: skip
"""Codes a real send can meet, each produced by emulator state (or the URL it is given)."""

# code, method, form fields, HTTP method
RAW: list[tuple[int, str, dict[str, str], str]] = [
    (400, "sms/send", {"receptor": "09121234567"}, "POST"),
    (404, "sms/nothing", {}, "POST"),
    (405, "sms/sendarray", {}, "GET"),
    (406, "sms/send", {"receptor": "", "message": "hi"}, "POST"),
    (411, "sms/send", {"receptor": "09121234567,abc", "message": "hi"}, "POST"),
    (413, "sms/send", {"receptor": "09121234567", "message": "a" * 901}, "POST"),
    (414, "sms/send", {"receptor": ",".join(["09121234567"] * 201), "message": "hi"}, "POST"),
    (414, "sms/status", {"messageid": ",".join(["1"] * 501)}, "POST"),
    (417, "sms/send", {"receptor": "09121234567", "message": "hi", "date": "1"}, "POST"),
    (419, "sms/send", {"receptor": "09121234567", "message": "hi", "localid": "1,2"}, "POST"),
    (419, "sms/sendarray",
     {"receptor": '["09121234567"]', "sender": "[]", "message": '["hi"]'}, "POST"),
    (428, "verify/lookup", {"receptor": "09121234567", "template": "verify", "token": "abc",
                            "type": "call"}, "POST"),
    (431, "verify/lookup", {"receptor": "09121234567", "template": "verify", "token": "a b"},
     "POST"),
    (607, "sms/send", {"receptor": "09121234567", "message": "hi", "tag": "nope"}, "POST"),
]  # fmt: skip
"""Codes for calls the provider never makes (it refuses or splits them before any I/O)."""

ONLY_BY_FAULT = {415}
"""No emulated method pages through records; the ``code`` fault answers it."""


def test_every_code_is_reached() -> None:
    """Between the provider's sends, raw calls and the fault, every error code is covered."""
    reached = {row[0] for row in THROUGH_THE_PROVIDER} | {row[0] for row in RAW} | ONLY_BY_FAULT
    assert reached == DOCUMENTED - {SUCCESS}


def raw_call(emulator: Emulator, method: str, fields: dict[str, str], verb: str) -> tuple[int, Any]:
    """Call the emulator without the provider: (HTTP status, body)."""
    url = f"{emulator.url}/v1/{KEY}/{method}.json"
    data = urlencode(fields).encode()
    request = (
        urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - 127.0.0.1
        if verb == "POST"
        else urllib.request.Request(f"{url}?{data.decode()}")  # noqa: S310
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.mark.parametrize(
    ("code", "setup", "message", "recipient", "key", "line"),
    THROUGH_THE_PROVIDER,
    ids=[str(row[0]) for row in THROUGH_THE_PROVIDER],
)
def test_codes_through_the_provider(
    emulator: Emulator,
    code: int,
    setup: Setup,
    message: str | Template,
    recipient: str,
    key: str,
    line: str,
) -> None:
    """The emulator answers the code for the state; the provider maps it by its table."""
    setup(emulator.state)
    row = next(r for r in RETURN_CODES if r.code == code)
    with smsbridge.Client(kave_url(emulator.url, key=key, sender=line), autoload_plugins=True) as c:
        (result,) = c.send(message, [recipient])
    assert result.status is SendStatus.REJECTED
    assert result.error is not None
    assert (result.error.category, result.error.provider_code) == (row.category, code)
    assert result.error.retryable is row.retryable
    assert emulator.state.sent == []


@pytest.mark.parametrize(
    ("code", "method", "fields", "verb"), RAW, ids=[f"{r[0]}-{r[1]}" for r in RAW]
)
def test_codes_of_raw_calls(
    emulator: Emulator, code: int, method: str, fields: dict[str, str], verb: str
) -> None:
    """The code is the HTTP status and the body's return.status; entries are null."""
    status, body = raw_call(emulator, method, fields, verb)
    assert (status, body["return"]["status"], body["entries"]) == (code, code, None)
    assert emulator.state.sent == []


@pytest.mark.parametrize(
    "row", [r for r in RETURN_CODES if r.code != SUCCESS], ids=lambda row: str(row.code)
)
def test_every_code_from_the_fault_through_the_provider(
    emulator: Emulator, row: ReturnCode
) -> None:
    """The ``code`` fault answers any code as the service does; the provider maps each, and
    nothing is sent (the call was not processed)."""
    emulator.faults.code(row.code, count=None)  # retryable codes are asked again
    with smsbridge.Client(kave_url(emulator.url), autoload_plugins=True) as client:
        (result,) = client.send("hi", ["+989121234567"])
        with pytest.raises(ProviderError) as caught:
            client.balance()
    assert result.error is not None
    assert (result.status, result.error.category) == (SendStatus.REJECTED, row.category)
    assert result.error.provider_code == row.code
    assert (caught.value.category, caught.value.provider_code) == (row.category, row.code)
    assert isinstance(caught.value, ProviderUnavailableError) is row.retryable
    assert emulator.state.sent == []
