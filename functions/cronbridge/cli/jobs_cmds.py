"""``cronbridge jobs | enable | disable | trigger | history``: see and steer the jobs."""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cronbridge.adapters.eventbridge import DISABLED, ENABLED
from cronbridge.cli.grid import schedule_grid
from cronbridge.cli.target import (INSTANT, OperationFailed, Target, human_duration_ms, iso,
                                   json_option, output, target_command)
from cronbridge.core.describe import describe_schedule
from cronbridge.core.errors import BadMessageError
from cronbridge.core.messages import command_body
from cronbridge.core.plan import MISSED_SLOT, JobPlan, alarm_name
from cronbridge.core.runstate import Status, Trigger
from cronbridge.core.slots import (MANUAL_PREFIX, check_key, check_manual_slot, manual_slot,
                                   slot_key, slot_time)

NEXT_FIRE_TIMES = 3


def pause_state(rule_state: str | None, paused: bool) -> str:
    """The job's on/off state from its two switches: ``enabled``, ``paused``, a ``drift:``
    description when they disagree, or ``not deployed``."""
    if rule_state is None:
        return "not deployed"
    if rule_state == ENABLED:
        return "drift: paused, rule enabled (deliveries skipped)" if paused else "enabled"
    return "paused" if paused else "drift: rule disabled, not paused"


# -- jobs -------------------------------------------------------------------------------

@click.command("jobs")
@json_option
@target_command
def jobs_cmd(target: Target, as_json: bool) -> None:
    """List the jobs: schedule, enabled/paused (and drift between the rule's state and the
    pause flag), next fire times (UTC), last status, consecutive failures and DLQ depth.

    Exits 1 after the listing if a job is not deployed on the target.
    """
    now = datetime.now(timezone.utc)
    rows = [_job_row(target, job_plan, now) for job_plan in target.plan.jobs]

    def render() -> None:
        table = Table(title=f"jobs on {target.describe()}")
        for column in ("job", "schedule", "state", "next (UTC)", "last", "failures", "DLQ"):
            table.add_column(column, justify="right" if column in ("failures", "DLQ") else "left")
        for r in rows:
            state = r["state"]
            style = "green" if state == "enabled" else "yellow" if state == "paused" else "red"
            local = next(iter(r["next_local"]), None)
            zone = f" {r['timezone']}" if r["timezone"] else ""
            table.add_row(
                r["job"], f"{r['schedule']}{zone}\n[dim]{r['schedule_description']}[/dim]",
                f"[{style}]{state}[/{style}]",
                (r["next_fire_times"][0][:16].replace("T", " ") if r["next_fire_times"] else
                 "per key" if r["via"] == "dynamic" else "-")
                + (f"\n[dim]{local['local'].replace('T', ' ')} local"
                   f"{' (' + local['status'] + ')' if local['status'] != 'fires' else ''}[/dim]"
                   if local else ""),
                f"{r['last_status'] or '-'}\n[dim]{r['last_slot'] or ''}[/dim]",
                str(r["consecutive_failures"]),
                "-" if r["dlq_depth"] is None else str(r["dlq_depth"]))
        Console(width=max(Console().width, 140)).print(table)

    output(as_json, rows, render)
    missing = [r["job"] for r in rows if not r["deployed"]]
    if missing:
        raise OperationFailed(f"not deployed on {target.describe()}: {', '.join(missing)} "
                              f"(check --app and AWS_REGION, or deploy)")


