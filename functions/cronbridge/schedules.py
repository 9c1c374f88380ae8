"""Runtime schedules, one per key of a dynamic job (``@job(..., dynamic=True)``).

Application code creates, reads, updates, pauses, resumes and deletes them; each is an
EventBridge Scheduler schedule named by its key in the job's own schedule group
(``<app>-<job>``), targeting the job's queue through the job's Scheduler role, with the
same retry policy and DLQ as a job-level schedule. Runs are claimed per
``(job, key, slot)`` (slot id ``<time>#<key>``), so dedupe, retries, the DLQ, overlap,
history and backfill all work per key.

    from cronbridge import schedules

    schedules.create("customer-digest", "cust-42", "cron(0 8 * * ? *)",
                     timezone="America/New_York", payload={"email": "a@example.com"})
    schedules.pause("customer-digest", "cust-42")

The caller needs the rights :meth:`cronbridge.cdk.ScheduledJobs.grant_manage_schedules`
gives. A key, expression, zone or payload that is invalid is rejected before any AWS call.
A one-time ``at()`` schedule deletes itself after it fires (``ActionAfterCompletion``);
deleting a schedule keeps its runs in the run table.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from cronbridge.adapters.scheduler import (
    DISABLED,
    ENABLED,
    SchedulerSchedules,
    target_request,
)
from cronbridge.core.errors import CronbridgeError
from cronbridge.core.messages import scheduler_input
from cronbridge.core.plan import DEFAULT_APP, dynamic_group
from cronbridge.core.schedule import ScheduleExpressionError, parse_schedule
from cronbridge.core.slots import check_key

ENV_APP = "CRONBRIDGE_APP"
# The target input carries the payload into every run's message; a small cap keeps messages
# and run records small (SQS allows far more).
MAX_PAYLOAD_BYTES = 8192
_ISO = "%Y-%m-%dT%H:%M:%SZ"


class ScheduleError(CronbridgeError, ValueError):
    """A key, expression, zone, payload or date is invalid; nothing was created or changed."""


class ScheduleNotFoundError(CronbridgeError, LookupError):
    """The job has no schedule for that key."""


class ScheduleExistsError(CronbridgeError, ValueError):
    """The job already has a schedule for that key (use :func:`update`)."""


@dataclass(frozen=True)
class KeySchedule:
    """One key's schedule as Scheduler holds it.

    Attributes:
        expression: ``cron(...)``, ``rate(...)`` or ``at(...)``.
        timezone: the IANA zone (``None`` = UTC).
        payload: merged over the job's payload in every run of this key.
        start / end: aware UTC datetimes bounding the schedule, or ``None``.
        enabled: ``False`` while paused.
    """

    job: str
    key: str
    expression: str
    timezone: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "key": self.key, "expression": self.expression,
                "timezone": self.timezone, "payload": dict(self.payload),
                "start": _iso(self.start), "end": _iso(self.end),
                "state": ENABLED if self.enabled else DISABLED}


class Schedules:
    """The runtime schedules of one dynamic job.

    Args:
        job: the job name.
        app: the resource-name prefix (default ``CRONBRIDGE_APP`` or ``cronbridge``).
        session: a boto3 session (default: the standard chain, ``AWS_ENDPOINT_URL``
            included).
    """

    def __init__(self, job: str, *, app: str | None = None, session: Any = None) -> None:
        import boto3

        self.job = job
        self.app = app or os.environ.get(ENV_APP) or DEFAULT_APP
        self.group = dynamic_group(self.app, job)
        self.session = session or boto3.Session()
        self.schedules = SchedulerSchedules(self.session.client("scheduler"))

    def create(self, key: str, expression: str, *, timezone: str | None = None,
               payload: Mapping[str, Any] | None = None, start: datetime | None = None,
               end: datetime | None = None, enabled: bool = True) -> KeySchedule:
        """Create ``key``'s schedule.

        Raises:
            ScheduleError: an invalid key, expression, zone, payload or dates.
            ScheduleExistsError: the key already has a schedule.
            botocore.exceptions.ClientError: any other AWS error (e.g. access denied).
        """
        wanted = _validated(KeySchedule(self.job, key, expression, timezone,
                                        dict(payload or {}), start, end, enabled))
        try:
            self.schedules.client.create_schedule(**self._request(wanted))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConflictException":
                raise ScheduleExistsError(f"job {self.job!r} already has a schedule for key "
                                          f"{key!r}") from None
            raise
        return wanted

    def get(self, key: str) -> KeySchedule:
        """``key``'s schedule.

        Raises:
            ScheduleNotFoundError: none for that key.
        """
        found = self.schedules.get(self.group, _key(key))
        if found is None:
            raise ScheduleNotFoundError(f"job {self.job!r} has no schedule for key {key!r}")
        return self._from_aws(found)

    def list(self) -> Iterator[KeySchedule]:
        """Every key's schedule (ListSchedules pages of 100, then one GetSchedule each)."""
        for name in self.schedules.names(self.group):
            found = self.schedules.get(self.group, name)
            if found is not None:  # deleted meanwhile (or a one-time schedule completed)
                yield self._from_aws(found)

    def update(self, key: str, **changes: Any) -> KeySchedule:
        """Change ``key``'s schedule: any of ``expression``, ``timezone``, ``payload``,
        ``start``, ``end``, ``enabled`` (``None`` clears ``timezone``, ``start``, ``end``).

        Raises:
            ScheduleError: an unknown field or an invalid value.
            ScheduleNotFoundError: none for that key.
        """
        unknown = set(changes) - {"expression", "timezone", "payload", "start", "end",
                                  "enabled"}
        if unknown:
            raise ScheduleError(f"cannot change {', '.join(sorted(unknown))}")
        current = self.get(key)
        wanted = _validated(KeySchedule(**{**current.__dict__, **changes}))
        self.schedules.client.update_schedule(**self._request(wanted, create=False))
        return wanted

    def pause(self, key: str) -> KeySchedule:
        """Stop ``key``'s schedule firing (``State: DISABLED``); its runs in flight finish."""
        return self.update(key, enabled=False)

    def resume(self, key: str) -> KeySchedule:
        """Let ``key``'s schedule fire again (slots passed while paused are not caught up)."""
        return self.update(key, enabled=True)

    def delete(self, key: str) -> None:
        """Delete ``key``'s schedule; its run history stays in the run table.

        Raises:
            ScheduleNotFoundError: none for that key.
        """
        try:
            self.schedules.client.delete_schedule(GroupName=self.group, Name=_key(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                raise ScheduleNotFoundError(f"job {self.job!r} has no schedule for key "
                                            f"{key!r}") from None
            raise

    def _request(self, wanted: KeySchedule, *, create: bool = True) -> dict[str, Any]:
        identity = self.session.client("sts").get_caller_identity()
        partition, account = identity["Arn"].split(":")[1], identity["Account"]
        region = self.session.region_name
        queue = f"{self.app}-{self.job}"

        def sqs_arn(name: str) -> str:
            return f"arn:{partition}:sqs:{region}:{account}:{name}"

        request: dict[str, Any] = {
            "GroupName": self.group, "Name": wanted.key,
            "ScheduleExpression": wanted.expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": ENABLED if wanted.enabled else DISABLED,
            "Target": target_request(
                queue_arn=sqs_arn(queue), dlq_arn=sqs_arn(f"{queue}-dlq"),
                role_arn=f"arn:{partition}:iam::{account}:role/{queue}-scheduler",
                input_json=scheduler_input(self.job, wanted.key, wanted.payload)),
        }
        if wanted.expression.startswith("at("):
            request["ActionAfterCompletion"] = "DELETE"
        optional = {"ScheduleExpressionTimezone": wanted.timezone,
                    "StartDate": wanted.start, "EndDate": wanted.end}
        request.update({k: v for k, v in optional.items() if v is not None})
        return request

    def _from_aws(self, found: dict[str, Any]) -> KeySchedule:
        body = json.loads(found["Target"].get("Input") or "{}")
        zone = found.get("ScheduleExpressionTimezone")
        return KeySchedule(
            job=self.job, key=found["Name"], expression=found["ScheduleExpression"],
            timezone=None if zone in (None, "UTC") else zone, payload=body.get("payload", {}),
            start=_utc(found.get("StartDate")), end=_utc(found.get("EndDate")),
            enabled=found["State"] == ENABLED)


def _key(key: str) -> str:
    try:
        return check_key(key)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None


def _validated(wanted: KeySchedule) -> KeySchedule:
    _key(wanted.key)
    try:
        parse_schedule(wanted.expression, timezone=wanted.timezone, scheduler=True)
    except ScheduleExpressionError as exc:
        raise ScheduleError(f"key {wanted.key!r}: {exc}") from None
    if not isinstance(wanted.payload, Mapping):
        raise ScheduleError(f"key {wanted.key!r}: payload must be a JSON object")
    try:
        size = len(json.dumps(dict(wanted.payload)).encode())
    except (TypeError, ValueError) as exc:
        raise ScheduleError(f"key {wanted.key!r}: payload is not JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise ScheduleError(f"key {wanted.key!r}: payload is {size} bytes, over the "
                            f"{MAX_PAYLOAD_BYTES}-byte limit")
    for name, when in (("start", wanted.start), ("end", wanted.end)):
        if when is not None and (not isinstance(when, datetime) or when.utcoffset() is None):
            raise ScheduleError(f"key {wanted.key!r}: {name} must be a timezone-aware datetime")
    if wanted.start and wanted.end and wanted.start >= wanted.end:
        raise ScheduleError(f"key {wanted.key!r}: end must be after start")
    return wanted


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).strftime(_ISO)


def _utc(when: datetime | None) -> datetime | None:
    return None if when is None else when.astimezone(UTC)


def create(job: str, key: str, expression: str, **settings: Any) -> KeySchedule:
    """``Schedules(job).create(key, expression, **settings)`` (``app=``/``session=`` go to
    :class:`Schedules`)."""
    return _for(job, settings).create(key, expression, **settings)


def get(job: str, key: str, **target: Any) -> KeySchedule:
    """``Schedules(job).get(key)``."""
    return Schedules(job, **target).get(key)


def list(job: str, **target: Any) -> builtins.list[KeySchedule]:
    """Every key's schedule of ``job``: ``list(Schedules(job).list())``."""
    return builtins.list(Schedules(job, **target).list())


def update(job: str, key: str, **changes: Any) -> KeySchedule:
    """``Schedules(job).update(key, **changes)``."""
    return _for(job, changes).update(key, **changes)


def pause(job: str, key: str, **target: Any) -> KeySchedule:
    """``Schedules(job).pause(key)``."""
    return Schedules(job, **target).pause(key)


def resume(job: str, key: str, **target: Any) -> KeySchedule:
    """``Schedules(job).resume(key)``."""
    return Schedules(job, **target).resume(key)


def delete(job: str, key: str, **target: Any) -> None:
    """``Schedules(job).delete(key)``."""
    Schedules(job, **target).delete(key)


def _for(job: str, settings: dict[str, Any]) -> Schedules:
    return Schedules(job, app=settings.pop("app", None), session=settings.pop("session", None))
