"""Encoding-aware segment counting (smsbridge.segments)."""

from __future__ import annotations

import pytest

from smsbridge import count_segments
from smsbridge.segments import GSM7_BASIC, GSM7_EXTENSION

# Not in the GSM-7 alphabet, in the Basic Multilingual Plane: one UTF-16 unit.
NON_GSM = "ğ"


class TestGsm7:
    """Texts inside the GSM 03.38 alphabet use 160 septets alone and 153 per part."""

    @pytest.mark.parametrize(
        ("length", "segments"),
        [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
    )
    def test_boundaries(self, length: int, segments: int) -> None:
        """160 fits in one part; past it every part carries 153."""
        counted = count_segments("a" * length)
        assert counted.encoding == "GSM-7"
        assert counted.units == length
        assert counted.segments == segments

    def test_per_segment_and_remaining(self) -> None:
        """``per_segment`` follows the single/concatenated limit and ``remaining`` what is left."""
        assert count_segments("a" * 10).per_segment == 160
        assert count_segments("a" * 10).remaining == 150
        assert count_segments("a" * 161).per_segment == 153
        assert count_segments("a" * 161).remaining == 2 * 153 - 161

    @pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
    def test_extension_characters_count_two(self, char: str) -> None:
        """Each extension-table character costs an escape plus itself."""
        assert count_segments(char).units == 2
        assert count_segments(char).encoding == "GSM-7"

    def test_extension_characters_cross_the_boundary(self) -> None:
        """80 euro signs fill one part exactly; one more character needs a second."""
        assert count_segments("€" * 80).segments == 1
        assert count_segments("€" * 80 + "a").segments == 2
        assert count_segments("a" * 159 + "€").segments == 2

    def test_basic_alphabet_is_one_septet_each(self) -> None:
        """Every basic-alphabet character counts once, accents and Greek capitals included."""
        text = "".join(sorted(GSM7_BASIC))
        assert count_segments(text).units == len(text)
        assert count_segments(text).encoding == "GSM-7"


class TestUcs2:
    """One character outside GSM-7 switches the whole text to UCS-2: 70 alone, 67 per part."""

    @pytest.mark.parametrize(
        ("length", "segments"),
        [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
    )
    def test_boundaries(self, length: int, segments: int) -> None:
        """70 units fit in one part; past it every part carries 67."""
        counted = count_segments(NON_GSM + "a" * (length - 1))
        assert counted.encoding == "UCS-2"
        assert counted.units == length
        assert counted.segments == segments

    def test_one_character_switches_everything(self) -> None:
        """A 100-character ASCII text is one GSM-7 part, but two UCS-2 parts with one ğ."""
        assert count_segments("a" * 100).segments == 1
        assert count_segments("a" * 99 + NON_GSM).segments == 2

    def test_extension_characters_count_one_in_ucs2(self) -> None:
        """The GSM escape does not apply once the text is UCS-2."""
        assert count_segments(NON_GSM + "€").units == 2

    def test_non_bmp_character_counts_two(self) -> None:
        """An emoji outside the BMP is a surrogate pair: two UTF-16 units."""
        assert count_segments("😀").units == 2
        assert count_segments("😀" * 35).segments == 1
        assert count_segments("😀" * 36).segments == 2

    @pytest.mark.parametrize(
        "text",
        ["سلام", "کد ورود شما 1234 است", "Hello دنیا", "۱۲۳۴"],
    )
    def test_persian_is_always_ucs2(self, text: str) -> None:
        """Persian letters and Persian digits are outside GSM-7."""
        counted = count_segments(text)
        assert counted.encoding == "UCS-2"
        assert counted.units == len(text)

    def test_long_persian_text(self) -> None:
        """71 Persian characters need two parts."""
        assert count_segments("س" * 70).segments == 1
        assert count_segments("س" * 71).segments == 2
