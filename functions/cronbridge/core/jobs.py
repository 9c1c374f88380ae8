"""Job specs, the ``@job`` decorator and the registry.

A job is validated when it is defined, so a bad schedule or setting fails at import time
(and so at ``cdk synth`` and ``cronbridge local``), never at 02:00 in production.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from cronbridge.core.errors import JobDefinitionError, UnknownJobError
from cronbridge.core.schedule import Schedule, ScheduleExpressionError, parse_schedule

OverlapPolicy = Literal["skip", "allow", "buffer"]
OVERLAP_POLICIES: tuple[str, ...] = ("skip", "allow", "buffer")
CatchupPolicy = Literal["none", "latest", "all"]
CATCHUP_POLICIES: tuple[str, ...] = ("none", "latest", "all")

# Lambda's hard limit: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_MAX_TIMEOUT_SECONDS = 900
# Names end up in SQS queue (80 chars), rule (64) and function (64) names with a prefix and
# a "-dlq" suffix, so 40 keeps every derived name inside AWS's limits.
JOB_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")


@dataclass(frozen=True)
class JobSpec:
    """One job: a function and the policies that run it.

    Attributes:
        name: lowercase letters, digits and hyphens, 2-40 characters.
        schedule: an EventBridge schedule expression, ``cron(...)`` or ``rate(...)`` (UTC),
            or with ``timezone`` set an EventBridge Scheduler expression.
        func: the job body, called with a :class:`~cronbridge.core.context.JobContext` as
            its one positional argument (checked with its signature when defined).
        timeout_seconds: the function timeout, 1-900 seconds.
        max_attempts: attempts per slot before it is DEAD (1-20).
        payload: static JSON-serialisable payload given to every run.
        overlap: ``skip`` (default), ``allow`` or ``buffer``.
        starting_deadline_seconds: a slot that cannot start within this many seconds of its
            scheduled time is SKIPPED as ``late``; ``None`` = no deadline.
        retryable: exception types that are retried; anything else is permanent. Defaults to
            every ``Exception``.
        permanent: exception types that go straight to the DLQ (checked before ``retryable``).
        retention_days: how long run records are kept (DynamoDB TTL).
        backoff_base_seconds / backoff_cap_seconds: exponential backoff with full jitter.
        timezone: an IANA zone; the job then runs on EventBridge Scheduler, with its DST
            rules (see docs/schedules.md).
        flexible_window_minutes: Scheduler may start each slot up to this many minutes
            (1-1440) after its time; the slot id stays the nominal time.
        start_date / end_date: aware datetimes bounding the Scheduler schedule.
        scheduler: ``None`` (default) puts the job on Scheduler when a setting needs it
            (``timezone``, ``at()``, a flexible window, start/end dates) and on an
            EventBridge rule otherwise; ``True`` always on Scheduler; ``False`` always on a
            rule (the plan refuses a setting only Scheduler has).
        dynamic: the job runs only on schedules created at runtime, one per key
            (``cronbridge.schedules``); ``schedule`` and ``timezone`` are the defaults for a
            new key's schedule, and no job-level schedule is deployed.
        pause_after_failures: pause the job (as ``cronbridge disable`` does) once this many
            slots in a row, in slot order, ended DEAD; ``None`` (default) never.
        catchup: what the auditor does with due slots that never got a run: ``none``
            (default: record them MISSED only), ``latest`` (also run the newest one as a
            backfill) or ``all`` (run the newest ``catchup_max`` of them).
        catchup_max: the most missed slots one audit sends through the pipeline (1-100).
    """

    name: str
    schedule: str
    func: Callable[..., Any]
    description: str = ""
    timeout_seconds: int = 60
    max_attempts: int = 3
    payload: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    overlap: OverlapPolicy = "skip"
    starting_deadline_seconds: int | None = None
    retryable: tuple[type[BaseException], ...] = (Exception,)
    permanent: tuple[type[BaseException], ...] = ()
    retention_days: int = 30
    memory_mb: int = 256
    batch_size: int = 1
    max_concurrency: int = 2
    timezone: str | None = None
    backoff_base_seconds: int = 10
    backoff_cap_seconds: int = 900
    flexible_window_minutes: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    scheduler: bool | None = None
    dynamic: bool = False
    pause_after_failures: int | None = None
    catchup: CatchupPolicy = "none"
    catchup_max: int = 10
    parsed_schedule: Schedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fail = lambda fld, reason: JobDefinitionError(self.name, fld, reason)  # noqa: E731
        if not isinstance(self.name, str) or not JOB_NAME_PATTERN.match(self.name):
            raise JobDefinitionError(
                str(self.name), "name",
                "must be 2-40 lowercase letters, digits or hyphens, starting with a letter",
            )
        try:
            # Every Scheduler form parses here; the plan decides whether the job's settings
            # fit the resource it deploys to (an at() on a rule fails there, naming the job).
            parsed = parse_schedule(self.schedule, timezone=self.timezone, scheduler=True)
        except ScheduleExpressionError as exc:
            raise fail("schedule", f"is invalid: {exc}") from exc
        object.__setattr__(self, "parsed_schedule", parsed)
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))
        checks: list[tuple[bool, str, str]] = [
            (callable(self.func), "func", "must be callable"),
            (1 <= self.timeout_seconds <= LAMBDA_MAX_TIMEOUT_SECONDS, "timeout",
             f"must be 1-{LAMBDA_MAX_TIMEOUT_SECONDS} seconds (Lambda's maximum), "
             f"got {self.timeout_seconds}"),
            (1 <= self.max_attempts <= 20, "max_attempts", f"must be 1-20, got {self.max_attempts}"),
            (self.overlap in OVERLAP_POLICIES, "overlap",
             f"must be one of {', '.join(OVERLAP_POLICIES)}, got {self.overlap!r}"),
            (self.starting_deadline_seconds is None or self.starting_deadline_seconds > 0,
             "starting_deadline_seconds", "must be positive or None"),
            (1 <= self.retention_days <= 3650, "retention_days", "must be 1-3650 days"),
            (128 <= self.memory_mb <= 10240, "memory_mb", "must be 128-10240 MB"),
            (1 <= self.batch_size <= 10, "batch_size", "must be 1-10 messages"),
            (2 <= self.max_concurrency <= 1000, "max_concurrency",
             "must be 2-1000 (the SQS event source's MaximumConcurrency range)"),
            (0 < self.backoff_base_seconds <= self.backoff_cap_seconds <= 43200, "backoff",
             "needs 0 < base <= cap <= 43200 seconds (SQS's visibility maximum)"),
            (self.flexible_window_minutes is None or 1 <= self.flexible_window_minutes <= 1440,
             "flexible_window_minutes", "must be 1-1440 minutes (EventBridge Scheduler's range)"),
            (all(d is None or (isinstance(d, datetime) and d.utcoffset() is not None)
                 for d in (self.start_date, self.end_date)), "start_date/end_date",
             "must be timezone-aware datetimes"),
            (self.start_date is None or self.end_date is None or self.start_date < self.end_date,
             "end_date", "must be after start_date"),
            (self.pause_after_failures is None or 1 <= self.pause_after_failures <= 1000,
             "pause_after_failures", f"must be 1-1000 or None, got {self.pause_after_failures}"),
            (self.catchup in CATCHUP_POLICIES, "catchup",
             f"must be one of {', '.join(CATCHUP_POLICIES)}, got {self.catchup!r}"),
            (1 <= self.catchup_max <= 100, "catchup_max", f"must be 1-100, got {self.catchup_max}"),
        ]
        for ok, fld, reason in checks:
            if not ok:
                raise fail(fld, reason)
        problem = _context_problem(self.func)
        if problem:
            raise fail("func", f"{definition_site(self.func)} must take the job context as its "
                               f"one argument, but {problem}")

    def is_permanent(self, exc: BaseException) -> bool:
        """True when ``exc`` must not be retried (``PermanentError``, a declared permanent
        type, or a type outside ``retryable``)."""
        from cronbridge.core.errors import PermanentError, RetryableError

        if isinstance(exc, RetryableError):
            return False
        if isinstance(exc, (PermanentError, *self.permanent)):
            return True
        return not isinstance(exc, self.retryable)


class JobRegistry:
    """Jobs by name, in definition order."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def add(self, spec: JobSpec) -> JobSpec:
        """Register ``spec``.

        Raises:
            JobDefinitionError: another function already has that name (the message gives
                both definitions as ``module:qualname (file:line)``).
        """
        existing = self._jobs.get(spec.name)
        if existing is not None and existing.func is not spec.func:
            raise JobDefinitionError(
                spec.name, "name", f"is already used by {definition_site(existing.func)}; "
                                   f"this one is {definition_site(spec.func)}")
        self._jobs[spec.name] = spec
        return spec

    def get(self, name: str) -> JobSpec:
        """The job called ``name``.

        Raises:
            UnknownJobError: no such job.
        """
        try:
            return self._jobs[name]
        except KeyError:
            raise UnknownJobError(name, list(self._jobs)) from None

    def names(self) -> list[str]:
        return list(self._jobs)

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, name: object) -> bool:
        return name in self._jobs


