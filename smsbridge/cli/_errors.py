"""Exit statuses and the CLI's error types; every failure leaves as one line on stderr."""

from __future__ import annotations

from typing import Final

import click

__all__ = [
    "EXIT_CONFIGURATION",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID_INPUT",
    "EXIT_JOURNAL",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROVIDER_FAILURE",
    "EXIT_UNEXPECTED",
    "CliError",
    "ConfigError",
    "JournalFailure",
    "ProviderFailure",
    "UnexpectedError",
    "one_line",
]

PROG: Final = "smsbridge"

EXIT_OK: Final = 0
"""Every recipient was accepted."""
EXIT_UNEXPECTED: Final = 1
"""A bug or an unforeseen failure (``--debug`` shows the traceback)."""
EXIT_INVALID_INPUT: Final = 2
"""Bad numbers, bad text, a malformed ``--to-file``, a usage error; nothing was sent."""
EXIT_CONFIGURATION: Final = 3
"""No provider URL, a bad or unknown one, missing credentials, a broken plugin, a report or
journal folder that is missing or read-only."""
EXIT_PARTIAL: Final = 4
"""Some recipients were accepted, others rejected or of unknown outcome."""
EXIT_PROVIDER_FAILURE: Final = 5
"""No recipient was accepted."""
EXIT_JOURNAL: Final = 6
"""The journal cannot be used: not a journal, damaged, in use, or another campaign's.
Nothing was sent and the file was not changed."""
EXIT_INTERRUPTED: Final = 130
"""Ctrl-C (the shell's 128 + SIGINT); a journaled send resumes when run again."""


def one_line(message: str) -> str:
    """``smsbridge: error: ...`` with the message's whitespace folded."""
    return f"{PROG}: error: " + " ".join(message.split())


class CliError(click.ClickException):
    """A user error: one line on stderr and exit status 2 (invalid input)."""

    exit_code = EXIT_INVALID_INPUT


class ConfigError(CliError):
    """The provider configuration is missing or wrong: exit status 3."""

    exit_code = EXIT_CONFIGURATION


class ProviderFailure(CliError):
    """A provider error escaped the report (e.g. from a hook): exit status 5."""

    exit_code = EXIT_PROVIDER_FAILURE


class JournalFailure(CliError):
    """The journal cannot be used: exit status 6."""

    exit_code = EXIT_JOURNAL


class UnexpectedError(CliError):
    """A bug or an unforeseen failure, shown in one line unless ``--debug``: exit status 1."""

    exit_code = EXIT_UNEXPECTED
