"""Delivery status through GetDeliveries, progressing with the emulator's clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from meli_support import (
    MODES,
    OPT_OUT,
    CannedServer,
    Mode,
    deliveries_reply,
    meli_provider,
    query_through_client,
)
from smsbridge_melipayamak.emulator import Emulator

import smsbridge
from smsbridge import Client, DeliveryStatus
from smsbridge.exceptions import UnknownProviderError
from smsbridge.journal import open_journal
from smsbridge.testing.server import ManualClock


def statuses(reports: list[smsbridge.DeliveryReport]) -> list[DeliveryStatus]:
    return [report.status for report in reports]


class TestDelivery:
    """Statuses move from pending to delivered or failed as emulated time passes."""

    def test_progress(
        self, client: smsbridge.Client, emulator: Emulator, clock: ManualClock
    ) -> None:
        """sent to telecom (0) → reached telecom (8) → delivered (1) / not delivered (2)."""
        emulator.state.unreachable = {"09120000002"}
        report = client.send(f"hi {OPT_OUT}", ["+989120000001", "+989120000002"])
        ids = report.message_ids
        first = client.delivery_status(ids)
        assert statuses(first) == [DeliveryStatus.PENDING] * 2
        assert [r.provider_code for r in first] == [0, 0]
        clock.now += emulator.state.delivery_delay * 0.75
        middle = client.delivery_status(ids)
        assert [r.provider_code for r in middle] == [8, 8]
        assert statuses(middle) == [DeliveryStatus.PENDING] * 2
        clock.now += emulator.state.delivery_delay
        last = client.delivery_status(ids)
        assert statuses(last) == [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
        assert [(r.message_id, r.provider_code) for r in last] == [(ids[0], 1), (ids[1], 2)]

    def test_unknown_and_malformed_ids(self, client: smsbridge.Client) -> None:
        """An id the service does not know is unknown (100); a non-number is never asked."""
        reports = client.delivery_status(["42", "not-an-id", "۱۲"])
        assert statuses(reports) == [DeliveryStatus.UNKNOWN] * 3
        assert [r.provider_code for r in reports] == [100, None, None]

    def test_no_request_without_a_number(
        self, client: smsbridge.Client, emulator: Emulator
    ) -> None:
        """Ids that are not numbers are answered unknown without asking the service."""
        reports = client.delivery_status(["not-an-id", "۱۲", ""])
        assert statuses(reports) == [DeliveryStatus.UNKNOWN] * 3
        assert emulator.state.requests == []

    def test_chunks_of_100(self, client: smsbridge.Client, emulator: Emulator) -> None:
        """250 ids are asked in three GetDeliveries requests, answered in input order."""
        ids = [str(n) for n in range(1000, 1250)]
        reports = client.delivery_status(ids)
        assert [r.message_id for r in reports] == ids
        calls = [r for r in emulator.state.requests if r.operation == "GetDeliveries"]
        assert len(calls) == 3

    def test_async(self, emulator: Emulator, clock: ManualClock) -> None:
        """adelivery_status gives the same answers through the async client."""

        async def go() -> list[smsbridge.DeliveryReport]:
            async with Client(provider=meli_provider(emulator.url)) as client:
                report = await client.asend("hi", ["+989120000001"])
                clock.now += emulator.state.delivery_delay
                return await client.adelivery_status(report.message_ids)

        assert statuses(asyncio.run(go())) == [DeliveryStatus.DELIVERED]

    @MODES
    def test_wrong_credentials(self, emulator: Emulator, mode: Mode) -> None:
        """The empty answer for wrong credentials is an error, not a list of guesses."""
        meli = meli_provider(emulator.url, password="nope")
        with pytest.raises(UnknownProviderError, match="credentials"):
            query_through_client(mode, meli, "delivery_status", ["3000000000000000001"])

    def test_unlisted_code_is_kept(self) -> None:
        """A delivery code outside the table reads as unknown with its raw code."""
        with (
            CannedServer(200, deliveries_reply([35, 777])) as server,
            Client(provider=meli_provider(server.url)) as client,
        ):
            reports = client.delivery_status(["1", "2"])
        assert statuses(reports) == [DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN]
        assert [r.provider_code for r in reports] == [35, 777]

    def test_answers_follow_the_ids_asked(self) -> None:
        """The service answers in ascending id order; reports come back in the caller's order,
        one per id, a repeated id answered twice."""
        with (
            CannedServer(200, deliveries_reply([1, 2, 8])) as server,
            Client(provider=meli_provider(server.url)) as client,
        ):
            reports = client.delivery_status(["30", "10", "x", "20", "10"])
        assert [(r.message_id, r.provider_code) for r in reports] == [
            ("30", 8),
            ("10", 1),
            ("x", None),
            ("20", 2),
            ("10", 1),
        ]
        (body,) = server.bodies
        assert b"<ns0:recIds><ns0:long>10</ns0:long><ns0:long>20</ns0:long>" in body
        assert b"<ns0:long>30</ns0:long></ns0:recIds>" in body


class TestJournalDeliveries:
    """A campaign's journal gets the delivery status of each accepted message."""

    def test_bulk_send_then_check(
        self, client: smsbridge.Client, emulator: Emulator, clock: ManualClock, tmp_path: Path
    ) -> None:
        """150 accepted messages: pending right after, delivered once the clock moves on."""
        journal = tmp_path / "campaign.sqlite"
        numbers = [f"0912{2_000_000 + i:07d}" for i in range(150)]
        summary = client.send_bulk("Campaign لغو11", numbers, journal=journal)
        assert summary.totals.accepted == 150
        assert client.check_journal_deliveries(journal) == {"pending": 150}
        clock.now += emulator.state.delivery_delay * 2
        assert client.check_journal_deliveries(journal) == {"delivered": 150}
        with open_journal(journal) as book:
            ids = {
                row.message_id for row in book.rows() if row.delivery is DeliveryStatus.DELIVERED
            }
        assert ids == {str(sent.rec_id) for sent in emulator.state.sent}
