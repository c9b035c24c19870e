"""Integrations of smsbridge with frameworks (``smsbridge.contrib.django``)."""
