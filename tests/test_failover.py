"""Retries, failover and circuit breakers, through clients of several fake providers.

Each fake has its own outbox, so what reached which provider is counted on its side. The
end-to-end proofs over real sockets (emulators, kill -9) are in the providers' test suites.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import attrs
import pytest

from smsbridge import (
    AsyncClient,
    AttemptReport,
    Breaker,
    CircuitState,
    Client,
    ConfigurationError,
    ErrorCategory,
    Failover,
    InvalidMessageError,
    Message,
    ProviderHealth,
    Retry,
    SendStatus,
    Template,
    hookimpl,
)
from smsbridge.journal import open_journal
from smsbridge.testing import FakeOutbox, FakeProvider

A, B, C = "+989123456789", "+989121111111", "+989122222222"
FAST = Retry(attempts=3, backoff=0.0)


def fakes(count: int = 2, **options: object) -> tuple[list[FakeOutbox], list[FakeProvider]]:
    outboxes = [FakeOutbox() for _ in range(count)]
    return outboxes, [FakeProvider(outbox=box, **options) for box in outboxes]  # type: ignore[arg-type]


class Recorder:
    """Every attempt, failover and health change the client reports."""

    def __init__(self) -> None:
        self.attempts: list[AttemptReport] = []
        self.failovers: list[Failover] = []
        self.health: list[tuple[str, CircuitState, CircuitState]] = []

    @hookimpl
    def smsbridge_attempt(self, attempt: AttemptReport) -> None:
        self.attempts.append(attempt)

    @hookimpl
    def smsbridge_failover(self, failover: Failover) -> None:
        self.failovers.append(failover)

    @hookimpl
    def smsbridge_provider_health(self, health: ProviderHealth, previous: CircuitState) -> None:
        self.health.append((health.provider, previous, health.state))


class TestWhatFailsOver:
    """A recipient moves on only when it was definitely not sent, for the provider's cause."""

    @pytest.mark.parametrize(
        "category",
        [
            ErrorCategory.PROVIDER_UNAVAILABLE,
            ErrorCategory.INSUFFICIENT_CREDIT,
            ErrorCategory.AUTHENTICATION,
            ErrorCategory.ACCOUNT_RESTRICTED,
            ErrorCategory.RATE_LIMITED,
            ErrorCategory.SENDER_REJECTED,
        ],
        ids=lambda c: c.value,
    )
    def test_provider_causes_fail_over(self, category: ErrorCategory) -> None:
        """Every recipient the first provider refused for its own reason goes out through the
        second, exactly once, and says so."""
        (first, second), providers = fakes()
        first.fail_next(category, times=10)
        report = Client(providers, retry=FAST).send("hi", [A, B])
        assert report.all_accepted
        assert [r.provider for r in report] == ["fake#2", "fake#2"]
        tries_on_first = 3 if category is ErrorCategory.PROVIDER_UNAVAILABLE else 1
        assert [r.attempts for r in report] == [tries_on_first + 1] * 2
        first.assert_nothing_sent()
        assert sorted(second.recipients) == [B, A]

    @pytest.mark.parametrize(
        "category",
        [
            ErrorCategory.RECIPIENT_REJECTED,
            ErrorCategory.CONTENT_REJECTED,
            ErrorCategory.INVALID_RECIPIENT,
            ErrorCategory.UNKNOWN_PROVIDER_ERROR,
        ],
        ids=lambda c: c.value,
    )
    def test_causes_that_follow_the_recipient_stay(self, category: ErrorCategory) -> None:
        """A blacklisted number, refused content or an unreadable code: the next provider
        would fail the same way or must not be tried."""
        (first, second), providers = fakes()
        first.fail_number(B, category)
        report = Client(providers, retry=FAST).send("hi", [A, B])
        assert report[0].accepted
        assert report[0].provider == "fake"
        assert report[1].status is SendStatus.REJECTED
        assert report[1].error is not None
        assert report[1].error.category is category
        assert (report[1].provider, report[1].attempts) == ("fake", 1)
        second.assert_nothing_sent()

    def test_lost_reply_is_held_not_failed_over(self) -> None:
        """The first provider took it and the reply was lost: unknown, never sent again,
        neither there nor through the second."""
        (first, second), providers = fakes()
        first.lose_next_reply()
        report = Client(providers, retry=FAST).send("hi", [A, B])
        assert [r.status for r in report] == [SendStatus.UNKNOWN] * 2
        assert [(r.provider, r.attempts) for r in report] == [("fake", 1)] * 2
        assert first.recipients == [A, B]  # it went out once, on the first
        second.assert_nothing_sent()
        assert providers[0].requests == 1

    def test_last_failure_kept_when_every_provider_fails(self) -> None:
        """Both out of credit: rejected with the last provider's reason and every attempt."""
        (first, second), providers = fakes()
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=5)
        second.fail_next(ErrorCategory.AUTHENTICATION, times=5)
        report = Client(providers, retry=FAST).send("hi", [A])
        (result,) = report
        assert result.status is SendStatus.REJECTED
        assert result.error is not None
        assert result.error.category is ErrorCategory.AUTHENTICATION
        assert (result.provider, result.attempts) == ("fake#2", 2)

    def test_only_the_refused_recipients_move(self) -> None:
        """A batch where one number hit the provider's own limit: only that one moves."""
        (first, second), providers = fakes()
        first.fail_number(B, ErrorCategory.RATE_LIMITED)
        report = Client(providers, retry=FAST).send("hi", [A, B, C])
        assert report.all_accepted
        assert [r.provider for r in report] == ["fake", "fake#2", "fake"]
        assert second.recipients == [B]

    def test_three_providers_in_order(self) -> None:
        """The list is an order: the third is tried only when the second gives up too."""
        (first, second, third), providers = fakes(3)
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        second.fail_next(ErrorCategory.AUTHENTICATION)
        report = Client(providers, retry=FAST).send("hi", [A])
        assert (report[0].provider, report[0].attempts) == ("fake#3", 3)
        assert third.recipients == [A]


