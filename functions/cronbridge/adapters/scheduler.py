"""EventBridge Scheduler schedules: read, write and switch them (boto3 ``scheduler``).

A job on Scheduler is switched on and off with its schedule's ``State``, as a job on a rule
is with the rule's. ``UpdateSchedule`` replaces every setting, so a state change re-sends
the schedule as read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from cronbridge.core.plan import EVENT_MAX_AGE_SECONDS

ENABLED = "ENABLED"
DISABLED = "DISABLED"
# What GetSchedule returns that UpdateSchedule accepts back.
_UPDATABLE = ("Description", "EndDate", "FlexibleTimeWindow", "GroupName", "KmsKeyArn", "Name",
              "ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "State",
              "Target", "ActionAfterCompletion")


# Scheduler's maximum retry attempts (RetryPolicy: 0-185), over the same 24 h as the rules':
# a slot is worth delivering late (the worker applies the job's starting deadline); what
# still fails lands in the DLQ.
RETRY_ATTEMPTS = 185


def target_request(*, queue_arn: str, dlq_arn: str, role_arn: str,
                   input_json: str) -> dict[str, Any]:
    """A schedule's SQS ``Target``: the job's queue, its DLQ, the longest retry policy."""
    return {"Arn": queue_arn, "RoleArn": role_arn, "Input": input_json,
            "RetryPolicy": {"MaximumRetryAttempts": RETRY_ATTEMPTS,
                            "MaximumEventAgeInSeconds": EVENT_MAX_AGE_SECONDS},
            "DeadLetterConfig": {"Arn": dlq_arn}}


class SchedulerSchedules:
    """Schedules on one target.

    Args:
        client: a boto3 ``scheduler`` client.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, group: str, name: str) -> dict[str, Any] | None:
        """The schedule as ``GetSchedule`` returns it, ``None`` when it does not exist.

        Raises:
            botocore.exceptions.ClientError: any other Scheduler error.
        """
        try:
            return self.client.get_schedule(GroupName=group, Name=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise

    def state(self, group: str, name: str) -> str | None:
        """``ENABLED`` or ``DISABLED``; ``None`` when the schedule does not exist."""
        found = self.get(group, name)
        return None if found is None else found["State"]

    def update(self, schedule: dict[str, Any], **changes: Any) -> None:
        """Re-send ``schedule`` (a ``GetSchedule`` answer) with ``changes`` applied; a
        ``None`` change removes that setting.

        Raises:
            botocore.exceptions.ClientError: e.g. ``ResourceNotFoundException``.
        """
        merged = {k: v for k, v in {**schedule, **changes}.items()
                  if k in _UPDATABLE and v is not None}
        self.client.update_schedule(**merged)

    def set_enabled(self, group: str, name: str, enabled: bool) -> bool:
        """Enable or disable the schedule (idempotent). ``False`` when it does not exist."""
        found = self.get(group, name)
        if found is None:
            return False
        self.update(found, State=ENABLED if enabled else DISABLED)
        return True

    def names(self, group: str) -> Iterator[str]:
        """The names of the schedules in ``group``, every page (100 a page)."""
        for page in self.client.get_paginator("list_schedules").paginate(GroupName=group):
            for summary in page["Schedules"]:
                yield summary["Name"]

    def ensure_group(self, group: str) -> None:
        """Create the schedule group unless it exists (looked up first: moto's
        CreateScheduleGroup replaces an existing group, schedules and all)."""
        try:
            self.client.get_schedule_group(Name=group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            self.client.create_schedule_group(Name=group)
