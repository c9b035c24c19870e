"""JSON endpoints under ``/_emulator/`` so a test, a script or a browser can steer a server."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Final

from ._faults import FaultInjector, FaultRule
from ._messages import Reply, Request
from ._state import ServiceState

__all__ = ["ADMIN_PREFIX", "AdminRoute", "AdminRoutes", "rule_json"]

ADMIN_PREFIX: Final = "/_emulator/"

AdminRoute = Callable[[Any], Any]
"""An extra admin endpoint: gets the decoded JSON body (``None`` when the body is empty) and
returns what to answer, JSON-ready (attrs instances and enums are converted). Raising
``ValueError``, ``TypeError`` or ``KeyError`` answers 400 with the message."""


def rule_json(rule: FaultRule) -> dict[str, Any]:
    """An armed fault as the admin endpoints show it."""
    fault = rule.fault
    return {
        "fault": fault.name,
        "kind": fault.kind.value,
        "remaining": rule.remaining,
        "probability": rule.probability,
        "operation": rule.operation,
        "seconds": fault.seconds,
        "status": fault.status,
        "location": fault.location,
        "size": fault.size,
        "detail": fault.detail,
    }


def _error(status: HTTPStatus, message: str) -> Reply:
    return Reply.json({"error": message}, status)


class AdminRoutes:
    """The admin endpoints of one server: the kit's own, plus an emulator's ``extra``."""

    def __init__(
        self,
        state: ServiceState,
        faults: FaultInjector,
        extra: Mapping[tuple[str, str], AdminRoute] | None = None,
    ) -> None:
        self.state = state
        self.faults = faults
        self.routes: dict[tuple[str, str], AdminRoute] = {
            ("GET", ""): self._index,
            ("GET", "sent"): lambda _: state.sent_messages(),
            ("GET", "requests"): lambda _: state.log.records,
            ("GET", "stats"): self._stats,
            ("GET", "faults"): lambda _: [rule_json(rule) for rule in faults.pending],
            ("POST", "faults"): self._arm,
            ("DELETE", "faults"): self._clear,
            ("POST", "advance"): self._advance,
            ("POST", "reset"): self._reset,
        }
        self.routes.update(extra or {})

    def handle(self, request: Request) -> Reply:
        """Answer one admin request."""
        name = request.path.removeprefix(ADMIN_PREFIX).strip("/")
        route = self.routes.get((request.method, name))
        if route is None:
            return _error(
                HTTPStatus.NOT_FOUND, f"no admin endpoint {request.method} {request.path}"
            )
        try:
            # An empty body is no arguments: `curl -X POST .../reset` sends none at all.
            payload = json.loads(request.body) if request.body.strip() else None
        except ValueError as exc:
            return _error(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {exc}")
        try:
            return Reply.json(route(payload))
        except (ValueError, TypeError, KeyError) as exc:
            return _error(HTTPStatus.BAD_REQUEST, str(exc))

    def _index(self, _: Any) -> dict[str, Any]:
        return {
            "endpoints": sorted(f"{method} {ADMIN_PREFIX}{name}" for method, name in self.routes),
            "faults": self.faults.presets,
        }

    def _stats(self, _: Any) -> dict[str, Any]:
        log = self.state.log
        return {
            "requests": len(log),
            "in_flight": log.in_flight,
            "max_in_flight": log.max_in_flight,
            "now": self.state.now(),
        }

    def _arm(self, payload: Any) -> dict[str, Any]:
        self.faults.arm_json(payload)
        return {"armed": [rule_json(rule) for rule in self.faults.pending]}

    def _clear(self, _: Any) -> dict[str, Any]:
        cleared = len(self.faults.pending)
        self.faults.clear()
        return {"cleared": cleared}

    def _advance(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict) or "seconds" not in payload:
            msg = 'expected {"seconds": number}'
            raise ValueError(msg)
        self.state.advance(float(payload["seconds"]))
        return {"now": self.state.now()}

    def _reset(self, _: Any) -> dict[str, Any]:
        self.state.reset()
        self.faults.clear()
        return {"reset": True}
