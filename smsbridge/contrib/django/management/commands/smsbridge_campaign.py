"""``manage.py smsbridge_campaign``: a campaign through an alias and a resumable journal."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smsbridge import Message, Template
from smsbridge.contrib.django._senders import senders
from smsbridge.exceptions import SmsBridgeError
from smsbridge.sources import NumberFile


class Command(BaseCommand):
    help = (
        "Send one text or template to every number of a file through an alias, recorded in "
        "a journal: run it again with the same journal to resume after an interruption."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--using", default="default", help="the sender alias")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--text", help="the text to send")
        what.add_argument("--template", help="a template name (the alias's TEMPLATES) or id")
        parser.add_argument("--var", action="append", default=[], help="a template variable")
        parser.add_argument("--to-file", required=True, help="numbers, one a line, or a CSV")
        parser.add_argument("--column", help="the CSV column holding the numbers")
        parser.add_argument("--journal", required=True, help="the campaign's journal file")
        parser.add_argument("--report", help="write a per-recipient report (.jsonl or .csv)")
        parser.add_argument("--sender", help="the sender line")
        parser.add_argument("--rate", type=float, help="at most this many requests a second")
        parser.add_argument(
            "--resend-unknown", action="store_true", help="send again to unknown outcomes"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using: str = options["using"]
        try:
            message: Message | Template
            if options["template"]:
                known = senders.sender(using).template(options["template"])
                message = Template(id=known.id, variables=options["var"], sender=options["sender"])
            else:
                message = Message(text=options["text"], sender=options["sender"])
            summary = senders[using].send_bulk(
                message,
                NumberFile(options["to_file"], column=options["column"]),
                journal=options["journal"],
                report=options["report"],
                rate_limit=options["rate"],
                resend_unknown=options["resend_unknown"],
            )
        except SmsBridgeError as error:
            raise CommandError(str(error)) from None
        totals = summary.totals
        self.stdout.write(
            json.dumps(
                {
                    "total": totals.total,
                    "accepted": totals.accepted,
                    "rejected": totals.rejected,
                    "unknown": totals.unknown,
                    "pending": totals.pending,
                    "resumed": summary.resumed,
                },
                sort_keys=True,
            )
        )
