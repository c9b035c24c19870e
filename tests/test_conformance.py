"""The provider contract, checked the same way for every provider.

Each parameter is a harness: a factory of Clients on one provider, plus a read-back of what
reached the provider's side of the wire. "fake" always runs; "melipayamak" runs against its
local emulator on 127.0.0.1 when smsbridge-melipayamak is installed, and skips otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Callable, Iterator

import attrs
import pytest

from smsbridge import Client, SendReport, SendStatus, count_segments
from smsbridge.testing import FakeOutbox, FakeProvider

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
PERSIAN = "سلام! کد ورود شما ۴۸۲۹ است. «لغو۱۱»"
# Melipayamak refuses a send to several recipients without its opt-out wording, so every bulk
# text in this suite carries it.
OPT_OUT = "لغو11"
MELIPAYAMAK_LINE = "50004001234567"


def numbers(count: int) -> list[str]:
    """``count`` distinct valid Iranian mobiles, away from the fake provider's magic numbers."""
    return [f"+98912{i:07d}" for i in range(1000, 1000 + count)]


@attrs.define
class Harness:
    """One provider under test: how to get a Client, and what arrived on its side."""

    name: str
    connect: Callable[[], Client]
    wire: Callable[[], list[tuple[str, str]]]
    """(E.164 recipient, text) of every message the provider's side received, in order."""
    requests: Callable[[], int]
    """How many send requests reached the provider's side."""
    clients: list[Client] = attrs.field(factory=list)

    def client(self) -> Client:
        """A new client, closed when the test ends."""
        client = self.connect()
        self.clients.append(client)
        return client

    def close_all(self) -> None:
        """Close every client this harness handed out."""
        for client in self.clients:
            client.close()


def fake_harness(outbox: FakeOutbox) -> Iterator[Harness]:
    """The built-in fake provider and its outbox."""
    providers: list[FakeProvider] = []

    def connect() -> Client:
        client = Client("fake://")
        assert isinstance(client.provider, FakeProvider)
        providers.append(client.provider)
        return client

    yield Harness(
        name="fake",
        connect=connect,
        wire=lambda: [(sms.recipient, sms.text) for sms in outbox],
        requests=lambda: sum(provider.requests for provider in providers),
    )


def melipayamak_harness() -> Iterator[Harness]:
    """The Melipayamak provider against its emulator, on a real socket."""
    emulator_module = pytest.importorskip("smsbridge_melipayamak.emulator")
    plugin = importlib.import_module("smsbridge_melipayamak._plugin")
    emulator = emulator_module.Emulator().start()
    url = f"melipayamak://demo:demo-password@/?from={MELIPAYAMAK_LINE}&endpoint={emulator.url}"
    try:
        yield Harness(
            name="melipayamak",
            connect=lambda: Client(url, plugins=[plugin], autoload_plugins=False),
            wire=lambda: [("+" + m.recipient, m.text) for m in emulator.state.sent],
            requests=lambda: sum(1 for r in emulator.state.requests if r.operation == "SendSms"),
        )
    finally:
        emulator.stop()


@pytest.fixture(params=["fake", "melipayamak"])
def harness(request: pytest.FixtureRequest, sms_outbox: FakeOutbox) -> Iterator[Harness]:
    """Every provider in turn."""
    factories = {"fake": lambda: fake_harness(sms_outbox), "melipayamak": melipayamak_harness}
    for built in factories[request.param]():
        try:
            yield built
        finally:
            built.close_all()


class TestConformance:
    """Every provider keeps the send contract."""

    def test_one_result_per_recipient_in_order(self, harness: Harness) -> None:
        """Results follow input order, in E.164, whatever form the caller used."""
        report = harness.client().send(
            f"hello {OPT_OUT}", ["09123456789", "+98 935 123 4567", "9121111111"]
        )
        assert [r.recipient for r in report] == ["+989123456789", "+989351234567", "+989121111111"]
        assert all(E164.match(r.recipient) for r in report)
        assert report.all_accepted

    def test_accepted_results(self, harness: Harness) -> None:
        """Accepted results have unique non-empty ids and a segment count."""
        text = "a" * 100 + OPT_OUT
        report = harness.client().send(text, numbers(5))
        ids = [r.message_id for r in report]
        assert all(isinstance(i, str) and i for i in ids)
        assert len(set(ids)) == len(ids)
        assert [r.segments for r in report] == [count_segments(text).segments] * 5 == [2] * 5
        assert all(r.error is None for r in report)

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
        assert harness.wire() == [("+989123456789", PERSIAN)]

    def test_sync_and_async_agree(self, harness: Harness) -> None:
        """send and asend give the same statuses, recipients and segments."""
        recipients, text = numbers(3), f"twin {OPT_OUT}"
        sync = harness.client().send(text, recipients)

        async def main() -> SendReport:
            async with harness.connect() as client:
                return await client.asend(text, recipients)

        asynchronous = asyncio.run(main())

        def view(report: SendReport) -> list[tuple[str, SendStatus, int]]:
            return [(r.recipient, r.status, r.segments) for r in report]

        assert view(asynchronous) == view(sync)
        assert set(sync.message_ids).isdisjoint(asynchronous.message_ids)
        assert len(harness.wire()) == 6

    def test_close_is_idempotent(self, harness: Harness) -> None:
        """close() and aclose() may be called repeatedly, before or after sending."""
        client = harness.client()
        client.send("hi", ["09123456789"])
        client.close()
        client.close()
        harness.client().close()

        async def main() -> None:
            async with harness.connect() as client:
                await client.asend("hi", ["09123456789"])
                await client.aclose()
            await client.aclose()

        asyncio.run(main())

    def test_delivery_status(self, harness: Harness) -> None:
        """When declared, delivery_status returns one report per id, in order."""
        client = harness.client()
        if not client.provider.capabilities.delivery_status:
            pytest.skip(f"{harness.name} does not declare delivery status")
        ids = client.send(f"hi {OPT_OUT}", numbers(3)).message_ids
        assert len(ids) == 3
        reports = client.delivery_status([*ids, ids[0]])
        assert [r.message_id for r in reports] == [*ids, ids[0]]

        async def main() -> list[str]:
            async with harness.connect() as fresh:
                return [r.message_id for r in await fresh.adelivery_status(ids)]

        assert asyncio.run(main()) == ids
