"""Campaigns on Celery workers: ``pip install 'smsbridge[celery]'``.

>>> from celery import Celery                                          # doctest: +SKIP
>>> from smsbridge.distributed import GlobalRateLimit
>>> from smsbridge.distributed.celery import CeleryCampaigns
>>> app = Celery("sms", broker="redis://127.0.0.1:6379/0")
>>> campaigns = CeleryCampaigns(
...     app,
...     journal="postgresql://sms@db.internal/sms",
...     provider="melipayamak://user:pass@/?from=5000...",
...     rate_limit=GlobalRateLimit("redis://127.0.0.1:6379/1", "50/second"),
... )
>>> handle = campaigns.start("spring-sale", "Sale! لغو11", numbers)    # from code
>>> handle.wait(on_progress=print)

Workers run ``celery -A yourmodule worker --prefetch-multiplier=1``; the CLI starts a campaign
with ``smsbridge campaign start --engine celery --celery-app yourmodule:campaigns --journal
'postgresql://…?campaign=spring-sale' …``. docs/distributed.md has the architecture, the
settings and what each failure costs.

The task is thin: all it does is call :meth:`CampaignWorker.run` and turn "the journal or
Redis is down, nothing was claimed" and "rejected retryably, nothing went out" into Celery
retries. Every guarantee lives in the journal (claim before send), so another queue needs
only another such adapter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from smsbridge.distributed._campaign import (
    BatchJob,
    CampaignHandle,
    StartReport,
    create_campaign,
)
from smsbridge.distributed._limit import RateLimitUnavailableError
from smsbridge.distributed._worker import CampaignWorker
from smsbridge.exceptions import ConfigurationError
from smsbridge.journal._postgres import JournalUnavailableError, split_journal_url

if TYPE_CHECKING:
    from smsbridge._client import Client
    from smsbridge._models import Message, Template
    from smsbridge.distributed._limit import GlobalRateLimit

__all__ = ["RECOMMENDED_SETTINGS", "TASK_NAME", "CeleryCampaigns", "load"]

TASK_NAME: Final = "smsbridge.send_batch"

RECOMMENDED_SETTINGS: Final[dict[str, Any]] = {
    # Ack after the task ran: a worker that dies mid-task has its job delivered again, and the
    # claim makes that second delivery harmless.
    "task_acks_late": True,
    # One message at a time per worker process: no job waits in a busy worker's buffer while
    # another worker is idle (and none is lost with it).
    "worker_prefetch_multiplier": 1,
    # Celery 5.7+: a job whose worker process died is retried like retry() (bounded by
    # max_retries) instead of being re-queued forever, which reject_on_worker_lost risks.
    "task_retry_on_worker_lost": True,
    "task_reject_on_worker_lost": False,
    # A task that failed (retries exhausted) is acked: its rows stay in the journal, pending or
    # settled, and `start` again re-enqueues what is pending.
    "task_acks_on_failure_or_timeout": True,
}
"""What :class:`CeleryCampaigns` sets on the app (``configure=True``); see docs/distributed.md."""


def _celery() -> Any:
    try:
        import celery
    except ImportError:  # pragma: no cover - the extra is missing
        raise ConfigurationError(
            "Celery campaigns need Celery: pip install 'smsbridge[celery]'"
        ) from None
    return celery


class CeleryCampaigns:
    """Registers the ``smsbridge.send_batch`` task on a Celery app and starts campaigns on it.

    :param app: the Celery application (its broker carries the jobs).
    :param journal: the Postgres database, ``postgresql://…``; each campaign is a name in it.
    :param provider: the provider URL every worker sends through (or a function returning a
        :class:`~smsbridge.Client`, called once per worker process); default ``SMSBRIDGE_URL``.
    :param rate_limit: the global limit shared by all workers.
    :param max_retries: retries of one job: the journal or Redis down before a claim, or a
        retryable rejection (nothing went out). Then the task fails; its rows stay pending or
        rejected and ``start`` again re-enqueues them.
    :param retry_delay: seconds before the first retry (doubling, at most ``retry_delay_max``).
    :param lease_grace: seconds a flight's lease adds to the request deadline.
    :param patience: seconds one step waits for the journal before giving up.
    :param queue: the queue the jobs go to (None: the app's default).
    :param configure: apply :data:`RECOMMENDED_SETTINGS` to ``app.conf``.
    """

    def __init__(
        self,
        app: Any,
        *,
        journal: str,
        provider: str | Callable[[], Client] | None = None,
        rate_limit: GlobalRateLimit | None = None,
        max_retries: int = 5,
        retry_delay: float = 2.0,
        retry_delay_max: float = 60.0,
        lease_grace: float = 30.0,
        patience: float = 120.0,
        queue: str | None = None,
        configure: bool = True,
    ) -> None:
        _celery()
        base, name = split_journal_url(journal)
        if name is not None:
            raise ConfigurationError(
                "CeleryCampaigns takes the journal's database URL; name campaigns in start()"
            )
        self.app = app
        self.journal = base
        self.provider = provider
        self.rate_limit = rate_limit
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.retry_delay_max = retry_delay_max
        self.lease_grace = lease_grace
        self.patience = patience
        self.queue = queue
        self._worker: CampaignWorker | None = None
        self._pid = 0
        if configure:
            app.conf.update(RECOMMENDED_SETTINGS)
        adapter = self

        def send_batch(task: Any, payload: dict[str, Any]) -> dict[str, object]:
            """Send one batch of a smsbridge campaign (``smsbridge.distributed``)."""
            return adapter._run_task(task, payload)

        self.task = app.task(
            name=TASK_NAME,
            bind=True,
            acks_late=True,
            reject_on_worker_lost=False,
            retry_on_worker_lost=True,
            acks_on_failure_or_timeout=True,
            max_retries=max_retries,
        )(send_batch)
        app.smsbridge_campaigns = self

    def __repr__(self) -> str:
        return f"<CeleryCampaigns app={getattr(self.app, 'main', None)!r}>"

    # -- the client and the worker (one per process, made after a fork) ------------------

    def client(self) -> Client:
        """A client on the configured provider."""
        from smsbridge._client import Client

        if callable(self.provider):
            return self.provider()
        return Client(self.provider)

    @property
    def worker(self) -> CampaignWorker:
        """This process's :class:`CampaignWorker` (connections are never shared by a fork)."""
        if self._worker is None or self._pid != os.getpid():
            self._worker = CampaignWorker(
                self.client(),
                self.journal,
                rate_limit=self.rate_limit,
                lease_grace=self.lease_grace,
                patience=self.patience,
            )
            self._pid = os.getpid()
        return self._worker

    def _countdown(self, retries: int) -> float:
        return float(min(self.retry_delay * 2**retries, self.retry_delay_max))

    def _run_task(self, task: Any, payload: dict[str, Any]) -> dict[str, object]:
        """The body of ``smsbridge.send_batch``."""
        job = BatchJob.from_dict(payload)
        retries = int(task.request.retries or 0)
        try:
            outcome = self.worker.run(
                job, task_id=task.request.id, may_retry=retries < self.max_retries
            )
        except (JournalUnavailableError, RateLimitUnavailableError) as error:
            # Nothing was claimed: the job may run again, later.
            raise task.retry(exc=error, countdown=self._countdown(retries)) from None
        if outcome.retry:
            again = BatchJob(job.campaign, outcome.retry)
            raise task.retry(args=[again.to_dict()], countdown=self._countdown(retries))
        return outcome.to_dict()

    # -- starting and following campaigns -------------------------------------------------

    def journal_url(self, campaign: str) -> str:
        """The journal URL of a campaign name (a full ``postgresql://`` URL is kept)."""
        if campaign.lower().startswith(("postgresql://", "postgres://")):
            return campaign
        separator = "&" if "?" in self.journal else "?"
        from urllib.parse import quote

        return f"{self.journal}{separator}campaign={quote(campaign, safe='')}"

    def enqueue(self, job: BatchJob) -> None:
        """Send one job to the broker."""
        options: dict[str, Any] = {}
        if self.queue is not None:
            options["queue"] = self.queue
        self.task.apply_async(args=[job.to_dict()], **options)

    def create(
        self,
        campaign: str,
        message: Message | Template | str,
        recipients: Iterable[object],
        *,
        client: Client | None = None,
        sender: str | None = None,
        flash: bool = False,
        udh: str | None = None,
        reference: str | None = None,
        resend_unknown: bool = False,
        skip_invalid: bool = True,
    ) -> StartReport:
        """Create (or resume) ``campaign`` and enqueue its batches; see
        :func:`~smsbridge.distributed.create_campaign`."""
        from smsbridge._client import _message

        body = _message(message, sender, flash, udh, reference)
        own = client is None
        sender_client = self.client() if client is None else client
        try:
            return create_campaign(
                sender_client.engine,
                self.journal_url(campaign),
                body,
                recipients,
                enqueue=self.enqueue,
                resend_unknown=resend_unknown,
                skip_invalid=skip_invalid,
            )
        finally:
            if own:
                sender_client.close()

    def start(
        self, campaign: str, message: Message | Template | str, recipients: Iterable[object],
        **options: Any,
    ) -> CampaignHandle:  # fmt: skip
        """:meth:`create`, then a handle to follow the campaign from its journal."""
        import time

        started = time.perf_counter()
        self.create(campaign, message, recipients, **options)
        return CampaignHandle(self.journal_url(campaign), started=started)

    def handle(self, campaign: str) -> CampaignHandle:
        """Follow a campaign created earlier."""
        return CampaignHandle(self.journal_url(campaign))


def load(spec: str) -> CeleryCampaigns:
    """The :class:`CeleryCampaigns` named ``module:attribute`` (the object itself, or a Celery
    app it was registered on).

    :raises ConfigurationError: when it cannot be imported or is neither.
    """
    import importlib

    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(
            f"cannot import the Celery app module {module_name!r}: {error}"
        ) from None
    found: Any = module
    for part in (attribute or "app").split("."):
        found = getattr(found, part, None)
    if isinstance(found, CeleryCampaigns):
        return found
    registered = getattr(found, "smsbridge_campaigns", None)
    if isinstance(registered, CeleryCampaigns):
        return registered
    raise ConfigurationError(
        f"{spec} is not a CeleryCampaigns (nor a Celery app with one registered)"
    )
