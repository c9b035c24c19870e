"""One job, start to finish, on any queue: permit, claim, send, land.

The order is what makes a queue's at-least-once delivery safe for SMS:

1. with a rate limit, read which of the job's rows are still pending (no lock; none → the job
   was done already) and take the global permit for them (recipients × parts), waiting
   without holding any row;
2. **claim** them: one ``UPDATE … WHERE state = pending … RETURNING`` committed with the
   request's flight record. A redelivered or duplicated job finds nothing and exits;
3. send the batch synchronously through the engine (the blocking ``Engine.dispatch``): every
   recipient leaves with one result, ``unknown`` only when the request may have gone out;
4. **land** the outcomes (and end the flight) in one transaction, patiently: a journal that is
   down (a Postgres restart) is waited for, since only this worker knows what the provider
   answered.

A worker that dies between 2 and 4 leaves a flight whose lease runs out: its rows become
``unknown`` and are never sent again automatically.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeVar

import attrs

from smsbridge import _logging as log
from smsbridge._engine._bulk import PositionKeys, identity_of
from smsbridge._engine._outgoing import OutgoingSend, results_for_error
from smsbridge._models import Message, RecipientResult, SendReport, SendStatus, Template
from smsbridge.distributed._campaign import BatchJob, message_from_dict
from smsbridge.exceptions import ConfigurationError, InvalidInputError
from smsbridge.journal._postgres import JournalUnavailableError, PostgresJournal, redacted
from smsbridge.provider import Batch

if TYPE_CHECKING:
    from smsbridge._client import Client
    from smsbridge._engine._failover import Route
    from smsbridge.distributed._limit import GlobalRateLimit

__all__ = ["BatchOutcome", "CampaignWorker"]

_T = TypeVar("_T")
_OPEN_JOURNALS: Final = 8
_RECOVER_EVERY: Final = 5.0
"""Seconds between two looks for dead workers' flights, per campaign and worker."""


@attrs.frozen(kw_only=True)
class BatchOutcome:
    """What one job did."""

    claimed: int = 0
    """Rows this job claimed and sent (or settled before any I/O)."""
    skipped: int = 0
    """Rows of the job that were no longer pending (another job, or this one before, took
    them)."""
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    waited: float = 0.0
    """Seconds spent waiting for the rate limit."""
    retry: tuple[int, ...] = ()
    """Rows rejected retryably (nothing went out), made pending again for the job's retry."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (a task result)."""
        return {**attrs.asdict(self), "retry": list(self.retry)}


@attrs.frozen
class _Campaign:
    journal: PostgresJournal
    message: Message | Template
    campaign_id: str


