"""Transport faults over real sockets: the emulator's fault injection, closed ports, .invalid
names and canned replies. Each maps to one typed outcome; no recipient is ever lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from meli_support import LINE, OPT_OUT, CannedServer, closed_port, meli_url, send_sms_reply
from smsbridge_melipayamak import MelipayamakProvider
from smsbridge_melipayamak.emulator import Emulator

import smsbridge
from smsbridge import Message, RecipientResult, SendStatus
from smsbridge.exceptions import (
    ErrorCategory,
    OutcomeUnknownError,
    ProviderUnavailableError,
    SmsBridgeError,
    UnknownProviderError,
)

TWO = ["+989120000001", "+989120000002"]
MESSAGE = Message(text=f"hi {OPT_OUT}")


def run_send(mode: str, endpoint: str, timeout: float = 5) -> list[RecipientResult]:
    """One SendSms request, sync or async, with a fresh provider that is closed afterwards."""
    meli = MelipayamakProvider(
        username="demo", password="demo-password", sender=LINE, endpoint=endpoint, timeout=timeout
    )
    if mode == "sync":
        with meli:
            return meli.send(MESSAGE, TWO)

    async def go() -> list[RecipientResult]:
        async with meli:
            return await meli.asend(MESSAGE, TWO)

    return asyncio.run(go())


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def raised(mode: str, endpoint: str, timeout: float = 5) -> SmsBridgeError:
    with pytest.raises(SmsBridgeError) as caught:
        run_send(mode, endpoint, timeout)
    return caught.value


@MODES
class TestNothingSent:
    """Faults before the request was written: unavailable and retryable."""

    def test_connection_refused(self, mode: str) -> None:
        """A closed port is provider_unavailable."""
        error = raised(mode, f"http://127.0.0.1:{closed_port()}/post/Send.asmx")
        assert isinstance(error, ProviderUnavailableError)
        assert error.retryable

    def test_name_not_resolved(self, mode: str) -> None:
        """A name that never resolves (.invalid) is provider_unavailable."""
        error = raised(mode, "http://nonexistent.invalid/post/Send.asmx")
        assert isinstance(error, ProviderUnavailableError)

    def test_http_500_page(self, mode: str, emulator: Emulator) -> None:
        """An HTML 500 page (not a SOAP reply) means the method never ran: unavailable."""
        emulator.faults.http_500()
        error = raised(mode, emulator.url)
        assert isinstance(error, ProviderUnavailableError)
        assert error.provider_code == 500
        assert emulator.state.sent == []


@MODES
class TestOutcomeUnknown:
    """Faults after the request was written: unknown, never retried."""

    def test_read_timeout(self, mode: str, emulator: Emulator) -> None:
        """No reply within the timeout is outcome_unknown."""
        emulator.faults.delay(2.0)
        error = raised(mode, emulator.url, timeout=0.3)
        assert isinstance(error, OutcomeUnknownError)
        assert not error.retryable

    def test_connection_dropped(self, mode: str, emulator: Emulator) -> None:
        """The emulator sent the messages, then closed the socket: outcome_unknown."""
        emulator.faults.drop_connection()
        error = raised(mode, emulator.url)
        assert isinstance(error, OutcomeUnknownError)
        assert len(emulator.state.sent) == 2

    def test_garbage_xml(self, mode: str, emulator: Emulator) -> None:
        """Truncated XML after processing is outcome_unknown."""
        emulator.faults.garbage()
        assert isinstance(raised(mode, emulator.url), OutcomeUnknownError)
        assert len(emulator.state.sent) == 2

    def test_wrong_shape(self, mode: str, emulator: Emulator) -> None:
        """A well-formed envelope with an unexpected element is outcome_unknown."""
        emulator.faults.wrong_shape()
        assert isinstance(raised(mode, emulator.url), OutcomeUnknownError)

    def test_gateway_timeout(self, mode: str) -> None:
        """A 504 from a gateway: the service may have processed it."""
        with CannedServer(504, b"<html>Gateway Timeout</html>", "text/html") as server:
            error = raised(mode, server.url)
        assert isinstance(error, OutcomeUnknownError)
        assert error.provider_code == 504

    def test_array_length_mismatch(self, mode: str) -> None:
        """Success with one id for two recipients cannot be attributed: outcome_unknown."""
        with CannedServer(200, send_sms_reply(1, [7], b"\x00")) as server:
            error = raised(mode, server.url)
        assert isinstance(error, OutcomeUnknownError)
        assert "2 recipients" in error.message


@MODES
class TestProviderErrors:
    """Replies that are understood but not a return code."""

    def test_soap_fault(self, mode: str, emulator: Emulator) -> None:
        """A SOAP Fault keeps faultcode and faultstring."""
        emulator.faults.soap_fault(message="Object reference not set to an instance of an object.")
        error = raised(mode, emulator.url)
        assert type(error) is UnknownProviderError
        assert error.provider_code == "soap:Server"
        assert error.provider_text == "Object reference not set to an instance of an object."

    def test_unknown_return_code(self, mode: str) -> None:
        """A code outside the table keeps the raw code."""
        with CannedServer(200, send_sms_reply(13, [], b"")) as server:
            error = raised(mode, server.url)
        assert type(error) is UnknownProviderError
        assert error.provider_code == 13

    def test_not_found(self, mode: str) -> None:
        """A 404 page means a wrong endpoint: an unknown provider error with the status."""
        with CannedServer(404, b"Not Found", "text/plain") as server:
            error = raised(mode, server.url)
        assert type(error) is UnknownProviderError
        assert error.provider_code == 404

    def test_unknown_status_byte(self, mode: str) -> None:
        """A status byte other than 0 or 1 rejects that recipient, keeping the byte."""
        with CannedServer(200, send_sms_reply(1, [5, 6], b"\x00\x07")) as server:
            results = run_send(mode, server.url)
        assert [r.status for r in results] == [SendStatus.ACCEPTED, SendStatus.REJECTED]
        assert results[1].error is not None
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
            meli_url(emulator.url), concurrency=1, autoload_plugins=True
        ) as client:
            emulator.faults.next("delay", seconds=0.0)  # the first request goes through
            arm(emulator)
            report = client.send(f"hi {OPT_OUT}", targets)
        assert len(report) == 250
        expected = [SendStatus.ACCEPTED] * 100 + [status] * 100 + [SendStatus.ACCEPTED] * 50
        assert [r.status for r in report] == expected
        assert {r.error.category for r in report.results[100:200] if r.error} == {category}
        assert [r.recipient for r in report] == targets


class TestDeliveryFaults:
    """Delivery queries are safe to repeat, so unreadable replies are 'unavailable'."""

    @pytest.mark.parametrize("fault", ["drop_connection", "garbage", "http_500"])
    def test_unavailable(
        self, provider: MelipayamakProvider, emulator: Emulator, fault: str
    ) -> None:
        """Each fault raises ProviderUnavailableError."""
        getattr(emulator.faults, fault)()
        with pytest.raises(ProviderUnavailableError):
            provider.delivery_status(["3000000000000000001"])
