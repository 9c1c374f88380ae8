"""The run table in DynamoDB, with pynamodb.

One table, partition key ``pk`` = job name (so IAM can confine a job's function to its own
items with ``dynamodb:LeadingKeys``), sort key ``sk``:

* ``RUN#<slot>``: one item per slot (the run record of DESIGN.md §3);
* ``JOB``: one item per job (paused flag, failure streak, last status, the active run);
  ``JOB#<key>`` the same per key of a dynamic job, so keys never block each other's overlap.

Every state change is one conditional write. Claims and finishes that touch both the run
and the job record use one ``TransactWriteItems`` call, and ask for the old item on a failed
condition (``ReturnValuesOnConditionCheckFailure=ALL_OLD``) so a failed claim needs no read.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError
from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute, MapAttribute,
                                 NumberAttribute, UnicodeAttribute)
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from cronbridge.core.errors import StoreBusyError
from cronbridge.core.slots import MANUAL_PREFIX
from cronbridge.core.runstate import (Claim, Conflict, Expect, Finish, JobSnapshot, Outcome,
                                      RunSnapshot, Skip, Status)
from cronbridge.core.slots import slot_key

RUN_PREFIX = "RUN#"
JOB_SK = "JOB"
TTL_ATTRIBUTE = "expires_at"
_BUSY_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException",
               "RequestLimitExceeded", "TransactionConflictException",
               "InternalServerError", "ServiceUnavailable"}


class AttemptEntry(MapAttribute):
    """One finished attempt, kept in the run record's ``attempts`` list."""

    attempt = NumberAttribute()
    outcome = UnicodeAttribute()
    started_at = NumberAttribute(null=True)
    finished_at = NumberAttribute(null=True)
    duration_ms = NumberAttribute(null=True)
    error_type = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)


class RunItem(Model):
    """A slot's run record. Times are epoch seconds (UTC); ``expires_at`` is the TTL."""

    class Meta:
        table_name = "cronbridge-runs"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    slot = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    attempt = NumberAttribute(null=True)
    max_attempts = NumberAttribute(null=True)
    trigger = UnicodeAttribute(null=True)
    scheduled_time = UnicodeAttribute(null=True)
    lease_token = UnicodeAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)
    created_at = NumberAttribute(null=True)
    started_at = NumberAttribute(null=True)
    finished_at = NumberAttribute(null=True)
    duration_ms = NumberAttribute(null=True)
    error_type = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    skip_reason = UnicodeAttribute(null=True)
    checkpoint = JSONAttribute(null=True)
    result = JSONAttribute(null=True)
    result_omitted = UnicodeAttribute(null=True)  # why a return value is not in ``result``
    message_id = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    trace_id = UnicodeAttribute(null=True)
    dead_token = UnicodeAttribute(null=True)
    dead_message_id = UnicodeAttribute(null=True)
    attempts = ListAttribute(of=AttemptEntry, null=True)
    expires_at = NumberAttribute(null=True)


class JobItem(Model):
    """A job's record: pause flag, failure streak, last outcome, the active run's lease."""

    class Meta:
        table_name = "cronbridge-runs"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    paused = BooleanAttribute(null=True)
    paused_at = NumberAttribute(null=True)
    paused_by = UnicodeAttribute(null=True)
    pause_reason = UnicodeAttribute(null=True)
    resumed_at = NumberAttribute(null=True)
    resumed_by = UnicodeAttribute(null=True)
    consecutive_failures = NumberAttribute(null=True)
    last_status = UnicodeAttribute(null=True)
    last_slot = UnicodeAttribute(null=True)
    last_order = UnicodeAttribute(null=True)
    last_success_slot = UnicodeAttribute(null=True)
    last_success_at = NumberAttribute(null=True)
    active_slot = UnicodeAttribute(null=True)
    active_token = UnicodeAttribute(null=True)
    active_lease_expires_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


@functools.cache
def models(table_name: str, region: str | None = None,
           host: str | None = None) -> tuple[type[RunItem], type[JobItem]]:
    """Model classes bound to ``table_name`` (pynamodb binds tables per class).

    ``host`` defaults to ``AWS_ENDPOINT_URL_DYNAMODB`` or ``AWS_ENDPOINT_URL`` (moto,
    LocalStack); ``region`` to ``AWS_REGION``/``AWS_DEFAULT_REGION``.
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    host = host or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    meta = {"table_name": table_name, "region": region, "host": host,
            "billing_mode": "PAY_PER_REQUEST", "max_retry_attempts": 3}
    run = type("RunItem", (RunItem,), {"Meta": type("Meta", (), meta)})
    job = type("JobItem", (JobItem,), {"Meta": type("Meta", (), meta)})
    return run, job


def run_key(slot: str) -> str:
    return f"{RUN_PREFIX}{slot}"


def job_record_key(slot: str) -> str:
    """The sort key of the job record a slot's claim and finish update: ``JOB``, or
    ``JOB#<key>`` for a keyed slot (overlap, streak and last status per key)."""
    key = slot_key(slot)
    return JOB_SK if key is None else f"{JOB_SK}#{key}"


