"""The provider contract, from smsbridge's public conformance suite, for Melipayamak against its
emulator on a real socket: once over SOAP (Send.asmx), once over the REST API, template
(pattern) sends included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from meli_support import SEND_OPERATIONS, endpoint_of, meli_url
from smsbridge_melipayamak.emulator import DEMO_PATTERN, Emulator, EmulatorState

from smsbridge import AsyncClient, Client, Template
from smsbridge.phone import normalize_number
from smsbridge.testing.conformance import Harness, ProviderConformance


class TestMelipayamak(ProviderConformance):
    """Melipayamak keeps the send contract on both of its APIs."""

    @pytest.fixture(params=["soap", "rest"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        with Emulator(EmulatorState.demo()) as emulator:
            api = request.param
            url = meli_url(endpoint_of(emulator, api), api=api, extra="&timeout=5")

            def wire() -> list[tuple[str, str]]:
                sent, _ = emulator.state.snapshot()
                return [(normalize_number(m.recipient, "IR"), m.text) for m in sent]

            def requests() -> int:
                _, log = emulator.state.snapshot()
                return sum(1 for r in log if r.operation in SEND_OPERATIONS)

            harness = Harness(
                name=f"melipayamak over {api}",
                connect=lambda: Client(url, autoload_plugins=True),
                connect_async=lambda: AsyncClient(url, autoload_plugins=True),
                wire=wire,
                requests=requests,
                # An HTML 500 page: the service never ran the request (provider_unavailable).
                fail_requests=emulator.faults.http_500,
                # The emulator records the messages, then closes without a reply.
                lose_replies=emulator.faults.drop_connection,
                # The demo's approved OTP pattern, as the handset reads it.
                template=Template(id=str(DEMO_PATTERN), variables=["4821"]),
                template_text="کد ورود شما: 4821",
            )
            yield harness
            harness.close_all()
