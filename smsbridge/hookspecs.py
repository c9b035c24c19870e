"""Every hook a plugin can implement. Each is documented, with an example, in docs/hooks.md.

A plugin is any module or object with functions marked ``@smsbridge.hookimpl`` whose names match
these specs; misspelled names are refused when the plugin manager is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from smsbridge._engine._outgoing import OutgoingSend
    from smsbridge._models import (
        AttemptReport,
        CircuitState,
        Failover,
        ProviderHealth,
        SendReport,
    )
    from smsbridge.provider import BaseProvider

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("smsbridge")
hookimpl = pluggy.HookimplMarker("smsbridge")


@hookspec
def smsbridge_register_providers() -> Iterable[type[BaseProvider]]:
    """Contribute provider classes, each registered under its ``scheme``.

    Called once when a plugin manager is built; every implementation's classes are collected.
    Two plugins claiming the same scheme is a configuration error.

    :returns: the provider classes this plugin adds.
    """
    raise NotImplementedError


@hookspec
def smsbridge_before_send(send: OutgoingSend) -> None:
    """Inspect, change or veto a send before anything goes to the provider.

    Called for every implementation, in plugin order (last registered first). An
    implementation may replace ``send.message``, reject single recipients with
    ``send.reject(recipient, reason)`` (an opt-out list), or veto the whole send with
    ``send.veto(reason)`` (quiet hours). Rejected and vetoed recipients appear in the report with
    status ``rejected`` and category ``vetoed``; nothing is sent to them.

    :param send: the pending send: ``message``, ``recipients`` (E.164), ``provider`` name.
    """


@hookspec
def smsbridge_after_send(send: OutgoingSend, report: SendReport) -> None:
    """Observe a finished send: metrics, storing message ids, audit logs.

    Called for every implementation once the report is complete, including when some or all
    recipients failed. Exceptions raised here propagate to the caller.

    :param send: the send as it went out (after every ``smsbridge_before_send`` change).
    :param report: one result per input recipient, in input order.
    """


@hookspec
def smsbridge_provider_created(provider: BaseProvider) -> None:
    """Observe a provider a client has just built from a URL (wrap it, log its capabilities).

    :param provider: the new provider instance.
    """


@hookspec
def smsbridge_attempt(attempt: AttemptReport) -> None:
    """Observe each provider request of a send as it settles (metrics per provider).

    Called once per request, retries and failovers included, from the thread or task that
    made it. An exception raised here is logged (``sms_hook_failed``) and does not stop the
    send: its requests have gone out.

    :param attempt: ``provider`` (the name in this client), ``number`` (1 for a first try,
        2 for the first retry, ...), ``recipients``, ``results`` and ``seconds``.
    """


@hookspec
def smsbridge_failover(failover: Failover) -> None:
    """Observe recipients moving to the next provider because the last one did not send them
    (alerting). Exceptions are logged, as for ``smsbridge_attempt``.

    :param failover: ``from_provider``, ``to_provider``, ``recipients`` and ``reason`` (the
        ErrorCategory that made ``from_provider`` give them up).
    """


@hookspec
def smsbridge_provider_health(health: ProviderHealth, previous: CircuitState) -> None:
    """Observe a provider's circuit breaker changing state: opened after repeated failures,
    half-open for a probe, closed again. Exceptions are logged, as for ``smsbridge_attempt``.

    :param health: the new state, with ``failures``, ``reason`` and ``retry_in``.
    :param previous: the state it left.
    """
