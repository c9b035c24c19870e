"""While ``sms_outbox`` is active, no Client an application builds can reach a real provider."""

from __future__ import annotations

import socket

import pytest

from smsbridge import Client, SendStatus
from smsbridge.testing import FakeOutbox

pytest.importorskip("smsbridge_melipayamak")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def real_url() -> str:
    """A Melipayamak URL whose endpoint nobody listens on: any real send would fail."""
    return (
        "melipayamak://shop:s3cret-pass@/?from=50004001234567"
        f"&endpoint=http://127.0.0.1:{closed_port()}/post/Send.asmx"
    )


class TestCapture:
    """Clients built from URLs send into the outbox, keeping the real provider's rules."""

    def test_an_explicit_url(self, sms_outbox: FakeOutbox, real_url: str) -> None:
        """The message is captured, with the provider and URL the application asked for (no
        password), and reported accepted as the real provider would."""
        with Client(real_url, autoload_plugins=True) as client:
            report = client.send("Your code is 4821", "09121234567")
        assert report[0].status is SendStatus.ACCEPTED
        sms = sms_outbox.assert_sent_to("09121234567", text_contains="4821")
        assert sms.provider == "melipayamak"
        assert sms.url is not None
        assert sms.url.startswith("melipayamak://shop:********@")
        assert "s3cret-pass" not in sms.url

    def test_the_environment(
        self, sms_outbox: FakeOutbox, real_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``SMSBRIDGE_URL`` set to a real provider (it once sent a real SMS) is captured."""
        monkeypatch.setenv("SMSBRIDGE_URL", real_url)
        Client(autoload_plugins=True).send("hi", "09121234567")
        sms_outbox.assert_sent_to("09121234567")

    def test_the_real_providers_rules_still_apply(self, sms_outbox: FakeOutbox) -> None:
        """A message the real provider would refuse is refused: no sender line, no send."""
        from smsbridge import InvalidMessageError

        url = f"melipayamak://shop:pw@/?endpoint=http://127.0.0.1:{closed_port()}/x"
        with pytest.raises(InvalidMessageError, match="sender line"):
            Client(url, autoload_plugins=True).send("hi", "09121234567")
        sms_outbox.assert_nothing_sent()

    @pytest.mark.sms_real_providers
    def test_the_marker_opts_out(self, sms_outbox: FakeOutbox, real_url: str) -> None:
        """Marked, the client reaches the real endpoint (here: nobody listens, so nothing is
        sent and the outbox stays empty)."""
        report = Client(real_url, autoload_plugins=True).send("hi", "09121234567")
        assert report[0].status is SendStatus.REJECTED
        assert report[0].error is not None
        assert report[0].error.category.value == "provider_unavailable"
        sms_outbox.assert_nothing_sent()