class TestRetries:
    """The same provider again, for a retryable not-sent outcome, with capped backoff."""

    def test_retry_succeeds_on_the_same_provider(self) -> None:
        """Unavailable once: the second try sends it, nothing moves to the next provider."""
        (first, second), providers = fakes()
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        report = Client(providers, retry=FAST).send("hi", [A])
        assert (report[0].provider, report[0].attempts) == ("fake", 2)
        assert first.recipients == [A]
        second.assert_nothing_sent()

    def test_single_provider_retries_by_default(self) -> None:
        """A client of one provider retries too (three tries in all by default)."""
        (box,), providers = fakes(1)
        box.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=2)
        started = time.monotonic()
        report = Client(providers).send("hi", [A])
        assert (report[0].status, report[0].attempts) == (SendStatus.ACCEPTED, 3)
        # Backoff 0.5 s then 1 s, each shortened by up to half by the jitter.
        assert time.monotonic() - started >= 0.7

    def test_no_retry_for_causes_that_are_not_retryable(self) -> None:
        """Out of credit is not retried (it would not change in a second)."""
        (box,), providers = fakes(1)
        box.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=2)
        report = Client(providers, retry=FAST).send("hi", [A])
        assert (report[0].status, report[0].attempts) == (SendStatus.REJECTED, 1)
        assert providers[0].requests == 1

    def test_attempts_one_means_no_retry(self) -> None:
        (box,), providers = fakes(1)
        box.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        report = Client(providers, retry=Retry(attempts=1)).send("hi", [A])
        assert (report[0].status, report[0].attempts) == (SendStatus.REJECTED, 1)

    def test_deadline_stops_retries(self) -> None:
        """No retry starts once the pause would end past the deadline."""
        (box,), providers = fakes(1)
        box.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=5)
        policy = Retry(attempts=5, backoff=0.2, jitter=0, deadline=0.3)
        started = time.monotonic()
        report = Client(providers, retry=policy).send("hi", [A])
        assert report[0].attempts == 2  # 0.2 s fits in 0.3 s; the next 0.4 s does not
        assert time.monotonic() - started < 1.0

    def test_backoff_is_capped_and_jittered(self) -> None:
        policy = Retry(backoff=0.5, max_backoff=3, jitter=0.5)
        assert [policy.pause(n, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 3, 3]
        assert policy.pause(2, lambda: 1.0) == 0.5
        assert Retry(jitter=0).pause(1, lambda: 1.0) == 0.5

    def test_retry_respects_the_rate_limit(self) -> None:
        """A retry is a request like any other: spaced by the rate limit."""
        (box,), providers = fakes(1)
        box.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=2)
        started = time.monotonic()
        report = Client(providers, retry=FAST, rate_limit=5).send("hi", [A])
        assert report[0].attempts == 3
        assert time.monotonic() - started >= 0.35  # three requests at 5 a second

    @pytest.mark.parametrize(
        "options",
        [{"attempts": 0}, {"attempts": 21}, {"backoff": -1}, {"jitter": 2}, {"deadline": 0}],
        ids=str,
    )
    def test_bad_policy_refused(self, options: dict[str, float]) -> None:
        with pytest.raises(ConfigurationError):
            Retry(**options)  # type: ignore[arg-type]

    def test_policy_can_be_replaced(self) -> None:
        client = Client("fake://")
        client.retry = Retry(attempts=1)
        assert client.retry.attempts == 1
        with pytest.raises(ConfigurationError, match="must be a Retry"):
            client.retry = 3  # type: ignore[assignment]


