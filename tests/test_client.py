"""The Client facade, end to end through the fake provider (smsbridge._client)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest
from leak_support import whole_number

from smsbridge import (
    AsyncClient,
    BaseProvider,
    Batch,
    Capabilities,
    Client,
    ConfigurationError,
    DeliveryStatus,
    ErrorCategory,
    InvalidMessageError,
    InvalidRecipientError,
    Message,
    RecipientResult,
    Retry,
    SendStatus,
    Template,
)
from smsbridge.testing import MAGIC_NUMBERS, FakeOutbox, FakeProvider
from smsbridge.transport import ConnectError, MockTransport, ReplyLost, Request, Response

A, B, C = "+989123456789", "+989351234567", "+989121111111"
REJECTED_NUMBER = "+989120000001"  # a magic number: always recipient_rejected
TEHRAN_LANDLINE = "02188776655"


def fake(client: Client) -> FakeProvider:
    """The client's provider, which these tests know is the fake one."""
    assert isinstance(client.provider, FakeProvider)
    return client.provider


class RecordingProvider(BaseProvider):
    """A JSON-over-HTTP provider with chosen capabilities: one POST per batch, sans-I/O.

    Its service is a :class:`Service` reached through a MockTransport.
    """

    scheme = "recording"

    def __init__(self, capabilities: Capabilities | None = None) -> None:
        self.capabilities = capabilities or Capabilities(max_batch_size=10)
        self.closed = 0

    def request_for(self, batch: Batch) -> Request:
        assert isinstance(batch.message, Message)
        body = {"to": list(batch.recipients), "text": batch.message.text}
        return Request(
            method="POST", url="https://sms.example/send", content=json.dumps(body).encode()
        )

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        return [
            RecipientResult(recipient=item["to"], status=SendStatus.ACCEPTED, message_id=item["id"])
            for item in response.json()["accepted"]
        ]

    def close(self) -> None:
        self.closed += 1


class Service:
    """The provider's side of the wire: accepts every recipient, remembers each request."""

    def __init__(self) -> None:
        self.requests: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.content)
        with self._lock:
            self.requests.append(body["to"])
        accepted = [{"to": number, "id": f"r-{number}"} for number in body["to"]]
        return Response(
            status_code=200,
            headers=[("Content-Type", "application/json")],
            content=json.dumps({"accepted": accepted}).encode(),
        )

    def client(self, provider: BaseProvider, **options: object) -> Client:
        """A client whose requests reach this service instead of a server."""
        transport = MockTransport(self)
        return Client(provider=provider, transport=(transport, transport), **options)  # type: ignore[arg-type]


@pytest.fixture
def service() -> Service:
    """An empty service."""
    return Service()


def failing(error: Exception) -> Callable[[Request], Response]:
    """A service (or transport) that fails every request with ``error``."""

    def handler(request: Request) -> Response:
        raise error

    return handler


class CrashingProvider(RecordingProvider):
    """A buggy provider whose reply parser raises a non-smsbridge exception (the request went
    out)."""

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        super().results_from(response, batch)
        raise RuntimeError("socket exploded")


class ShortProvider(RecordingProvider):
    """A buggy provider that returns one result too few."""

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        return super().results_from(response, batch)[:-1]


class ReversingProvider(RecordingProvider):
    """A buggy provider that returns its results in the wrong order."""

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        return super().results_from(response, batch)[::-1]


class SameIdProvider(RecordingProvider):
    """A buggy provider that gives every recipient of a request the same message id."""

    def results_from(self, response: Response, batch: Batch) -> list[RecipientResult]:
        return [
            RecipientResult(recipient=r.recipient, status=r.status, message_id="r-1")
            for r in super().results_from(response, batch)
        ]


class BuildCrashProvider(RecordingProvider):
    """A buggy provider that crashes while building its request (nothing is sent)."""

    def request_for(self, batch: Batch) -> Request:
        raise RuntimeError("template missing")