def _job_row(target: Target, job_plan: JobPlan, now: datetime) -> dict[str, Any]:
    spec = target.registry.get(job_plan.job)
    rule_state = target.switch_state(job_plan)
    try:
        queues = target.queues(job_plan)
    except OperationFailed:
        queues = None
    deployed = rule_state is not None and queues is not None
    record = target.store.get_job(job_plan.job) if deployed else None
    paused = bool(record and record.paused)
    last_slot = record.last_slot if record else None
    # A rate() grid needs a scheduled slot to align on; the last one may be a manual run.
    known = next((s for s in (last_slot, record.last_success_slot if record else None)
                  if s and slot_time(s) is not None), None)
    grid = schedule_grid(spec, known, now)
    upcoming = (grid.preview(now, NEXT_FIRE_TIMES)
                if grid and rule_state == ENABLED and not paused and job_plan.via != "dynamic"
                else [])
    return {
        "job": job_plan.job,
        "description": job_plan.description,
        "schedule": job_plan.schedule_expression,
        "timezone": job_plan.timezone,
        "via": job_plan.via,
        "schedule_description": describe_schedule(spec.parsed_schedule),
        "deployed": deployed,
        "rule_state": rule_state,
        "paused": paused,
        "state": pause_state(rule_state, paused) if queues else "not deployed",
        "next_fire_times": [iso(t.utc) for t in upcoming if t.utc],
        # Wall time in the job's zone, with Scheduler's DST notes (skipped, ambiguous).
        "next_local": [{"local": t.local.isoformat(timespec="minutes"), "status": t.status,
                        "note": t.note} for t in upcoming] if job_plan.timezone else [],
        "last_status": record.last_status if record else None,
        "last_slot": last_slot,
        "last_success_slot": record.last_success_slot if record else None,
        "consecutive_failures": int(record.consecutive_failures or 0) if record else 0,
        "dlq_depth": _depth(target, queues.dlq_url) if queues else None,
    }


def _depth(target: Target, queue_url: str) -> int:
    attrs = target.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attrs.values())


# -- enable / disable -------------------------------------------------------------------

def _toggle(target: Target, job: str, *, enabled: bool, as_json: bool) -> None:
    job_plan = target.job(job)
    if job_plan.via == "dynamic":
        raise click.BadParameter(
            f"{job_plan.job} runs on per-key schedules: pause or resume each with `cronbridge "
            f"schedules pause|resume {job_plan.job} KEY`", param_hint="JOB")
    before = pause_state(target.rule_state(job_plan),
                         bool((record := target.store.get_job(job_plan.job)) and record.paused))
    now = datetime.now(timezone.utc).timestamp()
    # Order matters if the second call fails: disabling pauses first (a delivery in between
    # is SKIPPED), enabling unpauses first (the rule is still off, nothing runs). Either way
    # the half-done state shows as drift in `cronbridge jobs` and rerunning finishes it.
    target.store.set_paused(job_plan.job, not enabled, now=now)
    target.set_switch(job_plan, enabled)
    # A paused job settles no slots, so its missed-slot alarm would fire: its notifications
    # follow the switch (a name the target lacks, e.g. locally, is ignored).
    cloudwatch = target.client("cloudwatch")
    alarm = [alarm_name(target.plan.app, job_plan.job, MISSED_SLOT)]
    if enabled:
        cloudwatch.enable_alarm_actions(AlarmNames=alarm)
    else:
        cloudwatch.disable_alarm_actions(AlarmNames=alarm)
    after = pause_state(ENABLED if enabled else DISABLED, not enabled)
    result = {"job": job_plan.job, "state": after, "previous_state": before,
              "changed": before != after}
    output(as_json, result, lambda: click.echo(
        f"{job_plan.job}: {after}" + ("" if result["changed"] else " (already)")
        + ("" if enabled else "; manual triggers and backfills still run")))


@click.command("enable")
@click.argument("job")
@json_option
@target_command
def enable_cmd(target: Target, job: str, as_json: bool) -> None:
    """Resume JOB: clear its paused flag and enable its EventBridge rule or Scheduler
    schedule (idempotent).

    Slots missed while it was paused are not run; backfill them if they matter.
    """
    _toggle(target, job, enabled=True, as_json=as_json)


@click.command("disable")
@click.argument("job")
@json_option
@target_command
def disable_cmd(target: Target, job: str, as_json: bool) -> None:
    """Pause JOB: set its paused flag and disable its EventBridge rule or Scheduler
    schedule (idempotent).

    Scheduled deliveries already queued are recorded SKIPPED (reason paused), and a redeploy
    that re-enables the rule does not resume the job (`jobs` shows that drift).
    """
    _toggle(target, job, enabled=False, as_json=as_json)


