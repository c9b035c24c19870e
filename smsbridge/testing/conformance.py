# The checks are pytest assertions; pytest rewrites them here (smsbridge is a pytest11 plugin).
# ruff: noqa: S101
'''The provider conformance suite: the send contract, checked the same way for every provider.

A provider plugin runs it from its own tests with one small subclass of
:class:`ProviderConformance` and a ``harness`` fixture returning a :class:`Harness`: how to get
a client on the provider, what reached the provider's side of the wire, and how many send
requests did. The suite then checks, through the public API only:

- one result per recipient, in input order, in E.164, whatever form the caller used;
- accepted results carry distinct non-empty message ids, the segment count and no error;
- sends larger than ``capabilities.max_batch_size`` are split into requests of that size;
- Persian text and Persian digits reach the wire exactly as given;
- ``Client.send``, ``Client.asend`` and ``AsyncClient.send`` agree;
- ``close()``/``aclose()`` may be repeated, before or after sending, and lose nothing;
- invalid input raises before anything reaches the provider;
- delivery status, template sends and balance where the capabilities declare them (and a
  ``ConfigurationError``/``InvalidMessageError`` before any I/O where they do not);
- when the provider fails (``Harness.fail_requests``) or its replies are lost
  (``Harness.lose_replies``), every recipient still appears once with an outcome, ``unknown``
  only when the request went out, ``rejected`` only when nothing was sent.

Checks that need a hook the harness does not give are skipped, saying which hook.

The recipients are Iranian mobiles (the client's default region ``IR``), away from the fake
provider's magic numbers; texts sent to several recipients carry Melipayamak's opt-out wording
``لغو11``, which other providers simply send.

Example: a plugin's ``tests/test_conformance.py``. This one runs the suite on the fake provider
with a private outbox; a provider tested against its own emulator fills the harness from the
emulator instead (``wire`` from what the emulator recorded, ``fail_requests`` from its fault
injection, and so on)::

    from collections.abc import Iterator

    import pytest

    from smsbridge import AsyncClient, Client, ErrorCategory, Template
    from smsbridge.testing import FakeOutbox, FakeProvider
    from smsbridge.testing.conformance import Harness, ProviderConformance


    class TestFakeProvider(ProviderConformance):
        """The contract, for the fake provider."""

        @pytest.fixture
        def harness(self) -> Iterator[Harness]:
            outbox = FakeOutbox()  # the provider's side of the wire
            outbox.add_template("otp", "Your code is {0}")
            providers: list[FakeProvider] = []

            def provider() -> FakeProvider:
                providers.append(FakeProvider(outbox=outbox))
                return providers[-1]

            yield Harness(
                name="fake",
                connect=lambda: Client(provider=provider()),
                connect_async=lambda: AsyncClient(provider=provider()),
                wire=lambda: [(sms.recipient, sms.text) for sms in outbox],
                requests=lambda: sum(p.requests for p in providers),
                fail_requests=lambda count: outbox.fail_next(
                    ErrorCategory.PROVIDER_UNAVAILABLE, times=count
                ),
                lose_replies=lambda count: outbox.lose_next_reply(times=count),
                template=Template(id="otp", variables=["4821"]),
                template_text="Your code is 4821",
            )

A provider reached over HTTP through an emulator would build its clients with
``Client(url, plugins=[its_plugin], autoload_plugins=False)`` (``AsyncClient`` likewise) and
stop the emulator after ``yield``. Clients handed out by :meth:`Harness.client` are closed
after each test; clients from ``connect``/``connect_async`` that a check opens itself are
closed by that check.
'''

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Final

import attrs
import pytest

from smsbridge._client import AsyncClient, Client
from smsbridge._engine._failover import Retry
from smsbridge._models import (
    Balance,
    DeliveryStatus,
    RecipientResult,
    SendReport,
    SendStatus,
    Template,
    TemplateSupport,
)
from smsbridge.exceptions import (
    ConfigurationError,
    ErrorCategory,
    InvalidMessageError,
    InvalidRecipientError,
)
from smsbridge.segments import count_segments

__all__ = ["E164", "OPT_OUT", "PERSIAN", "Harness", "ProviderConformance", "numbers"]

