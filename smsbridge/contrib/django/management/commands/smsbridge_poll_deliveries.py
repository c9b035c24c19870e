"""``manage.py smsbridge_poll_deliveries``: delivery statuses, for providers that only poll."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smsbridge.contrib.django._polling import pending_message_ids, poll_deliveries, poll_journal
from smsbridge.exceptions import SmsBridgeError


class Command(BaseCommand):
    help = (
        "Ask an alias's provider where sent messages stand and fire delivery_status for each: "
        "the ids given, a campaign journal's accepted messages, or those "
        "SMSBRIDGE['PENDING_MESSAGES'] returns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("message_ids", nargs="*", help="message ids to check")
        parser.add_argument("--using", default="default", help="the sender alias")
        parser.add_argument("--journal", help="check a campaign journal's accepted messages")

    def handle(self, *args: Any, **options: Any) -> None:
        using: str = options["using"]
        try:
            if options["journal"]:
                counts = poll_journal(options["journal"], using=using)
            else:
                ids = options["message_ids"] or pending_message_ids(using)
                counts = poll_deliveries(ids, using=using)
        except SmsBridgeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(counts, sort_keys=True))
