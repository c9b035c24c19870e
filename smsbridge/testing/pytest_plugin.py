"""pytest plugin (entry point ``pytest11``): the ``sms_outbox`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsbridge.testing._outbox import FakeOutbox, outbox


@pytest.fixture
def sms_outbox() -> Iterator[FakeOutbox]:
    """The fake provider's outbox, emptied (messages and scripted outcomes) before each test.

    It is emptied in place, so an outbox an application imported earlier is the same object.
    """
    outbox.clear()
    yield outbox
    outbox.clear()