class TestBreaker:
    """Skipped for a cool-down after repeated unavailability, then probed."""

    def test_opens_after_threshold_and_skips(self) -> None:
        (first, _second), providers = fakes()
        recorder = Recorder()
        client = Client(
            providers,
            retry=Retry(attempts=1),
            breaker=Breaker(threshold=2, cooldown=60),
            plugins=[recorder],
        )
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=2)
        client.send("one", [A])
        assert client.health()[0].state is CircuitState.CLOSED
        assert client.health()[0].failures == 1
        client.send("two", [A])
        health = client.health()[0]
        assert health.state is CircuitState.OPEN
        assert health.reason is ErrorCategory.PROVIDER_UNAVAILABLE
        assert health.retry_in is not None
        assert 59 < health.retry_in <= 60
        assert recorder.health == [("fake", CircuitState.CLOSED, CircuitState.OPEN)]
        requests = providers[0].requests
        report = client.send("three", [A, B])
        assert [r.attempts for r in report] == [1, 1]  # straight to the second
        assert providers[0].requests == requests

    def test_account_faults_open_at_once(self) -> None:
        """Out of credit mid-way: the next batches skip the first provider entirely."""
        (first, _second), providers = fakes(batch_size=1)
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=100)
        client = Client(providers, retry=FAST, concurrency=1)
        report = client.send("hi", [A, B, C])
        assert report.all_accepted
        assert providers[0].requests == 1
        assert [r.attempts for r in report] == [2, 1, 1]
        assert client.health()[0].state is CircuitState.OPEN

    def test_probe_closes_it_again(self) -> None:
        (first, _second), providers = fakes()
        recorder = Recorder()
        client = Client(
            providers,
            retry=Retry(attempts=1),
            breaker=Breaker(threshold=1, cooldown=0.2),
            plugins=[recorder],
        )
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        client.send("one", [A])
        assert client.health()[0].state is CircuitState.OPEN
        time.sleep(0.25)
        report = client.send("two", [A])
        assert report[0].provider == "fake"  # the probe went to the first again and worked
        assert [h.state for h in client.health()] == [CircuitState.CLOSED] * 2
        assert recorder.health == [
            ("fake", CircuitState.CLOSED, CircuitState.OPEN),
            ("fake", CircuitState.OPEN, CircuitState.HALF_OPEN),
            ("fake", CircuitState.HALF_OPEN, CircuitState.CLOSED),
        ]

    def test_failed_probe_opens_it_again(self) -> None:
        (first, _second), providers = fakes()
        client = Client(
            providers, retry=Retry(attempts=1), breaker=Breaker(threshold=1, cooldown=0.2)
        )
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=2)
        client.send("one", [A])
        time.sleep(0.25)
        report = client.send("two", [A])
        assert (report[0].provider, report[0].attempts) == ("fake#2", 2)
        assert client.health()[0].state is CircuitState.OPEN

    def test_when_every_provider_is_open_the_soonest_is_tried(self) -> None:
        """Never refused without trying: the provider whose cool-down ends first gets it."""
        (first, second), providers = fakes()
        client = Client(
            providers, retry=Retry(attempts=1), breaker=Breaker(threshold=1, cooldown=60)
        )
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        second.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE)
        client.send("one", [A])
        assert [h.state for h in client.health()] == [CircuitState.OPEN] * 2
        report = client.send("two", [A])
        assert report[0].accepted
        assert report[0].provider == "fake"

    def test_a_lone_provider_logs_its_breaker_at_info(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """With nowhere else to go nothing is skipped, so no warning says it is."""
        caplog.set_level(logging.INFO, logger="smsbridge")
        (box,), providers = fakes(1)
        box.fail_next(ErrorCategory.AUTHENTICATION)
        Client(providers).send("hi", [A])
        (record,) = [r for r in caplog.records if getattr(r, "event", "") == "sms_provider_health"]
        assert record.levelno == logging.INFO

    def test_bad_breaker_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="threshold"):
            Breaker(threshold=0)
        with pytest.raises(ConfigurationError, match="cooldown"):
            Breaker(cooldown=float("inf"))


