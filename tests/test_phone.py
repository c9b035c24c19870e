"""Phone number normalisation to E.164 (smsbridge.phone)."""

from __future__ import annotations

import pytest

from smsbridge import InvalidRecipientError, normalize_number
from smsbridge.phone import DEFAULT_REGION, normalize_recipients

EXPECTED = "+989123456789"


def persian(text: str) -> str:
    """``text`` with ASCII digits written as Persian digits (U+06F0-U+06F9)."""
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def arabic_indic(text: str) -> str:
    """``text`` with ASCII digits written as Arabic-Indic digits (U+0660-U+0669)."""
    return text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


FORMS = [
    "09123456789",
    "9123456789",
    "00989123456789",
    "+98 912 345 6789",
    "+98-912-345-6789",
    "+989123456789",
    " 0912 345 6789 ",
]


class TestNormalize:
    """Every common Iranian spelling of a mobile number becomes the same E.164 string."""

    def test_default_region_is_iran(self) -> None:
        """Local numbers are read as Iranian unless told otherwise."""
        assert DEFAULT_REGION == "IR"

    @pytest.mark.parametrize("raw", FORMS)
    def test_ascii_forms(self, raw: str) -> None:
        """Local, trunk-less, international and formatted forms all normalise."""
        assert normalize_number(raw, region="IR") == EXPECTED

    @pytest.mark.parametrize("raw", FORMS)
    def test_persian_digits(self, raw: str) -> None:
        """The same forms written in Persian digits."""
        assert normalize_number(persian(raw), region="IR") == EXPECTED

    @pytest.mark.parametrize("raw", FORMS)
    def test_arabic_indic_digits(self, raw: str) -> None:
        """The same forms written in Arabic-Indic digits."""
        assert normalize_number(arabic_indic(raw), region="IR") == EXPECTED

    def test_mixed_digit_scripts(self) -> None:
        """Digits from different scripts in one number still normalise."""
        assert normalize_number("۰۹١٢3456789") == EXPECTED

    def test_other_region(self) -> None:
        """The region decides how a local number is read."""
        assert normalize_number("0151 23456789", region="DE") == "+4915123456789"
        assert normalize_number("+989123456789", region="DE") == EXPECTED


class TestInvalid:
    """Bad numbers raise InvalidRecipientError naming every problem and its position."""

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ("0912abc6789", "letters"),
            ("۰۹۱۲abc۶۷۸۹", "letters"),
            ("+98912", "too short"),
            ("091234567890123", "too long"),
            ("9" * 80, "too long"),
            ("", "empty"),
            ("   ", "empty"),
            (9123456789, "must be a str"),
            (None, "must be a str"),
        ],
    )
    def test_single(self, raw: object, reason: str) -> None:
        """Each kind of bad number has its own reason."""
        with pytest.raises(InvalidRecipientError) as caught:
            normalize_number(raw)  # type: ignore[arg-type]
        (problem,) = caught.value.problems
        assert problem.index == 0
        assert problem.raw == raw
        assert reason in problem.reason

    def test_short_local_number(self) -> None:
        """A four-digit local number is refused."""
        with pytest.raises(InvalidRecipientError):
            normalize_number("0912")

    def test_every_problem_is_listed_with_its_index(self) -> None:
        """One error lists all bad recipients, in input order, and skips the good ones."""
        raw = ["09123456789", "0912abc6789", "0912", "۰۹۱۲۳۴۵۶۷۸۹", "091234567890123", 42, ""]
        with pytest.raises(InvalidRecipientError) as caught:
            normalize_recipients(raw)
        error = caught.value
        assert [(p.index, p.raw) for p in error.problems] == [
            (1, "0912abc6789"),
            (2, "0912"),
            (4, "091234567890123"),
            (5, 42),
            (6, ""),
        ]
        assert "5 invalid recipients" in str(error)
        assert "#1 '0912abc6789'" in str(error)
        assert "#5 42" in str(error)

    def test_start_offsets_positions(self) -> None:
        """``start`` shifts the reported positions, for callers validating a slice."""
        with pytest.raises(InvalidRecipientError) as caught:
            normalize_recipients(["09123456789", "x"], start=10)
        assert [p.index for p in caught.value.problems] == [11]

    def test_valid_list(self) -> None:
        """A list of good numbers comes back normalised, in order, duplicates kept."""
        assert normalize_recipients(["09123456789", "+989351234567", "9123456789"]) == [
            EXPECTED,
            "+989351234567",
            EXPECTED,
        ]


class TestMobilesOnly:
    """Only mobiles are recipients, unless the caller (a provider) says landlines are fine."""

    @pytest.mark.parametrize(
        ("raw", "region", "reason"),
        [
            ("02188776655", "IR", "a landline, not a mobile number"),
            ("+98 21 8877 6655", "IR", "a landline, not a mobile number"),
            ("030 901820", "DE", "a landline, not a mobile number"),
            ("+1 800 234 5678", "US", "not a mobile number"),
        ],
    )
    def test_refused(self, raw: str, region: str, reason: str) -> None:
        """A valid number that is not a mobile is refused, saying what it is."""
        with pytest.raises(InvalidRecipientError) as caught:
            normalize_number(raw, region=region)
        (problem,) = caught.value.problems
        assert problem.reason == reason

    @pytest.mark.parametrize(
        ("raw", "region", "expected"),
        [
            ("02188776655", "IR", "+982188776655"),
            ("۰۲۱۸۸۷۷۶۶۵۵", "IR", "+982188776655"),
            ("030 901820", "DE", "+4930901820"),
        ],
    )
    def test_landlines_allowed(self, raw: str, region: str, expected: str) -> None:
        """With ``landlines=True`` they normalise like mobiles."""
        assert normalize_number(raw, region=region, landlines=True) == expected

    def test_mobiles_unaffected(self) -> None:
        """A mobile is a recipient either way."""
        assert normalize_number("09123456789", landlines=True) == EXPECTED
        assert normalize_recipients(["02188776655", "09123456789"], landlines=True) == [
            "+982188776655",
            EXPECTED,
        ]
