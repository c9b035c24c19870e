"""The provider contract, from smsbridge's public conformance suite, for Melipayamak against its
emulator on a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from meli_support import meli_url
from smsbridge_melipayamak.emulator import Emulator, EmulatorState

from smsbridge import AsyncClient, Client
from smsbridge.phone import normalize_number
from smsbridge.testing.conformance import Harness, ProviderConformance


class TestMelipayamak(ProviderConformance):
    """Melipayamak keeps the send contract."""

    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with Emulator(EmulatorState.demo()) as emulator:
            url = meli_url(emulator.url, extra="&timeout=5")

            def wire() -> list[tuple[str, str]]:
                sent, _ = emulator.state.snapshot()
                return [(normalize_number(m.recipient, "IR"), m.text) for m in sent]

            def requests() -> int:
                _, log = emulator.state.snapshot()
                return sum(1 for r in log if r.operation == "SendSms")

            harness = Harness(
                name="melipayamak",
                connect=lambda: Client(url, autoload_plugins=True),
                connect_async=lambda: AsyncClient(url, autoload_plugins=True),
                wire=wire,
                requests=requests,
                # An HTML 500 page: the service never ran the request (provider_unavailable).
                fail_requests=emulator.faults.http_500,
                # The emulator records the messages, then closes without a reply.
                lose_replies=emulator.faults.drop_connection,
            )
            yield harness
            harness.close_all()
