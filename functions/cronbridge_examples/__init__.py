"""Demo jobs for cronbridge, each doing real work on AWS (or the embedded moto).

Importing this package registers the jobs: ``log-purge``, ``daily-aggregation``,
``cache-refresh`` (fails on purpose on some slots), ``email-outbox``, ``health-report``,
``regional-export`` (03:00 Europe/Berlin, on EventBridge Scheduler) and ``customer-digest``
(08:00 in each customer's zone, one runtime schedule per customer).
Resource names come from :class:`~cronbridge_examples.resources.DemoResources`;
:func:`local_setup` creates the resources, their data and the customers' schedules.
"""

from datetime import datetime

from cronbridge_examples import (  # noqa: F401  (imported to register the jobs)
    cache_refresh,
    customer_digest,
    daily_aggregation,
    email_outbox,
    health_report,
    log_purge,
    regional_export,
)
from cronbridge_examples.seed import seed_demo


def local_setup(start: datetime, end: datetime) -> None:
    """``cronbridge local`` calls this: seed the demo data for ``[start, end)`` (aware UTC)
    and create the demo customers' digest schedules."""
    seed_demo(start, end)
    customer_digest.create_schedules()
