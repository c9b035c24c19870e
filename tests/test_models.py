"""Messages, per-recipient results and reports (smsbridge._models)."""

from __future__ import annotations

import json

import attrs
import pytest

from smsbridge import (
    Capabilities,
    DeliveryReport,
    DeliveryStatus,
    ErrorCategory,
    InsufficientCreditError,
    InvalidMessageError,
    Message,
    ProviderUnavailableError,
    RecipientResult,
    ResultError,
    SendReport,
    SendStatus,
)
from smsbridge.provider import accepted_results


class TestMessage:
    """A Message is validated on construction, so a bad one never reaches a provider."""

    def test_defaults(self) -> None:
        """Only the text is required."""
        message = Message(text="hello")
        assert (message.sender, message.flash, message.udh, message.reference) == (
            None,
            False,
            None,
            None,
        )

    def test_frozen(self) -> None:
        """Messages cannot be changed after validation."""
        message = Message(text="hello")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            message.text = "changed"  # type: ignore[misc]

    @pytest.mark.parametrize("text", ["", " ", "\n\t  "])
    def test_empty_text(self, text: str) -> None:
        """Empty and whitespace-only text is refused."""
        with pytest.raises(InvalidMessageError, match="empty"):
            Message(text=text)

    @pytest.mark.parametrize("text", [None, 42, b"bytes", ["hi"]])
    def test_text_must_be_str(self, text: object) -> None:
        """Text that is not a str is refused with its type named."""
        with pytest.raises(InvalidMessageError, match=type(text).__name__):
            Message(text=text)  # type: ignore[arg-type]

    @pytest.mark.parametrize("field", ["sender", "udh", "reference"])
    @pytest.mark.parametrize("value", [5, "", "   ", b"x"])
    def test_optional_strings(self, field: str, value: object) -> None:
        """sender, udh and reference are None or a non-empty str."""
        with pytest.raises(InvalidMessageError, match=field):
            Message(text="hi", **{field: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", ["yes", 1, None])
    def test_flash_must_be_bool(self, value: object) -> None:
        """flash is True or False; anything else is invalid input, not a TypeError."""
        with pytest.raises(InvalidMessageError, match="flash"):
            Message(text="hi", flash=value)  # type: ignore[arg-type]

    def test_invalid_message_is_a_value_error(self) -> None:
        """Input errors are ValueErrors, as callers expect of bad arguments."""
        with pytest.raises(ValueError, match="empty"):
            Message(text="")


def accepted(number: str, message_id: str) -> RecipientResult:
    """An accepted result."""
    return RecipientResult(
        recipient=number, status=SendStatus.ACCEPTED, message_id=message_id, segments=1
    )


def failed(number: str, error: Exception, status: SendStatus) -> RecipientResult:
    """A failed result carrying ``error``."""
    return RecipientResult(
        recipient=number,
        status=status,
        segments=1,
        error=ResultError.from_exception(error),  # type: ignore[arg-type]
    )


@pytest.fixture
def report() -> SendReport:
    """A partly successful report: two accepted, one rejected, one unknown."""
    return SendReport(
        [
            accepted("+989123456789", "id-1"),
            failed(
                "+989120000002",
                InsufficientCreditError("no credit", provider="x", provider_code=2),
                SendStatus.REJECTED,
            ),
            accepted("+989351234567", "id-2"),
            RecipientResult(recipient="+989121111111", status=SendStatus.UNKNOWN, segments=1),
        ],
        provider="x",
    )


class TestSendReport:
    """A report is a sequence of results with counts and a stable JSON form."""

    def test_sequence(self, report: SendReport) -> None:
        """Length, indexing and iteration follow the input order."""
        assert len(report) == 4
        assert report[2].recipient == "+989351234567"
        assert [r.status for r in report] == [
            SendStatus.ACCEPTED,
            SendStatus.REJECTED,
            SendStatus.ACCEPTED,
            SendStatus.UNKNOWN,
        ]

    def test_counts(self, report: SendReport) -> None:
        """Each status is counted; partial success is not all_accepted."""
        assert (report.accepted, report.rejected, report.unknown) == (2, 1, 1)
        assert not report.all_accepted
        assert report.message_ids == ["id-1", "id-2"]

    def test_all_accepted(self) -> None:
        """A report of accepted results is all_accepted."""
        assert SendReport([accepted("+989123456789", "a")]).all_accepted

    def test_to_dict_shape(self, report: SendReport) -> None:
        """The JSON form is the one ``smsbridge send --json`` documents."""
        data = json.loads(json.dumps(report.to_dict()))
        assert set(data) == {"results", "accepted", "rejected", "unknown"}
        assert (data["accepted"], data["rejected"], data["unknown"]) == (2, 1, 1)
        assert data["results"][0] == {
            "recipient": "+989123456789",
            "status": "accepted",
            "message_id": "id-1",
            "segments": 1,
            "error": None,
            "provider": None,
            "attempts": 1,
        }
        assert data["results"][1]["status"] == "rejected"
        assert data["results"][1]["message_id"] is None
        error = data["results"][1]["error"]
        assert error["category"] == "insufficient_credit"
        assert error["provider_code"] == 2
        assert error["message"] == "no credit"
        assert error["retryable"] is False
        assert data["results"][3]["status"] == "unknown"

    def test_results_are_a_tuple(self) -> None:
        """Any iterable of results is stored as a tuple, so a report is immutable."""
        built = SendReport(iter([accepted("+989123456789", "a")]))
        assert isinstance(built.results, tuple)


class TestResultError:
    """ResultError is the per-recipient view of a raised error."""

    def test_from_exception(self) -> None:
        """Category, retryable and the provider's code and text are kept."""
        error = ProviderUnavailableError(
            "down", provider="p", provider_code="503", provider_text="busy"
        )
        detail = ResultError.from_exception(error)
        assert detail == ResultError(
            category=ErrorCategory.PROVIDER_UNAVAILABLE,
            message="down",
            provider_code="503",
            provider_text="busy",
            retryable=True,
        )


class TestRecipientResult:
    """A single recipient's outcome."""

    def test_accepted_property(self) -> None:
        """Only ACCEPTED counts as accepted."""
        assert accepted("+989123456789", "a").accepted
        unknown = RecipientResult(recipient="+989123456789", status=SendStatus.UNKNOWN)
        assert not unknown.accepted
        assert unknown.duplicate_of is None

    def test_accepted_results_equal_the_constructors(self) -> None:
        """The batch builder a provider uses for the common reply gives the very results the
        constructor does: equal, hashed alike, frozen, every field set."""
        numbers, ids = ["+989120000001", "+989120000002"], ["11", "12"]
        built = accepted_results(numbers, ids, segments=2, provider="melipayamak")
        expected = [
            RecipientResult(
                recipient=number,
                status=SendStatus.ACCEPTED,
                message_id=message_id,
                segments=2,
                provider="melipayamak",
            )
            for number, message_id in zip(numbers, ids, strict=True)
        ]
        assert built == expected
        assert [hash(result) for result in built] == [hash(result) for result in expected]
        assert [attrs.asdict(result) for result in built] == [
            attrs.asdict(result) for result in expected
        ]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built[0].message_id = "13"  # type: ignore[misc]

    def test_accepted_results_need_an_id_per_recipient(self) -> None:
        """A reply with fewer ids than recipients is not silently cut short."""
        with pytest.raises(ValueError, match=r"shorter|longer"):
            accepted_results(["+989120000001", "+989120000002"], ["11"])


class TestDeliveryAndCapabilities:
    """Delivery statuses and provider capabilities."""

    def test_delivery_status_values(self) -> None:
        """Delivery statuses have stable snake_case values."""
        assert [s.value for s in DeliveryStatus] == ["pending", "delivered", "failed", "unknown"]

    def test_delivery_report(self) -> None:
        """A delivery report names its id and status."""
        report = DeliveryReport(message_id="m", status=DeliveryStatus.DELIVERED, provider_code=1)
        assert report.status is DeliveryStatus.DELIVERED

    def test_send_status_values(self) -> None:
        """Send statuses are the three the JSON output uses."""
        assert [s.value for s in SendStatus] == ["accepted", "rejected", "unknown"]

    def test_capabilities_defaults(self) -> None:
        """By default a provider sends one recipient per request, unicode, nothing else."""
        caps = Capabilities()
        assert (caps.max_batch_size, caps.flash, caps.udh, caps.delivery_status, caps.unicode) == (
            1,
            False,
            False,
            False,
            True,
        )

    def test_batch_size_must_be_positive(self) -> None:
        """A batch size below one is a programming error."""
        with pytest.raises(ValueError, match="max_batch_size"):
            Capabilities(max_batch_size=0)