class CampaignWorker:
    """Runs :class:`BatchJob` s for one provider configuration: the engine-neutral part of
    every queue adapter (Celery's tasks call :meth:`run`).

    :param client: the provider this worker sends through; a campaign created for another
        provider, account, sender or text is refused.
    :param journal: the Postgres database, ``postgresql://…`` (a ``campaign`` parameter, if
        any, is ignored: each job names its campaign).
    :param rate_limit: the global limit shared by every worker (None: no limit beyond the
        client's own ``rate_limit``).
    :param lease_grace: seconds a flight's lease adds to the request's deadline (the client's
        ``timeout``, once per provider when it fails over): how long after a worker died its
        rows become ``unknown``.
    :param patience: seconds to keep trying to reach the journal for one step before giving up
        (the claim is then not made; a landing's rows become unknown when their lease ends).
    :param name: the worker's name in flight records (default ``host:pid``).
    """

    def __init__(
        self,
        client: Client,
        journal: str,
        *,
        rate_limit: GlobalRateLimit | None = None,
        lease_grace: float = 30.0,
        patience: float = 120.0,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.engine = client.engine
        self.database = journal
        self.rate_limit = rate_limit
        self.lease_grace = lease_grace
        self.patience = patience
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._campaigns: OrderedDict[str, _Campaign] = OrderedDict()
        self._recovered: dict[str, float] = {}

    def close(self) -> None:
        """Close the journal connections (the client is the caller's)."""
        for campaign in self._campaigns.values():
            campaign.journal.close()
        self._campaigns.clear()

    def __enter__(self) -> CampaignWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the journal ----------------------------------------------------------------------

    def _url(self, name: str) -> str:
        from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

        parts = urlsplit(self.database)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "campaign"]
        query.append(("campaign", name))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _campaign(self, name: str) -> _Campaign:
        found = self._campaigns.get(name)
        if found is not None:
            self._campaigns.move_to_end(name)
            return found
        journal = PostgresJournal(self._url(name))
        try:
            stored = journal.message()
            identity = journal.identity()
            if stored is None or identity is None:
                raise ConfigurationError(
                    f"no campaign {name!r} in {redacted(self.database)}: was it created?"
                )
            message = message_from_dict(stored)
            differences = identity_of(self.engine, message).differences(identity)
            if differences:
                raise ConfigurationError(
                    f"this worker cannot send the campaign {name!r}: "
                    + "; ".join(differences).replace(" in the journal", " in the campaign")
                    + " (the worker's provider configuration is another one)"
                )
        except BaseException:
            journal.close()
            raise
        campaign = _Campaign(journal=journal, message=message, campaign_id=journal.campaign_id)
        self._campaigns[name] = campaign
        while len(self._campaigns) > _OPEN_JOURNALS:
            _, oldest = self._campaigns.popitem(last=False)
            oldest.journal.close()
        return campaign

    def _patiently(self, step: Callable[[], _T], what: str) -> _T:
        """Run ``step``, retrying while the journal is unavailable, up to :attr:`patience`."""
        deadline = time.monotonic() + self.patience
        delay = 0.1
        while True:
            try:
                return step()
            except JournalUnavailableError as error:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("sms_journal_unavailable", step=what, retry_in=delay, error=str(error))
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # -- one job --------------------------------------------------------------------------

    def run(
        self, job: BatchJob, *, task_id: str | None = None, may_retry: bool = False
    ) -> BatchOutcome:
        """Send the job's rows that are still pending; see the module docstring.

        :param may_retry: the queue will run the job again: rows rejected retryably (nothing
            went out) go back to pending and are named in :attr:`BatchOutcome.retry`.
        :raises JournalUnavailableError: the journal stayed down past :attr:`patience` before
            anything was claimed (nothing was sent; the job may be retried).
        :raises RateLimitUnavailableError: the rate limit's Redis is down (nothing claimed).
        :raises ConfigurationError: the campaign is not this worker's to send.
        """
        campaign = self._patiently(lambda: self._campaign(job.campaign), "open")
        journal, engine = campaign.journal, self.engine
        now = time.monotonic()
        if now >= self._recovered.get(job.campaign, 0.0):
            # Dead workers' flights: only past a lease can there be any, so not every job.
            self._patiently(journal.recover, "recover")
            self._recovered[job.campaign] = now + min(self.lease_grace, _RECOVER_EVERY)
        waited = permitted = 0.0
        cost, key = 0, ("", "", "")
        positions = list(job.positions)
        if self.rate_limit is not None:
            pending = self._patiently(lambda: journal.pending_of(job.positions), "read")
            if not pending:
                log.info("sms_batch_skipped", campaign=job.campaign, rows=len(job.positions))
                return BatchOutcome(skipped=len(job.positions))
            parts = max(engine.check(campaign.message), 1)
            key = self.rate_limit.key_for(engine, campaign.message)
            # The permit first: a row is in flight only once its request may go.
            cost = len(pending) * parts
            waited = self.rate_limit.acquire(key, cost)
            permitted = time.monotonic()
            positions = [position for position, _ in pending]
        flight, claimed = self._claim(journal, positions, task_id)
        limit = self.rate_limit
        if claimed and limit is not None and time.monotonic() - permitted > limit.margin / 2:
            # The claim was slow (a loaded journal): the permit is too old to cover this
            # request's arrival within the margin, so take a fresh one (the old one is spent:
            # slower, never faster than the limit).
            waited += limit.acquire(key, cost)
        if not claimed:
            log.info("sms_batch_skipped", campaign=job.campaign, rows=len(job.positions))
            return BatchOutcome(skipped=len(job.positions), waited=waited)
        results = self._send(campaign, claimed)
        # With failover the result names the provider that took (or last refused) it.
        outcomes = [
            (position, result, result.provider or engine.name)
            for (position, _), result in zip(claimed, results, strict=True)
        ]
        retry: list[int] = []
        self._patiently(lambda: journal.land(flight, outcomes), "land")
        if may_retry:
            retryable = [
                position
                for position, result, _ in outcomes
                if result.status is SendStatus.REJECTED
                and result.error is not None
                and result.error.retryable
            ]
            if retryable:
                journal.requeue_positions(retryable)
                retry = retryable
        if not retry and not self._patiently(journal.open_rows, "count"):
            self._patiently(journal.mark_finished, "finish")
        counts = {status: sum(1 for r in results if r.status is status) for status in SendStatus}
        return BatchOutcome(
            claimed=len(claimed),
            skipped=len(job.positions) - len(claimed),
            accepted=counts[SendStatus.ACCEPTED],
            rejected=counts[SendStatus.REJECTED],
            unknown=counts[SendStatus.UNKNOWN],
            waited=waited,
            retry=tuple(retry),
        )

    def _claim(
        self, journal: PostgresJournal, positions: list[int], task_id: str | None
    ) -> tuple[uuid.UUID, list[tuple[int, str]]]:
        # A request cannot outlive its deadline; with failover, one per provider tried.
        routes = len(getattr(self.engine, "routes", ())) or 1
        lease = self.engine.settings.timeout * routes + self.lease_grace
        deadline = time.monotonic() + self.patience
        while True:
            flight = uuid.uuid4()
            try:
                claimed = journal.claim(
                    positions, flight, lease=lease, worker=self.name, task=task_id
                )
            except JournalUnavailableError:
                # The commit may have happened without our hearing of it: give those rows
                # back (nothing was sent) before trying again with a new flight.
                self._patiently(lambda: journal.release(flight), "release")  # noqa: B023
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            return flight, claimed

    def _permit(self, route: Route, batch: Batch) -> None:
        """A retry's or a failover's request takes a permit of the global limit too, on the
        line it goes out on (the job took one for its first request)."""
        if self.rate_limit is None:
            return
        provider = route.provider
        key = (route.label, provider.account(), provider.sender_for(batch.message) or "-")
        self.rate_limit.acquire(key, len(batch.recipients) * max(batch.segments, 1))

    def _send(self, campaign: _Campaign, claimed: list[tuple[int, str]]) -> list[RecipientResult]:
        """Hooks, checks and the request for the claimed rows; one result per row, in order."""
        engine = self.engine
        numbers = tuple(number for _, number in claimed)
        outgoing = OutgoingSend(message=campaign.message, recipients=numbers, provider=engine.name)
        try:
            engine.host.before_send(outgoing)
            parts = engine.check(outgoing.message)
        except InvalidInputError as error:
            # A hook made the message unsendable: refused before any I/O, never unknown.
            final = results_for_error(error, numbers, 0)
            engine.host.after_send(outgoing, SendReport(final, provider=engine.name))
            return final
        results: dict[int, RecipientResult] = {}
        going: list[int] = []
        for index, number in enumerate(numbers):
            vetoed = outgoing.vetoed_result(number, parts)
            if vetoed is None:
                going.append(index)
            else:
                results[index] = vetoed
        if going:
            # A campaign's keys are its own, as on the local path: unique across campaigns,
            # stable across deliveries, and what settling asks by.
            batch = Batch(
                message=outgoing.message,
                recipients=tuple(numbers[i] for i in going),
                segments=parts,
                keys=PositionKeys(campaign.campaign_id, [claimed[i][0] for i in going]),
            )
            results.update(zip(going, engine.dispatch(batch, permit=self._permit), strict=True))
        final = [results[i] for i in range(len(numbers))]
        engine.host.after_send(outgoing, SendReport(final, provider=engine.name))
        return final