class TestResults:
    """A send returns exactly one result per input recipient, in input order."""

    def test_one_result_per_recipient_in_order(
        self, client: Client, sms_outbox: FakeOutbox
    ) -> None:
        """Results follow the input order and carry E.164 numbers, ids and segments."""
        report = client.send("Your code is 1234", ["09123456789", "+98 935 123 4567", C])
        assert [r.recipient for r in report] == [A, B, C]
        assert all(r.status is SendStatus.ACCEPTED for r in report)
        assert all(r.segments == 1 for r in report)
        assert [r.message_id for r in report] == [sms.message_id for sms in sms_outbox]
        assert len(set(report.message_ids)) == 3
        assert report.provider == "fake"
        assert sms_outbox.recipients == [A, B, C]

    def test_bare_string_is_one_recipient(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """A single number given as a str is not iterated character by character."""
        report = client.send("hi", "09123456789")
        assert [r.recipient for r in report] == [A]
        sms_outbox.assert_count(1)

    def test_any_iterable(self, client: Client) -> None:
        """Recipients may come from a generator."""
        report = client.send("hi", (n for n in [A, B]))
        assert [r.recipient for r in report] == [A, B]

    def test_message_object(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """A Message carries its options to the provider."""
        client.send(Message(text="hi", sender="5000", flash=True, udh="0500", reference="r1"), A)
        (sms,) = sms_outbox
        assert (sms.text, sms.sender, sms.flash, sms.udh, sms.reference) == (
            "hi",
            "5000",
            True,
            "0500",
            "r1",
        )

    def test_keyword_options(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """Options can be given next to a plain text."""
        client.send("hi", A, sender="5000", flash=True, reference="r1")
        sms = sms_outbox.assert_sent_to(A)
        assert (sms.sender, sms.flash, sms.reference) == ("5000", True, "r1")

    def test_at_max_segments_is_fine(self) -> None:
        """Exactly max_segments parts is allowed."""
        assert Client("fake://", max_segments=3).send("a" * (153 * 3), [A]).all_accepted

    def test_segments_reported(self, client: Client) -> None:
        """Each result carries the segment count of the text."""
        report = client.send("س" * 71, [A, B])
        assert [r.segments for r in report] == [2, 2]

    def test_partial_success_is_a_report(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """A recipient the provider refuses is rejected; the others are still sent."""
        report = client.send("hi", [A, REJECTED_NUMBER, B])
        assert [r.status for r in report] == [
            SendStatus.ACCEPTED,
            SendStatus.REJECTED,
            SendStatus.ACCEPTED,
        ]
        error = report[1].error
        assert error is not None
        assert error.category is ErrorCategory.RECIPIENT_REJECTED
        assert report[1].message_id is None
        assert (report.accepted, report.rejected, report.unknown) == (2, 1, 0)
        assert sms_outbox.recipients == [A, B]


class TestBatching:
    """Recipients are split into requests no larger than the provider's max_batch_size."""

    @pytest.mark.parametrize(("count", "requests"), [(1, 1), (2, 1), (3, 2), (5, 3), (6, 3)])
    def test_batch_size(self, count: int, requests: int, sms_outbox: FakeOutbox) -> None:
        """``fake://?batch_size=2`` makes one request per two recipients."""
        numbers = [f"+98912{i:07d}" for i in range(100, 100 + count)]
        with Client("fake://?batch_size=2") as client:
            report = client.send("hi", numbers)
            assert fake(client).requests == requests
        assert [r.recipient for r in report] == numbers
        assert report.all_accepted
        assert sorted(sms_outbox.recipients) == numbers

    @pytest.mark.parametrize("concurrency", [1, 4])
    def test_order_kept_under_concurrency(self, concurrency: int) -> None:
        """With several requests in flight the report is still in input order."""
        numbers = [f"+98912{i:07d}" for i in range(100, 130)]
        with Client(f"fake://?batch_size=1&concurrency={concurrency}") as client:
            report = client.send("hi", numbers)
            assert fake(client).requests == 30
        assert [r.recipient for r in report] == numbers

    def test_provider_instance_batch_size(self, service: Service) -> None:
        """A provider given as an instance is batched by its own capabilities."""
        provider = RecordingProvider(Capabilities(max_batch_size=2))
        service.client(provider, concurrency=1).send("hi", [A, B, C])
        assert service.requests == [[A, B], [C]]


class TestBadInput:
    """Every bad input raises a typed error before anything is sent."""

    @pytest.fixture
    def client(self, sms_outbox: FakeOutbox) -> Client:
        """A fake client whose outbox must stay empty."""
        return Client("fake://", max_segments=3)

    @pytest.fixture(autouse=True)
    def _nothing_sent(self, client: Client, sms_outbox: FakeOutbox):  # type: ignore[no-untyped-def]
        """After each case, the provider received no request and the outbox is empty."""
        yield
        assert fake(client).requests == 0
        sms_outbox.assert_nothing_sent()

    @pytest.mark.parametrize("text", ["", "   ", "\n"])
    def test_empty_text(self, client: Client, text: str) -> None:
        """Empty or whitespace-only text."""
        with pytest.raises(InvalidMessageError, match="empty"):
            client.send(text, [A])

    @pytest.mark.parametrize("text", [None, 1234, b"hi"])
    def test_text_not_a_string(self, client: Client, text: object) -> None:
        """Text that is not a string."""
        with pytest.raises(InvalidMessageError, match="must be a str"):
            client.send(text, [A])  # type: ignore[arg-type]

    def test_over_max_segments(self, client: Client) -> None:
        """A text over max_segments names its length and the limit."""
        with pytest.raises(InvalidMessageError, match=r"4 GSM-7 segments.*at most 3"):
            client.send("a" * (153 * 3 + 1), [A])

    @pytest.mark.parametrize("recipients", [[], (), ""])
    def test_no_recipients(self, client: Client, recipients: object) -> None:
        """An empty list of recipients."""
        with pytest.raises(InvalidRecipientError, match=r"no recipients|empty"):
            client.send("hi", recipients)  # type: ignore[arg-type]

    def test_every_bad_recipient_named_with_its_position(self, client: Client) -> None:
        """Letters, too short, too long and non-str are all listed; valid ones are not sent."""
        recipients = [A, "0912abc6789", B, "+98912", "091234567890123", 9123456789, C]
        with pytest.raises(InvalidRecipientError) as caught:
            client.send("hi", recipients)  # type: ignore[arg-type]
        problems = caught.value.problems
        assert [(p.index, p.raw) for p in problems] == [
            (1, "0912abc6789"),
            (3, "+98912"),
            (4, "091234567890123"),
            (5, 9123456789),
        ]
        assert [p.reason for p in problems][:3] == ["contains letters", "too short", "too long"]
        for problem in problems:
            assert f"#{problem.index} {problem.raw!r}" in str(caught.value)

    def test_message_and_options(self, client: Client) -> None:
        """Options belong inside a Message, not next to it."""
        with pytest.raises(InvalidMessageError, match="inside the Message"):
            client.send(Message(text="hi"), [A], sender="5000")

    def test_message_error_wins_over_recipient_error(self, client: Client) -> None:
        """Both wrong: the message is checked first, and still nothing is sent."""
        with pytest.raises(InvalidMessageError):
            client.send("", ["bad"])

    def test_async(self, client: Client) -> None:
        """asend refuses the same input the same way."""
        with pytest.raises(InvalidRecipientError) as caught:
            asyncio.run(client.asend("hi", [A, "x"]))
        assert [p.index for p in caught.value.problems] == [1]


class TestCapabilities:
    """Options the provider cannot carry are refused before sending."""

    @pytest.fixture
    def plain(self, service: Service) -> Client:
        """A client on a provider with neither flash, udh, unicode nor templates."""
        return service.client(RecordingProvider(Capabilities(max_batch_size=5, unicode=False)))

    @pytest.fixture(autouse=True)
    def _nothing_reached_the_service(self, service: Service):  # type: ignore[no-untyped-def]
        """After each refusal, no request reached the provider's side."""
        yield
        assert service.requests == []

    def test_flash_unsupported(self, plain: Client) -> None:
        """A flash message to a provider without flash support."""
        with pytest.raises(InvalidMessageError, match="flash"):
            plain.send("hi", [A], flash=True)

    def test_udh_unsupported(self, plain: Client) -> None:
        """A UDH to a provider without UDH support."""
        with pytest.raises(InvalidMessageError, match="udh"):
            plain.send(Message(text="hi", udh="050003"), [A])

    def test_unicode_unsupported(self, plain: Client) -> None:
        """Persian text to a GSM-7-only provider."""
        with pytest.raises(InvalidMessageError, match="GSM-7"):
            plain.send("سلام", [A])

    def test_templates_unsupported(self, plain: Client) -> None:
        """A template send to a provider without templates."""
        with pytest.raises(InvalidMessageError, match="cannot send templates"):
            plain.send(Template(id="otp", variables=["4821"]), [A])

    def test_provider_validation_runs_before_any_request(self) -> None:
        """A provider's ``validate_message`` refusal is raised, in sync, async and bulk sends."""

        class NoDigits(RecordingProvider):
            def validate_message(self, message: Message) -> None:
                if any(char.isdigit() for char in message.text):
                    raise InvalidMessageError("no digits, please")

        service = Service()  # not the fixture: this test sends once at the end
        client = service.client(NoDigits())
        with pytest.raises(InvalidMessageError, match="no digits"):
            client.send("code 1234", [A, B])
        with pytest.raises(InvalidMessageError, match="no digits"):
            asyncio.run(client.asend("code 1234", [A]))
        with pytest.raises(InvalidMessageError, match="no digits"):
            client.send_bulk("code 1234", [A])
        assert service.requests == []
        assert client.send("no code", [A]).all_accepted
        assert service.requests == [[A]]

    def test_landlines_only_where_the_provider_reaches_them(self, sms_outbox: FakeOutbox) -> None:
        """A Tehran landline is an invalid recipient unless the provider declares landlines."""
        with pytest.raises(InvalidRecipientError, match="landline") as caught:
            Client("fake://").send("hi", [A, TEHRAN_LANDLINE])
        assert [(p.index, p.raw) for p in caught.value.problems] == [(1, TEHRAN_LANDLINE)]
        sms_outbox.assert_nothing_sent()

        service = Service()
        landlines = service.client(
            RecordingProvider(Capabilities(max_batch_size=5, landlines=True))
        )
        report = landlines.send("hi", [A, TEHRAN_LANDLINE])
        assert report.all_accepted
        assert service.requests == [[A, "+982188776655"]]

    def test_supported(self, sms_outbox: FakeOutbox) -> None:
        """The fake provider supports flash and udh."""
        Client("fake://").send("hi", [A], flash=True, udh="050003")
        sms = sms_outbox.assert_sent_to(A)
        assert sms.flash
        assert sms.udh == "050003"


class TestDuplicates:
    """A number given more than once: "merge" (default) sends once, "send_each" sends each."""

    RECIPIENTS = ("09123456789", B, "+98 912 345 6789", B)

    def test_merge_is_default(self, client: Client) -> None:
        """Clients merge duplicates unless told otherwise."""
        assert client.duplicates == "merge"

    def test_merge(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """Sent once; reported at every position, later ones pointing at the first."""
        report = client.send("hi", self.RECIPIENTS)
        sms_outbox.assert_count(2)
        assert [r.recipient for r in report] == [A, B, A, B]
        assert [r.duplicate_of for r in report] == [None, None, 0, 1]
        assert report[2].message_id == report[0].message_id
        assert report[3].status is SendStatus.ACCEPTED
        assert report.accepted == 4

    def test_merge_repeats_failures(self, client: Client) -> None:
        """A duplicate of a rejected recipient is rejected the same way."""
        report = client.send("hi", [REJECTED_NUMBER, A, REJECTED_NUMBER])
        assert report[2].status is SendStatus.REJECTED
        assert report[2].error == report[0].error
        assert report[2].duplicate_of == 0

    def test_send_each(self, sms_outbox: FakeOutbox) -> None:
        """Each occurrence is sent and reported on its own."""
        report = Client("fake://", duplicates="send_each").send("hi", self.RECIPIENTS)
        sms_outbox.assert_count(4)
        assert [r.duplicate_of for r in report] == [None] * 4
        assert len(set(report.message_ids)) == 4

    def test_unknown_policy(self) -> None:
        """Any other policy is a configuration error."""
        with pytest.raises(ConfigurationError, match="duplicates"):
            Client("fake://", duplicates="drop")  # type: ignore[arg-type]


PROVIDER_CATEGORIES = [
    ErrorCategory.AUTHENTICATION,
    ErrorCategory.INSUFFICIENT_CREDIT,
    ErrorCategory.RATE_LIMITED,
    ErrorCategory.SENDER_REJECTED,
    ErrorCategory.CONTENT_REJECTED,
    ErrorCategory.RECIPIENT_REJECTED,
    ErrorCategory.ACCOUNT_RESTRICTED,
    ErrorCategory.PROVIDER_UNAVAILABLE,
    ErrorCategory.UNKNOWN_PROVIDER_ERROR,
]


class TestScriptedFailures:
    """A failed request becomes a per-recipient result for each of its recipients."""

    @pytest.mark.parametrize("category", PROVIDER_CATEGORIES, ids=lambda c: c.value)
    def test_fail_next(self, category: ErrorCategory, sms_outbox: FakeOutbox) -> None:
        """Every recipient of the failed request gets the category, code and retryability."""
        sms_outbox.fail_next(category, provider_code=99, message="scripted")
        report = Client("fake://", retry=Retry(attempts=1)).send("hi", [A, B])
        for result in report:
            assert result.status is SendStatus.REJECTED
            assert result.error is not None
            assert result.error.category is category
            assert result.error.provider_code == 99
            assert result.error.message == "scripted"
            assert result.error.retryable is (category is ErrorCategory.PROVIDER_UNAVAILABLE)
        sms_outbox.assert_nothing_sent()

    def test_outcome_unknown(self, sms_outbox: FakeOutbox) -> None:
        """Accepted then the reply was lost: the messages went out, the report says unknown."""
        sms_outbox.lose_next_reply()
        report = Client("fake://").send("hi", [A, B])
        assert [r.status for r in report] == [SendStatus.UNKNOWN] * 2
        assert report[0].error is not None
        assert report[0].error.category is ErrorCategory.OUTCOME_UNKNOWN
        assert not report[0].error.retryable
        assert sms_outbox.recipients == [A, B]

    def test_other_batches_unaffected(self, sms_outbox: FakeOutbox) -> None:
        """Only the scripted request fails; the next one goes through."""
        sms_outbox.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        with Client("fake://?batch_size=2&concurrency=1", retry=Retry(attempts=1)) as client:
            report = client.send("hi", [A, B, C, "+989122222222"])
        assert [r.status.value for r in report] == ["rejected", "rejected", "accepted", "accepted"]
        assert sms_outbox.recipients == [C, "+989122222222"]

    @pytest.mark.parametrize(("number", "category"), sorted(MAGIC_NUMBERS.items()))
    def test_magic_numbers(self, number: str, category: ErrorCategory) -> None:
        """Each magic number fails alone with its category; its neighbour is accepted."""
        report = Client("fake://").send("hi", [A, number])
        assert report[0].accepted
        assert report[1].error is not None
        assert report[1].error.category is category
        expected = (
            SendStatus.UNKNOWN if category is ErrorCategory.OUTCOME_UNKNOWN else SendStatus.REJECTED
        )
        assert report[1].status is expected


def smsbridge_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records smsbridge emitted."""
    return [record for record in caplog.records if record.name == "smsbridge"]


class TestProviderBugs:
    """A misbehaving provider cannot lose recipients: they come back unknown."""

    @pytest.mark.parametrize(
        "provider_cls", [CrashingProvider, ShortProvider, ReversingProvider, SameIdProvider]
    )
    def test_every_recipient_present(
        self, provider_cls: type[RecordingProvider], service: Service
    ) -> None:
        """A parser crash, missing, reordered or shared ids: all become unknown outcomes."""
        provider = provider_cls(Capabilities(max_batch_size=3))
        report = service.client(provider).send("hi", [A, B, C])
        assert service.requests == [[A, B, C]]  # the request went out
        assert [r.recipient for r in report] == [A, B, C]
        assert [r.status for r in report] == [SendStatus.UNKNOWN] * 3
        for result in report:
            assert result.message_id is None
            assert result.error is not None
            assert result.error.category is ErrorCategory.OUTCOME_UNKNOWN

    def test_crash_before_sending_is_rejected(self, service: Service) -> None:
        """A crash while building the request sends nothing, so nobody is unknown."""
        report = service.client(BuildCrashProvider(Capabilities(max_batch_size=3))).send(
            "hi", [A, B]
        )
        assert service.requests == []
        assert [r.status for r in report] == [SendStatus.REJECTED] * 2
        for result in report:
            assert result.error is not None
            assert "nothing was sent" in result.error.message
            assert "RuntimeError" in result.error.message

    @pytest.mark.parametrize(
        ("provider_cls", "handler", "event"),
        [
            pytest.param(
                BuildCrashProvider, Service(), "sms_request_build_crashed", id="request_for"
            ),
            pytest.param(
                RecordingProvider,
                failing(RuntimeError("socket exploded")),
                "sms_transport_crashed",
                id="transport",
            ),
            pytest.param(CrashingProvider, Service(), "sms_reply_parse_crashed", id="results_from"),
        ],
    )
    def test_crash_is_logged(
        self,
        provider_cls: type[RecordingProvider],
        handler: Callable[[Request], Response],
        event: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Each crash is one error event naming where it happened and the exception's type,
        without a traceback or the exception's message."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        transport = MockTransport(handler)
        Client(provider=provider_cls(), transport=(transport, transport)).send("hi", [A])
        crashed = [r for r in smsbridge_records(caplog) if r.levelno >= logging.ERROR]
        assert [r.event for r in crashed] == [event]  # type: ignore[attr-defined]
        (record,) = crashed
        assert record.error_type == "RuntimeError"  # type: ignore[attr-defined]
        assert record.provider == "recording"  # type: ignore[attr-defined]
        assert record.exc_info is None
        assert record.exc_text is None
        for text in ("socket exploded", "template missing"):
            assert text not in record.getMessage()
            assert text not in repr(vars(record))

    def test_crash_names_its_first_recipient_masked(
        self, service: Service, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The crash event says which request crashed: a masked first recipient."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        service.client(CrashingProvider()).send("hi", [A])
        (record,) = [r for r in smsbridge_records(caplog) if r.levelno >= logging.ERROR]
        assert getattr(record, "first_recipient", None) == "*********6789", record.getMessage()

    def test_async(self, service: Service) -> None:
        """asend keeps every recipient too."""
        report = asyncio.run(service.client(CrashingProvider()).asend("hi", [A, B]))
        assert [r.status for r in report] == [SendStatus.UNKNOWN] * 2

    def test_missing_segments_filled_in(self, service: Service) -> None:
        """A provider that does not count segments gets the client's count."""
        report = service.client(RecordingProvider()).send("a" * 200, [A])
        assert report[0].accepted
        assert report[0].segments == 2


class TestTransportOutcomes:
    """Whatever the transport does, every recipient gets one result, unknown only if the
    request may have gone out (redirects and empty replies over real sockets: see
    test_engine_faults.py)."""

    @pytest.mark.parametrize(
        ("handler", "status", "category"),
        [
            pytest.param(
                failing(ConnectError("connection refused")),
                SendStatus.REJECTED,
                ErrorCategory.PROVIDER_UNAVAILABLE,
                id="connect-error",
            ),
            pytest.param(
                failing(ReplyLost("connection closed")),
                SendStatus.UNKNOWN,
                ErrorCategory.OUTCOME_UNKNOWN,
                id="reply-lost",
            ),
            pytest.param(
                failing(RuntimeError("transport bug")),
                SendStatus.UNKNOWN,
                ErrorCategory.OUTCOME_UNKNOWN,
                id="transport-crash",
            ),
        ],
    )
    def test_whole_request_failures(
        self,
        handler: Callable[[Request], Response],
        status: SendStatus,
        category: ErrorCategory,
    ) -> None:
        """Each failure of the request becomes the same result for each of its recipients."""
        transport = MockTransport(handler)
        client = Client(
            provider=RecordingProvider(Capabilities(max_batch_size=2)),
            transport=(transport, transport),
            concurrency=1,
        )
        for report in (client.send("hi", [A, B, C]), asyncio.run(client.asend("hi", [A, B, C]))):
            assert [r.recipient for r in report] == [A, B, C]
            assert [r.status for r in report] == [status] * 3
            for result in report:
                assert result.message_id is None
                assert result.error is not None
                assert result.error.category is category
                assert result.error.retryable is (category is ErrorCategory.PROVIDER_UNAVAILABLE)


class TestAsync:
    """asend is the async twin of send."""

    def test_same_report(self, sms_outbox: FakeOutbox) -> None:
        """Sync and async sends produce the same statuses, order and segments."""
        recipients = [A, REJECTED_NUMBER, B, A]
        with Client("fake://?batch_size=2") as client:
            sync = client.send("hi", recipients)
            asynchronous = asyncio.run(client.asend("hi", recipients))
        strip = [(r.recipient, r.status, r.segments, r.duplicate_of) for r in sync]
        assert [(r.recipient, r.status, r.segments, r.duplicate_of) for r in asynchronous] == strip
        assert len(sms_outbox) == 4

    def test_batches_and_failures(self, sms_outbox: FakeOutbox) -> None:
        """A scripted failure hits one request; the rest are accepted."""
        sms_outbox.fail_next(ErrorCategory.RATE_LIMITED)

        async def main() -> list[str]:
            async with Client("fake://?batch_size=1&concurrency=1") as client:
                report = await client.asend("hi", [A, B, C])
                assert fake(client).requests == 3
            return [r.status.value for r in report]

        assert asyncio.run(main()) == ["rejected", "accepted", "accepted"]

    def test_one_provider_serves_both(self, service: Service) -> None:
        """A provider written once (sans-I/O) serves asend, batched the same way."""
        provider = RecordingProvider(Capabilities(max_batch_size=2))
        report = asyncio.run(service.client(provider).asend("hi", [A, B, C]))
        assert report.all_accepted
        assert [r.message_id for r in report] == [f"r-{n}" for n in (A, B, C)]
        assert sorted(service.requests, key=len) == [[C], [A, B]]

    def test_async_client(self, sms_outbox: FakeOutbox) -> None:
        """AsyncClient is the same engine with every method awaitable."""

        async def main() -> tuple[list[SendStatus], list[DeliveryStatus], float]:
            async with AsyncClient("fake://?batch_size=2") as client:
                report = await client.send("hi", [A, REJECTED_NUMBER, B])
                deliveries = await client.delivery_status(report.message_ids)
                balance = await client.balance()
            return [r.status for r in report], [d.status for d in deliveries], balance.amount

        statuses, deliveries, amount = asyncio.run(main())
        assert statuses == [SendStatus.ACCEPTED, SendStatus.REJECTED, SendStatus.ACCEPTED]
        assert deliveries == [DeliveryStatus.PENDING] * 2
        assert amount == sms_outbox.balance
        assert sms_outbox.recipients == [A, B]

    def test_concurrency_many_batches(self) -> None:
        """Many concurrent async requests keep input order."""
        numbers = [f"+98912{i:07d}" for i in range(100, 150)]
        report = asyncio.run(Client("fake://?batch_size=3&concurrency=5").asend("hi", numbers))
        assert [r.recipient for r in report] == numbers


class TestConfiguration:
    """The client is configured by URL, SMSBRIDGE_URL or keywords."""

    def test_client_params_in_url(self, sms_outbox: FakeOutbox) -> None:
        """concurrency, max_segments and region are the client's, not the provider's."""
        client = Client("fake://?concurrency=3&max_segments=2&region=de&batch_size=5")
        assert (client.concurrency, client.max_segments, client.region) == (3, 2, "DE")
        assert client.provider.capabilities.max_batch_size == 5
        assert client.send("hi", "0151 23456789")[0].recipient == "+4915123456789"
        with pytest.raises(InvalidMessageError, match="at most 2"):
            client.send("a" * 307, "0151 23456789")

    def test_defaults(self, client: Client) -> None:
        """Without parameters: region IR, 10 segments, 4 requests at once."""
        assert (client.region, client.max_segments, client.concurrency) == ("IR", 10, 4)

    def test_keywords_win_over_url(self) -> None:
        """Explicit keyword arguments override URL parameters."""
        client = Client(
            "fake://?max_segments=2&concurrency=2&region=DE", max_segments=5, region="ir"
        )
        assert (client.max_segments, client.region, client.concurrency) == (5, "IR", 2)

    @pytest.mark.parametrize("query", ["concurrency=0", "max_segments=x", "concurrency=-2"])
    def test_bad_client_params(self, query: str) -> None:
        """Bad client parameters are configuration errors naming the parameter."""
        with pytest.raises(ConfigurationError, match=query.partition("=")[0]):
            Client(f"fake://?{query}")

    @pytest.mark.parametrize(
        "options",
        [{"concurrency": -1}, {"concurrency": 0}, {"max_segments": 0}, {"max_segments": -3}],
        ids=str,
    )
    def test_bad_keyword(self, options: dict[str, int]) -> None:
        """Zero and negative limits are refused, never silently replaced by the default."""
        (name,) = options
        with pytest.raises(ConfigurationError, match=name):
            Client("fake://", **options)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match=name):
            Client(provider=FakeProvider(), **options)  # type: ignore[arg-type]

    def test_unknown_region(self) -> None:
        """A region phonenumbers does not know is a configuration error."""
        with pytest.raises(ConfigurationError, match="region"):
            Client("fake://?region=XX")

    def test_flash_must_be_bool(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """A non-bool flash option is invalid input, not a TypeError."""
        with pytest.raises(InvalidMessageError, match="flash"):
            client.send("hi", [A], flash="yes")  # type: ignore[arg-type]
        sms_outbox.assert_nothing_sent()

    def test_unknown_provider_param(self) -> None:
        """The fake provider refuses parameters it does not know."""
        with pytest.raises(ConfigurationError, match="colour"):
            Client("fake://?colour=red")

    def test_env_url(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a URL the client reads SMSBRIDGE_URL."""
        monkeypatch.setenv("SMSBRIDGE_URL", "fake://?batch_size=7&max_segments=3")
        client = Client()
        assert client.provider.capabilities.max_batch_size == 7
        assert client.max_segments == 3

    def test_explicit_url_beats_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A URL in code wins over the environment."""
        monkeypatch.setenv("SMSBRIDGE_URL", "nope://")
        assert Client("fake://").provider.name == "fake"

    def test_no_url(self) -> None:
        """No URL anywhere is a configuration error that says how to give one."""
        with pytest.raises(ConfigurationError, match="SMSBRIDGE_URL"):
            Client()

    def test_unknown_scheme_lists_known(self) -> None:
        """An unknown scheme names the schemes that are registered."""
        with pytest.raises(ConfigurationError, match=r"'twilio'.*known: fake"):
            Client("twilio://sid:token@/")

    def test_provider_instance(self) -> None:
        """A provider instance replaces the URL entirely."""
        provider = RecordingProvider()
        client = Client(provider=provider)
        assert client.provider is provider
        assert repr(client) == "<Client provider='recording'>"

    def test_settings_object(self) -> None:
        """The validated settings are one object; URL values and keywords both reach it."""
        client = Client("fake://?timeout=2.5&rate_limit=20", concurrency=2)
        settings = client.settings
        assert (settings.timeout, settings.rate_limit, settings.concurrency) == (2.5, 20.0, 2)
        assert client.rate_limit == 20.0
        assert Client("fake://").rate_limit is None

    @pytest.mark.parametrize(
        "options",
        [{"rate_limit": 0}, {"timeout": 0}, {"timeout": float("inf")}, {"timeout": -1}],
        ids=str,
    )
    def test_bad_limits(self, options: dict[str, float]) -> None:
        """A rate limit of 0 would never send, and a timeout must be finite and positive."""
        (name,) = options
        with pytest.raises(ConfigurationError, match=name):
            Client("fake://", **options)  # type: ignore[arg-type]


class TestDeliveryStatus:
    """Delivery statuses, for providers that declare the capability."""

    def test_fake_statuses(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """Accepted messages start pending; scripted statuses are reported; unknown ids unknown."""
        ids = client.send("hi", [A, B]).message_ids
        sms_outbox.set_delivery(ids[1], DeliveryStatus.DELIVERED)
        reports = client.delivery_status([*ids, "nope"])
        assert [r.message_id for r in reports] == [*ids, "nope"]
        assert [r.status for r in reports] == [
            DeliveryStatus.PENDING,
            DeliveryStatus.DELIVERED,
            DeliveryStatus.UNKNOWN,
        ]

    def test_async(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """adelivery_status agrees with delivery_status."""
        ids = client.send("hi", [A]).message_ids
        sms_outbox.set_delivery(ids[0], DeliveryStatus.FAILED)
        reports = asyncio.run(client.adelivery_status(ids))
        assert [r.status for r in reports] == [DeliveryStatus.FAILED]

    def test_not_supported(self, service: Service) -> None:
        """A provider without the capability is a configuration error, sync and async."""
        client = service.client(RecordingProvider())
        with pytest.raises(ConfigurationError, match="delivery status"):
            client.delivery_status(["x"])
        with pytest.raises(ConfigurationError, match="delivery status"):
            asyncio.run(client.adelivery_status(["x"]))
        assert service.requests == []


class TestBalance:
    """The account's credit, for providers that declare the capability."""

    def test_fake_balance(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """The fake reports what its outbox is told, sync and async."""
        sms_outbox.balance = 1234.0
        balance = client.balance()
        assert (balance.amount, balance.unit, balance.provider) == (1234.0, "messages", "fake")
        assert asyncio.run(client.abalance()) == balance
        assert balance.to_dict() == {"amount": 1234.0, "unit": "messages", "provider": "fake"}

    def test_not_supported(self, service: Service) -> None:
        """A provider without the capability is a configuration error, and nothing is asked."""
        client = service.client(RecordingProvider())
        with pytest.raises(ConfigurationError, match="balance"):
            client.balance()
        with pytest.raises(ConfigurationError, match="balance"):
            asyncio.run(client.abalance())
        assert service.requests == []


class TestLifetime:
    """Closing a client closes its provider."""

    def test_context_manager(self) -> None:
        """Leaving the with-block closes the provider."""
        provider = RecordingProvider()
        with Client(provider=provider):
            pass
        assert provider.closed == 1

    def test_async_context_manager(self) -> None:
        """Leaving the async with-block closes the provider."""
        provider = RecordingProvider()

        async def main() -> None:
            async with Client(provider=provider):
                pass

        asyncio.run(main())
        assert provider.closed == 1

    def test_async_client_context_manager(self) -> None:
        """AsyncClient closes its provider too."""
        provider = RecordingProvider()

        async def main() -> None:
            async with AsyncClient(provider=provider):
                pass

        asyncio.run(main())
        assert provider.closed == 1

    def test_close_twice(self, client: Client, sms_outbox: FakeOutbox) -> None:
        """close() may be called more than once, after sending, and the provider keeps working
        for new clients."""
        assert client.send("hi", [A]).all_accepted
        client.close()
        client.close()
        asyncio.run(client.aclose())
        assert Client("fake://").send("hi", [B]).all_accepted
        assert sms_outbox.recipients == [A, B]


class TestLogging:
    """Sends log stable event names, as stdlib records on the "smsbridge" logger."""

    def test_events(self, client: Client, caplog: pytest.LogCaptureFixture) -> None:
        """started, one line per batch, finished; with provider, counts and duration."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        client.send("code 880022", [A, REJECTED_NUMBER], reference="order-7")
        records = smsbridge_records(caplog)
        events = [r.event for r in records]  # type: ignore[attr-defined]
        assert events == ["sms_send_started", "sms_batch_sent", "sms_send_finished"]
        started, batch, finished = records
        assert started.getMessage().startswith("sms_send_started provider=fake recipients=2")
        assert started.provider == "fake"  # type: ignore[attr-defined]
        assert started.recipients == 2  # type: ignore[attr-defined]
        assert started.reference == "order-7"  # type: ignore[attr-defined]
        assert batch.batch == 0  # type: ignore[attr-defined]
        assert (batch.accepted, batch.rejected) == (1, 1)  # type: ignore[attr-defined]
        assert isinstance(batch.duration_ms, float)  # type: ignore[attr-defined]
        assert (finished.accepted, finished.rejected, finished.unknown) == (1, 1, 0)  # type: ignore[attr-defined]
        assert {r.levelno for r in records} == {logging.INFO}
        for record in records:  # personal data stays out: no number, no text
            assert A not in repr(vars(record))
            assert not whole_number("880022").search(repr(vars(record)))

    def test_failed_batch(
        self, client: Client, sms_outbox: FakeOutbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A batch with nothing accepted is a warning carrying the category."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        sms_outbox.fail_next(ErrorCategory.AUTHENTICATION, provider_code=0)
        client.send("hi", [A])
        (failed,) = [r for r in smsbridge_records(caplog) if r.event == "sms_batch_failed"]  # type: ignore[attr-defined]
        assert failed.levelno == logging.WARNING
        assert failed.category == "authentication"  # type: ignore[attr-defined]
        assert failed.provider_code == 0  # type: ignore[attr-defined]

    def test_failed_batch_at_warning_level(
        self, client: Client, sms_outbox: FakeOutbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An application that only wants warnings still gets the failed batch, and nothing
        at INFO."""
        caplog.set_level(logging.WARNING, logger="smsbridge")
        sms_outbox.fail_next(ErrorCategory.AUTHENTICATION)
        client.send("hi", [A])
        records = smsbridge_records(caplog)
        assert [(r.event, r.levelno) for r in records] == [  # type: ignore[attr-defined]
            ("sms_batch_failed", logging.WARNING)
        ]

    def test_silent_by_default(self) -> None:
        """An application that configures no logging sees nothing, not even warnings."""
        script = (
            "from smsbridge import Client, ErrorCategory\n"
            "from smsbridge.testing import outbox\n"
            "outbox.fail_next(ErrorCategory.AUTHENTICATION)\n"
            "report = Client('fake://').send('hi', ['09123456789', '09120000001'])\n"
            "assert report.rejected == 2, report\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={"SMSBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": ""},
        )
        assert done.returncode == 0, done.stderr
        assert (done.stdout, done.stderr) == ("", "")
