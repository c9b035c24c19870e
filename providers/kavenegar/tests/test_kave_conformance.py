"""The provider contract, from smsbridge's public conformance suite, for Kavenegar against its
emulator on a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kave_support import kave_url, sends
from smsbridge_kavenegar.emulator import Emulator, EmulatorState

from smsbridge import AsyncClient, Client, Template
from smsbridge.testing.conformance import Harness, ProviderConformance


class TestKavenegar(ProviderConformance):
    """Kavenegar keeps the send contract."""

    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        with Emulator(EmulatorState.demo()) as emulator:
            url = kave_url(emulator.url, extra="&timeout=5")

            def wire() -> list[tuple[str, str]]:
                sent, _ = emulator.state.snapshot()
                return [(message.recipient, message.text) for message in sent]

            harness = Harness(
                name="kavenegar",
                connect=lambda: Client(url, autoload_plugins=True),
                connect_async=lambda: AsyncClient(url, autoload_plugins=True),
                wire=wire,
                requests=lambda: sends(emulator),
                # An HTML 500 page: the API never ran the request (provider_unavailable).
                fail_requests=emulator.faults.http_500,
                # The emulator records the messages, then closes without a reply.
                lose_replies=emulator.faults.drop_connection,
                template=Template(id="verify", variables={"token": "4821"}),
                template_text="کد ورود شما: 4821",
            )
            yield harness
            harness.close_all()
