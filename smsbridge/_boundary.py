"""Errors handed to the application carry no frames of smsbridge's internals.

A traceback printer that shows local variables (rich, structlog's dev renderer, Sentry's
locals) would otherwise print, from the frames that handled them, the provider URL and the
password, the recipients and the message text. Configuration and input errors are complete
without those frames: the message says what is wrong. The facades' public methods and every
provider's constructor (``BaseProvider.__init_subclass__``) raise through this boundary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from smsbridge.exceptions import SmsBridgeError

__all__ = ["public_async_errors", "public_errors"]

P = ParamSpec("P")
R = TypeVar("R")


def _bare(error: SmsBridgeError) -> SmsBridgeError:
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error.with_traceback(None)


def public_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Re-raise smsbridge errors from ``function`` without its frames, causes or contexts."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except SmsBridgeError as caught:
            error = caught
        # The arguments may hold the URL, the numbers or the text; they must not be locals of
        # the frame that raises.
        del args, kwargs
        raise _bare(error)

    return wrapper


def public_async_errors(
    function: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """:func:`public_errors` for a coroutine function."""

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await function(*args, **kwargs)
        except SmsBridgeError as caught:
            error = caught
        del args, kwargs
        raise _bare(error)

    return wrapper
