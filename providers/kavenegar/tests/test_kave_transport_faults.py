"""Transport faults over real sockets: the emulator's fault injection, closed ports, .invalid
names and canned replies. Each maps to one typed outcome for every recipient of the request
(a send never raises for them); no recipient is ever lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from kave_support import (
    KEY,
    MODES,
    TWO,
    CannedServer,
    Mode,
    closed_port,
    kave_body,
    kave_url,
    query_through_client,
    send_through_client,
    shared_error,
)
from smsbridge_kavenegar.emulator import Emulator

import smsbridge
from smsbridge import ResultError, SendStatus
from smsbridge.exceptions import ErrorCategory, ProviderError, ProviderUnavailableError


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
    """Faults before the API ran the request: rejected, and nothing on the emulator."""

    def test_connection_refused(self, mode: Mode) -> None:
        """A closed port is provider_unavailable."""
        error = not_sent(mode, f"http://127.0.0.1:{closed_port()}")
        assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
        assert error.retryable

    def test_name_not_resolved(self, mode: Mode) -> None:
        """A name that never resolves (.invalid) is provider_unavailable."""
        error = not_sent(mode, "http://nonexistent.invalid")
        assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE

    def test_http_500_page(self, mode: Mode, emulator: Emulator) -> None:
        """An HTML 500 page (no return code) means the API never ran: unavailable."""
        emulator.faults.http_500(count=None)
        error = not_sent(mode, emulator.url)
        assert (error.category, error.provider_code) == (ErrorCategory.PROVIDER_UNAVAILABLE, 500)
        assert emulator.state.sent == []

    def test_try_later(self, mode: Mode, emulator: Emulator) -> None:
        """Return code 409 (cannot answer, try later) is retryable: retried, then reported."""
        emulator.faults.code(409, count=None)
        error = not_sent(mode, emulator.url)
        assert (error.category, error.provider_code) == (ErrorCategory.PROVIDER_UNAVAILABLE, 409)
        assert len(emulator.state.log.of("sms/send")) > 1

    def test_try_later_once(self, mode: Mode, emulator: Emulator) -> None:
        """A single 409 is retried and the send goes through, once."""
        emulator.faults.code(409)
        results = send_through_client(mode, emulator.url)
        assert all(r.accepted for r in results)
        assert len(emulator.state.sent) == 2

    def test_redirect_is_not_followed(self, mode: Mode, emulator: Emulator) -> None:
        """A 302 is a configuration error: the request and its key never go to the Location,
        and the Location (here the same path, key and all) is shown without the key."""
        emulator.faults.redirect()
        error = not_sent(mode, emulator.url)
        assert (error.category, error.provider_code) == (ErrorCategory.CONFIGURATION, 302)
        assert "/v1/********/sms/send.json" in error.message
        assert KEY not in error.message
        assert emulator.state.sent == []

    def test_not_found_page(self, mode: Mode) -> None:
        """A 404 page without a return code: a wrong endpoint, an unknown provider error."""
        with CannedServer(404, b"<html>Not Found</html>", "text/html") as server:
            error = not_sent(mode, server.url)
        assert (error.category, error.provider_code) == (ErrorCategory.UNKNOWN_PROVIDER_ERROR, 404)
        assert server.paths == [f"/v1/{KEY}/sms/send.json"]


@MODES
class TestOutcomeUnknown:
    """Faults after the API may have run the request: unknown, never retried."""

    def test_read_timeout(self, mode: Mode, emulator: Emulator) -> None:
        """No reply within the client's timeout is outcome_unknown."""
        emulator.faults.delay(2.0)
        may_be_sent(mode, emulator.url, timeout=0.3)

    def test_timeout_is_a_total_deadline(self, mode: Mode, emulator: Emulator) -> None:
        """The timeout bounds the whole request, not each read."""
        emulator.faults.trickle(0.05)
        started = time.monotonic()
        may_be_sent(mode, emulator.url, timeout=0.3)
        # A reply of a few hundred bytes at 0.05 s a byte: per-read timeouts would take over
        # 10 s. The bound leaves room for a loaded machine, where the first try can time out
        # before its request is written (not sent, so retried once).
        assert time.monotonic() - started < 2.5
        assert len(emulator.state.sent) == 2

    def test_connection_dropped(self, mode: Mode, emulator: Emulator) -> None:
        """The emulator sent the messages, then closed the socket: outcome_unknown."""
        emulator.faults.drop_connection()
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2
        assert len(emulator.state.log.of("sms/send")) == 1

    def test_garbage(self, mode: Mode, emulator: Emulator) -> None:
        """Truncated JSON after processing is outcome_unknown."""
        emulator.faults.garbage()
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2

    def test_wrong_shape(self, mode: Mode, emulator: Emulator) -> None:
        """JSON without return after processing is outcome_unknown."""
        emulator.faults.wrong_shape()
        may_be_sent(mode, emulator.url)

    def test_oversized_reply(self, mode: Mode, emulator: Emulator) -> None:
        """A reply over the size cap, after the request went out: outcome_unknown."""
        emulator.faults.oversize(5 * 1024 * 1024)
        may_be_sent(mode, emulator.url)
        assert len(emulator.state.sent) == 2

    def test_reset(self, mode: Mode, emulator: Emulator) -> None:
        """A reset after the request was written is unknown to the client, though the API
        never ran it (settling by localid tells the two apart)."""
        emulator.faults.refuse()
        may_be_sent(mode, emulator.url)
        assert emulator.state.sent == []

    @pytest.mark.parametrize("status", [502, 504])
    def test_gateway(self, mode: Mode, status: int) -> None:
        """A gateway that gave up: the API may have run the request."""
        with CannedServer(status, b"<html>Bad Gateway</html>", "text/html") as server:
            assert may_be_sent(mode, server.url).provider_code == status

    def test_empty_200(self, mode: Mode) -> None:
        """A 200 without a body: taken, its answer missing."""
        with CannedServer(200, b"") as server:
            assert may_be_sent(mode, server.url).provider_code == 200

    def test_too_few_entries(self, mode: Mode) -> None:
        """One entry for two receptors cannot be attributed."""
        body = kave_body(200, [{"messageid": 7, "status": 1}])
        with CannedServer(200, body) as server:
            assert "2 recipients" in may_be_sent(mode, server.url).message

    def test_duplicate_ids(self, mode: Mode) -> None:
        """The same messageid for both receptors cannot be trusted."""
        body = kave_body(200, [{"messageid": 7, "status": 1}, {"messageid": 7, "status": 1}])
        with CannedServer(200, body) as server:
            may_be_sent(mode, server.url)


