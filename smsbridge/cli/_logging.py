"""Showing smsbridge's log events on stderr, for command-line applications."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

__all__ = ["LogSwitch", "level_for", "stderr_logging"]


def level_for(verbose: int) -> int:
    """WARNING by default, INFO for ``-v``, DEBUG for ``-vv``."""
    return (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG


class _StderrHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        # sys.stderr is looked up per record, so a replaced stream (tests) is honoured.
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
            sys.stderr.write(f"{stamp} {record.levelname.lower()} {record.getMessage()}\n")
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


class LogSwitch:
    """The verbosity of a :func:`stderr_logging` block, which a subcommand's ``-v`` raises."""

    def __init__(self, logger: logging.Logger, handler: logging.Handler, verbose: int) -> None:
        self.logger = logger
        self.handler = handler
        self.verbose = -1
        self.raise_to(verbose)

    def raise_to(self, verbose: int) -> None:
        """Show more, never less: ``smsbridge -v send -v`` is ``-vv``-like at most."""
        if verbose > self.verbose:
            self.verbose = verbose
            level = level_for(verbose)
            self.handler.setLevel(level)
            self.logger.setLevel(level)


@contextlib.contextmanager
def stderr_logging(verbose: int = 0) -> Iterator[LogSwitch]:
    """Show smsbridge's log events on stderr while the block runs; undo it afterwards.

    Warnings and errors by default; ``verbose`` 1 adds info, 2 debug. A line reads
    ``2026-12-01T10:00:00 warning sms_batch_failed provider=... batch=0``; it never holds a
    traceback, the message text or a full phone number. Only the ``smsbridge`` logger is
    touched: the library itself never configures logging, and the application's own handlers
    are left alone.
    """
    logger = logging.getLogger("smsbridge")
    handler = _StderrHandler()
    previous = logger.level
    logger.addHandler(handler)
    switch = LogSwitch(logger, handler, verbose)
    try:
        yield switch
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