def _busy(exc: PynamoDBException) -> bool:
    """Throttled, in conflict with another transaction, a 5xx, or no answer at all (a
    connection or read timeout, after the SDK's retries): worth trying again later. Anything
    else (a validation error) is a bug and must not be retried as if the table were busy."""
    if isinstance(exc.cause, BotoCoreError) or exc.cause_response_code in _BUSY_CODES:
        return True
    if isinstance(exc, TransactWriteError):
        return any(r is not None and r.code in ("ThrottlingError", "TransactionConflict",
                                                "ProvisionedThroughputExceeded")
                   for r in exc.cancellation_reasons)
    return False


class DynamoRunStore:
    """The :class:`~cronbridge.core.ports.RunStore` port on DynamoDB.

    Raises :class:`~cronbridge.core.errors.StoreBusyError` when DynamoDB throttles after the
    SDK's own retries.
    """

    def __init__(self, table_name: str, *, region: str | None = None,
                 host: str | None = None) -> None:
        self.Run, self.Job = models(table_name, region, host)

    # -- claim ----------------------------------------------------------------------------

    def claim(self, claim: Claim) -> Conflict | None:
        Run, Job = self.Run, self.Job
        run = Run(claim.job, run_key(claim.slot))
        actions = [
            Run.slot.set(claim.slot),
            Run.status.set(Status.RUNNING.value),
            Run.attempt.set(claim.attempt),
            Run.max_attempts.set(claim.max_attempts),
            Run.trigger.set(claim.trigger),
            Run.lease_token.set(claim.token),
            Run.lease_expires_at.set(claim.lease_expires_at),
            Run.started_at.set(claim.now),
            Run.expires_at.set(claim.expires_at),
            Run.finished_at.remove(),
            Run.dead_token.remove(),
        ]
        actions += [attr.set(value) for attr, value in (
            (Run.scheduled_time, claim.scheduled_time), (Run.message_id, claim.message_id),
            (Run.request_id, claim.request_id), (Run.trace_id, claim.trace_id)) if value]
        if claim.expect is Expect.ABSENT:
            condition = Run.pk.does_not_exist()
            actions += [Run.created_at.set(claim.now), Run.attempts.set([])]
        elif claim.expect is Expect.MISSED:
            condition = Run.status == Status.MISSED.value
            actions += [Run.attempts.set([])]
        elif claim.expect is Expect.FAILED:
            condition = (Run.status == Status.FAILED.value) & (Run.attempt == claim.prior_attempt)
        elif claim.expect is Expect.EXPIRED:
            condition = ((Run.status == Status.RUNNING.value)
                         & (Run.attempt == claim.prior_attempt)
                         & (Run.lease_token == claim.prior_token)
                         & (Run.lease_expires_at < claim.now))
            lost = AttemptEntry(attempt=claim.prior_attempt, outcome=Outcome.TIMED_OUT.value,
                                finished_at=claim.now, error_type="TimedOut",
                                error_message="the attempt's lease expired before it finished")
            actions.append(Run.attempts.set((Run.attempts | []).append([lost])))
        else:
            condition = (Run.status == Status.DEAD.value) & (Run.dead_token == claim.prior_token)
        job_condition = None
        job_actions = [Job.updated_at.set(claim.now)]
        if claim.check_paused:
            job_condition = Job.paused.does_not_exist() | (Job.paused == False)  # noqa: E712
        if claim.guard_overlap:
            free = (Job.active_slot.does_not_exist()
                    | (Job.active_lease_expires_at < claim.now)
                    | (Job.active_slot == claim.slot))
            job_condition = free if job_condition is None else job_condition & free
            job_actions += [Job.active_slot.set(claim.slot), Job.active_token.set(claim.token),
                            Job.active_lease_expires_at.set(claim.lease_expires_at)]
        try:
            with TransactWrite(connection=Run._get_connection().connection) as tx:
                tx.update(run, actions, condition=condition, return_values="ALL_OLD")
                tx.update(Job(claim.job, job_record_key(claim.slot)), job_actions, condition=job_condition,
                          return_values="ALL_OLD")
        except TransactWriteError as exc:
            return self._conflict(exc, run_failed_index=0, job_index=1)
        return None

    def _conflict(self, exc: TransactWriteError, *, run_failed_index: int,
                  job_index: int | None) -> Conflict:
        """The records whose conditions failed (as they were), from a cancelled transaction.

        Raises:
            StoreBusyError: the table was busy (see :func:`_busy`).
            TransactWriteError: ``exc`` itself, when no condition failed (a bug: crash).
        """
        if _busy(exc):
            raise StoreBusyError(str(exc.cause_response_message or exc)) from exc
        reasons = exc.cancellation_reasons
        failed = [r is not None and r.code == "ConditionalCheckFailed" for r in reasons]
        if not any(failed):
            raise exc
        run = self._run_snapshot(reasons[run_failed_index].raw_item) if failed[run_failed_index] else None
        job = None
        if job_index is not None and failed[job_index]:
            job = self._job_snapshot(reasons[job_index].raw_item)
        return Conflict(run=run, job=job)

    def _run_snapshot(self, raw: dict[str, Any] | None) -> RunSnapshot | None:
        if not raw:
            return None
        item = self.Run.from_raw_data(raw)
        return RunSnapshot(
            status=Status(item.status), attempt=int(item.attempt or 0),
            max_attempts=int(item.max_attempts or 0), lease_token=item.lease_token,
            lease_expires_at=item.lease_expires_at, dead_token=item.dead_token,
            dead_message_id=item.dead_message_id, trigger=item.trigger,
            checkpoint=item.checkpoint, error_type=item.error_type,
            error_message=item.error_message)

    def _job_snapshot(self, raw: dict[str, Any] | None) -> JobSnapshot:
        if not raw:
            return JobSnapshot()
        item = self.Job.from_raw_data(raw)
        return JobSnapshot(paused=bool(item.paused), active_slot=item.active_slot,
                           active_lease_expires_at=item.active_lease_expires_at)

    # -- finish ---------------------------------------------------------------------------

    def _run_fence(self, job: str, slot: str, attempt: int, token: str):
        Run = self.Run
        return ((Run.status == Status.RUNNING.value) & (Run.attempt == attempt)
                & (Run.lease_token == token))

    def finish(self, finish: Finish) -> bool:
        Run, Job = self.Run, self.Job
        entry = AttemptEntry(attempt=finish.attempt, outcome=Outcome(finish.status.value).value,
                             started_at=finish.started_at, finished_at=finish.now,
                             duration_ms=finish.duration_ms, error_type=finish.error_type,
                             error_message=finish.error_message)
        run_actions = [
            Run.status.set(finish.status.value),
            Run.finished_at.set(finish.now),
            Run.duration_ms.set(finish.duration_ms),
            Run.lease_expires_at.remove(),
            Run.attempts.set((Run.attempts | []).append([entry])),
            Run.error_type.set(finish.error_type) if finish.error_type else Run.error_type.remove(),
            Run.error_message.set(finish.error_message) if finish.error_type else Run.error_message.remove(),
        ]
        if finish.result is not None:
            run_actions.append(Run.result.set(finish.result))
        if finish.result_omitted is not None:
            run_actions.append(Run.result_omitted.set(finish.result_omitted))
        if finish.dead_token:
            run_actions += [Run.dead_token.set(finish.dead_token),
                            Run.dead_message_id.set(finish.dead_message_id)]
        fence = self._run_fence(finish.job, finish.slot, finish.attempt, finish.token)
        run = Run(finish.job, run_key(finish.slot))
        job_update = self._job_finish_update(finish)
        try:
            # Always a transaction, even for the run alone: a failed condition then hands
            # back the run as it was (ALL_OLD), which tells a newer attempt's takeover from
            # our own write retried after its answer was lost.
            with TransactWrite(connection=Run._get_connection().connection) as tx:
                tx.update(run, run_actions, condition=fence, return_values="ALL_OLD")
                if job_update is not None:
                    tx.update(Job(finish.job, job_record_key(finish.slot)), job_update[0], condition=job_update[1])
            return True
        except TransactWriteError as exc:
            conflict = self._conflict(exc, run_failed_index=0, job_index=None)
        if conflict.run is not None:
            return _finished_by(conflict.run, finish)
        # Only the job record's condition failed (an older slot finishing late, or our
        # overlap marker taken over): write the run alone, then the job record's parts that
        # still apply.
        return self._finish_slow(finish, run, run_actions, fence)

    def _job_finish_update(self, finish: Finish):
        Job = self.Job
        actions: list[Any] = [Job.updated_at.set(finish.now)]
        condition = None
        if finish.release_overlap:
            actions += [Job.active_slot.remove(), Job.active_token.remove(),
                        Job.active_lease_expires_at.remove()]
            condition = Job.active_token == finish.token
        if finish.status in (Status.SUCCEEDED, Status.DEAD):
            order = finish.order
            actions += [Job.last_status.set(finish.status.value), Job.last_slot.set(finish.slot),
                        Job.last_order.set(order)]
            if finish.status is Status.SUCCEEDED:
                actions += [Job.consecutive_failures.set(0),
                            Job.last_success_slot.set(finish.slot),
                            Job.last_success_at.set(finish.now)]
            else:
                actions.append(Job.consecutive_failures.set((Job.consecutive_failures | 0) + 1))
            in_order = Job.last_order.does_not_exist() | (Job.last_order < order)
            if finish.status is Status.SUCCEEDED:
                # The condition form of runstate.redriven_to_success.
                in_order = in_order | ((Job.last_order == order)
                                       & (Job.last_status == Status.DEAD.value))
            condition = in_order if condition is None else condition & in_order
        if condition is None:
            return None
        return actions, condition

    def _finish_slow(self, finish: Finish, run: RunItem, run_actions: list[Any], fence) -> bool:
        try:
            with TransactWrite(connection=self.Run._get_connection().connection) as tx:
                tx.update(run, run_actions, condition=fence, return_values="ALL_OLD")
        except TransactWriteError as exc:
            if not _finished_by(self._conflict(exc, run_failed_index=0, job_index=None).run,
                                finish):
                return False
        if finish.release_overlap:
            self._try_job_update(finish, Finish(**{**finish.__dict__,
                                                   "status": Status.FAILED}))
        if finish.status in (Status.SUCCEEDED, Status.DEAD):
            self._try_job_update(finish, Finish(**{**finish.__dict__, "release_overlap": False}))
        return True

    def _try_job_update(self, original: Finish, part: Finish) -> None:
        update = self._job_finish_update(part)
        if update is None:
            return
        try:
            self.Job(original.job, job_record_key(original.slot)).update(update[0], condition=update[1])
        except UpdateError as exc:
            _raise_unless_condition_failed(exc)

    # -- skip, checkpoint -----------------------------------------------------------------

    def skip(self, skip: Skip) -> RunSnapshot | None:
        Run = self.Run
        actions = [Run.slot.set(skip.slot), Run.status.set(Status.SKIPPED.value),
                   Run.skip_reason.set(skip.reason.value), Run.trigger.set(skip.trigger),
                   Run.attempt.set(0), Run.created_at.set(skip.now),
                   Run.finished_at.set(skip.now), Run.expires_at.set(skip.expires_at)]
        if skip.scheduled_time:
            actions.append(Run.scheduled_time.set(skip.scheduled_time))
        try:
            with TransactWrite(connection=Run._get_connection().connection) as tx:
                tx.update(Run(skip.job, run_key(skip.slot)), actions,
                          condition=Run.pk.does_not_exist(), return_values="ALL_OLD")
        except TransactWriteError as exc:
            return self._conflict(exc, run_failed_index=0, job_index=None).run
        return None

    def checkpoint(self, job: str, slot: str, attempt: int, token: str, state: Any) -> bool:
        try:
            self.Run(job, run_key(slot)).update([self.Run.checkpoint.set(state)],
                                                condition=self._run_fence(job, slot, attempt, token))
        except UpdateError as exc:
            _raise_unless_condition_failed(exc)
            return False
        return True

    # -- reads (operators) ----------------------------------------------------------------

    def get_run(self, job: str, slot: str, *, now: float) -> RunItem | None:
        """The run record of a slot (strongly consistent), ``None`` if absent or expired."""
        try:
            item = self.Run.get(job, run_key(slot), consistent_read=True)
        except self.Run.DoesNotExist:
            return None
        return None if _expired(item, now) else item

    def runs(self, job: str, *, now: float, since: str | None = None,
             newest_first: bool = True, limit: int | None = None) -> Iterator[RunItem]:
        """A job's run records by slot (TTL-expired items filtered: TTL deletion lags)."""
        condition = (self.Run.sk >= run_key(since)) if since else self.Run.sk.startswith(RUN_PREFIX)
        count = 0
        for item in self.Run.query(job, condition, scan_index_forward=not newest_first,
                                   consistent_read=True,
                                   filter_condition=(self.Run.expires_at.does_not_exist()
                                                     | (self.Run.expires_at > int(now)))):
            yield item
            count += 1
            if limit is not None and count >= limit:
                return

    def scheduled_runs(self, job: str, *, since: str, until: str,
                       now: float) -> Iterator[RunItem]:
        """The runs of scheduled slots in ``[since, until)`` (slot ids), oldest first: one
        key-range query, so its cost follows the window, not the table."""
        for item in self.Run.query(job, self.Run.sk.between(run_key(since), run_key(until)),
                                   consistent_read=True):
            if item.slot < until and not _expired(item, now):
                yield item

    def manual_runs(self, job: str, *, now: float) -> Iterator[RunItem]:
        """The runs of manual slots (``manual:...``): one key-range query."""
        for item in self.Run.query(job, self.Run.sk.startswith(run_key(MANUAL_PREFIX)),
                                   consistent_read=True):
            if not _expired(item, now):
                yield item

    def record_missed(self, job: str, slot: str, *, now: float, expires_at: int) -> bool:
        """Record a scheduled slot as MISSED unless it has a run; ``True`` when written."""
        Run = self.Run
        try:
            Run(job, run_key(slot)).update(
                [Run.slot.set(slot), Run.status.set(Status.MISSED.value),
                 Run.trigger.set("schedule"), Run.scheduled_time.set(slot), Run.attempt.set(0),
                 Run.created_at.set(now), Run.finished_at.set(now),
                 Run.expires_at.set(expires_at)],
                condition=Run.pk.does_not_exist())
        except UpdateError as exc:
            _raise_unless_condition_failed(exc)
            return False
        return True

    def consecutive_failures(self, job: str) -> int:
        """The job's streak of DEAD slots, read only after a DEAD finish (a rare path), so a
        success still costs one round trip to finish.

        Raises:
            StoreBusyError: DynamoDB throttled the read past the SDK's retries.
        """
        try:
            item = self.get_job(job)
        except PynamoDBException as exc:
            if _busy(exc):
                raise StoreBusyError(str(exc)) from exc
            raise
        return int(item.consecutive_failures or 0) if item else 0

    def get_job(self, job: str) -> JobItem | None:
        """The job record (strongly consistent), ``None`` before the job's first run."""
        try:
            return self.Job.get(job, JOB_SK, consistent_read=True)
        except self.Job.DoesNotExist:
            return None

    def set_paused(self, job: str, paused: bool, *, now: float, by: str | None = None,
                   reason: str | None = None, unless_paused: bool = False) -> bool:
        """Set or clear the job's paused flag, recording who (``by``), why (``reason``, a
        pause only) and when (epoch seconds). Idempotent.

        Args:
            unless_paused: write only if the job is not paused yet (an automatic pause must
                not overwrite an operator's, nor notify twice).

        Returns ``False`` when ``unless_paused`` found the job paused already (nothing
        written), else ``True``.
        """
        Job = self.Job
        if paused:
            actions = [Job.paused.set(True), Job.paused_at.set(now),
                       Job.paused_by.set(by) if by else Job.paused_by.remove(),
                       Job.pause_reason.set(reason) if reason else Job.pause_reason.remove()]
        else:
            actions = [Job.paused.set(False), Job.resumed_at.set(now),
                       Job.resumed_by.set(by) if by else Job.resumed_by.remove()]
        condition = (Job.paused.does_not_exist() | (Job.paused == False)  # noqa: E712
                     if unless_paused else None)
        try:
            Job(job, JOB_SK).update([*actions, Job.updated_at.set(now)], condition=condition)
        except UpdateError as exc:
            _raise_unless_condition_failed(exc)
            return False
        return True


def _finished_by(run: RunSnapshot | None, finish: Finish) -> bool:
    """Whether ``run`` is ``finish`` already written (an SDK retry of a write that went
    through comes back as a failed condition; the lease token stays on the finished run)."""
    return (run is not None and run.status is finish.status and run.attempt == finish.attempt
            and run.lease_token == finish.token)


def _raise_unless_condition_failed(exc: UpdateError) -> None:
    if exc.cause_response_code == "ConditionalCheckFailedException":
        return
    if _busy(exc):
        raise StoreBusyError(str(exc.cause_response_message or exc)) from exc
    raise exc


def _expired(item: RunItem, now: float) -> bool:
    return item.expires_at is not None and item.expires_at <= now
