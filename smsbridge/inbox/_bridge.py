"""Connect an emulator built on the test-server kit to the inbox, from the outside.

An :class:`EmulatorBridge` taps the kit's two seams of one
:class:`~smsbridge.testing.server.EmulatorServer`: its ``handler`` (to read each send
request and its reply, as a proxy would) and its ``faults`` (so chaos armed in the inbox
fails the next send the way that service fails). The emulator itself is not changed. A
subclass supplies what only the service knows: how to read each send operation's request and
reply, that operation's wire answer for each chaos category, and the delivery status of one of
its ids.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Self

import attrs

from smsbridge.exceptions import ErrorCategory
from smsbridge.inbox._model import ChaosFault, InboxError, MessageStatus
from smsbridge.inbox._reporter import Reporter, SentRecord
from smsbridge.testing.server import (
    EmulatorServer,
    Fault,
    FaultInjector,
    FaultRule,
    Operation,
    Reply,
    Request,
    ServedEmulator,
)

if TYPE_CHECKING:
    from smsbridge.inbox._server import InboxServer

__all__ = ["Attempt", "EmulatorBridge", "host_bridged"]


@attrs.frozen(kw_only=True)
class Attempt:
    """One recipient of a send request, as the request carried it (or, once the service took
    it, as the service recorded it: see :meth:`EmulatorBridge.shown`)."""

    recipient: str
    text: str
    """What the handset shows: a template send's rendered text when it can be known."""
    sender: str | None = None
    flash: bool = False
    udh: str | None = None
    segments: int | None = None
    """The parts the service billed; None lets the inbox count them."""
    template_id: str | None = None
    """A template send's template (Melipayamak's bodyId, Kavenegar's template name)."""
    variables: Mapping[str, str] | tuple[str, ...] | None = None


class _Faults(FaultInjector):
    """The server's fault injector, asking the inbox first for send operations."""

    def __init__(self, bridge: EmulatorBridge, inner: FaultInjector) -> None:
        super().__init__(seed=None)
        self.bridge = bridge
        self.inner = inner

    def take(self, operation: str | None = None) -> FaultRule | None:
        """Chaos from the inbox for a send; otherwise the emulator's own armed faults."""
        bridge = self.bridge
        if operation in bridge.send_operations:
            fault = bridge.chaos()
            if fault is not None:
                return FaultRule(fault=bridge.refusal(operation, fault.category), remaining=1)
        return self.inner.take(operation)


