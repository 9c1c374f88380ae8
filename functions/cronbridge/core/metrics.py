"""Metric names shared by the worker (EMF) and the CDK alarms and dashboard.

Namespace ``cronbridge``; every metric has the dimensions ``service=cronbridge`` (added by
Powertools) and ``job=<job name>``.
"""

NAMESPACE = "cronbridge"
SERVICE = "cronbridge"
DIMENSION_JOB = "job"

RUN_SUCCEEDED = "RunSucceeded"          # Count
RUN_FAILED = "RunFailed"                # Count: an attempt failed and a retry is due
RUN_DEAD = "RunDead"                    # Count: out of attempts or permanent; in the DLQ
RUN_TIMED_OUT = "RunTimedOut"           # Count: a lost lease found by the next attempt
RUN_SKIPPED = "RunSkipped"              # Count, all reasons
SKIPPED_BY_REASON = {                   # Count, one metric per skip reason
    "overlap": "SkippedOverlap",
    "late": "SkippedLate",
    "paused": "SkippedPaused",
}
DUPLICATE_SUPPRESSED = "DuplicateSuppressed"  # Count
RUN_DURATION = "RunDuration"            # Milliseconds
START_LAG = "StartLag"                  # Seconds from the slot's scheduled time to start
ATTEMPTS = "Attempts"                   # Count: the attempt number of a finished run
CONSECUTIVE_FAILURES = "ConsecutiveFailures"  # Count: the job's current streak
AUTO_PAUSED = "AutoPaused"              # Count: the job paused itself (pause_after_failures)
MISSED_SLOTS = "MissedSlots"            # Count: due slots the auditor found with no run
BAD_MESSAGE = "BadMessage"              # Count: a message without a usable job or slot
