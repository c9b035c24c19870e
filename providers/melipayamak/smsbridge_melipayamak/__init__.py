"""Melipayamak SMS provider for smsbridge: ``melipayamak://USER:PASSWORD@/?from=SENDER``."""

from smsbridge_melipayamak._provider import DEFAULT_ENDPOINT, MelipayamakProvider

__all__ = ["DEFAULT_ENDPOINT", "MelipayamakProvider"]
