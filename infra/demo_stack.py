"""The demo app's stack: the registered jobs plus the options given as CDK context.

Context options (``cdk synth -c KEY=VALUE`` or ``cdk.json``), all optional:

==================================  ==========================================================
``cronbridge:app``                  resource name prefix (default ``cronbridge``)
``cronbridge:job_modules``          comma-separated modules defining the jobs
                                    (default ``cronbridge_examples``)
``cronbridge:synthetic_jobs``       add N synthetic ``rate(1 hour)`` jobs (scale tests)
``cronbridge:alarm_email``          create an encrypted SNS topic for the alarms with this
                                    email subscribed
``cronbridge:duration_alarm_seconds``  a run longer than this raises the duration alarm
                                    (default 300)
``cronbridge:missed_slot_grace_seconds``  how long past its longest schedule gap a job may go
                                    without a settled slot before the missed-slot alarm
                                    fires (default 15 minutes plus the job's retry budget)
``cronbridge:max_receive_count``    the job queues' redrive threshold (default 10, minimum 5)
``cronbridge:job_stacks``           hash buckets (nested stacks) for jobs (default 64)
``cronbridge:destroy_on_delete``    ``true``: delete the table and logs with the stack (dev)
``cronbridge:scheduler_for_all``    ``true``: every job on EventBridge Scheduler, not only the
                                    jobs whose settings need it (past 300 rules a bus)
==================================  ==========================================================
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from constructs import Construct

import cronbridge_synthetic
from cronbridge.core.errors import PlanError
from cronbridge.core.jobs import JobRegistry, load_job_modules
from cronbridge.core.plan import DEFAULT_APP, DEFAULT_MAX_RECEIVE_COUNT
from cronbridge.cdk.alarms import DEFAULT_DURATION_ALARM_SECONDS, AlarmTopic
from cronbridge.cdk.scheduled_jobs import DEFAULT_JOB_STACKS, ScheduledJobs

CONTEXT_PREFIX = "cronbridge:"
SYNTHETIC_MODULE = cronbridge_synthetic.__name__


class CronbridgeStack(Stack):
    """A stack holding :class:`ScheduledJobs` for the jobs of the configured job modules.

    Attributes:
        jobs: the :class:`ScheduledJobs` construct.
        alarm_topic: the alarm topic construct, or ``None`` without ``cronbridge:alarm_email``.

    Raises:
        PlanError: a context value is malformed, or the plan breaks a rule.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        app = str(self._context("app", DEFAULT_APP))
        modules = [m.strip() for m in str(self._context("job_modules", "cronbridge_examples"))
                   .split(",") if m.strip()]
        synthetic = self._int_context("synthetic_jobs", 0)
        registry = JobRegistry()
        # Only the jobs defined in the job modules: the process-wide registry may also hold
        # jobs registered by other code in the same process (tests, notebooks).
        for spec in load_job_modules(modules):
            if any(spec.func.__module__ == m or spec.func.__module__.startswith(f"{m}.")
                   for m in modules):
                registry.add(spec)
        environment = {}
        if synthetic:
            cronbridge_synthetic.register(synthetic, registry)
            if SYNTHETIC_MODULE not in modules:
                modules.append(SYNTHETIC_MODULE)
            environment[cronbridge_synthetic.ENV_SYNTHETIC_JOBS] = str(synthetic)

        email = self._context("alarm_email", None)
        self.alarm_topic = (AlarmTopic(self, "Alarms", topic_name=f"{app}-alarms", email=email)
                            if email else None)
        destroy = str(self._context("destroy_on_delete", "false")).lower() == "true"
        grace = self._context("missed_slot_grace_seconds", None)
        self.jobs = ScheduledJobs(
            self, "Jobs", jobs=registry, job_modules=modules, app=app,
            max_receive_count=self._int_context("max_receive_count", DEFAULT_MAX_RECEIVE_COUNT),
            alarm_topic=self.alarm_topic.topic if self.alarm_topic else None,
            duration_alarm_seconds=self._int_context("duration_alarm_seconds",
                                                     DEFAULT_DURATION_ALARM_SECONDS),
            missed_slot_grace_seconds=(None if grace is None else
                                       self._int_context("missed_slot_grace_seconds", 0)),
            removal_policy=RemovalPolicy.DESTROY if destroy else RemovalPolicy.RETAIN,
            job_stacks=self._int_context("job_stacks", DEFAULT_JOB_STACKS),
            environment=environment,
            scheduler_for_all=str(self._context("scheduler_for_all", "false")).lower() == "true",
        )

    def _context(self, key: str, default: Any) -> Any:
        value = self.node.try_get_context(CONTEXT_PREFIX + key)
        return default if value is None else value

    def _int_context(self, key: str, default: int) -> int:
        value = self._context(key, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise PlanError(f"context {CONTEXT_PREFIX}{key} must be an integer, "
                            f"got {value!r}") from None
