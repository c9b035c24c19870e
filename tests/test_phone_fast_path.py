"""The fast path for plain mobile numbers agrees with phonenumbers' full parse, always."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from smsbridge.phone import (
    _fast_mobile,
    _full_check,
    _mobile_shape,
    check_number,
    check_numbers,
    plain_national_numbers,
)

REGIONS = ["IR", "DE", "US", "GB", "IT", "AE", "TR", "IN", "FR", "BR"]


def written_forms(
    rng: random.Random,
    region: str,
    kind: phonenumbers.PhoneNumberType = phonenumbers.PhoneNumberType.MOBILE,
) -> list[str]:
    """A number of ``region`` (near an example of ``kind``) written the ways people write them,
    valid or not."""
    code = str(phonenumbers.country_code_for_region(region))
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number) if example else "9123456789"
    digits = list(national)
    for _ in range(rng.randint(0, 3)):
        digits[rng.randrange(len(digits))] = str(rng.randint(0, 9))
    if rng.random() < 0.2:
        digits.append(str(rng.randint(0, 9)))
    if rng.random() < 0.2 and len(digits) > 4:
        digits.pop()
    body = "".join(digits)
    spaced = " ".join(body[i : i + 3] for i in range(0, len(body), 3))
    return [
        body,
        "0" + body,
        "+" + code + body,
        "00" + code + body,
        code + body,
        f"+{code} {spaced}",
        f"+{code}-{body[:3]}-{body[3:]}",
        "0" + spaced,
    ]


class TestFastPathAgreement:
    """Wherever the fast path answers, phonenumbers gives the same E.164 mobile number."""

    @pytest.mark.parametrize("region", REGIONS)
    def test_agrees_with_phonenumbers(self, region: str) -> None:
        """Thousands of generated spellings; the fast path may decline, never disagree."""
        rng = random.Random(f"fast-path-{region}")  # noqa: S311 - reproducible test data
        answered = 0
        for _ in range(400):
            for text in written_forms(rng, region):
                fast = _fast_mobile(text, region)
                if fast is not None:
                    answered += 1
                    # The fast path vouches for mobiles only, so it is compared with the full
                    # path for mobiles (which refuses landlines) and with the one that takes
                    # landlines too: a mobile is the same number either way.
                    assert (fast, None) == _full_check(text, region, False), (region, text)
                    assert (fast, None) == _full_check(text, region, True), (region, text)
        if _mobile_shape(region) is not None:
            assert answered > 0, f"the fast path never answered for {region}"
        else:  # prefix rules too rich (GB, BR): everything goes to phonenumbers
            assert answered == 0

    @pytest.mark.parametrize("region", REGIONS)
    def test_never_lets_a_landline_through(self, region: str) -> None:
        """Spellings near the region's landlines: wherever the fast path answers, the number
        is a mobile by phonenumbers' rule, so no landline skips the mobiles-only check."""
        rng = random.Random(f"fast-path-landline-{region}")  # noqa: S311 - reproducible
        refused = 0
        for _ in range(200):
            for text in written_forms(rng, region, phonenumbers.PhoneNumberType.FIXED_LINE):
                fast = _fast_mobile(text, region)
                full = _full_check(text, region, False)
                if fast is not None:
                    assert (fast, None) == full, (region, text)
                elif full[1] == "a landline, not a mobile number":
                    refused += 1
        example = phonenumbers.example_number_for_type(
            region, phonenumbers.PhoneNumberType.FIXED_LINE
        )
        if phonenumbers.number_type(example) == phonenumbers.PhoneNumberType.FIXED_LINE:
            assert refused > 0, f"no landline of {region} was generated"
        # else (US): landlines and mobiles share their numbers; nothing to refuse

    def test_declines_what_it_cannot_vouch_for(self) -> None:
        """Letters, other country codes and non-ASCII digits go to the full path."""
        assert _fast_mobile("0912abc4567", "IR") is None
        assert _fast_mobile("+14155550100", "IR") is None
        assert _fast_mobile("０９１２３４５６７８９", "IR") is None  # full-width digits
        assert check_number("+14155550100", "IR") == ("+14155550100", None)


class TestCheckNumbers:
    """``check_numbers`` (the campaigns' batch form) answers exactly as ``check_number``."""

    @pytest.mark.parametrize("region", REGIONS)
    @pytest.mark.parametrize("landlines", [False, True])
    def test_same_answers(self, region: str, landlines: bool) -> None:
        rng = random.Random(f"check-numbers-{region}")  # noqa: S311 - reproducible test data
        texts: list[object] = []
        for _ in range(200):
            texts.extend(written_forms(rng, region))
            texts.extend(written_forms(rng, region, phonenumbers.PhoneNumberType.FIXED_LINE))
        texts += ["", "  ", "0", "09123456789 ", " 09123456789", "0912345678", 5, None]
        expected = [check_number(text, region, landlines=landlines) for text in texts]
        assert check_numbers(texts, region, landlines=landlines) == expected


def _national_prefix(region: str) -> str | None:
    shape = _mobile_shape(region)
    return shape.national_prefix if shape is not None else None


NATIONAL_REGIONS = [region for region in REGIONS if _national_prefix(region)]


class TestPlainNationalChunks:
    """A campaign chunk written plainly in national form is checked in one pass, with the
    answers check_number gives one number at a time; any other chunk is left to it."""

    @pytest.mark.parametrize("region", NATIONAL_REGIONS)
    def test_a_plain_chunk_reads_as_check_number_reads_it(self, region: str) -> None:
        rng = random.Random(f"plain-chunk-{region}")  # noqa: S311 - reproducible test data
        prefix = _national_prefix(region)
        texts = [f"{prefix}{written_forms(rng, region)[0]}" for _ in range(400)]
        # The numbers the one-at-a-time fast path reads: the chunk path must read them all.
        valid = [text for text in texts if _fast_mobile(text, region) is not None]
        assert len(valid) > 50, "the sample holds too few valid numbers to test anything"
        assert plain_national_numbers(valid, region) == [
            check_number(text, region)[0] for text in valid
        ]
        assert check_numbers(valid, region) == [check_number(text, region) for text in valid]

    @pytest.mark.parametrize("region", NATIONAL_REGIONS)
    def test_one_number_off_sends_the_chunk_the_long_way(self, region: str) -> None:
        """Each way a number can fail the plain form, put among plain ones: a chunk holding
        an invalid one is declined, and check_numbers still answers each as check_number does."""
        prefix = _national_prefix(region) or ""
        mobile = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        landline = phonenumbers.example_number_for_type(
            region, phonenumbers.PhoneNumberType.FIXED_LINE
        )
        assert mobile is not None
        assert landline is not None
        good = prefix + str(mobile.national_number)
        code = str(phonenumbers.country_code_for_region(region))
        odd: list[object] = [
            good + "0",  # too long
            good[:-1],  # too short
            " " + good,  # spaced
            good.replace("0", "۰", 1),  # a Persian digit
            "+" + code + good[len(prefix) :],  # international
            good + "\n" + good,  # a newline inside one text
            prefix + str(landline.national_number),  # a landline (or either, in some regions)
            "",
            7,
        ]
        assert plain_national_numbers([good, good], region) is not None
        for text in odd:
            chunk = [good, text, good]
            expected = [check_number(item, region) for item in chunk]
            plain = plain_national_numbers(chunk, region)
            if any(number is None for number, _ in expected) or not isinstance(text, str):
                assert plain is None, text
            elif plain is not None:
                assert plain == [number for number, _ in expected], text
            assert check_numbers(chunk, region) == expected
