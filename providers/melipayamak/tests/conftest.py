"""Fixtures: an emulator on 127.0.0.1, and a Melipayamak provider and client bound to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from meli_support import meli_provider, meli_url
from smsbridge_melipayamak import MelipayamakProvider
from smsbridge_melipayamak.emulator import Emulator, EmulatorState

import smsbridge
from smsbridge.testing.server import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """The emulator's clock."""
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> EmulatorState:
    """The emulator's demo state (user demo, line 50004001234567) on a manual clock."""
    demo = EmulatorState.demo()
    demo.clock = clock
    return demo


@pytest.fixture
def emulator(state: EmulatorState) -> Iterator[Emulator]:
    """A running emulator on a free port of 127.0.0.1."""
    with Emulator(state) as running:
        yield running


@pytest.fixture
def provider(emulator: Emulator) -> Iterator[MelipayamakProvider]:
    """A provider for the demo account, pointed at the emulator (it does no I/O itself: send
    through ``client`` or ``Client(provider=...)``)."""
    with meli_provider(emulator.url) as meli:
        yield meli


@pytest.fixture
def client(emulator: Emulator) -> Iterator[smsbridge.Client]:
    """A smsbridge client on melipayamak:// against the emulator, one request at a time."""
    with smsbridge.Client(
        meli_url(emulator.url, extra="&timeout=5"), concurrency=1, autoload_plugins=True
    ) as sms:
        yield sms