class TestTemplates:
    """A template has each provider's own id; the mapping is checked before any I/O."""

    def test_each_provider_gets_its_own_id(self) -> None:
        (first, second), providers = fakes()
        for box in (first, second):
            box.add_template("m-123", "Code {0}")
            box.add_template("verify", "Your code: {0}")
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        client = Client(
            providers,
            retry=FAST,
            breaker=Breaker(cooldown=0.1),
            templates={"otp": {"fake": "m-123", "fake#2": "verify"}},
        )
        report = client.send(Template(id="otp", variables=["4821"]), [A, B])
        assert report.all_accepted
        second.assert_sent_to(A, template="verify")
        assert {sms.text for sms in second.messages} == {"Your code: 4821"}
        # The first is out of credit, so it is skipped for now: the next send goes to the second.
        client.send(Template(id="otp", variables=["1111"]), [C])
        second.assert_sent_to(C, template="verify")
        time.sleep(0.15)  # its cool-down over, the first is probed again, and takes it
        client.send(Template(id="otp", variables=["2222"]), [C])
        first.assert_sent_to(C, template="m-123")

    def test_mapping_naming_an_unknown_provider_is_refused(self) -> None:
        _, providers = fakes()
        with pytest.raises(ConfigurationError, match=r"'kavenegar'.*fake, fake#2"):
            Client(providers, templates={"otp": {"kavenegar": "verify"}})

    def test_every_provider_is_checked_before_any_io(self) -> None:
        """The second provider cannot take templates: refused before the first is asked."""
        (_first, second), providers = fakes()
        plain = FakeProvider(outbox=second)
        plain.capabilities = attrs.evolve(plain.capabilities, templates=None)
        client = Client([providers[0], plain])
        with pytest.raises(InvalidMessageError, match="fake#2"):
            client.send(Template(id="otp", variables=["1"]), [A])
        assert providers[0].requests == 0

    def test_mapping_in_the_url(self) -> None:
        """``?template.ID=OWN_ID`` names a provider's own id in its URL (for SMSBRIDGE_URL)."""
        with Client(["fake://?template.otp=m-1", "fake://?template.otp=v-2"]) as client:
            routes = client.engine.routes
            template = Template(id="otp", variables=["1"])
            assert [route.message_for(template).id for route in routes] == ["m-1", "v-2"]  # type: ignore[union-attr]

    def test_a_mapping_function_builds_the_providers_template(self) -> None:
        (first, second), providers = fakes()
        second.add_template("verify", "code {token}")
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)

        def named(template: Template) -> Template:
            return Template(id="verify", variables={"token": template.variables[0]})  # type: ignore[index]

        client = Client(providers, templates={"otp": {"fake#2": named}}, retry=FAST)
        assert client.send(Template(id="otp", variables=["99"]), [A]).all_accepted
        assert second.messages[0].text == "code 99"


