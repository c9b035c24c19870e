"""Checking the delivery of a bulk send's accepted messages through its journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from smsbridge import Client, ConfigurationError, DeliveryStatus
from smsbridge.cli import EXIT_JOURNAL, cli
from smsbridge.journal import open_journal
from smsbridge.testing import FakeOutbox

NUMBERS = [f"0912{1_000_000 + i:07d}" for i in range(12)]


@pytest.fixture
def sent(tmp_path: Path, sms_outbox: FakeOutbox) -> Path:
    """A finished bulk send of 12 numbers, one of them lost in flight (unknown)."""
    path = tmp_path / "campaign.sqlite"
    client = Client("fake://?batch_size=5")
    sms_outbox.lose_next_reply()
    client.send_bulk("hello", NUMBERS, journal=path)
    accepted = [sms for sms in sms_outbox.messages if sms.recipient not in _unknown(path)]
    sms_outbox.set_delivery(accepted[0].message_id, DeliveryStatus.DELIVERED)
    sms_outbox.set_delivery(accepted[1].message_id, DeliveryStatus.FAILED)
    return path


def _unknown(path: Path) -> set[str | None]:
    with open_journal(path) as journal:
        return {row.recipient for row in journal.unknown()}


class TestCheckDeliveries:
    """Accepted messages get their delivery status; unknown ones stay for a person."""

    def test_statuses_are_stored_and_counted(self, sent: Path) -> None:
        """Counts cover the accepted messages only, and rows carry their status."""
        counts = Client("fake://").check_journal_deliveries(sent)
        assert counts == {"delivered": 1, "failed": 1, "pending": 5}
        with open_journal(sent) as journal:
            rows = list(journal.rows())
        assert sum(1 for row in rows if row.delivery is DeliveryStatus.DELIVERED) == 1
        assert all(row.delivery is None for row in rows if row.state == "unknown")

    def test_a_provider_without_delivery_status_is_refused(self, sent: Path) -> None:
        """Without the capability nothing is asked and the journal is unchanged."""
        from smsbridge import BaseProvider, Capabilities

        class Blind(BaseProvider):
            scheme = "blind"
            capabilities = Capabilities(max_batch_size=5, delivery_status=False)

        with pytest.raises(ConfigurationError, match="delivery status"):
            Client(provider=Blind()).check_journal_deliveries(sent)

    def test_cli_delivery(self, sent: Path) -> None:
        """``smsbridge journal FILE --delivery --url fake:// --json`` prints the counts."""
        result = CliRunner().invoke(
            cli, ["journal", str(sent), "--delivery", "--url", "fake://", "--json"]
        )
        assert result.exit_code == 0, result.output
        assert '"delivered": 1' in result.output
        assert '"pending": 5' in result.output

    def test_cli_delivery_refuses_a_file_that_is_not_a_journal(self, tmp_path: Path) -> None:
        """A stray file is refused with the journal exit status and left as it was."""
        stray = tmp_path / "notes.txt"
        stray.write_text("not a journal", encoding="utf-8")
        result = CliRunner().invoke(cli, ["journal", str(stray), "--delivery", "--url", "fake://"])
        assert result.exit_code == EXIT_JOURNAL
        assert stray.read_text(encoding="utf-8") == "not a journal"
