"""Errors handed to the application carry no frames of smsbridge's internals.

A traceback printer that shows local variables (rich, structlog's dev renderer, Sentry's
locals) would otherwise print the provider URL, and with it the password, from the frames
that parsed it. Configuration and input errors are complete without those frames: the message
says what is wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from smsbridge.exceptions import SmsBridgeError

__all__ = ["public_errors"]

P = ParamSpec("P")
R = TypeVar("R")


def public_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Re-raise smsbridge errors from ``function`` without its frames, causes or contexts."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except SmsBridgeError as caught:
            error = caught
        # The arguments may hold the URL; they must not be locals of the frame that raises.
        del args, kwargs
        error.__cause__ = None
        error.__context__ = None
        error.__suppress_context__ = True
        raise error.with_traceback(None)

    return wrapper