class TestPerRecipient:
    """Entries decide each recipient."""

    @MODES
    def test_blocked_recipient(self, mode: Mode, emulator: Emulator) -> None:
        """A receptor refusing advertising lines is rejected (status 14); the other accepted."""
        emulator.state.blocked = {TWO[1]}
        results = send_through_client(mode, emulator.url)
        assert [r.status for r in results] == [SendStatus.ACCEPTED, SendStatus.REJECTED]
        assert results[1].error is not None
        assert results[1].error.category is ErrorCategory.RECIPIENT_REJECTED
        assert results[1].error.provider_code == 14
        assert "cost 0 rials" in (results[1].error.provider_text or "")

    @pytest.mark.parametrize(
        ("arm", "status", "category"),
        [
            (lambda e: e.faults.drop_connection(), SendStatus.UNKNOWN,
             ErrorCategory.OUTCOME_UNKNOWN),
            # three: the request and the engine's retries of it
            (lambda e: e.faults.http_500(count=3), SendStatus.REJECTED,
             ErrorCategory.PROVIDER_UNAVAILABLE),
        ],
        ids=["drop", "http_500"],
    )  # fmt: skip
    def test_one_failed_request(
        self,
        emulator: Emulator,
        arm: Callable[[Emulator], None],
        status: SendStatus,
        category: ErrorCategory,
    ) -> None:
        """The second of three requests fails; 450 results come back, 200 of them failed."""
        targets = [f"+98912{n:07d}" for n in range(450)]
        with smsbridge.Client(kave_url(emulator.url), concurrency=1, autoload_plugins=True) as c:
            emulator.faults.next("delay", seconds=0.0)  # the first request goes through
            arm(emulator)
            report = c.send("hi", targets)
        expected = [SendStatus.ACCEPTED] * 200 + [status] * 200 + [SendStatus.ACCEPTED] * 50
        assert [r.status for r in report] == expected
        assert {r.error.category for r in report.results[200:400] if r.error} == {category}
        assert [r.recipient for r in report] == targets


