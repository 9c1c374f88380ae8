"""``cronbridge dlq | redrive``: see a job's dead letters and move them back to its queue.

A redriven dead letter keeps its message attributes, among them the dead token, so the
worker runs its DEAD slot once more (DESIGN.md §3 "redrive"); a copy of a slot that has
already succeeded is acknowledged without running, so such letters are left out (and left in
the DLQ, reported) unless ``--force``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

import click
from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table

from cronbridge.adapters.dlq import (REDRIVE_HOLD_SECONDS, DeadLetter, MoveReport, move_all,
                                     peek, receive_all, release, start_move_task)
from cronbridge.adapters.sqs import string_attributes
from cronbridge.cli.target import (OperationFailed, Target, human_seconds, json_option, output,
                                   target_command)
from cronbridge.core.errors import BadMessageError
from cronbridge.core.jobs import JobSpec
from cronbridge.core.messages import parse_body
from cronbridge.core.plan import JobPlan
from cronbridge.core.runstate import Status
from cronbridge.service import (ATTR_ATTEMPTS, ATTR_ERROR_MESSAGE, ATTR_ERROR_TYPE, ATTR_JOB,
                                ATTR_SLOT, RETENTION_PASSED, redrive_attributes)

# What EventBridge puts on an event it could not deliver to the queue.
EVENTBRIDGE_ERROR_CODE = "ERROR_CODE"
EVENTBRIDGE_ERROR_MESSAGE = "ERROR_MESSAGE"
NO_ATTRIBUTES = ("no cronbridge attributes: SQS moved it after maxReceiveCount receives "
                 "(the worker crashed or timed out on it)")


def letter_row(target: Target, job: JobPlan, letter: DeadLetter, now: float) -> dict[str, Any]:
    """One dead letter as job, slot, error, attempts and age (seconds).

    The slot comes from the ``cronbridge-slot`` attribute or, for a letter SQS or
    EventBridge moved (no cronbridge attributes), from the body as the worker would read it;
    ``None`` when the body is unreadable.
    """
    attrs = letter.attributes
    error_type = attrs.get(ATTR_ERROR_TYPE) or attrs.get(EVENTBRIDGE_ERROR_CODE)
    return {
        "message_id": letter.message_id,
        "job": attrs.get(ATTR_JOB) or job.job,
        "slot": attrs.get(ATTR_SLOT) or _slot_from_body(target, letter.body),
        "error_type": error_type,
        "error_message": (attrs.get(ATTR_ERROR_MESSAGE) or attrs.get(EVENTBRIDGE_ERROR_MESSAGE)
                          or (None if error_type else NO_ATTRIBUTES)),
        "attempts": int(attrs[ATTR_ATTEMPTS]) if ATTR_ATTEMPTS in attrs else None,
        "age_seconds": int(now - letter.sent_at) if letter.sent_at else None,
    }


def _slot_from_body(target: Target, body: str) -> str | None:
    def job_for_rule(rule: str) -> JobSpec | None:
        job_plan = target.plan.job_for_rule(rule)
        return target.registry.get(job_plan.job) if job_plan else None

    try:
        return parse_body(body, job_for_rule=job_for_rule, get_job=target.registry.get).slot
    except BadMessageError:
        return None


def _error(row: dict[str, Any]) -> str:
    kind = row["error_type"]
    return f"{kind}: {row['error_message']}" if kind else row["error_message"]


@click.command("dlq")
@click.argument("job")
@json_option
@target_command
def dlq_cmd(target: Target, job: str, as_json: bool) -> None:
    """List JOB's dead letters without consuming them: slot, error, attempts, age."""
    job_plan = target.job(job)
    queues = target.queues(job_plan)
    now = datetime.now(timezone.utc).timestamp()
    rows = [letter_row(target, job_plan, letter, now)
            for letter in peek(target.sqs, queues.dlq_url)]

    def render() -> None:
        if not rows:
            click.echo(f"the DLQ of {job_plan.job} is empty")
            return
        table = Table(title=f"{job_plan.job}: {len(rows)} dead letter(s) in {job_plan.dlq_name}")
        for column in ("slot", "error", "attempts", "age", "message id"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["slot"] or "(unreadable)", _error(r)[:200],
                          "-" if r["attempts"] is None else str(r["attempts"]),
                          human_seconds(r["age_seconds"]), r["message_id"])
        Console(width=max(Console().width, 140)).print(table)
        click.echo(f"move them back with: cronbridge redrive {job_plan.job} --dry-run")

    output(as_json, rows, render)


class _Decider:
    """Why a dead letter is left out of a redrive (``None``: move it), and the letter to
    move (with its dead token recovered from a DEAD run when it has none); run reads
    memoised."""

    def __init__(self, target: Target, job: JobPlan, force: bool, now: float) -> None:
        self.target, self.job, self.force, self.now = target, job, force, now
        self._runs: dict[str, tuple[str | None, str | None]] = {}

    def _run(self, slot: str) -> tuple[str | None, str | None]:
        if slot not in self._runs:
            run = self.target.store.get_run(self.job.job, slot, now=self.now)
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


@click.command("redrive")
@click.argument("job")
@click.option("--dry-run", is_flag=True, help="Show what would move; move nothing.")
@click.option("--force", is_flag=True,
              help="Also move letters of slots that already SUCCEEDED, and malformed ones.")
