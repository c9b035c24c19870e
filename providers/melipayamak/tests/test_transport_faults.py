"""Transport faults over real sockets: the emulator's fault injection, closed ports, .invalid
names and canned replies. Each maps to one typed outcome for every recipient of the request
(a send never raises for them); no recipient is ever lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from meli_support import (
    MODES,
    OPT_OUT,
    PASSWORD,
    TWO,
    CannedServer,
    Mode,
    closed_port,
    meli_provider,
    meli_url,
    query_through_client,
    send_sms_reply,
    send_through_client,
    shared_error,
)
from smsbridge_melipayamak.emulator import Emulator

import smsbridge
from smsbridge import ResultError, SendStatus
from smsbridge.exceptions import ErrorCategory, ProviderUnavailableError


def failed(mode: Mode, endpoint: str, status: SendStatus, timeout: float = 5) -> ResultError:
    """Send to two recipients; both must have ``status`` and share one error, returned."""
    results = send_through_client(mode, endpoint, timeout=timeout)
    assert [r.recipient for r in results] == list(TWO)
    assert [r.status for r in results] == [status, status]
    assert all(r.message_id is None for r in results)
    return shared_error(results)


def not_sent(mode: Mode, endpoint: str, timeout: float = 5) -> ResultError:
    """Both recipients rejected with one error."""
    return failed(mode, endpoint, SendStatus.REJECTED, timeout)


def may_be_sent(mode: Mode, endpoint: str, timeout: float = 5) -> ResultError:
    """Both recipients unknown with one outcome_unknown error, never retryable."""
    error = failed(mode, endpoint, SendStatus.UNKNOWN, timeout)
    assert error.category is ErrorCategory.OUTCOME_UNKNOWN
    assert not error.retryable
    return error


@MODES
class TestNothingSent:
    """Faults before the request was written: unavailable and retryable."""

    def test_connection_refused(self, mode: Mode) -> None:
        """A closed port is provider_unavailable."""
        error = not_sent(mode, f"http://127.0.0.1:{closed_port()}/post/Send.asmx")
        assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
        assert error.retryable

    def test_name_not_resolved(self, mode: Mode) -> None:
        """A name that never resolves (.invalid) is provider_unavailable."""
        error = not_sent(mode, "http://nonexistent.invalid/post/Send.asmx")
        assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
        assert error.retryable

    def test_http_500_page(self, mode: Mode, emulator: Emulator) -> None:
        """An HTML 500 page (not a SOAP reply) means the method never ran: unavailable."""
        emulator.faults.http_500()
        error = not_sent(mode, emulator.url)
        assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
        assert error.retryable
        assert error.provider_code == 500
        assert emulator.state.sent == []

    def test_redirect_is_not_followed(self, mode: Mode) -> None:
        """A 3xx is a configuration error: the request and its password never go to the
        Location, and the Location is shown without the password."""
        with CannedServer(200, send_sms_reply(1, [5, 6], b"\x00\x00")) as elsewhere:
            location = f"{elsewhere.url}?password={PASSWORD}"
            with CannedServer(307, b"", headers={"Location": location}) as moved:
                error = not_sent(mode, moved.url)
            assert elsewhere.posts == 0
        assert moved.posts == 1
        assert error.category is ErrorCategory.CONFIGURATION
        assert not error.retryable
        assert error.provider_code == 307
        assert elsewhere.url in error.message
        assert PASSWORD not in error.message


@MODES
class TestOutcomeUnknown:
    """Faults after the request was written: unknown, never retried."""

    def test_read_timeout(self, mode: Mode, emulator: Emulator) -> None:
        """No reply within the client's timeout is outcome_unknown."""
        emulator.faults.delay(2.0)
        may_be_sent(mode, emulator.url, timeout=0.3)

    def test_timeout_is_a_total_deadline(self, mode: Mode, emulator: Emulator) -> None:
        """The timeout bounds the whole request, not each read."""
        emulator.faults.delay(1.0)
        started = time.monotonic()
        may_be_sent(mode, emulator.url, timeout=0.3)
        assert time.monotonic() - started < 0.9

    def test_connection_dropped(self, mode: Mode, emulator: Emulator) -> None:
        """The emulator sent the messages, then closed the socket: outcome_unknown."""
        emulator.faults.drop_connection()
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2

    def test_garbage_xml(self, mode: Mode, emulator: Emulator) -> None:
        """Truncated XML after processing is outcome_unknown."""
        emulator.faults.garbage()
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2

    def test_wrong_shape(self, mode: Mode, emulator: Emulator) -> None:
        """A well-formed envelope with an unexpected element is outcome_unknown."""
        emulator.faults.wrong_shape()
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2

    def test_gateway_timeout(self, mode: Mode) -> None:
        """A 504 from a gateway: the service may have processed it."""
        with CannedServer(504, b"<html>Gateway Timeout</html>", "text/html") as server:
            error = may_be_sent(mode, server.url)
        assert error.provider_code == 504

    def test_empty_200(self, mode: Mode) -> None:
        """A 200 without a body: the request was taken, its answer is missing."""
        with CannedServer(200, b"") as server:
            error = may_be_sent(mode, server.url)
        assert error.provider_code == 200

    def test_array_length_mismatch(self, mode: Mode) -> None:
        """Success with one id for two recipients cannot be attributed: outcome_unknown."""
        with CannedServer(200, send_sms_reply(1, [7], b"\x00")) as server:
            error = may_be_sent(mode, server.url)
        assert "2 recipients" in error.message


