"""Fixtures: an emulator on 127.0.0.1, and Kavenegar clients bound to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kave_support import kave_url
from smsbridge_kavenegar.emulator import Emulator, EmulatorState

import smsbridge
from smsbridge.testing.server import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """The emulator's clock."""
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> EmulatorState:
    """The emulator's demo state (key demo-api-key, line 10004346) on a manual clock."""
    demo = EmulatorState.demo()
    demo.clock = clock
    return demo


@pytest.fixture
def emulator(state: EmulatorState) -> Iterator[Emulator]:
    """A running emulator on a free port of 127.0.0.1."""
    with Emulator(state) as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> Iterator[smsbridge.Client]:
    """A smsbridge client on kavenegar:// against the emulator, one request at a time."""
    with smsbridge.Client(
        kave_url(emulator.url, extra="&timeout=5"), concurrency=1, autoload_plugins=True
    ) as sms:
        yield sms
