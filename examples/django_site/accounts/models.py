"""What the site keeps: numbers that opted out, and SMS received."""

from django.db import models


class OptOut(models.Model):
    """A number that asked for no more SMS (the suppression list)."""

    number = models.CharField(max_length=20, unique=True)


class InboundMessage(models.Model):
    """An SMS someone sent to the site's line, as the webhook delivered it."""

    sender = models.CharField(max_length=20)
    recipient = models.CharField(max_length=20)
    text = models.TextField()
    received_at = models.DateTimeField()
