"""The code tables: consistent, complete for the documented codes, and rendered in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from smsbridge_melipayamak._codes import (
    DELIVERY_CODES,
    SEND_CODES,
    SUCCESS,
    SendCode,
    delivery_code,
    error_for_code,
)

from smsbridge import DeliveryStatus
from smsbridge.exceptions import (
    ErrorCategory,
    ProviderError,
    ProviderUnavailableError,
    UnknownProviderError,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "providers" / "melipayamak.md"


def _doc_rows(section: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {section}:start -->(.*?)<!-- {section}:end -->", text, re.S)
    assert block is not None, f"{section} table missing from {DOC.name}"
    lines = [line for line in block.group(1).strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


class TestSendCodes:
    """SendSms return codes."""

    def test_documented_codes_are_all_mapped(self) -> None:
        """Every code of status_codes.md section 1 (plus 8) has exactly one row."""
        codes = [row.code for row in SEND_CODES]
        assert codes == sorted(set(codes))
        assert set(codes) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15}

    def test_only_success_has_no_category(self) -> None:
        """Code 1 is the one success; every other row names a provider error category."""
        for row in SEND_CODES:
            if row.code == SUCCESS:
                assert row.category is None
            else:
                assert row.category is not None
                assert row.category not in (ErrorCategory.CONFIGURATION, ErrorCategory.VETOED)

    def test_only_maintenance_is_retryable(self) -> None:
        """Code 6 (service being updated) is the only retryable code."""
        assert [row.code for row in SEND_CODES if row.retryable] == [6]

    @pytest.mark.parametrize("row", [r for r in SEND_CODES if r.code != SUCCESS], ids=str)
    def test_error_for_code(self, row: SendCode) -> None:
        """The raised error has the row's category, the raw code and the meaning."""
        error = error_for_code(row.code)
        assert isinstance(error, ProviderError)
        assert error.category is row.category
        assert error.provider_code == row.code
        assert error.provider_text == row.meaning
        assert error.provider == "melipayamak"

    def test_maintenance_is_provider_unavailable(self) -> None:
        """Code 6 raises ProviderUnavailableError, which is retryable."""
        error = error_for_code(6)
        assert isinstance(error, ProviderUnavailableError)
        assert error.retryable

    @pytest.mark.parametrize("code", [13, 16, -1, 999])
    def test_unknown_code_is_kept_raw(self, code: int) -> None:
        """An unlisted code is an UnknownProviderError carrying the raw code."""
        error = error_for_code(code)
        assert type(error) is UnknownProviderError
        assert error.provider_code == code
        assert str(code) in error.message


class TestDeliveryCodes:
    """Delivery codes."""

    def test_documented_codes(self) -> None:
        """Every code of status_codes.md section 4 is mapped as the issue asks."""
        expected = {
            0: "pending", 1: "delivered", 2: "failed", 3: "failed", 5: "unknown", 8: "pending",
            16: "failed", 35: "failed", 100: "unknown", 200: "pending", 300: "failed",
            400: "pending", 500: "failed",
        }  # fmt: skip
        assert {row.code: row.status.value for row in DELIVERY_CODES} == expected

    @pytest.mark.parametrize("code", [-1, 4, 7, 1000])
    def test_unlisted_code_is_unknown(self, code: int) -> None:
        """An unlisted delivery code reads as unknown and keeps the code."""
        row = delivery_code(code)
        assert row.status is DeliveryStatus.UNKNOWN
        assert row.code == code


class TestDocs:
    """docs/providers/melipayamak.md renders the same tables."""

    def test_send_code_table_matches(self) -> None:
        """The send-code table lists each row's code, meaning, category and retryability."""
        expected = [
            [
                str(row.code),
                row.meaning,
                row.category.value if row.category else "— (success)",
                "yes" if row.retryable else "no",
            ]
            for row in SEND_CODES
        ]
        assert _doc_rows("send-codes") == expected

    def test_delivery_code_table_matches(self) -> None:
        """The delivery table lists each row's code, meaning and neutral status."""
        expected = [[str(row.code), row.meaning, row.status.value] for row in DELIVERY_CODES]
        assert _doc_rows("delivery-codes") == expected
