"""The five Send.asmx operations: a parsed :class:`Call` in, response bytes out."""

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


def _send_by_base_number2(state: EmulatorState, call: Call) -> bytes:
    outcome = state.send_pattern(
        username=call.text("username"),
        password=call.text("password"),
        text=call.text("text"),
        to=call.text("to"),
        body_id=call.integer("bodyId"),
    )
    return _soap.pattern_response(outcome.result)


def _get_credit(state: EmulatorState, call: Call) -> bytes:
    return _soap.credit_response(state.credit_of(call.text("username"), call.text("password")))


def _get_deliveries(state: EmulatorState, call: Call) -> bytes:
    statuses = state.deliveries(call.longs("recIds"), call.text("username"), call.text("password"))
    return _soap.deliveries_response(statuses)


def _get_deliveries2(state: EmulatorState, call: Call) -> bytes:
    return _soap.delivery_response(state.delivery(call.text("recId")))


OPERATIONS: Final[dict[str, Callable[[EmulatorState, Call], bytes]]] = {
    "SendSms": _send_sms,
    "SendByBaseNumber2": _send_by_base_number2,
    "GetCredit": _get_credit,
    "GetDeliveries": _get_deliveries,
    "GetDeliveries2": _get_deliveries2,
}


def recipient_count(call: Call) -> int:
    """Recipients in a send request (0 for the queries)."""
    if call.operation == "SendSms":
        return len(call.items("to"))
    return 1 if call.operation == "SendByBaseNumber2" else 0


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
