"""The four Send.asmx operations: a parsed :class:`Call` in, response bytes out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from . import _soap
from ._soap import TNS, Call, SoapError
from ._state import EmulatorState

__all__ = ["OPERATIONS", "check", "dispatch", "recipient_count"]


def _send_sms(state: EmulatorState, call: Call) -> bytes:
    outcome = state.send_sms(
        username=call.text("username"),
        password=call.text("password"),
        to=call.items("to"),
        sender=call.text("from"),
        text=call.text("text"),
        flash=call.boolean("isflash"),
        udh=call.text("udh"),
    )
    return _soap.send_sms_response(int(outcome.code), outcome.rec_ids, outcome.statuses)


def _get_credit(state: EmulatorState, call: Call) -> bytes:
    return _soap.credit_response(state.credit_of(call.text("username"), call.text("password")))


def _get_deliveries(state: EmulatorState, call: Call) -> bytes:
    statuses = state.deliveries(call.longs("recIds"), call.text("username"), call.text("password"))
    return _soap.deliveries_response(statuses)


def _get_deliveries2(state: EmulatorState, call: Call) -> bytes:
    return _soap.delivery_response(state.delivery(call.text("recId")))


OPERATIONS: Final[dict[str, Callable[[EmulatorState, Call], bytes]]] = {
    "SendSms": _send_sms,
    "GetCredit": _get_credit,
    "GetDeliveries": _get_deliveries,
    "GetDeliveries2": _get_deliveries2,
}


def recipient_count(call: Call) -> int:
    """Recipients in a SendSms request (0 for the other operations)."""
    return len(call.items("to")) if call.operation == "SendSms" else 0


def check(call: Call, soap_action: str | None) -> None:
    """Refuse an unknown operation or a SOAPAction header that names another one."""
    if soap_action is not None:
        action = soap_action.strip().strip('"')
        # An empty SOAPAction means "dispatch on the body", which is what we do anyway.
        if action and action != TNS + call.operation:
            msg = f"Server did not recognize the value of HTTP Header SOAPAction: {action}."
            raise SoapError(msg)
    if call.operation not in OPERATIONS:
        msg = (
            f"Server did not recognize the value of HTTP Header SOAPAction: {TNS}{call.operation}."
        )
        raise SoapError(msg)


def dispatch(state: EmulatorState, call: Call) -> bytes:
    """Run a checked call against ``state``."""
    return OPERATIONS[call.operation](state, call)