# -- trigger ----------------------------------------------------------------------------

def parse_payload(text: str | None) -> dict[str, Any]:
    """``--payload`` as a JSON object.

    Raises:
        click.BadParameter: not JSON, or not an object.
    """
    if text is None:
        return {}
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON ({exc}); write an object, e.g. "
                                 f"--payload '{{\"days\": 3}}'", param_hint="--payload") from None
    if not isinstance(payload, dict):
        raise click.BadParameter(f"must be a JSON object, got {type(payload).__name__}; e.g. "
                                 f"--payload '{{\"days\": 3}}'", param_hint="--payload")
    return payload


def manual_slot_id(text: str) -> str:
    """``--slot`` as a manual slot id (``manual:`` prepended when missing).

    Raises:
        click.BadParameter: not an id the worker accepts (:func:`check_manual_slot`).
    """
    slot = text if text.startswith(MANUAL_PREFIX) else manual_slot(text)
    try:
        return check_manual_slot(slot)
    except BadMessageError as exc:
        raise click.BadParameter(f"{exc}; e.g. --slot rerun-2026-11-30",
                                 param_hint="--slot") from None


@click.command("trigger")
@click.argument("job")
@click.option("--slot", metavar="ID",
              help="Idempotency key: the same --slot twice runs once. 'manual:' is prepended "
                   "if missing. Default: a new id.")
@click.option("--payload", metavar="JSON",
              help="JSON object merged over the job's static payload, e.g. '{\"days\": 3}'.")
@json_option
@target_command
def trigger_cmd(target: Target, job: str, slot: str | None, payload: str | None,
                as_json: bool) -> None:
    """Run JOB now through its real queue (trigger 'manual'); the worker runs it.

    Runs even while the job is paused. Follow it with `cronbridge history JOB`.
    """
    job_plan = target.job(job)
    body = command_body(job_plan.job, Trigger.MANUAL, payload=parse_payload(payload),
                        slot=manual_slot_id(slot) if slot is not None else None)
    slot_id = json.loads(body)["slot"]
    queues = target.queues(job_plan)
    existing = target.store.get_run(job_plan.job, slot_id,
                                    now=datetime.now(timezone.utc).timestamp())
    sent = target.sqs.send_message(QueueUrl=queues.queue_url, MessageBody=body)
    result = {"job": job_plan.job, "slot": slot_id, "message_id": sent["MessageId"],
              "existing_status": existing.status if existing else None}

    def render() -> None:
        click.echo(f"triggered {job_plan.job}: slot {slot_id} (message {sent['MessageId']})")
        if existing is not None:
            click.echo(f"note: slot {slot_id} already has a {existing.status} run; a finished "
                       f"slot does not run again, use a new --slot to run it again")
        click.echo(f"follow it with: cronbridge history {job_plan.job}")

    output(as_json, result, render)


# -- history ----------------------------------------------------------------------------

def _when(run: Any) -> float:
    """When a run stands for: its scheduled time, or when a manual run was created."""
    scheduled = slot_time(run.slot)
    return scheduled.timestamp() if scheduled else float(run.created_at or 0)


def newest_first(runs: Iterable[Any]) -> Iterator[Any]:
    """Runs of one job newest first, from the run table's newest-first slot order.

    Manual slots (``RUN#manual:...``) sort after every timestamp, so the query returns all
    of them first and then the scheduled slots newest first; the manual ones are merged in
    by when they were created.
    """
    stream = iter(runs)
    manual: list[Any] = []
    first_scheduled: list[Any] = []
    for run in stream:
        if slot_time(run.slot) is None:
            manual.append(run)
        else:
            first_scheduled.append(run)
            break
    manual.sort(key=_when, reverse=True)
    return heapq.merge(manual, itertools.chain(first_scheduled, stream), key=_when,
                       reverse=True)