class TestClientShape:
    """How a failover client is built, named and shown."""

    def test_labels_repeat_with_a_number(self) -> None:
        client = Client(["fake://", "fake://", "fake://"])
        assert list(client.providers) == ["fake", "fake#2", "fake#3"]
        assert repr(client) == "<Client provider='fake>fake#2>fake#3'>"

    def test_several_urls_in_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SMSBRIDGE_URL", "fake://  fake://?region=DE")
        client = Client()
        assert list(client.providers) == ["fake", "fake#2"]

    def test_empty_list_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="empty"):
            Client([])

    def test_url_and_provider_together_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="not both"):
            Client("fake://", provider=FakeProvider())

    def test_balance_and_delivery_by_provider(self) -> None:
        (first, _second), providers = fakes()
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT)
        client = Client(providers, retry=FAST)
        report = client.send("hi", [A])
        message_id = report[0].message_id
        assert message_id is not None
        (status,) = client.delivery_status([message_id], provider=report[0].provider)
        assert status.message_id == message_id
        assert client.balance(provider="fake#2").amount >= 0
        with pytest.raises(ConfigurationError, match="no provider 'nope'"):
            client.balance(provider="nope")

    def test_a_failing_observer_does_not_lose_results(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        class Broken:
            @hookimpl
            def smsbridge_attempt(self, attempt: AttemptReport) -> None:
                raise RuntimeError("metrics backend down")

        caplog.set_level(logging.ERROR, logger="smsbridge")
        report = Client("fake://", plugins=[Broken()]).send("hi", [A])
        assert report.all_accepted
        assert any(getattr(r, "event", "") == "sms_hook_failed" for r in caplog.records)


class TestAsyncAndCampaigns:
    """The async path and campaigns follow the same policy."""

    def test_async_fails_over(self) -> None:
        (first, _second), providers = fakes()
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=10)

        async def run() -> list[str | None]:
            async with AsyncClient(providers, retry=FAST) as client:
                report = await client.send("hi", [A, B])
            return [r.provider for r in report]

        assert asyncio.run(run()) == ["fake#2", "fake#2"]
        first.assert_nothing_sent()

    def test_campaign_journal_records_provider_and_attempts(self, tmp_path: Path) -> None:
        """Credit runs out mid-campaign: the rest go through the second; the journal says who
        took each row and after how many tries; a resume sends nothing again."""
        (first, second), providers = fakes(batch_size=10)
        numbers = [f"0935{i:07d}" for i in range(100)]
        journal = tmp_path / "j.sqlite"

        class CreditRunsOut:
            calls = 0

            @hookimpl
            def smsbridge_attempt(self, attempt: AttemptReport) -> None:
                self.calls += 1
                if self.calls == 3:  # after the third request, the first account is empty
                    first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=1000)

        client = Client(providers, retry=FAST, concurrency=1, plugins=[CreditRunsOut()])
        summary = client.send_bulk("hi", numbers, journal=journal)
        assert summary.totals.accepted == 100
        assert len(first) == 30
        assert len(second) == 70
        with open_journal(journal) as view:
            rows = list(view.rows())
        assert {row.provider for row in rows[:30]} == {"fake"}
        assert {row.provider for row in rows[30:]} == {"fake#2"}
        assert {row.attempts for row in rows[30:40]} == {2}  # tried on the first, then moved
        assert {row.attempts for row in rows[40:]} == {1}  # the first was skipped
        again = client.send_bulk("hi", numbers, journal=journal)
        assert again.totals.accepted == 100
        assert len(first) + len(second) == 100


class TestPermits:
    """A caller with a limit of its own (a distributed campaign's global one) is asked for a
    permit before every request after the first, on the provider it goes to."""

    def test_failover_request_asks_for_a_permit_on_its_provider(self) -> None:
        (first, _second), providers = fakes()
        first.fail_next(ErrorCategory.PROVIDER_UNAVAILABLE, times=2)
        client = Client(providers, retry=Retry(attempts=2, backoff=0))
        asked: list[tuple[str, int]] = []
        batch = client.engine.batch(
            client.engine.plan(Message(text="hi"), client.engine.normalise([A, B])), [0, 1]
        )
        results = client.engine.dispatch(
            batch, permit=lambda route, part: asked.append((route.label, len(part.recipients)))
        )
        assert [r.provider for r in results] == ["fake#2", "fake#2"]
        # The retry on the first provider, then the failover: two further requests.
        assert asked == [("fake", 2), ("fake#2", 2)]


