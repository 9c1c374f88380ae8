"""Demo jobs for cronbridge, each doing real work on AWS (or the embedded moto).

Importing this package registers the jobs: ``log-purge``, ``daily-aggregation``,
``cache-refresh`` (fails on purpose on some slots), ``email-outbox`` and ``health-report``.
Resource names come from :class:`~cronbridge_examples.resources.DemoResources`;
:func:`cronbridge_examples.seed.seed_demo`, a ``@local_resources`` hook, creates the
resources and their data on the embedded AWS.
"""

from cronbridge_examples import (  # noqa: F401  (imported to register the jobs)
    cache_refresh,
    daily_aggregation,
    email_outbox,
    health_report,
    log_purge,
    seed,
)