@MODES
class TestProviderErrors:
    """Replies that are understood but not a return code."""

    def test_soap_fault(self, mode: Mode, emulator: Emulator) -> None:
        """A SOAP Fault keeps faultcode and faultstring."""
        emulator.faults.soap_fault(message="Object reference not set to an instance of an object.")
        error = not_sent(mode, emulator.url)
        assert error.category is ErrorCategory.UNKNOWN_PROVIDER_ERROR
        assert error.provider_code == "soap:Server"
        assert error.provider_text == "Object reference not set to an instance of an object."

    def test_unknown_return_code(self, mode: Mode) -> None:
        """A code outside the table keeps the raw code."""
        with CannedServer(200, send_sms_reply(13, [], b"")) as server:
            error = not_sent(mode, server.url)
        assert error.category is ErrorCategory.UNKNOWN_PROVIDER_ERROR
        assert error.provider_code == 13

    def test_not_found(self, mode: Mode) -> None:
        """A 404 page means a wrong endpoint: an unknown provider error with the status."""
        with CannedServer(404, b"Not Found", "text/plain") as server:
            error = not_sent(mode, server.url)
        assert error.category is ErrorCategory.UNKNOWN_PROVIDER_ERROR
        assert error.provider_code == 404

    def test_unknown_status_byte(self, mode: Mode) -> None:
        """A status byte other than 0 or 1 rejects that recipient, keeping the byte."""
        with CannedServer(200, send_sms_reply(1, [5, 6], b"\x00\x07")) as server:
            results = send_through_client(mode, server.url)
        assert [r.status for r in results] == [SendStatus.ACCEPTED, SendStatus.REJECTED]
        assert results[0].message_id == "5"
        assert results[1].error is not None
        assert results[1].error.category is ErrorCategory.UNKNOWN_PROVIDER_ERROR
        assert results[1].error.provider_code == 7


class TestThroughClient:
    """A fault in one request of a send; the others are unaffected and nobody is lost."""

    @pytest.mark.parametrize(
        ("arm", "status", "category"),
        [
            (
                lambda e: e.faults.drop_connection(),
                SendStatus.UNKNOWN,
                ErrorCategory.OUTCOME_UNKNOWN,
            ),
            (
                lambda e: e.faults.http_500(),
                SendStatus.REJECTED,
                ErrorCategory.PROVIDER_UNAVAILABLE,
            ),
        ],
        ids=["drop", "http_500"],
    )
    def test_one_failed_request(
        self,
        emulator: Emulator,
        arm: Callable[[Emulator], None],
        status: SendStatus,
        category: ErrorCategory,
    ) -> None:
        """The second of three requests fails; 250 results come back, 100 of them failed."""
        targets = [f"+98912{n:07d}" for n in range(250)]
        with smsbridge.Client(
            meli_url(emulator.url),
            concurrency=1,
            autoload_plugins=True,
            retry=smsbridge.Retry(attempts=1),
        ) as client:
            emulator.faults.next("delay", seconds=0.0)  # the first request goes through
            arm(emulator)
            report = client.send(f"hi {OPT_OUT}", targets)
        assert len(report) == 250
        expected = [SendStatus.ACCEPTED] * 100 + [status] * 100 + [SendStatus.ACCEPTED] * 50
        assert [r.status for r in report] == expected
        assert {r.error.category for r in report.results[100:200] if r.error} == {category}
        assert [r.recipient for r in report] == targets


