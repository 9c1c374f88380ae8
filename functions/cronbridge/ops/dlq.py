"""A job's dead letters: list them, and redrive them to its queue.

A redriven dead letter keeps its message attributes, among them the dead token, so the
worker runs its DEAD slot once more (DESIGN.md §3 "redrive"); a copy of a slot that has
already succeeded is acknowledged without running, so such letters are left out (and left in
the DLQ, reported) unless forced.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from cronbridge.adapters.dlq import (
    REDRIVE_HOLD_SECONDS,
    DeadLetter,
    MoveReport,
    move_all,
    peek,
    receive_all,
    release,
    start_move_task,
)
from cronbridge.adapters.sqs import string_attributes
from cronbridge.core.errors import BadMessageError
from cronbridge.core.jobs import JobSpec
from cronbridge.core.messages import parse_body
from cronbridge.core.plan import JobPlan
from cronbridge.core.runstate import Status
from cronbridge.ops.backend import Backend
from cronbridge.service import (
    ATTR_ATTEMPTS,
    ATTR_ERROR_MESSAGE,
    ATTR_ERROR_TYPE,
    ATTR_JOB,
    ATTR_SLOT,
    RETENTION_PASSED,
    redrive_attributes,
)

# What EventBridge puts on an event it could not deliver to the queue.
EVENTBRIDGE_ERROR_CODE = "ERROR_CODE"
EVENTBRIDGE_ERROR_MESSAGE = "ERROR_MESSAGE"
NO_ATTRIBUTES = ("no cronbridge attributes: SQS moved it after maxReceiveCount receives "
                 "(the worker crashed or timed out on it)")


def letter_row(backend: Backend, job: JobPlan, letter: DeadLetter, now: float) -> dict[str, Any]:
    """One dead letter as ``message_id``, ``job``, ``slot``, ``error_type``,
    ``error_message``, ``attempts`` and ``age_seconds``.

    The slot comes from the ``cronbridge-slot`` attribute or, for a letter SQS or
    EventBridge moved (no cronbridge attributes), from the body as the worker would read it;
    ``None`` when the body is unreadable.
    """
    attrs = letter.attributes
    error_type = attrs.get(ATTR_ERROR_TYPE) or attrs.get(EVENTBRIDGE_ERROR_CODE)
    return {
        "message_id": letter.message_id,
        "job": attrs.get(ATTR_JOB) or job.job,
        "slot": attrs.get(ATTR_SLOT) or _slot_from_body(backend, letter.body),
        "error_type": error_type,
        "error_message": (attrs.get(ATTR_ERROR_MESSAGE) or attrs.get(EVENTBRIDGE_ERROR_MESSAGE)
                          or (None if error_type else NO_ATTRIBUTES)),
        "attempts": int(attrs[ATTR_ATTEMPTS]) if ATTR_ATTEMPTS in attrs else None,
        "age_seconds": int(now - letter.sent_at) if letter.sent_at else None,
    }


def _slot_from_body(backend: Backend, body: str) -> str | None:
    def job_for_rule(rule: str) -> JobSpec | None:
        job_plan = backend.plan.job_for_rule(rule)
        return backend.registry.get(job_plan.job) if job_plan else None

    try:
        return parse_body(body, job_for_rule=job_for_rule, get_job=backend.registry.get).slot
    except BadMessageError:
        return None


def dead_letters(backend: Backend, job: str, *, now: datetime) -> list[dict[str, Any]]:
    """``job``'s dead letters as :func:`letter_row` gives them, without consuming any.

    Raises:
        UnknownJobError, NotDeployedError.
    """
    job_plan = backend.job(job)
    queues = backend.queues(job_plan)
    return [letter_row(backend, job_plan, letter, now.timestamp())
            for letter in peek(backend.sqs, queues.dlq_url)]


class _Decider:
    """Why a dead letter is left out of a redrive (``None``: move it), and the letter to
    move (with its dead token recovered from a DEAD run when it has none); run reads
    memoised."""

    def __init__(self, backend: Backend, job: JobPlan, force: bool, now: float) -> None:
        self.backend, self.job, self.force, self.now = backend, job, force, now
        self._runs: dict[str, tuple[str | None, str | None]] = {}

    def _run(self, slot: str) -> tuple[str | None, str | None]:
        if slot not in self._runs:
            run = self.backend.store.get_run(self.job.job, slot, now=self.now)
            self._runs[slot] = (run.status, run.dead_token) if run else (None, None)
        return self._runs[slot]

    def reason(self, row: dict[str, Any]) -> str | None:
        if self.force:
            return None
        if row["error_type"] == BadMessageError.__name__:
            return "malformed message: it would come straight back (--force moves it)"
        if row["error_type"] == RETENTION_PASSED:
            return ("past the job's retention: the worker refuses it, its run record may have "
                    "expired (--force moves it)")
        slot = row["slot"]
        if slot is None:
            return None
        if self._run(slot)[0] == Status.SUCCEEDED.value:
            return ("slot already SUCCEEDED; left in the DLQ (--force moves it: the worker "
                    "acknowledges it without running)")
        return None

    def recovered(self, letter: DeadLetter, row: dict[str, Any]) -> DeadLetter | None:
        """``letter`` carrying its DEAD run's dead token, if it had none (SQS moved it
        after maxReceiveCount), else ``None``."""
        if row["slot"] is None:
            return None
        status, token = self._run(row["slot"])
        attributes = redrive_attributes(letter.attributes, job=self.job.job, slot=row["slot"],
                                        run_status=status, run_dead_token=token)
        added = {k: v for k, v in attributes.items() if k not in letter.attributes}
        if not added:
            return None
        return dataclasses.replace(letter, attributes=attributes, message_attributes={
            **letter.message_attributes, **string_attributes(added)})


RECOVERED_NOTE = ("{n} dead letter(s) had no dead token (SQS moved them after maxReceiveCount: "
                  "the worker died between the DEAD write and its own send); their DEAD runs' "
                  "tokens were put on the copies, so each slot runs once more")


def redrive(backend: Backend, job: str, *, now: datetime, dry_run: bool = False,
            force: bool = False) -> dict[str, Any]:
    """Move ``job``'s dead letters back to its queue; the worker runs each DEAD slot once
    more.

    Uses an SQS message move task when every letter moves and the target supports it;
    otherwise moves message by message (send, confirm, delete), stopping at the first
    failure with that message and the rest still in the DLQ. Letters of slots that already
    SUCCEEDED, and malformed messages, are left in the DLQ unless ``force``.

    Returns ``job``, ``dry_run``, ``method`` (``message-move-task``, ``send-delete`` or
    ``None``), ``task_handle``, ``note``, ``moved``, ``left_out`` (each with its
    ``reason``), ``failed`` (the letter with ``stage`` and ``cause``, or ``None``),
    ``not_attempted``, ``recovered_dead_tokens`` (letters SQS moved without a dead token
    that got their DEAD run's, see :data:`RECOVERED_NOTE`) and, for a dry run,
    ``would_move``; letters as :func:`letter_row`.

    Raises:
        UnknownJobError, NotDeployedError.
    """
    job_plan = backend.job(job)
    queues = backend.queues(job_plan)
    sqs = backend.sqs
    stamp = now.timestamp()
    decider = _Decider(backend, job_plan, force, stamp)

    def row(letter: DeadLetter) -> dict[str, Any]:
        return letter_row(backend, job_plan, letter, stamp)

    def classify(letters: list[DeadLetter]) -> tuple[list[DeadLetter], list[dict[str, Any]]]:
        movable, left_out = [], []
        for letter in letters:
            reason = decider.reason(row(letter))
            if reason is not None:
                left_out.append({**row(letter), "reason": reason})
                continue
            fixed = decider.recovered(letter, row(letter))
            if fixed is not None:
                recovered.add(letter.message_id)
            movable.append(fixed or letter)
        return movable, left_out

    recovered: set[str] = set()
    movable, left_out = classify(peek(sqs, queues.dlq_url))
    result: dict[str, Any] = {"job": job_plan.job, "dry_run": dry_run, "method": None,
                              "task_handle": None, "note": None, "moved": [],
                              "left_out": left_out, "failed": None, "not_attempted": [],
                              "recovered_dead_tokens": 0}
    if dry_run:
        result["would_move"] = [row(m) for m in movable]
    elif movable and not left_out and not recovered:
        # A move task moves letters unchanged, so not when a dead token must be added.
        try:
            # One SDK attempt: an emulator without the API answers 500, not worth retrying.
            result["task_handle"] = start_move_task(backend.client("sqs", max_attempts=1),
                                                    source_arn=queues.dlq_arn,
                                                    destination_arn=queues.queue_arn)
            result["method"] = "message-move-task"
            result["moved"] = [row(m) for m in movable]
        except ClientError as exc:
            result["note"] = (f"StartMessageMoveTask is not available on {backend.describe()} "
                              f"({exc.response['Error'].get('Code')}); moved message by message")
    if not dry_run and movable and result["method"] is None:
        recovered.clear()
        held = receive_all(sqs, queues.dlq_url, hold_seconds=REDRIVE_HOLD_SECONDS)
        to_move, left_out = classify(held)
        moving = {m.message_id for m in to_move}
        release(sqs, queues.dlq_url, [m for m in held if m.message_id not in moving])
        report = move_all(sqs, to_move, dlq_url=queues.dlq_url, queue_url=queues.queue_url)
        _record(result, report, row, left_out)
    result["recovered_dead_tokens"] = len(recovered)
    return result


def _record(result: dict[str, Any], report: MoveReport, row: Any,
            left_out: list[dict[str, Any]]) -> None:
    result["method"] = "send-delete"
    result["left_out"] = left_out
    result["moved"] = [{**row(letter), "new_message_id": new_id}
                       for letter, new_id in report.moved]
    result["not_attempted"] = [row(m) for m in report.not_attempted]
    if report.error is not None:
        result["failed"] = {**row(report.error.letter), "stage": report.error.stage,
                            "cause": report.error.cause}