class TestQueries:
    """Delivery, balance and settle queries are safe to repeat: lost or unreadable replies
    are 'unavailable', and a refusal raises its mapped error."""

    @MODES
    @pytest.mark.parametrize(
        "fault", ["drop_connection", "garbage", "http_500", "wrong_shape", "refuse"]
    )
    @pytest.mark.parametrize("what", ["delivery_status", "balance"])
    def test_unavailable(self, emulator: Emulator, mode: Mode, fault: str, what: str) -> None:
        """Each fault raises ProviderUnavailableError (retryable)."""
        getattr(emulator.faults, fault)(count=None)
        args = [["100000001"]] if what == "delivery_status" else []
        with pytest.raises(ProviderUnavailableError) as caught:
            query_through_client(mode, emulator.url, what, *args)
        assert caught.value.retryable

    @MODES
    def test_timeout(self, emulator: Emulator, mode: Mode) -> None:
        """A query outliving the timeout is unavailable, not unknown."""
        emulator.faults.delay(2.0)
        with pytest.raises(ProviderUnavailableError):
            query_through_client(mode, emulator.url, "balance", timeout=0.3)

    @MODES
    def test_bad_key(self, emulator: Emulator, mode: Mode) -> None:
        """A wrong key is an authentication error, the key nowhere in it."""
        with pytest.raises(ProviderError) as caught:
            query_through_client(mode, emulator.url, "balance", key="wrong-key")
        assert (caught.value.category, caught.value.provider_code) == (
            ErrorCategory.AUTHENTICATION,
            403,
        )
        assert "wrong-key" not in str(caught.value)

    def test_settle_faults(self, emulator: Emulator) -> None:
        """Settling through a lost reply raises unavailable; a refused one its error."""
        with smsbridge.Client(kave_url(emulator.url), autoload_plugins=True) as client:
            emulator.faults.drop_connection(count=None)
            with pytest.raises(ProviderUnavailableError):
                client.engine.settle(["c:1"])
            emulator.faults.clear()
            emulator.faults.code(418)
            with pytest.raises(ProviderError) as caught:
                client.engine.settle(["c:1"])
        assert caught.value.category is ErrorCategory.INSUFFICIENT_CREDIT


class TestLogged:
    """A failed request is one record on the ``smsbridge`` logger, without number or key."""

    @MODES
    def test_lost_reply(
        self, emulator: Emulator, mode: Mode, caplog: pytest.LogCaptureFixture
    ) -> None:
        """sms_batch_failed names the provider, the category and the counts."""
        caplog.set_level(logging.DEBUG, logger="smsbridge")
        emulator.faults.drop_connection()
        may_be_sent(mode, emulator.url)
        (failed_batch,) = [
            r for r in caplog.records if getattr(r, "event", None) == "sms_batch_failed"
        ]
        fields = vars(failed_batch)
        assert (fields["provider"], fields["category"]) == ("kavenegar", "outcome_unknown")
        assert (fields["batch_size"], fields["unknown"]) == (2, 2)
        assert not [r for r in caplog.records if any(n[1:] in r.getMessage() for n in TWO)]
        assert not [r for r in caplog.records if KEY in r.getMessage()]
