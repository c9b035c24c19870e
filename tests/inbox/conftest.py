"""Fixtures for the inbox: a store in a temporary folder, a running inbox on a free port of
127.0.0.1, and a JSON client for its API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inbox_support import Api

from smsbridge.inbox import InboxServer, InboxStore


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where the test's inbox store lives (not created yet)."""
    return tmp_path / "inbox.sqlite"


@pytest.fixture
def store(store_path: Path) -> Iterator[InboxStore]:
    """A fresh inbox store."""
    with InboxStore(store_path) as opened:
        yield opened


@pytest.fixture
def inbox(store: InboxStore) -> Iterator[InboxServer]:
    """A running inbox on a free port of 127.0.0.1; fake messages show delivered after 0.5 s."""
    with InboxServer(store, delivery_delay=0.5) as server:
        yield server


@pytest.fixture
def api(inbox: InboxServer) -> Api:
    """A client for the running inbox's API."""
    return Api(inbox.url)