@MODES
class TestKitFaults:
    """The test-server kit's faults, through the client: each settles as it must."""

    def test_trickle(self, mode: Mode, emulator: Emulator) -> None:
        """A reply trickling in a byte at a time outlives the total deadline (no single read
        waits long): outcome_unknown, and the messages were sent."""
        emulator.faults.trickle(0.1)
        may_be_sent(mode, emulator.url, timeout=0.5)
        assert len(emulator.state.sent) == 2

    def test_redirect(self, mode: Mode, emulator: Emulator) -> None:
        """A 302 from the service is refused, never followed: nothing was sent."""
        emulator.faults.redirect("https://elsewhere.invalid/post/Send.asmx")
        error = not_sent(mode, emulator.url)
        assert error.category is ErrorCategory.CONFIGURATION
        assert error.provider_code == 302
        assert "elsewhere.invalid" in error.message
        assert emulator.state.sent == []

    def test_oversized_reply(self, mode: Mode, emulator: Emulator) -> None:
        """A reply over the client's size cap (4 MiB by default) is refused after the
        request went out: outcome_unknown, and the messages were sent."""
        emulator.faults.oversize(5 * 1024 * 1024)
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2

    def test_reset(self, mode: Mode, emulator: Emulator) -> None:
        """A connection reset after the request was written is unknown to the client, even
        though the service never processed it."""
        emulator.faults.refuse()
        may_be_sent(mode, emulator.url)
        assert emulator.state.sent == []
        assert [r.fault for r in emulator.state.requests] == ["refuse"]

    def test_share_of_sends(self, mode: Mode, emulator: Emulator) -> None:
        """A share of SendSms requests fails, and exactly those: the rest are sent."""
        emulator.faults.arm_named("http_500", None, probability=0.5, operation="SendSms")
        results = [
            send_through_client(mode, emulator.url, recipients=[number])[0]
            for number in (f"+98912{n:07d}" for n in range(30))
        ]
        faulted = [r.fault == "http_500" for r in emulator.state.log.of("SendSms")]
        assert [r.status is SendStatus.REJECTED for r in results] == faulted
        assert 0 < sum(faulted) < 30
        assert len(emulator.state.sent) == 30 - sum(faulted)


class TestLogged:
    """A failed request is one record on the ``smsbridge`` logger."""

    @MODES
    def test_lost_reply(
        self, emulator: Emulator, mode: Mode, caplog: pytest.LogCaptureFixture
    ) -> None:
        """sms_batch_failed names the provider, the category and the counts; no numbers."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        emulator.faults.drop_connection()
        may_be_sent(mode, emulator.url)
        (failed_batch,) = [
            r for r in caplog.records if getattr(r, "event", None) == "sms_batch_failed"
        ]
        assert failed_batch.name == "smsbridge"
        assert failed_batch.getMessage().startswith("sms_batch_failed ")
        fields = vars(failed_batch)
        assert fields["event"] == "sms_batch_failed"
        assert (fields["provider"], fields["category"]) == ("melipayamak", "outcome_unknown")
        assert (fields["batch_size"], fields["unknown"], fields["accepted"]) == (2, 2, 0)
        assert not [r for r in caplog.records if any(n[1:] in r.getMessage() for n in TWO)]


class TestDeliveryFaults:
    """Delivery queries are safe to repeat, so lost or unreadable replies are 'unavailable'."""

    @MODES
    @pytest.mark.parametrize("fault", ["drop_connection", "garbage", "http_500", "wrong_shape"])
    def test_unavailable(self, emulator: Emulator, mode: Mode, fault: str) -> None:
        """Each fault raises ProviderUnavailableError (retryable)."""
        getattr(emulator.faults, fault)()
        meli = meli_provider(emulator.url)
        with pytest.raises(ProviderUnavailableError) as caught:
            query_through_client(mode, meli, "delivery_status", ["3000000000000000001"])
        assert caught.value.retryable

    @MODES
    def test_timeout(self, emulator: Emulator, mode: Mode) -> None:
        """A query that outlives the client's timeout is unavailable, not unknown."""
        emulator.faults.delay(2.0)
        meli = meli_provider(emulator.url)
        with pytest.raises(ProviderUnavailableError) as caught:
            query_through_client(mode, meli, "balance", timeout=0.3)
        assert caught.value.retryable
