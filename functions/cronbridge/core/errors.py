"""Errors shared by the core, the adapters and the CLI."""


class CronbridgeError(Exception):
    """Base class for cronbridge's own errors."""


class JobDefinitionError(CronbridgeError, ValueError):
    """A job is defined with an invalid setting.

    The message names the job and the field, e.g.
    ``job 'log-purge': timeout must be 1-900 seconds (Lambda's maximum), got 1200``.
    """

    def __init__(self, job: str, field: str, reason: str) -> None:
        self.job = job
        self.field = field
        self.reason = reason
        super().__init__(f"job {job!r}: {field} {reason}")


class UnknownJobError(CronbridgeError, LookupError):
    """A job name that is not registered (or not deployed on the target)."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f"; known jobs: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"unknown job {name!r}{hint}")


class PlanError(CronbridgeError, ValueError):
    """The deployment plan breaks an AWS limit or a cronbridge safety rule."""


class PermanentError(CronbridgeError):
    """Raise from a job to fail the slot without retrying: it goes straight to the DLQ."""


class RetryableError(CronbridgeError):
    """Raise from a job to ask for a retry even if the job declares narrower retryable types."""


class BadMessageError(CronbridgeError, ValueError):
    """A queue message carries no usable job or slot; it goes to the DLQ with this reason."""


class LeaseLostError(CronbridgeError):
    """The run's lease was taken over by a newer attempt; this attempt must stop writing."""


class StoreBusyError(CronbridgeError):
    """The run table throttled or was unreachable after the SDK's retries: try later."""


class DeadlineExceeded(BaseException):
    """The invocation outlived its function timeout: Lambda would have killed it, so the
    attempt ends with nothing written (a ``BaseException``: no handler may catch it) and
    the next delivery records it ``TIMED_OUT``."""