class _Stop(BaseException):
    """Stands for a crash or Ctrl-C while a request is with the provider."""


class TestStoppedWhileFailingOver:
    """The journal names the provider a request is with, through a failover."""

    def test_interrupted_rows_belong_to_the_provider_failed_over_to(self, tmp_path: Path) -> None:
        """The first provider refused the batch (not sent); the run stopped while the second
        held it. The rows are unknown *and the second's*, so settling asks the second alone
        (the first's refusal was final)."""
        from smsbridge.testing._fake import FakeTransport
        from smsbridge.transport import MockTransport, Request, Response

        class StopsOnFirstRequest(FakeProvider):
            def transport(self) -> tuple[MockTransport, MockTransport]:
                service = FakeTransport(self)

                def handle(request: Request) -> Response:
                    service.handler(request)  # the provider took it...
                    raise _Stop  # ...and the run stopped before the reply was read

                mock = MockTransport(handle)
                return mock, mock

        first, second = FakeOutbox(), FakeOutbox()
        first.fail_next(ErrorCategory.INSUFFICIENT_CREDIT, times=1000)
        providers = [
            FakeProvider(outbox=first, batch_size=10),
            StopsOnFirstRequest(outbox=second, batch_size=10),
        ]
        journal = tmp_path / "j.sqlite"
        with pytest.raises(_Stop):
            Client(providers, retry=FAST, concurrency=1).send_bulk(
                "hi", [f"0935{i:07d}" for i in range(30)], journal=journal
            )
        with open_journal(journal) as view:
            unknown = list(view.unknown())
            totals = view.totals()
        assert [row.position for row in unknown] == list(range(10))
        assert {row.provider for row in unknown} == {"fake#2"}
        assert (totals.unknown, totals.pending) == (10, 20)
        first.assert_nothing_sent()
        assert len(second) == 10


def test_a_journal_of_the_previous_version_is_read_and_upgraded(tmp_path: Path) -> None:
    """A version 5 journal (no provider on its flights) is read as it is, its in-flight rows
    unknown with no provider, and upgraded when a run resumes it."""
    import sqlite3

    from smsbridge.journal._sqlite import SCHEMA_VERSION
    from smsbridge.testing import FakeOutbox as Outbox

    journal = tmp_path / "j.sqlite"
    outbox = Outbox()
    numbers = [f"0935{i:07d}" for i in range(20)]
    Client(FakeProvider(outbox=outbox, batch_size=10)).send_bulk("hi", numbers, journal=journal)
    db = sqlite3.connect(journal)
    db.executescript(
        "ALTER TABLE flights DROP COLUMN provider;"
        "DROP TABLE staged_numbers;"
        "DELETE FROM outcomes WHERE position >= 10;"
        "INSERT INTO flights (positions, at) VALUES ('10,11,12,13,14,15,16,17,18,19', 0);"
        "PRAGMA user_version = 5;"
    )
    db.close()
    with open_journal(journal) as view:  # read-only: left as it is
        assert [row.position for row in view.unknown()] == list(range(10, 20))
    db = sqlite3.connect(journal)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 5
    db.close()
    summary = Client(FakeProvider(outbox=outbox, batch_size=10)).send_bulk(
        "hi", numbers, journal=journal
    )
    assert (summary.totals.accepted, summary.totals.unknown) == (10, 10)
    db = sqlite3.connect(journal)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "provider" in [column[1] for column in db.execute("PRAGMA table_info(flights)")]
    assert db.execute("SELECT COUNT(*) FROM staged_numbers").fetchone()[0] >= 0
    db.close()
    with open_journal(journal) as view:
        assert {row.provider for row in view.unknown()} == {None}