def run_dict(run: Any) -> dict[str, Any]:
    """A run record as JSON-ready data (times ISO-8601 UTC, durations in milliseconds)."""
    return {
        "slot": run.slot, "status": run.status, "trigger": run.trigger,
        "attempt": int(run.attempt or 0), "max_attempts": int(run.max_attempts or 0),
        "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
        "duration_ms": int(run.duration_ms) if run.duration_ms is not None else None,
        "error_type": run.error_type, "error_message": run.error_message,
        "skip_reason": run.skip_reason, "result": run.result,
        "result_omitted": run.result_omitted,
        "attempts": [{"attempt": int(a.attempt), "outcome": a.outcome,
                      "started_at": iso(a.started_at), "finished_at": iso(a.finished_at),
                      "duration_ms": int(a.duration_ms) if a.duration_ms is not None else None,
                      "error_type": a.error_type, "error_message": a.error_message}
                     for a in run.attempts or []],
    }


def _detail(row: dict[str, Any]) -> str:
    if row["skip_reason"]:
        return f"skipped: {row['skip_reason']}"
    lines = [f"attempt {a['attempt']} {a['outcome']}: {a['error_type']}: {a['error_message']}"
             for a in row["attempts"] if a["error_type"]]
    if not lines and row["error_type"] and row["status"] != Status.SUCCEEDED.value:
        lines.append(f"{row['error_type']}: {row['error_message']}")
    if row["result_omitted"]:
        lines.append(f"result not recorded: {row['result_omitted']}")
    return "\n".join(line[:160] for line in lines)


@click.command("history")
@click.argument("job")
@click.option("--status", type=click.Choice([s.value for s in Status], case_sensitive=False),
              help="Only runs in this status.")
@click.option("--since", type=INSTANT, help="Only runs for slots at or after this instant "
                                            "(UTC if no offset), e.g. 2026-11-30T00:00Z.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="At most this many runs.")
@click.option("--key", metavar="KEY", help="Only the runs of this key's dynamic schedule.")
@json_option
@target_command
def history_cmd(target: Target, job: str, status: str | None, since: datetime | None,
                limit: int, key: str | None, as_json: bool) -> None:
    """Show JOB's runs newest first: status, trigger, attempts, duration, errors and skip
    reasons. Runs past their retention (DynamoDB TTL) are hidden."""
    if key is not None:
        try:
            check_key(key)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--key") from None
    job_plan = target.job(job)
    target.queues(job_plan)  # a job the target does not have is an error, not "no runs"
    now = datetime.now(timezone.utc)
    runs = newest_first(target.store.runs(job_plan.job, now=now.timestamp(),
                                          since=iso(since) if since else None))
    wanted = (run for run in runs
              if (status is None or run.status == status.upper())
              and (key is None or slot_key(run.slot) == key)
              and (since is None or _when(run) >= since.timestamp()))
    rows = [run_dict(run) for run in itertools.islice(wanted, limit)]

    def render() -> None:
        if not rows:
            click.echo(f"no runs of {job_plan.job}" + (f" with status {status.upper()}"
                                                       if status else "")
                       + (f" for key {key}" if key else "")
                       + (f" since {iso(since)}" if since else ""))
            return
        table = Table(title=f"{job_plan.job}: newest first")
        for column in ("slot", "status", "trigger", "attempts", "started (UTC)", "duration",
                       "errors / skip reason"):
            table.add_column(column)
        colours = {"SUCCEEDED": "green", "FAILED": "yellow", "DEAD": "red", "RUNNING": "cyan",
                   "SKIPPED": "dim"}
        for r in rows:
            colour = colours.get(r["status"], "white")
            table.add_row(r["slot"], f"[{colour}]{r['status']}[/{colour}]", r["trigger"] or "-",
                          f"{r['attempt']}/{r['max_attempts']}" if r["attempt"] else "-",
                          (r["started_at"] or "-").replace("T", " ").rstrip("Z"),
                          human_duration_ms(r["duration_ms"]),
                          _detail(r))
        Console(width=max(Console().width, 140)).print(table)

    output(as_json, rows, render)
