"""The demo app's stack: the registered jobs plus the options given as CDK context.

Context options (``cdk synth -c KEY=VALUE`` or ``cdk.json``), all optional:

==================================  ==========================================================
``cronbridge:app``                  resource name prefix (default: ``[tool.cronbridge]`` app)
``cronbridge:job_modules``          comma-separated modules defining the jobs
                                    (default: ``[tool.cronbridge]`` jobs, the demo's)
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
``cronbridge:destroy_on_delete``    ``true``: delete the tables, logs and demo bucket with the
                                    stack (dev)
``cronbridge:demo_sender``          the demo's SES sender identity (default
                                    ``noreply@cronbridge.example``)
``cronbridge:scheduler_for_all``    ``true``: every job on EventBridge Scheduler, not only the
                                    jobs whose settings need it (past 300 rules a bus)
==================================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cronbridge_synthetic
from aws_cdk import RemovalPolicy, Stack
from constructs import Construct
from demo_resources import DEMO_MODULE, DemoData

from cronbridge.cdk.alarms import DEFAULT_DURATION_ALARM_SECONDS, AlarmTopic
from cronbridge.cdk.scheduled_jobs import DEFAULT_JOB_STACKS, ScheduledJobs
from cronbridge.core.errors import PlanError
from cronbridge.core.plan import DEFAULT_MAX_RECEIVE_COUNT
from cronbridge.project import load_project
from cronbridge_examples.resources import DemoResources

ROOT = Path(__file__).resolve().parents[1]  # this repository: a cronbridge project itself
CONTEXT_PREFIX = "cronbridge:"
SYNTHETIC_MODULE = cronbridge_synthetic.__name__


class CronbridgeStack(Stack):
    """A stack holding :class:`ScheduledJobs` for the jobs of the configured job modules, and
    with the demo jobs, their resources and permissions (:class:`DemoData`).

    Attributes:
        jobs: the :class:`ScheduledJobs` construct.
        demo_data: the demo jobs' resources, or ``None`` when the demo jobs are not deployed.
        alarm_topic: the alarm topic construct, or ``None`` without ``cronbridge:alarm_email``.

    Raises:
        PlanError: a context value is malformed, or the plan breaks a rule.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        project = load_project(app=self._context("app", None),
                               job_modules=str(self._context("job_modules", "")).split(","),
                               start=ROOT)
        app, modules = project.app, list(project.job_modules)
        synthetic = self._int_context("synthetic_jobs", 0)
        registry = project.load_jobs()
        destroy = str(self._context("destroy_on_delete", "false")).lower() == "true"
        removal_policy = RemovalPolicy.DESTROY if destroy else RemovalPolicy.RETAIN
        # The demo jobs' own resources, when the demo jobs are deployed.
        self.demo_data = (DemoData(self, "Demo", app=app, removal_policy=removal_policy,
                                   sender=str(self._context("demo_sender", DemoResources.sender)))
                          if DEMO_MODULE in modules else None)
        environment = dict(self.demo_data.environment) if self.demo_data else {}
        if synthetic:
            cronbridge_synthetic.register(synthetic, registry)
            if SYNTHETIC_MODULE not in modules:
                modules.append(SYNTHETIC_MODULE)
            environment[cronbridge_synthetic.ENV_SYNTHETIC_JOBS] = str(synthetic)

        email = self._context("alarm_email", None)
        self.alarm_topic = (AlarmTopic(self, "Alarms", topic_name=f"{app}-alarms", email=email)
                            if email else None)
        grace = self._context("missed_slot_grace_seconds", None)
        self.jobs = ScheduledJobs(
            self, "Jobs", project_dir=ROOT, jobs=registry, job_modules=modules, app=app,
            max_receive_count=self._int_context("max_receive_count", DEFAULT_MAX_RECEIVE_COUNT),
            alarm_topic=self.alarm_topic.topic if self.alarm_topic else None,
            duration_alarm_seconds=self._int_context("duration_alarm_seconds",
                                                     DEFAULT_DURATION_ALARM_SECONDS),
            missed_slot_grace_seconds=(None if grace is None else
                                       self._int_context("missed_slot_grace_seconds", 0)),
            removal_policy=removal_policy,
            job_stacks=self._int_context("job_stacks", DEFAULT_JOB_STACKS),
            environment=environment,
            scheduler_for_all=str(self._context("scheduler_for_all", "false")).lower() == "true",
        )
        if self.demo_data:
            self.demo_data.grant(self.jobs)

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
