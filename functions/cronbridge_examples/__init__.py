"""Demo jobs for cronbridge, each doing real work on AWS (or the embedded moto).

Importing this package registers the jobs: ``log-purge``, ``daily-aggregation``,
``cache-refresh`` (fails on purpose on some slots), ``email-outbox``, ``health-report``,
``regional-export`` (03:00 Europe/Berlin, on EventBridge Scheduler) and ``customer-digest``
(08:00 in each customer's zone, one runtime schedule per customer).
Resource names come from :class:`~cronbridge_examples.resources.DemoResources`;
:func:`cronbridge_examples.seed.seed_demo`, a ``@local_resources`` hook, creates the
resources and their data on the embedded AWS, and
:func:`cronbridge_examples.customer_digest.create_schedules`, another, the demo customers'
digest schedules.
"""

from cronbridge_examples import (  # noqa: F401  (imported to register the jobs)
    cache_refresh,
    customer_digest,
    daily_aggregation,
    email_outbox,
    health_report,
    log_purge,
    regional_export,
    seed,
)
