"""The code tables: consistent, complete for the documented codes, and rendered in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from smsbridge_melipayamak._codes import (
    DELIVERY_CODES,
    PATTERN_CODES,
    SEND_CODES,
    SUCCESS,
    SendCode,
    credit_amount,
    delivery_code,
    error_for_code,
    error_for_pattern_code,
    rec_id_or_error,
)

from smsbridge import DeliveryStatus
from smsbridge.exceptions import (
    ErrorCategory,
    OutcomeUnknownError,
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


class TestPatternCodes:
    """SendByBaseNumber2 / BaseServiceNumber codes."""

    def test_documented_codes_are_all_mapped(self) -> None:
        """Every code of status_codes.md section 3 (-1 to -7, -10) and the pattern limit 19."""
        assert [row.code for row in PATTERN_CODES] == [-1, -2, -3, -4, -5, -6, -7, -10, 19]
        assert all(row.category is not None for row in PATTERN_CODES)

    def test_only_internal_error_is_retryable(self) -> None:
        """-6 (internal error) is the only retryable pattern code."""
        assert [row.code for row in PATTERN_CODES if row.retryable] == [-6]

    @pytest.mark.parametrize("row", PATTERN_CODES, ids=str)
    def test_error_for_pattern_code(self, row: SendCode) -> None:
        """The raised error has the row's category, the raw code and the meaning."""
        error = error_for_pattern_code(row.code)
        assert error.category is row.category
        assert (error.provider_code, error.provider_text) == (row.code, row.meaning)
        assert "pattern send" in error.message

    @pytest.mark.parametrize(
        ("code", "category"),
        [
            (0, ErrorCategory.AUTHENTICATION),
            (2, ErrorCategory.INSUFFICIENT_CREDIT),
            (3, ErrorCategory.RATE_LIMITED),
            (11, ErrorCategory.RECIPIENT_REJECTED),
        ],
    )
    def test_account_codes_come_from_the_send_table(
        self, code: int, category: ErrorCategory
    ) -> None:
        """Codes a pattern send shares with SendSms mean the same."""
        assert error_for_pattern_code(code).category is category is error_for_code(code).category

    @pytest.mark.parametrize("code", [1, 13, -8, -99, 500])
    def test_unknown_code_is_kept_raw(self, code: int) -> None:
        """An unlisted code, or success's code without an id, is an unknown provider error."""
        error = error_for_pattern_code(code)
        assert type(error) is UnknownProviderError
        assert error.provider_code == code

    def test_send_table_does_not_read_pattern_codes(self) -> None:
        """-4 from a plain send is not a pattern code: the tables stay apart."""
        assert type(error_for_code(-4)) is UnknownProviderError


class TestRecIdOrError:
    """Where one value is "a recId or a code"."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("3000000000000000001", "3000000000000000001"),
            (" 1234567890\n", "1234567890"),
            (3000000000000000001, "3000000000000000001"),
            ("0000001234567890", "1234567890"),
            (str(2**64), str(2**64)),
        ],
    )
    def test_ids(self, value: object, expected: str) -> None:
        """Ten digits or more, not all zeros: an id, without leading zeros."""
        assert rec_id_or_error(value, pattern=True) == expected
        assert rec_id_or_error(value, pattern=False) == expected

    @pytest.mark.parametrize(
        ("value", "pattern", "category", "code"),
        [
            ("-4", True, ErrorCategory.CONTENT_REJECTED, -4),
            ("-4", False, ErrorCategory.UNKNOWN_PROVIDER_ERROR, -4),
            ("7", False, ErrorCategory.CONTENT_REJECTED, 7),
            (7, True, ErrorCategory.CONTENT_REJECTED, 7),
            (" 0 ", True, ErrorCategory.AUTHENTICATION, 0),
            ("-10", True, ErrorCategory.CONTENT_REJECTED, -10),
            ("999", False, ErrorCategory.UNKNOWN_PROVIDER_ERROR, 999),
        ],
    )
    def test_codes(self, value: object, pattern: bool, category: ErrorCategory, code: int) -> None:
        """Three digits at most: a code, raised from the pattern or the SendSms table."""
        with pytest.raises(ProviderError) as raised:
            rec_id_or_error(value, pattern=pattern)
        assert (raised.value.category, raised.value.provider_code) == (category, code)

    @pytest.mark.parametrize(
        "value",
        [
            "1000",
            "123456789",
            "-1234567890",
            "0000000000",
            "",
            "  ",
            None,
            True,
            1.5,
            "۱۲۳۴۵۶۷۸۹۰۱",
            "12a",
            "+12",
        ],
    )
    def test_neither(self, value: object) -> None:
        """Anything else leaves the outcome unknown: the message may have been sent."""
        with pytest.raises(OutcomeUnknownError):
            rec_id_or_error(value, pattern=True)


class TestCredit:
    """GetCredit values."""

    @pytest.mark.parametrize(
        ("value", "amount"), [("12.5", 12.5), (3, 3.0), (" 1E3 ", 1000.0), ("0", 0.0)]
    )
    def test_numbers(self, value: object, amount: float) -> None:
        """Texts and JSON numbers."""
        assert credit_amount(value) == amount

    @pytest.mark.parametrize("value", ["", "many", "NaN", "-inf", None, True, [1]])
    def test_not_numbers(self, value: object) -> None:
        """Anything that is not a finite number."""
        with pytest.raises(UnknownProviderError):
            credit_amount(value)


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

    def test_pattern_code_table_matches(self) -> None:
        """The pattern-code table lists each row's code, meaning, category and retryability."""
        expected = [
            [
                str(row.code),
                row.meaning,
                row.category.value if row.category else "",
                "yes" if row.retryable else "no",
            ]
            for row in PATTERN_CODES
        ]
        assert _doc_rows("pattern-codes") == expected

    def test_delivery_code_table_matches(self) -> None:
        """The delivery table lists each row's code, meaning and neutral status."""
        expected = [[str(row.code), row.meaning, row.status.value] for row in DELIVERY_CODES]
        assert _doc_rows("delivery-codes") == expected