E164: Final = re.compile(r"^\+[1-9]\d{7,14}$")
"""What every reported recipient looks like."""
PERSIAN: Final = "سلام! کد ورود شما ۴۸۲۹ است. «لغو۱۱»"
"""A one-segment Persian text with Persian digits and punctuation."""
OPT_OUT: Final = "لغو11"
"""Melipayamak refuses a send to several recipients without its opt-out wording, so every
multi-recipient text of the suite carries it."""


def numbers(count: int, *, start: int = 1000) -> list[str]:
    """``count`` distinct valid Iranian mobiles in E.164, away from the fake's magic numbers."""
    return [f"+98912{i:07d}" for i in range(start, start + count)]


@attrs.define
class Harness:
    """One provider under test: how to get a client, and what arrived on the provider's side.

    Only ``name``, ``connect``, ``wire`` and ``requests`` are required.
    """

    name: str
    """Shown in skip messages."""
    connect: Callable[[], Client]
    """A new :class:`~smsbridge.Client` on the provider, each call."""
    wire: Callable[[], Sequence[tuple[str, str]]]
    """``(E.164 recipient, text)`` of every message the provider's side received during this
    test, in the order received (for a template send, the text the recipient gets)."""
    requests: Callable[[], int]
    """How many *send* requests reached the provider's side during this test (delivery and
    balance queries are not counted)."""
    connect_async: Callable[[], AsyncClient] | None = None
    """A new :class:`~smsbridge.AsyncClient` on the provider; without it the async checks use
    ``Client.asend`` only."""
    fail_requests: Callable[[int], None] | None = None
    """Make the provider's side fail the next ``count`` send requests as a whole (it is down,
    or refuses them); without it the failure checks are skipped."""
    lose_replies: Callable[[int], None] | None = None
    """Make the provider's side take the next ``count`` send requests and lose the replies (a
    connection dropped after the request was read); without it that check is skipped."""
    template: Template | None = None
    """A template the provider's side knows, for providers that declare templates (default:
    id ``"1"`` with the variable ``4821``, by name ``token`` where variables are named)."""
    template_text: str | None = None
    """What ``wire`` shows for ``template``; None to check only who received it."""
    clients: list[Client] = attrs.field(factory=list, init=False)

    def client(self) -> Client:
        """A new client, closed when the test ends."""
        client = self.connect()
        self.clients.append(client)
        return client

    def close_all(self) -> None:
        """Close every client :meth:`client` handed out."""
        while self.clients:
            self.clients.pop().close()


def _default_template(support: TemplateSupport) -> Template:
    if support.variables == "named":
        return Template(id="1", variables={"token": "4821"})
    return Template(id="1", variables=["4821"])


def _view(report: SendReport) -> list[tuple[str, SendStatus, int]]:
    return [(r.recipient, r.status, r.segments) for r in report]


def _assert_accepted(results: Sequence[RecipientResult], segments: int | None = None) -> None:
    ids = [r.message_id for r in results]
    assert all(r.status is SendStatus.ACCEPTED for r in results), [r.error for r in results]
    assert all(isinstance(i, str) and i for i in ids), ids
    assert len(set(ids)) == len(ids), f"message ids repeat: {ids}"
    assert all(r.error is None for r in results)
    if segments is not None:
        assert [r.segments for r in results] == [segments] * len(results)


def _sending(harness: Harness, send: Callable[[], SendReport]) -> tuple[SendReport, list[str]]:
    """The report of ``send()`` and the recipients that reached the wire meanwhile."""
    before = len(harness.wire())
    report = send()
    return report, [recipient for recipient, _ in list(harness.wire())[before:]]


def _assert_failed_honestly(results: Sequence[RecipientResult], sent: Sequence[str]) -> None:
    """Nobody accepted; each result says why, ``unknown`` exactly for outcome_unknown, and a
    ``rejected`` recipient is not among those ``sent``."""
    for result in results:
        if result.status is SendStatus.REJECTED:
            assert result.recipient not in sent, f"{result.recipient} was rejected, yet sent"
        assert result.status is not SendStatus.ACCEPTED, result
        assert result.message_id is None, result
        assert result.error is not None, result
        assert (result.status is SendStatus.UNKNOWN) is (
            result.error.category is ErrorCategory.OUTCOME_UNKNOWN
        ), result