_DEFAULT = JobRegistry()


def default_registry() -> JobRegistry:
    """The process-wide registry the ``@job`` decorator fills."""
    return _DEFAULT


def job(
    *, name: str, schedule: str, registry: JobRegistry | None = None, timeout: int = 60,
    description: str | None = None, **settings: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a scheduled job.

    Args:
        name: the job name (see :class:`JobSpec`).
        schedule: ``cron(...)``/``rate(...)`` in UTC (EventBridge rules, see
            https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html),
            or with ``timezone=`` local time, or ``at(...)`` (EventBridge Scheduler).
        timeout: the function timeout in seconds.
        description: one line for listings; defaults to the docstring's first line.
        registry: where to register (default: the process-wide registry).
        **settings: any other :class:`JobSpec` field (``max_attempts``, ``payload``, ...).

    Returns the function unchanged, with the spec at ``func.cronbridge_job``.

    Raises:
        JobDefinitionError: at definition time, naming the bad field; an unknown setting is
            named with the closest known one.
    """
    for key in settings:
        if key not in _SETTINGS:
            close = difflib.get_close_matches(key, _DECORATOR_ARGS, n=1)
            hint = (f"did you mean {close[0]!r}?" if close
                    else f"the settings are {', '.join(_DECORATOR_ARGS)}")
            raise JobDefinitionError(name, f"setting {key!r}", f"is not a @job setting; {hint}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = JobSpec(name=name, schedule=schedule, func=func, timeout_seconds=timeout,
                       description=description or _first_line(func.__doc__), **settings)
        (registry if registry is not None else _DEFAULT).add(spec)
        func.cronbridge_job = spec  # type: ignore[attr-defined]
        return func

    return register


# @job takes these as keywords of its own; the other JobSpec fields pass through **settings.
_OWN_ARGS = ("name", "schedule", "registry", "timeout", "description")
_SETTINGS = frozenset(f.name for f in fields(JobSpec) if f.init) - {
    "name", "schedule", "func", "timeout_seconds", "description"}
_DECORATOR_ARGS = (*_OWN_ARGS, *sorted(_SETTINGS))


def definition_site(func: Callable[..., Any]) -> str:
    """Where ``func`` is defined, for messages: ``module:qualname (file:line)``, or just
    ``module:qualname`` for a callable without Python source (a builtin, a partial)."""
    name = (f"{getattr(func, '__module__', None) or '?'}:"
            f"{getattr(func, '__qualname__', None) or type(func).__qualname__}")
    code = getattr(inspect.unwrap(func), "__code__", None)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code else name


def _context_problem(func: Callable[..., Any]) -> str | None:
    """Why ``func(context)`` cannot be called, or ``None`` if it can (or cannot be told:
    some builtins have no signature)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(None)
    except TypeError as exc:
        return f"its signature is {signature}: {exc}"
    return None


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n", 1)[0]


def load_job_modules(modules: Iterable[str]) -> JobRegistry:
    """Import the modules that define jobs and return the process-wide registry.

    Raises:
        ValueError: no modules given (there is no default: a project names its own).
        ModuleNotFoundError: a module cannot be imported.
    """
    modules = list(modules)
    if not modules:
        raise ValueError("no job modules given: set CRONBRIDGE_JOB_MODULES (the CDK "
                         "construct sets it on every function)")
    for module in modules:
        importlib.import_module(module)
    return _DEFAULT