@json_option
@target_command
def redrive_cmd(target: Target, job: str, dry_run: bool, force: bool, as_json: bool) -> None:
    """Move JOB's dead letters back to its queue; the worker runs each DEAD slot once more.

    Uses an SQS message move task when every letter moves and the target supports it;
    otherwise moves message by message (send, confirm, delete), stopping at the first
    failure with that message and the rest still in the DLQ (exit 1). Letters of slots that
    already SUCCEEDED, and malformed messages, are left in the DLQ unless --force.
    """
    job_plan = target.job(job)
    queues = target.queues(job_plan)
    sqs = target.sqs
    now = datetime.now(timezone.utc).timestamp()
    decider = _Decider(target, job_plan, force, now)

    def classify(letters: list[DeadLetter]) -> tuple[list[DeadLetter], list[dict[str, Any]]]:
        movable, left_out = [], []
        for letter in letters:
            row = letter_row(target, job_plan, letter, now)
            reason = decider.reason(row)
            if reason is not None:
                left_out.append({**row, "reason": reason})
                continue
            fixed = decider.recovered(letter, row)
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
        result["would_move"] = [letter_row(target, job_plan, m, now) for m in movable]
    elif movable and not left_out and not recovered:
        # A move task moves letters unchanged, so not when a dead token must be added.
        try:
            # One SDK attempt: an emulator without the API answers 500, not worth retrying.
            result["task_handle"] = start_move_task(target.client("sqs", max_attempts=1),
                                                    source_arn=queues.dlq_arn,
                                                    destination_arn=queues.queue_arn)
            result["method"] = "message-move-task"
            result["moved"] = [letter_row(target, job_plan, m, now) for m in movable]
        except ClientError as exc:
            result["note"] = (f"StartMessageMoveTask is not available on {target.describe()} "
                              f"({exc.response['Error'].get('Code')}); moved message by message")
    if not dry_run and movable and result["method"] is None:
        recovered.clear()
        held = receive_all(sqs, queues.dlq_url, hold_seconds=REDRIVE_HOLD_SECONDS)
        to_move, left_out = classify(held)
        moving = {m.message_id for m in to_move}
        release(sqs, queues.dlq_url, [m for m in held if m.message_id not in moving])
        report = move_all(sqs, to_move, dlq_url=queues.dlq_url, queue_url=queues.queue_url)
        _record(result, report, target, job_plan, now, left_out)
    result["recovered_dead_tokens"] = len(recovered)
    output(as_json, result, lambda: _render(result, job_plan))
    failed = result["failed"]
    if failed:
        raise OperationFailed(
            f"redrive of {job_plan.job} stopped: message {failed['message_id']} (slot "
            f"{failed['slot']}) {failed['stage']} failed: {failed['cause']}. It and the "
            f"{len(result['not_attempted'])} after it are still in the DLQ; "
            f"{len(result['moved'])} moved. Fix the cause and run the redrive again.")


def _record(result: dict[str, Any], report: MoveReport, target: Target, job: JobPlan,
            now: float, left_out: list[dict[str, Any]]) -> None:
    result["method"] = "send-delete"
    result["left_out"] = left_out
    result["moved"] = [{**letter_row(target, job, letter, now), "new_message_id": new_id}
                       for letter, new_id in report.moved]
    result["not_attempted"] = [letter_row(target, job, m, now) for m in report.not_attempted]
    if report.error is not None:
        result["failed"] = {**letter_row(target, job, report.error.letter, now),
                            "stage": report.error.stage, "cause": report.error.cause}


def _render(result: dict[str, Any], job: JobPlan) -> None:
    rows: list[tuple[str, str]] = []
    if result["dry_run"]:
        rows += [(r["slot"] or "(unreadable)", "would move") for r in result["would_move"]]
    elif result["method"] == "message-move-task":
        rows += [(r["slot"] or "(unreadable)", "moving (message move task)")
                 for r in result["moved"]]
    else:
        rows += [(r["slot"] or "(unreadable)", f"moved as {r['new_message_id']}")
                 for r in result["moved"]]
    if result["failed"]:
        f = result["failed"]
        rows.append((f["slot"] or "(unreadable)", f"[red]FAILED at {f['stage']}: {f['cause']}"
                                                  f"[/red] (still in the DLQ)"))
    rows += [(r["slot"] or "(unreadable)", "not attempted (still in the DLQ)")
             for r in result["not_attempted"]]
    rows += [(r["slot"] or "(unreadable)", f"left out: {r['reason']}") for r in result["left_out"]]
    if not rows:
        click.echo(f"the DLQ of {job.job} is empty: nothing to redrive")
        return
    table = Table(title=f"redrive {job.job}" + (" (dry run)" if result["dry_run"] else ""))
    table.add_column("slot")
    table.add_column("action")
    for row in rows:
        table.add_row(*row)
    Console(width=max(Console().width, 140)).print(table)
    if result["note"]:
        click.echo(f"note: {result['note']}")
    if result["recovered_dead_tokens"]:
        click.echo("note: " + RECOVERED_NOTE.format(n=result["recovered_dead_tokens"])
                   + (" (on the redrive)" if result["dry_run"] else ""))
    if result["task_handle"]:
        click.echo(f"message move task started: {result['task_handle']}")
    if result["moved"]:
        click.echo(f"the worker runs each redriven DEAD slot once; follow with: "
                   f"cronbridge history {job.job}")
