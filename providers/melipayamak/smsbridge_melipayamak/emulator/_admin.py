"""JSON endpoints under ``/_emulator/`` so another process can inspect and steer the emulator."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import attrs

from ._faults import Fault, FaultInjector
from ._state import EmulatorState

__all__ = ["PREFIX", "handle_admin"]

PREFIX = "/_emulator/"


def _json(status: HTTPStatus, payload: Any) -> tuple[HTTPStatus, bytes]:
    return status, json.dumps(payload, ensure_ascii=False).encode()


def _error(status: HTTPStatus, message: str) -> tuple[HTTPStatus, bytes]:
    return _json(status, {"error": message})


def _arm(faults: FaultInjector, body: bytes) -> tuple[HTTPStatus, bytes]:
    try:
        spec = json.loads(body or b"{}")
        if not isinstance(spec, dict):
            return _error(HTTPStatus.BAD_REQUEST, "expected a JSON object")
        faults.next(
            Fault(spec.get("fault")),
            spec.get("count", 1),
            seconds=float(spec.get("seconds", 0.0)),
            message=str(spec.get("message", "Server was unable to process request.")),
        )
    except (ValueError, TypeError) as exc:
        return _error(HTTPStatus.BAD_REQUEST, str(exc))
    return _json(HTTPStatus.OK, {"armed": _rules(faults)})


def _rules(faults: FaultInjector) -> list[dict[str, Any]]:
    return [{**attrs.asdict(rule), "fault": rule.fault.value} for rule in faults.pending]


def _advance(state: EmulatorState, body: bytes) -> tuple[HTTPStatus, bytes]:
    try:
        state.advance(float(json.loads(body or b"{}")["seconds"]))
    except (ValueError, TypeError, KeyError) as exc:
        return _error(HTTPStatus.BAD_REQUEST, f'expected {{"seconds": number}}: {exc}')
    return _json(HTTPStatus.OK, {"now": state.now()})


def handle_admin(
    state: EmulatorState, faults: FaultInjector, method: str, path: str, body: bytes
) -> tuple[HTTPStatus, bytes]:
    """Answer one admin request; ``path`` is the part after ``/_emulator/``."""
    route = (method, path.strip("/"))
    if route == ("GET", "sent"):
        sent, _ = state.snapshot()
        return _json(HTTPStatus.OK, [attrs.asdict(message) for message in sent])
    if route == ("GET", "requests"):
        _, requests = state.snapshot()
        return _json(HTTPStatus.OK, [attrs.asdict(request) for request in requests])
    if route == ("GET", "faults"):
        return _json(HTTPStatus.OK, _rules(faults))
    if route == ("POST", "faults"):
        return _arm(faults, body)
    if route == ("POST", "advance"):
        return _advance(state, body)
    if route == ("POST", "reset"):
        state.reset()
        faults.clear()
        return _json(HTTPStatus.OK, {"reset": True})
    return _error(HTTPStatus.NOT_FOUND, f"no admin endpoint {method} {PREFIX}{path}")
