"""``send_sms``, ``send_template`` and ``send_mass_sms``, and their async twins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import ParamSpec, Protocol, TypeVar, runtime_checkable

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from smsbridge import Message, SendReport, Template
from smsbridge.contrib.django._senders import senders

__all__ = [
    "Recipients",
    "asend_mass_sms",
    "asend_sms",
    "asend_template",
    "send_mass_sms",
    "send_sms",
    "send_template",
]

P = ParamSpec("P")
T = TypeVar("T")


@runtime_checkable
class E164Number(Protocol):
    """What django-phonenumber-field's ``PhoneNumber`` offers."""

    @property
    def as_e164(self) -> str: ...


Recipient = str | E164Number
Recipients = Recipient | Iterable[Recipient]
"""One number or several: ``str`` or ``PhoneNumber`` (django-phonenumber-field)."""


def _number(recipient: Recipient) -> str:
    if isinstance(recipient, str):
        return recipient
    if isinstance(recipient, E164Number):
        return recipient.as_e164
    return recipient  # not a number: smsbridge refuses it with its own message


def _recipients(to: Recipients) -> list[str] | str:
    if isinstance(to, str | E164Number):
        return _number(to)
    return [_number(r) for r in to]


def send_sms(
    to: Recipients,
    text: str | Message,
    *,
    using: str = "default",
    sender: str | None = None,
    flash: bool = False,
    reference: str | None = None,
    skip_invalid: bool = False,
) -> SendReport:
    """Send ``text`` to ``to`` through the alias ``using``; one result per recipient.

    :param to: a number or several (``str`` or ``PhoneNumber``), in any form the alias's
        region reads.
    :param text: the text, or a :class:`smsbridge.Message`.
    :param reference: your idempotency key, passed to hooks and logs.
    :param skip_invalid: report invalid numbers rejected instead of raising.
    :raises smsbridge.InvalidInputError: bad text or numbers, before anything is sent.
    """
    return senders[using].send(
        text,
        _recipients(to),
        sender=sender,
        flash=flash,
        reference=reference,
        skip_invalid=skip_invalid,
    )


def send_template(
    to: Recipients,
    template: str,
    variables: Sequence[str] | Mapping[str, str] = (),
    *,
    using: str = "default",
    sender: str | None = None,
    reference: str | None = None,
    skip_invalid: bool = False,
) -> SendReport:
    """Send a template the provider holds (an approved OTP pattern) through ``using``.

    ``template`` is a name from the alias's ``TEMPLATES`` (so code stays the same whatever
    the provider calls it) or the provider's own template id.
    """
    known = senders.sender(using).template(template)
    message = Template(id=known.id, variables=variables, sender=sender, reference=reference)
    return senders[using].send(message, _recipients(to), skip_invalid=skip_invalid)


def send_mass_sms(
    messages: Iterable[tuple[str | Message | Template, Recipients]],
    *,
    using: str = "default",
    skip_invalid: bool = False,
) -> list[SendReport]:
    """Send several messages, each ``(text, recipients)``, through one client; one report per
    message. (A campaign to many numbers is ``senders[alias].send_bulk`` or the
    ``smsbridge_campaign`` command.)"""
    client = senders[using]
    return [
        client.send(message, _recipients(to), skip_invalid=skip_invalid) for message, to in messages
    ]


def _in_thread(function: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """The async twin of a blocking shortcut: it runs in a worker thread, so ``pre_send`` and
    ``post_send`` receivers may use the ORM, and the event loop is never blocked."""

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    twin = sync_to_async(call, thread_sensitive=False)

    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await twin(*args, **kwargs)

    run.__name__ = f"a{function.__name__}"
    run.__doc__ = f"Async twin of :func:`{function.__name__}` (runs it in a worker thread)."
    return run


asend_sms = _in_thread(send_sms)
asend_template = _in_thread(send_template)
asend_mass_sms = _in_thread(send_mass_sms)
