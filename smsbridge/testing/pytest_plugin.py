"""pytest plugin (entry point ``pytest11``): the ``sms_outbox`` fixture.

While a test uses ``sms_outbox``, every :class:`~smsbridge.Client` the application builds from
a URL (in code or ``SMSBRIDGE_URL``) sends into the outbox instead of to the provider, so a
test can never send a real SMS. A test that must reach a real service (an integration test
against an emulator) opts out with ``@pytest.mark.sms_real_providers``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsbridge import _intercept
from smsbridge.testing._capture import capture_into
from smsbridge.testing._outbox import FakeOutbox, outbox

MARKER = "sms_real_providers"


def pytest_configure(config: pytest.Config) -> None:
    """Register the opt-out marker (the suite may run with ``--strict-markers``)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}: let Clients built from URLs reach their providers during this test "
        "(sms_outbox captures them otherwise)",
    )


@pytest.fixture
def sms_outbox(request: pytest.FixtureRequest) -> Iterator[FakeOutbox]:
    """The fake provider's outbox, emptied (messages and scripted outcomes) before each test,
    capturing every Client built from a URL during the test (unless the test is marked
    ``sms_real_providers``).

    It is emptied in place, so an outbox an application imported earlier is the same object.
    """
    outbox.clear()
    interceptor = None
    if request.node.get_closest_marker(MARKER) is None:
        interceptor = capture_into(outbox)
        _intercept.install(interceptor)  # type: ignore[arg-type]
    try:
        yield outbox
    finally:
        if interceptor is not None:
            _intercept.uninstall(interceptor)  # type: ignore[arg-type]
        outbox.clear()
