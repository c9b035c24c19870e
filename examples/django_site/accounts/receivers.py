"""The site's smsbridge signal receivers: a suppression list, and inbound SMS stored (an
"لغو" / "STOP" reply opts the number out)."""

from typing import Any

from django.dispatch import receiver
from smsbridge.contrib.django import InboundEvent, inbound, pre_send

from accounts.models import InboundMessage, OptOut

STOP_WORDS = {"stop", "لغو", "11"}


@receiver(pre_send)
def skip_opted_out(send: Any, using: str, **kwargs: Any) -> None:
    """Nobody who opted out gets marketing (the 'default' alias); OTPs still go out."""
    if using != "default":
        return
    for number in OptOut.objects.filter(number__in=send.recipients).values_list(
        "number", flat=True
    ):
        send.reject(number, "opted out")


@receiver(inbound)
def store_inbound(event: InboundEvent, **kwargs: Any) -> None:
    """Keep every SMS received; a stop word opts its sender out."""
    InboundMessage.objects.create(
        sender=event.sender,
        recipient=event.recipient,
        text=event.text,
        received_at=event.received_at,
    )
    if event.text.strip().lower() in STOP_WORDS:
        OptOut.objects.get_or_create(number=event.sender)