class EmulatorBridge:
    """Shows one emulator's sends in an inbox and lets the inbox's chaos fail them.

    :param server: the emulator's kit server (before or after it started).
    :param reporter: where to report (:class:`~smsbridge.inbox.StoreReporter` in the inbox's
        process, :class:`~smsbridge.inbox.HttpReporter` from elsewhere).
    :param poll: seconds between delivery-status checks of reported messages.

    A reporter that fails (the inbox went away) never breaks the emulator: the error is
    counted in :attr:`errors` and the send is answered as if no inbox were there.
    """

    provider: ClassVar[str] = ""
    """The provider name messages are shown under and chaos rules are armed for."""
    send_operations: ClassVar[frozenset[str]] = frozenset()
    """The kit operation names that send messages; each hook below is told which one."""

    def __init__(self, server: EmulatorServer, reporter: Reporter, *, poll: float = 0.25) -> None:
        self.server = server
        self.reporter = reporter
        self.poll = poll
        self.errors = 0
        """How many reports failed."""
        self._local = threading.local()
        self._pending: dict[str, MessageStatus] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inner_handler = server.handler
        self._inner_faults = server.faults

    # -- what a service supplies ------------------------------------------------------------

    def attempts(self, operation: str, request: Request) -> Sequence[Attempt]:
        """The recipients and text of one request of the send ``operation`` (already accepted
        by the emulator's parser). ``ValueError`` or ``KeyError``: not a readable send, left
        for the emulator to refuse in its own words."""
        raise NotImplementedError

    def accepted(
        self, operation: str, attempts: Sequence[Attempt], reply: Reply
    ) -> Sequence[str | None]:
        """The service's id for each attempt its reply accepted, None for one it refused."""
        raise NotImplementedError

    def refused(self, operation: str, reply: Reply) -> str | None:
        """Why a reply refused the whole request (a category or a code), None when it did not."""
        raise NotImplementedError

    def refusal(self, operation: str, category: ErrorCategory) -> Fault:
        """The kit fault that answers ``operation`` the way this service refuses it for
        ``category`` (never processed), or loses the reply (``outcome_unknown``: processed,
        then dropped)."""
        raise NotImplementedError

    def delivery(self, message_id: str) -> MessageStatus | None:
        """The delivery status of one of the service's ids now; None when unknown."""
        raise NotImplementedError

    def shown(self, attempt: Attempt, message_id: str) -> Attempt:
        """The attempt as the service recorded it once it took it under ``message_id`` (the
        rendered template text, the line it picked, the parts it billed). By default as the
        request carried it."""
        del message_id
        return attempt

    # -- wiring -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Tap the server and start following delivery statuses; returns self."""
        if self._thread is not None:
            return self
        self.server.handler = self._handle
        self.server.faults = _Faults(self, self._inner_faults)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._follow, name=f"inbox-bridge-{self.provider}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Untap the server. Safe to call more than once."""
        if self._thread is None:
            return
        self.server.handler = self._inner_handler
        self.server.faults = self._inner_faults
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- the tap ----------------------------------------------------------------------------

    def chaos(self) -> ChaosFault | None:
        """Ask the inbox whether chaos fails the current send; report its refusal if so."""
        try:
            fault = self.reporter.fault(self.provider)
        except InboxError:
            self.errors += 1
            return None
        if fault is None:
            return None
        attempts: Sequence[Attempt] = getattr(self._local, "attempts", ())
        if fault.lose_reply:
            self._local.lost = True  # processed, then dropped: _observe marks the messages
        else:
            for attempt in attempts:
                self._report(attempt, None, MessageStatus.REJECTED, fault.category.value, True)
        return fault

    def _handle(self, request: Request) -> Reply | Operation:
        outcome = self._inner_handler(request)
        self._local.attempts = ()
        self._local.lost = False
        if (
            not isinstance(outcome, Operation)
            or not outcome.faultable
            or outcome.name not in self.send_operations
        ):
            return outcome
        operation = outcome.name
        try:
            attempts = tuple(self.attempts(operation, request))
        except (ValueError, KeyError):
            return outcome  # the emulator will refuse it in its own words
        self._local.attempts = attempts
        run = outcome.run

        def observed() -> Reply:
            reply = run()
            try:
                self._observe(operation, attempts, reply)
            except Exception:  # a reading bug must not cost the emulator its reply
                self.errors += 1
            return reply

        return attrs.evolve(outcome, run=observed)

    def _observe(self, operation: str, attempts: Sequence[Attempt], reply: Reply) -> None:
        lost = bool(getattr(self._local, "lost", False))
        refused = self.refused(operation, reply)
        if refused is not None:
            for attempt in attempts:
                self._report(attempt, None, MessageStatus.REJECTED, refused, False)
            return
        ids = self.accepted(operation, attempts, reply)
        for attempt, message_id in zip(attempts, ids, strict=False):
            if message_id is None:
                self._report(attempt, None, MessageStatus.REJECTED, "recipient_rejected", False)
            else:
                error = ErrorCategory.OUTCOME_UNKNOWN.value if lost else None
                shown = self.shown(attempt, message_id)
                self._report(shown, message_id, MessageStatus.PENDING, error, lost)

    def _report(
        self,
        attempt: Attempt,
        message_id: str | None,
        status: MessageStatus,
        error: str | None,
        chaos: bool,
    ) -> None:
        record = SentRecord(
            provider=self.provider,
            message_id=message_id,
            recipient=attempt.recipient,
            text=attempt.text,
            sender=attempt.sender,
            flash=attempt.flash,
            udh=attempt.udh,
            segments=attempt.segments,
            status=status,
            error=error,
            chaos=chaos,
            template_id=attempt.template_id,
            variables=attempt.variables,
        )
        try:
            self.reporter.sent(record)
        except (InboxError, ValueError):
            self.errors += 1
            return
        if message_id is not None:
            with self._lock:
                self._pending[message_id] = status

    # -- delivery ---------------------------------------------------------------------------

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            with self._lock:
                pending = list(self._pending.items())
            for message_id, known in pending:
                status = self.delivery(message_id)
                if status is None or status is known:
                    continue
                try:
                    self.reporter.delivery(self.provider, message_id, status)
                except InboxError:
                    self.errors += 1
                    continue
                with self._lock, contextlib.suppress(KeyError):
                    if status is MessageStatus.PENDING:
                        self._pending[message_id] = status
                    else:
                        del self._pending[message_id]


def host_bridged(inbox: InboxServer, bridge: EmulatorBridge, emulator: ServedEmulator) -> None:
    """Start ``bridge`` and then ``emulator``, list the emulator on ``inbox``'s page, and stop
    both with the inbox (what each provider's ``host()`` does once it has built the two).

    :raises smsbridge.testing.server.PortInUseError: when the emulator's port is taken (the
        bridge is stopped again).
    """
    bridge.start()
    try:
        emulator.start()
    except BaseException:
        bridge.stop()
        raise

    def stop() -> None:
        bridge.stop()
        emulator.stop()

    inbox.host_service(bridge.provider, emulator.url, stop)
