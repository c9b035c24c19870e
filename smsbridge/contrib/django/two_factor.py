"""A django-two-factor-auth SMS gateway that sends through an alias.

``TWO_FACTOR_SMS_GATEWAY = "smsbridge.contrib.django.two_factor.Gateway"``; the alias and the
message come from ``SMSBRIDGE["TWO_FACTOR"]``:

- ``USING``: the alias (default ``"default"``);
- ``TEMPLATE``: a template name (the alias's ``TEMPLATES``) or id: the token is sent through
  it, as its one variable, or as the variable ``TEMPLATE_VARIABLE`` where variables are named;
- ``TEXT``: without a template, the text, with ``{token}`` (default
  ``"Your verification code is {token}"``).

A token the provider refused raises :class:`TokenNotSent`, so the login form shows an error
instead of waiting for a code that will not come.
"""

from __future__ import annotations

import logging
from typing import Any

from smsbridge import SendReport, SendStatus, Template
from smsbridge.contrib.django._senders import senders
from smsbridge.exceptions import SmsBridgeError

__all__ = ["Gateway", "TokenNotSent"]

logger = logging.getLogger("smsbridge.contrib.django")


class TokenNotSent(SmsBridgeError):
    """The provider refused the token's SMS; ``report`` says why."""

    def __init__(self, report: SendReport) -> None:
        error = report[0].error
        category = error.category.value if error is not None else "unknown"
        super().__init__(f"the verification code was not sent ({category})")
        self.report = report


def _number(device: Any) -> str:
    number = device.number
    return str(getattr(number, "as_e164", number))


class Gateway:
    """``send_sms(device, token)`` through the alias ``SMSBRIDGE["TWO_FACTOR"]["USING"]``."""

    def send_sms(self, device: Any, token: str) -> SendReport:
        """Send ``token`` to ``device.number`` (a ``PhoneNumber`` or a str)."""
        setup = senders.config().two_factor
        client = senders[setup.using]
        message: Template | str
        if setup.template is not None:
            known = senders.sender(setup.using).template(setup.template)
            variables: dict[str, str] | list[str] = (
                {setup.template_variable: token} if setup.template_variable else [token]
            )
            message = Template(id=known.id, variables=variables)
        else:
            message = setup.text.format(token=token)
        report = client.send(message, _number(device))
        if report[0].status is SendStatus.REJECTED:
            raise TokenNotSent(report)
        if report[0].status is SendStatus.UNKNOWN:
            logger.warning("sms_two_factor_outcome_unknown", extra={"using": setup.using})
        return report

    def make_call(self, device: Any, token: str) -> None:
        """smsbridge sends SMS only: set ``TWO_FACTOR_CALL_GATEWAY`` to a voice gateway."""
        raise NotImplementedError(
            "smsbridge sends SMS only; set TWO_FACTOR_CALL_GATEWAY to a gateway that calls"
        )