class ProviderConformance:
    """The contract every provider keeps. Subclass it (``TestMyProvider``) and give a
    ``harness`` fixture; every ``test_*`` method below then runs for the provider."""

    @pytest.fixture
    def harness(self) -> Harness:
        """Overridden by the subclass."""
        pytest.fail(
            f"{type(self).__name__} needs a 'harness' fixture returning a "
            "smsbridge.testing.conformance.Harness"
        )

    @pytest.fixture(autouse=True)
    def _close_clients(self, harness: Harness) -> Iterator[None]:
        yield
        harness.close_all()

    # -- sending ---------------------------------------------------------------------------

    def test_one_result_per_recipient_in_order(self, harness: Harness) -> None:
        """Results follow input order, in E.164, whatever form the caller used."""
        client = harness.client()
        report = client.send(f"hello {OPT_OUT}", ["09123456789", "+98 935 123 4567", "9121111111"])
        assert [r.recipient for r in report] == ["+989123456789", "+989351234567", "+989121111111"]
        assert all(E164.match(r.recipient) for r in report)
        assert report.all_accepted
        assert report.provider == client.provider.name
        assert sorted(r for r, _ in harness.wire()) == sorted(r.recipient for r in report)

    def test_accepted_results(self, harness: Harness) -> None:
        """Accepted results have distinct non-empty ids, the segment count and no error."""
        text = "a" * 100 + OPT_OUT
        report = harness.client().send(text, numbers(5))
        assert count_segments(text).segments == 2
        _assert_accepted(report.results, segments=2)
        assert report.message_ids == [r.message_id for r in report]
        assert all(r.duplicate_of is None for r in report)

    def test_split_into_batches(self, harness: Harness) -> None:
        """A send larger than max_batch_size is split, and every recipient is accepted."""
        client = harness.client()
        size = client.provider.capabilities.max_batch_size
        recipients = numbers(size + 1)
        report = client.send(f"batch {OPT_OUT}", recipients)
        assert report.accepted == size + 1
        assert [r.recipient for r in report] == recipients
        assert harness.requests() == 2
        assert sorted(r for r, _ in harness.wire()) == recipients

    def test_persian_text_intact(self, harness: Harness) -> None:
        """Persian text and Persian digits arrive exactly as given."""
        report = harness.client().send(PERSIAN, ["09123456789"])
        assert report.all_accepted
        assert report[0].segments == 1
        assert list(harness.wire()) == [("+989123456789", PERSIAN)]

    def test_sync_and_async_agree(self, harness: Harness) -> None:
        """send, asend and AsyncClient.send give the same statuses, recipients and segments."""
        recipients, text = numbers(3), f"twin {OPT_OUT}"
        reports = [harness.client().send(text, recipients)]

        async def with_client() -> SendReport:
            async with harness.connect() as client:
                return await client.asend(text, recipients)

        reports.append(asyncio.run(with_client()))
        if harness.connect_async is not None:
            connect_async = harness.connect_async

            async def with_async_client() -> SendReport:
                async with connect_async() as client:
                    return await client.send(text, recipients)

            reports.append(asyncio.run(with_async_client()))
        for report in reports[1:]:
            assert _view(report) == _view(reports[0])
        ids = [mid for report in reports for mid in report.message_ids]
        assert len(ids) == len(set(ids)) == 3 * len(reports)
        assert len(harness.wire()) == 3 * len(reports)

    def test_close_is_idempotent(self, harness: Harness) -> None:
        """close() and aclose() may be repeated, before or after sending; nothing sent is lost
        or repeated, and the provider keeps serving new clients."""
        first, second, third, fourth = numbers(4)
        client = harness.client()
        assert client.send("one", [first]).all_accepted
        client.close()
        client.close()
        asyncio.run(client.aclose())
        harness.client().close()  # never used

        async def with_client() -> bool:
            async with harness.connect() as fresh:
                accepted = (await fresh.asend("two", [second])).all_accepted
                await fresh.aclose()
            await fresh.aclose()
            return accepted

        assert asyncio.run(with_client())
        expected = [(first, "one"), (second, "two")]
        if harness.connect_async is not None:
            connect_async = harness.connect_async

            async def with_async_client() -> bool:
                async with connect_async() as fresh:
                    accepted = (await fresh.send("three", [third])).all_accepted
                    await fresh.aclose()
                await fresh.aclose()
                return accepted

            assert asyncio.run(with_async_client())
            expected.append((third, "three"))
        assert harness.client().send("four", [fourth]).all_accepted
        expected.append((fourth, "four"))
        assert list(harness.wire()) == expected
        assert harness.requests() == len(expected)

    def test_invalid_input_sends_nothing(self, harness: Harness) -> None:
        """Bad recipients, empty or too long texts raise before anything reaches the provider."""
        client = harness.client()
        (good,) = numbers(1)
        with pytest.raises(InvalidRecipientError) as caught:
            client.send("hi", [good, "0912abc4567"])
        assert [p.index for p in caught.value.problems] == [1]
        with pytest.raises(InvalidMessageError, match="empty"):
            client.send("\u200b ", [good])
        with pytest.raises(InvalidMessageError, match="segments"):
            client.send("a" * (153 * client.max_segments + 1), [good])
        assert harness.requests() == 0
        assert list(harness.wire()) == []

    # -- failures ----------------------------------------------------------------------------

    def test_every_recipient_has_an_outcome_when_the_provider_fails(self, harness: Harness) -> None:
        """Failed requests still give every recipient one honest result (``rejected`` ones were
        not sent); the other requests of the send are unaffected."""
        if harness.fail_requests is None:
            pytest.skip(f"the {harness.name} harness cannot script failures (fail_requests)")
        client = harness.client()
        # What the provider reports, not what the client's retries make of it: tried once.
        client.retry = Retry(attempts=1)
        size = client.provider.capabilities.max_batch_size
        recipients, text = numbers(size + 1), f"down {OPT_OUT}"

        harness.fail_requests(2)
        report, sent = _sending(harness, lambda: client.send(text, recipients))
        assert [r.recipient for r in report] == recipients
        _assert_failed_honestly(report.results, sent)

        harness.fail_requests(1)
        report, sent = _sending(harness, lambda: asyncio.run(client.asend(text, recipients[:1])))
        assert [r.recipient for r in report] == recipients[:1]
        _assert_failed_honestly(report.results, sent)

        harness.fail_requests(1)
        report, sent = _sending(harness, lambda: client.send(text, recipients))
        assert [r.recipient for r in report] == recipients
        failed = [i for i, r in enumerate(report) if not r.accepted]
        # exactly one request failed: the first batch or the second, whichever went first
        assert failed in (list(range(size)), [size]), failed
        _assert_failed_honestly([report[i] for i in failed], sent)
        accepted = [r for r in report if r.accepted]
        _assert_accepted(accepted)
        assert {r.recipient for r in accepted} <= set(sent)

    def test_a_failed_request_is_retried_without_sending_twice(self, harness: Harness) -> None:
        """A request the provider failed as a whole (nothing sent, retryable) is tried again
        under the client's default policy: every recipient accepted on its second attempt,
        each on the wire exactly once."""
        if harness.fail_requests is None:
            pytest.skip(f"the {harness.name} harness cannot script failures (fail_requests)")
        client = harness.client()
        client.retry = Retry(attempts=2, backoff=0.01)
        recipients = numbers(min(3, client.provider.capabilities.max_batch_size))  # one request
        harness.fail_requests(1)
        report, sent = _sending(harness, lambda: client.send(f"again {OPT_OUT}", recipients))
        assert report.all_accepted, report
        assert [r.attempts for r in report] == [2] * len(recipients)
        assert sorted(sent) == recipients

    def test_lost_replies_are_unknown(self, harness: Harness) -> None:
        """A request taken whose reply was lost: every recipient unknown, and never retried."""
        if harness.lose_replies is None:
            pytest.skip(f"the {harness.name} harness cannot lose replies (lose_replies)")
        client = harness.client()
        # Two recipients in the one request, or as many as the provider takes in one.
        recipients = numbers(min(2, client.provider.capabilities.max_batch_size))
        harness.lose_replies(1)
        report = client.send(f"lost {OPT_OUT}", recipients)
        assert [r.recipient for r in report] == recipients
        assert [r.status for r in report] == [SendStatus.UNKNOWN] * len(recipients)
        for result in report:
            assert result.error is not None
            assert result.error.category is ErrorCategory.OUTCOME_UNKNOWN
            assert not result.error.retryable
        assert sorted(r for r, _ in harness.wire()) == recipients
        assert harness.requests() == 1

    # -- capabilities --------------------------------------------------------------------------

    def test_delivery_status(self, harness: Harness) -> None:
        """When declared, one report per id asked, in order, in chunks the provider takes;
        otherwise a ConfigurationError before any I/O."""
        client = harness.client()
        capabilities = client.provider.capabilities
        if not capabilities.delivery_status:
            with pytest.raises(ConfigurationError, match="delivery status"):
                client.delivery_status(["1"])
            assert harness.requests() == 0
            return
        ids = client.send(f"hi {OPT_OUT}", numbers(3)).message_ids
        assert len(ids) == 3
        reports = client.delivery_status([*ids, ids[0]])
        assert [r.message_id for r in reports] == [*ids, ids[0]]
        assert all(isinstance(r.status, DeliveryStatus) for r in reports)

        many = [ids[i % 3] for i in range(capabilities.max_delivery_batch + 1)]
        assert [r.message_id for r in client.delivery_status(many)] == many

        async def with_client() -> list[str]:
            async with harness.connect() as fresh:
                return [r.message_id for r in await fresh.adelivery_status(ids)]

        assert asyncio.run(with_client()) == ids
        if harness.connect_async is not None:
            connect_async = harness.connect_async

            async def with_async_client() -> list[str]:
                async with connect_async() as fresh:
                    return [r.message_id for r in await fresh.delivery_status(ids)]

            assert asyncio.run(with_async_client()) == ids
        sends = math.ceil(3 / capabilities.max_batch_size)
        assert harness.requests() == sends, "asking delivery status must not send"

    def test_template_send(self, harness: Harness) -> None:
        """When templates are declared, a template send gives one accepted result per
        recipient, batched by the template batch size; otherwise InvalidMessageError before
        any I/O."""
        client = harness.client()
        support = client.provider.capabilities.templates
        if support is None:
            with pytest.raises(InvalidMessageError, match="template"):
                client.send(Template(id="1", variables=["4821"]), numbers(1))
            assert harness.requests() == 0
            return
        template = harness.template or _default_template(support)
        recipients = numbers(support.max_batch_size + 1)
        report = client.send(template, recipients)
        assert [r.recipient for r in report] == recipients
        _assert_accepted(report.results)
        assert harness.requests() == 2
        wire = list(harness.wire())
        assert sorted(r for r, _ in wire) == recipients
        if harness.template_text is not None:
            assert {text for _, text in wire} == {harness.template_text}

        async def with_client() -> SendReport:
            async with harness.connect() as fresh:
                return await fresh.asend(template, recipients[:1])

        asynchronous = asyncio.run(with_client())
        assert [r.recipient for r in asynchronous] == recipients[:1]
        _assert_accepted(asynchronous.results)

    def test_balance(self, harness: Harness) -> None:
        """When declared, the credit as a finite number with a unit, the same sync and async,
        and nothing sent; otherwise a ConfigurationError before any I/O."""
        client = harness.client()
        if not client.provider.capabilities.balance:
            with pytest.raises(ConfigurationError, match="balance"):
                client.balance()
            assert harness.requests() == 0
            return
        balance = client.balance()
        assert isinstance(balance, Balance)
        assert isinstance(balance.amount, float)
        assert math.isfinite(balance.amount)
        assert isinstance(balance.unit, str)
        assert balance.unit
        json.dumps(balance.to_dict())
        assert asyncio.run(client.abalance()) == balance
        if harness.connect_async is not None:
            connect_async = harness.connect_async

            async def with_async_client() -> Balance:
                async with connect_async() as fresh:
                    return await fresh.balance()

            assert asyncio.run(with_async_client()) == balance
        assert harness.requests() == 0
        assert list(harness.wire()) == []
