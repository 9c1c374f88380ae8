"""cronbridge: reliable scheduled jobs for AWS Lambda.

Write a job as a plain function with a schedule::

    from cronbridge import job, JobContext

    @job(name="nightly-report", schedule="cron(0 2 * * ? *)", timeout=120)
    def nightly_report(ctx: JobContext) -> None:
        ctx.logger.info("running slot %s", ctx.slot)

and create the resources your jobs use on the embedded AWS with ``@local_resources`` (see
:mod:`cronbridge.local_resources`).

Everything imported here is pure (no AWS clients are created at import time).
"""

from cronbridge.core.context import JobContext
from cronbridge.core.errors import PermanentError, RetryableError
from cronbridge.core.jobs import job
from cronbridge.local_resources import local_resources

__all__ = ["JobContext", "PermanentError", "RetryableError", "job", "local_resources"]
