"""The Celery app the test workers run (``celery -A distributed_celery_app worker``).

Configured from the environment the tests give each worker process: the broker, the
journal's database, the provider URL (the emulator), the rate limit and its Redis.
"""

from __future__ import annotations

import os

from celery import Celery

from smsbridge.distributed import GlobalRateLimit
from smsbridge.distributed.celery import CeleryCampaigns

app = Celery("smsbridge_tests", broker=os.environ["SMSB_TEST_BROKER"])
app.conf.update(
    # A dead worker's job comes back after this many seconds (Redis has no other way of
    # knowing a worker died).
    broker_transport_options={
        "visibility_timeout": float(os.environ.get("SMSB_TEST_VISIBILITY", "3600"))
    },
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_rate = os.environ.get("SMSB_TEST_RATE")
campaigns = CeleryCampaigns(
    app,
    journal=os.environ["SMSB_TEST_JOURNAL"],
    provider=os.environ["SMSB_TEST_PROVIDER"],
    # The margin covers the time from a permit to the request's arrival at the emulator; on a
    # loaded 2-core CI machine (four workers, Postgres, Redis and the tests) that reaches
    # ~100 ms, the default margin, so the tests give it more room.
    rate_limit=GlobalRateLimit(os.environ["SMSB_TEST_LIMITS"], _rate, margin=0.25)
    if _rate
    else None,
    lease_grace=float(os.environ.get("SMSB_TEST_LEASE_GRACE", "30")),
    retry_delay=0.5,
)
