"""Run one delivered slot through the ports: claim, run, finish, retry or dead-letter.

No AWS imports: the runtime and local mode wire DynamoDB, SQS and Powertools in.
"""

from __future__ import annotations

import json
import random
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from cronbridge.core import metrics as m
from cronbridge.core.context import JobContext
from cronbridge.core.errors import BadMessageError, DeadlineExceeded, LeaseLostError, StoreBusyError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.messages import Delivery, parse_body
from cronbridge.core.plan import DeploymentPlan
from cronbridge.core.ports import Clock, MessageActions, Pauser, RunStore, Telemetry
from cronbridge.core.results import record_result
from cronbridge.core.retry import backoff_seconds
from cronbridge.core.runstate import (
    Claim,
    Conflict,
    ConflictContext,
    Duplicate,
    Expect,
    Finish,
    ForwardToDlq,
    Owned,
    Retry,
    ReturnLater,
    Skip,
    SkipReason,
    SkipSlot,
    Status,
    Trigger,
    decide_conflict,
)
from cronbridge.core.slots import MAX_CLOCK_SKEW, ahead_of_clock

# Message attributes put on a dead letter (SQS keeps them through a redrive, which is how a
# redriven message proves it is one: a late duplicate of the slot does not carry the token).
ATTR_JOB = "cronbridge-job"
ATTR_SLOT = "cronbridge-slot"
ATTR_ATTEMPTS = "cronbridge-attempts"
ATTR_ERROR_TYPE = "cronbridge-error-type"
ATTR_ERROR_MESSAGE = "cronbridge-error-message"
ATTR_DEAD_TOKEN = "cronbridge-dead-token"
ERROR_MESSAGE_LIMIT = 1000
MAX_CLAIM_ROUNDS = 4
STORE_BUSY_RETRY_SECONDS = 5
# Error types of the dead letters the worker refuses or gives up on (not job errors).
CLOCK_SKEW = "ClockSkewError"
RETENTION_PASSED = "RetentionPassedError"
RECEIVE_LIMIT = "ReceiveLimitError"
# An error outside the job (not a busy table) is retried after this, up to maxReceiveCount.
UNEXPECTED_RETRY_SECONDS = 30
# A finished job must not be lost to a throttled write (its slot would run again), so the
# finish is retried this many times on top of the SDK's own retries.
FINISH_WRITE_TRIES = 6


class Ack(str, Enum):
    """What happens to the message: deleted (DONE) or left for a later delivery (RETURN)."""

    DONE = "DONE"
    RETURN = "RETURN"


@dataclass(frozen=True)
class Message:
    """The parts of an SQS record the service uses."""

    message_id: str
    body: str
    receipt_handle: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    receive_count: int = 0  # SQS's ApproximateReceiveCount; 0 when unknown


@dataclass(frozen=True)
class Result:
    """The outcome of one message, for the batch response, tests and the local driver."""

    ack: Ack
    outcome: str
    job: str | None = None
    slot: str | None = None
    attempt: int | None = None


class SlotService:
    """Runs deliveries for the jobs of one registry.

    Args:
        registry: the jobs.
        plan: maps rule names to jobs.
        store / actions / telemetry / clock: the ports.
        serves: the only job this worker runs (its function's job), or ``None`` for any.
        rng: randomness for backoff jitter (seed it for reproducible runs).
        log_payloads: log each run's payload when it starts (off by default: payloads may
            carry personal data).
        pauser: pauses a job whose streak reaches its ``pause_after_failures``; ``None``
            for none (auto-pause off).
    """

    def __init__(self, *, registry: JobRegistry, plan: DeploymentPlan, store: RunStore,
                 actions: MessageActions, telemetry: Telemetry, clock: Clock,
                 serves: str | None = None, rng: random.Random | None = None,
                 new_token: Callable[[], str] = lambda: uuid.uuid4().hex,
                 log_payloads: bool = False, pauser: Pauser | None = None) -> None:
        self.registry = registry
        self.plan = plan
        self.store = store
        self.actions = actions
        self.telemetry = telemetry
        self.clock = clock
        self.serves = serves
        self.rng = rng or random.Random()
        self.new_token = new_token
        self.log_payloads = log_payloads
        self.pauser = pauser

    # -- entry point ----------------------------------------------------------------------

    def handle(self, message: Message, *, remaining_ms: Callable[[], int] | None = None,
               request_id: str | None = None, trace_id: str | None = None) -> Result:
        """Process one message end to end and give it a verdict.

        Args:
            remaining_ms: milliseconds left in the invocation (Lambda's context), ``None``
                when unknown; a job that returns after it reached 0 was timed out.

        Returns a :class:`Result`; ``Ack.RETURN`` means "report as a batch item failure"
        (its visibility is already set). Every message ends in a run-record outcome, a
        return to the queue with a reason, or the DLQ with the ``cronbridge-*`` error
        attributes; on its last receive before ``maxReceiveCount`` a return becomes the
        DLQ, so SQS never moves a message there without a reason. Exceptions from the job
        never escape; a ``BaseException`` (a crash, :class:`DeadlineExceeded`) does, and
        leaves the message to SQS's visibility timeout.
        """
        self.telemetry.reset()
        self.telemetry.bind(message_id=message.message_id, request_id=request_id)
        try:
            delivery = self._parse(message)
        except BadMessageError as exc:
            return self._dead_letter_bad_message(message, exc)
        except Exception as exc:  # noqa: BLE001 - a body the parser chokes on is still bad
            return self._dead_letter_bad_message(message, BadMessageError(
                f"unreadable body ({type(exc).__name__}: {exc})"))
        spec = self.registry.get(delivery.job)
        self.telemetry.bind(job=spec.name, slot=delivery.slot, trigger=delivery.trigger)
        refusal = self._refusal(spec, delivery)
        if refusal is not None:
            self.telemetry.logger.error("delivery refused, sent to the dead-letter queue: %s",
                                        refusal[1])
            self._send_to_dlq(message, spec.name, *refusal, slot=delivery.slot)
            return Result(Ack.DONE, "refused", spec.name, delivery.slot)
        try:
            result = self._claim_and_run(spec, delivery, message, remaining_ms, request_id,
                                         trace_id)
        except StoreBusyError as exc:
            self.telemetry.logger.warning("run table busy, returning message: %s", exc)
            self.actions.change_visibility(message.receipt_handle, STORE_BUSY_RETRY_SECONDS)
            result = Result(Ack.RETURN, "store_busy", spec.name, delivery.slot)
        except Exception as exc:  # noqa: BLE001 - not the job's: a bug or an odd answer
            return self._unexpected(spec, delivery, message, exc)
        return self._last_receive(spec, message, result)

    def _refusal(self, spec: JobSpec, delivery: Delivery) -> tuple[str, str] | None:
        """Why a delivery must not run, as ``(error type, message)``, or ``None``."""
        scheduled = delivery.scheduled_time
        if scheduled is None:
            return None
        now = self.clock.now()
        ahead = ahead_of_clock(scheduled, now)
        # Operators may backfill any slot they choose; only EventBridge's stamp is suspect.
        if ahead and delivery.trigger == Trigger.SCHEDULE.value:
            return (CLOCK_SKEW, f"event time {delivery.slot} is {int(ahead)}s beyond the "
                    f"worker clock plus its {int(MAX_CLOCK_SKEW.total_seconds())}s skew bound: "
                    "not run (redrive it once the clocks agree)")
        horizon = spec.retention_days * 86400 - MAX_CLOCK_SKEW.total_seconds()
        if (now - scheduled).total_seconds() > horizon:
            return (RETENTION_PASSED, f"slot {delivery.slot} is older than the run records' "
                    f"retention ({spec.retention_days} days): its record may have expired, so "
                    "a missing record cannot prove it never ran")
        return None

    def _unexpected(self, spec: JobSpec, delivery: Delivery, message: Message,
                    exc: Exception) -> Result:
        """Return the message for another try, or on its last receive dead-letter it with
        the error, so a failure outside the job never ends in the DLQ without a reason."""
        error_type, error_message = type(exc).__name__, str(exc)[:ERROR_MESSAGE_LIMIT]
        self.telemetry.logger.error("unexpected error outside the job (%s: %s)", error_type,
                                    error_message, extra={"traceback": _short_traceback(exc)})
        if self._is_last_receive(spec, message):
            self._send_to_dlq(message, spec.name, error_type, error_message, slot=delivery.slot)
            return Result(Ack.DONE, "dead_lettered", spec.name, delivery.slot)
        self.actions.change_visibility(message.receipt_handle, UNEXPECTED_RETRY_SECONDS)
        return Result(Ack.RETURN, "error", spec.name, delivery.slot)

    def _is_last_receive(self, spec: JobSpec, message: Message) -> bool:
        return message.receive_count >= self.plan.job(spec.name).max_receive_count

    def _last_receive(self, spec: JobSpec, message: Message, result: Result) -> Result:
        """A message returned on its last receive goes to the DLQ with the reason now: SQS
        would move it there next without one."""
        if result.ack is Ack.DONE or not self._is_last_receive(spec, message):
            return result
        reason = (f"returned on receive {message.receive_count}, the queue's last before "
                  f"maxReceiveCount ({result.outcome}); redrive it to carry on")
        self.telemetry.logger.error("%s", reason)
        self._send_to_dlq(message, spec.name, RECEIVE_LIMIT, reason, slot=result.slot,
                          attempt=result.attempt)
        return replace(result, ack=Ack.DONE, outcome="dead_lettered")

    def _parse(self, message: Message) -> Delivery:
        def job_for_rule(rule: str) -> JobSpec | None:
            job_plan = self.plan.job_for_rule(rule)
            return self.registry.get(job_plan.job) if job_plan else None

        delivery = parse_body(message.body, job_for_rule=job_for_rule, get_job=self.registry.get)
        if self.serves is not None and delivery.job != self.serves:
            raise BadMessageError(f"message for job {delivery.job!r} reached the queue of "
                                  f"job {self.serves!r}")
        return delivery

    # -- claim ----------------------------------------------------------------------------

    def _claim_and_run(self, spec: JobSpec, delivery: Delivery, message: Message,
                       remaining_ms: Callable[[], int] | None, request_id: str | None,
                       trace_id: str | None) -> Result:
        now = self.clock.now()
        now_s = now.timestamp()
        job_plan = self.plan.job(spec.name)
        expires_at = int(now_s) + spec.retention_days * 86400
        scheduled = delivery.scheduled_time
        slot_kwargs = dict(job=spec.name, slot=delivery.slot, now=now_s, trigger=delivery.trigger,
                           expires_at=expires_at,
                           scheduled_time=delivery.slot if scheduled else None)
        if (spec.starting_deadline_seconds and scheduled is not None
                and delivery.trigger == Trigger.SCHEDULE.value
                and (now - scheduled).total_seconds() > spec.starting_deadline_seconds):
            if self.store.skip(Skip(reason=SkipReason.LATE, **slot_kwargs)) is None:
                return self._skipped(spec, delivery, SkipReason.LATE)

        token = self.new_token()
        # An operator's trigger or backfill is never dropped as an overlap: it waits for the
        # running slot instead.
        scheduled_delivery = delivery.trigger == Trigger.SCHEDULE.value
        overlap = spec.overlap if scheduled_delivery else "buffer"
        context = ConflictContext(token=token, now=now_s, message_id=message.message_id,
                                  redrive_token=message.attributes.get(ATTR_DEAD_TOKEN),
                                  max_attempts=spec.max_attempts, overlap=overlap)
        plan = Retry(Expect.ABSENT, 0, None, 1, spec.max_attempts, delivery.trigger)
        for _ in range(MAX_CLAIM_ROUNDS):
            claim = Claim(
                job=spec.name, slot=delivery.slot, expect=plan.expect, attempt=plan.attempt,
                max_attempts=plan.max_attempts, token=token, now=now_s,
                lease_expires_at=now_s + job_plan.lease_seconds,
                trigger=plan.trigger or delivery.trigger, expires_at=expires_at,
                scheduled_time=slot_kwargs["scheduled_time"], prior_attempt=plan.prior_attempt,
                prior_token=plan.prior_token, guard_overlap=spec.overlap != "allow",
                # Pause stops new slots only: a started slot's retries and an operator's
                # redrive (explicit intent) are not held back by it.
                check_paused=plan.expect is Expect.ABSENT and scheduled_delivery,
                message_id=message.message_id, request_id=request_id, trace_id=trace_id)
            conflict = self.store.claim(claim)
            if conflict is None:
                return self._run(spec, delivery, message, claim, plan.resume_state, remaining_ms)
            decision = decide_conflict(conflict, replace(context, expect=plan.expect,
                                                         check_paused=claim.check_paused))
            if isinstance(decision, SkipSlot):
                found = self.store.skip(Skip(reason=decision.reason, **slot_kwargs))
                if found is None:
                    return self._skipped(spec, delivery, decision.reason)
                # The slot got a run record meanwhile: decide again from it alone.
                decision = decide_conflict(Conflict(run=found, job=None), context)
            if isinstance(decision, Retry):
                plan = decision
                continue
            if isinstance(decision, Owned):
                owned = replace(claim, attempt=decision.attempt)
                return self._run(spec, delivery, message, owned, plan.resume_state, remaining_ms)
            return self._settle(spec, delivery, message, decision)
        self.actions.change_visibility(message.receipt_handle, 1)
        return Result(Ack.RETURN, "contended", spec.name, delivery.slot)

    def _settle(self, spec: JobSpec, delivery: Delivery, message: Message,
                decision: Duplicate | ReturnLater | ForwardToDlq) -> Result:
        """Answer a delivery that does not run: acknowledge, return or forward it."""
        if isinstance(decision, Duplicate):
            self.telemetry.metric(spec.name, m.DUPLICATE_SUPPRESSED)
            self.telemetry.logger.info("duplicate delivery of a %s slot acknowledged",
                                       decision.status.value)
            return Result(Ack.DONE, "duplicate", spec.name, delivery.slot)
        if isinstance(decision, ReturnLater):
            if decision.reason == "running":
                self.telemetry.metric(spec.name, m.DUPLICATE_SUPPRESSED)
            self.telemetry.logger.info("slot not startable now (%s); back in %ss",
                                       decision.reason, decision.delay_seconds)
            self.actions.change_visibility(message.receipt_handle, decision.delay_seconds)
            return Result(Ack.RETURN, decision.reason, spec.name, delivery.slot)
        # The DEAD write went through but the worker died before the DLQ send: finish it.
        self.telemetry.logger.warning("slot already DEAD; completing the interrupted send to "
                                      "the dead-letter queue")
        self._send_to_dlq(message, spec.name, decision.error_type or "Dead",
                          decision.error_message, slot=delivery.slot, attempt=decision.attempt,
                          dead_token=decision.dead_token)
        return Result(Ack.DONE, "dead", spec.name, delivery.slot, decision.attempt)

    def _skipped(self, spec: JobSpec, delivery: Delivery, reason: SkipReason) -> Result:
        self.telemetry.metric(spec.name, m.RUN_SKIPPED)
        self.telemetry.metric(spec.name, m.SKIPPED_BY_REASON[reason.value])
        self.telemetry.bind(status=Status.SKIPPED.value, skip_reason=reason.value)
        self.telemetry.logger.info("slot skipped: %s", reason.value)
        return Result(Ack.DONE, f"skipped_{reason.value}", spec.name, delivery.slot)

    # -- run ------------------------------------------------------------------------------

    def _run(self, spec: JobSpec, delivery: Delivery, message: Message, claim: Claim,
             resume_state: Any, remaining_ms: Callable[[], int] | None) -> Result:
        # The claim decides the trigger (a redriven message still reads "schedule").
        self.telemetry.bind(attempt=claim.attempt, status=Status.RUNNING.value,
                            trigger=claim.trigger)
        started = self.clock.now()
        if delivery.scheduled_time is not None and claim.attempt == 1:
            lag = max(0.0, (started - delivery.scheduled_time).total_seconds())
            self.telemetry.metric(spec.name, m.START_LAG, lag, "Seconds")
        if claim.expect is Expect.EXPIRED:
            self.telemetry.metric(spec.name, m.RUN_TIMED_OUT)
        if claim.attempt > claim.max_attempts:
            # The last attempt lost its lease: nothing left to try.
            return self._finish_failure(spec, message, claim, started, TimeoutError(
                f"attempt {claim.prior_attempt} timed out (lease lost) and no attempts are left"),
                permanent=True)

        def save_checkpoint(state: Any) -> None:
            json.dumps(state)  # fail in the job, not in the store, on unserialisable state
            if not self.store.checkpoint(spec.name, delivery.slot, claim.attempt, claim.token,
                                         state):
                raise LeaseLostError(f"slot {delivery.slot} was taken over by a newer attempt")

        self.telemetry.logger.info(
            "run started", extra={"payload": dict(delivery.payload)} if self.log_payloads else None)
        context = JobContext(job=spec.name, slot=delivery.slot,
                             scheduled_time=delivery.scheduled_time, attempt=claim.attempt,
                             trigger=claim.trigger, payload=delivery.payload,
                             logger=self.telemetry.logger, resume_state=resume_state,
                             key=delivery.key, _remaining_ms=remaining_ms or (lambda: 0),
                             _checkpoint=save_checkpoint)
        with self.telemetry.span(f"run {spec.name}", job=spec.name, slot=delivery.slot):
            try:
                result = spec.func(context)
            except Exception as exc:  # noqa: BLE001 - every job failure is classified below
                _check_deadline(remaining_ms, spec)
                return self._finish_failure(spec, message, claim, started, exc,
                                            permanent=spec.is_permanent(exc))
        _check_deadline(remaining_ms, spec)
        return self._finish_success(spec, claim, started, result)

    def _finish_success(self, spec: JobSpec, claim: Claim, started: Any, result: Any) -> Result:
        now = self.clock.now()
        duration_ms = int((now - started).total_seconds() * 1000)
        recorded = record_result(result)
        if recorded.omitted:
            self.telemetry.logger.warning("result not recorded: %s", recorded.omitted)
        fenced = self._write_finish(Finish(
            job=spec.name, slot=claim.slot, attempt=claim.attempt, token=claim.token,
            status=Status.SUCCEEDED, now=now.timestamp(), started_at=started.timestamp(),
            duration_ms=duration_ms, result=recorded.value, result_omitted=recorded.omitted,
            release_overlap=claim.guard_overlap))
        if not fenced:
            return self._lease_lost(spec, claim)
        self.telemetry.bind(status=Status.SUCCEEDED.value, duration_ms=duration_ms)
        self.telemetry.metric(spec.name, m.RUN_SUCCEEDED)
        self.telemetry.metric(spec.name, m.RUN_DURATION, duration_ms, "Milliseconds")
        self.telemetry.metric(spec.name, m.ATTEMPTS, claim.attempt)
        # A success ends the streak (in slot order, so it may be a late older slot's, which
        # the store did not count: the zero then clears the alarm one slot early at worst).
        self.telemetry.metric(spec.name, m.CONSECUTIVE_FAILURES, 0)
        self.telemetry.logger.info("run succeeded")
        return Result(Ack.DONE, "succeeded", spec.name, claim.slot, claim.attempt)

    def _finish_failure(self, spec: JobSpec, message: Message, claim: Claim, started: Any,
                        exc: BaseException, *, permanent: bool) -> Result:
        now = self.clock.now()
        duration_ms = int((now - started).total_seconds() * 1000)
        dead = permanent or claim.attempt >= claim.max_attempts
        error_type = type(exc).__name__
        error_message = str(exc)[:ERROR_MESSAGE_LIMIT]
        dead_token = self.new_token() if dead else None
        fenced = self._write_finish(Finish(
            job=spec.name, slot=claim.slot, attempt=claim.attempt, token=claim.token,
            status=Status.DEAD if dead else Status.FAILED, now=now.timestamp(),
            started_at=started.timestamp(), duration_ms=duration_ms, error_type=error_type,
            error_message=error_message, dead_token=dead_token,
            dead_message_id=message.message_id if dead else None,
            release_overlap=claim.guard_overlap))
        if not fenced:
            return self._lease_lost(spec, claim)
        self.telemetry.metric(spec.name, m.RUN_DURATION, duration_ms, "Milliseconds")
        log = self.telemetry.logger
        if not dead:
            delay = backoff_seconds(claim.attempt, base=spec.backoff_base_seconds,
                                    cap=spec.backoff_cap_seconds, rng=self.rng)
            self.telemetry.bind(status=Status.FAILED.value, error_type=error_type)
            self.telemetry.metric(spec.name, m.RUN_FAILED)
            log.warning("attempt failed (%s: %s); retry in %ss", error_type, error_message, delay,
                        extra={"traceback": _short_traceback(exc)})
            self.actions.change_visibility(message.receipt_handle, delay)
            return Result(Ack.RETURN, "failed", spec.name, claim.slot, claim.attempt)
        self.telemetry.bind(status=Status.DEAD.value, error_type=error_type)
        self.telemetry.metric(spec.name, m.RUN_DEAD)
        self.telemetry.metric(spec.name, m.ATTEMPTS, claim.attempt)
        log.error("run dead after attempt %s (%s: %s); sent to the dead-letter queue",
                  claim.attempt, error_type, error_message,
                  extra={"permanent": permanent, "traceback": _short_traceback(exc)})
        self._send_to_dlq(message, spec.name, error_type, error_message, slot=claim.slot,
                          attempt=claim.attempt, dead_token=dead_token)
        # After the send: the streak only feeds an alarm and the auto-pause, and must never
        # hold up the DLQ.
        try:
            streak = self.store.consecutive_failures(spec.name)
            self.telemetry.metric(spec.name, m.CONSECUTIVE_FAILURES, streak)
        except StoreBusyError as busy:
            log.warning("consecutive failures not emitted, run table busy: %s", busy)
        else:
            self._auto_pause(spec, streak, now.timestamp())
        return Result(Ack.DONE, "dead", spec.name, claim.slot, claim.attempt)

    def _auto_pause(self, spec: JobSpec, streak: int, now: float) -> None:
        """Pause the job once its streak of DEAD slots reaches ``pause_after_failures``.

        The streak counts in slot order (the store's), so a late old slot's death does not
        count twice. A failed pause is logged, not raised: the slot is settled already.
        """
        limit = spec.pause_after_failures
        if limit is None or self.pauser is None or streak < limit:
            return
        reason = f"{streak} slots in a row ended DEAD (pause_after_failures={limit})"
        try:
            paused = self.pauser.pause(spec.name, reason=reason, now=now)
        except Exception as exc:  # noqa: BLE001 - an AWS error must not crash a settled slot
            self.telemetry.logger.error("auto-pause failed: %s: %s", type(exc).__name__, exc)
            return
        if paused:
            self.telemetry.metric(spec.name, m.AUTO_PAUSED)
            self.telemetry.logger.error("job paused: %s", reason)

    def _write_finish(self, finish: Finish) -> bool:
        for _ in range(FINISH_WRITE_TRIES - 1):
            try:
                return self.store.finish(finish)
            except StoreBusyError as exc:
                self.telemetry.logger.warning("finish write throttled, retrying: %s", exc)
        return self.store.finish(finish)

    def _lease_lost(self, spec: JobSpec, claim: Claim) -> Result:
        self.telemetry.logger.warning("attempt %s lost its lease; the newer attempt owns the slot",
                                      claim.attempt)
        return Result(Ack.DONE, "lease_lost", spec.name, claim.slot, claim.attempt)

    def _dead_letter_bad_message(self, message: Message, exc: BadMessageError) -> Result:
        job = self.serves or "unknown"
        self.telemetry.bind(job=job)
        self.telemetry.metric(job, m.BAD_MESSAGE)
        self.telemetry.logger.error("malformed message sent to the dead-letter queue: %s", exc)
        self._send_to_dlq(message, job, type(exc).__name__, str(exc)[:ERROR_MESSAGE_LIMIT])
        return Result(Ack.DONE, "bad_message", job)

    def _send_to_dlq(self, message: Message, job: str, error_type: str,
                     error_message: str | None, *, slot: str | None = None,
                     attempt: int | None = None, dead_token: str | None = None) -> None:
        """Send the message body to the DLQ with the ``cronbridge-*`` attributes (absent ones
        left out: SQS rejects empty values)."""
        attributes = {
            ATTR_JOB: job, ATTR_SLOT: slot, ATTR_ATTEMPTS: str(attempt) if attempt else None,
            ATTR_ERROR_TYPE: error_type, ATTR_ERROR_MESSAGE: error_message or error_type,
            ATTR_DEAD_TOKEN: dead_token}
        self.actions.send_to_dlq(message.body,
                                 {name: value for name, value in attributes.items() if value})


def redrive_attributes(attributes: Mapping[str, str], *, job: str, slot: str | None,
                       run_status: str | None, run_dead_token: str | None) -> dict[str, str]:
    """The message attributes to redrive a dead letter with.

    A letter SQS moved after ``maxReceiveCount`` carries no dead token: the worker died
    between the DEAD write and its own DLQ send, on the last receive. The worker cannot tell
    such a copy from a late duplicate, so it acknowledges it without running; redriving it
    is the operator's explicit request to run the slot again, so when the slot's run is DEAD
    the run's own dead token is put on the copy, and the redrive runs the slot once, as for
    any dead letter. Otherwise the attributes are returned unchanged.
    """
    if (attributes.get(ATTR_DEAD_TOKEN) or slot is None or not run_dead_token
            or run_status != Status.DEAD.value):
        return dict(attributes)
    return {**attributes, ATTR_JOB: job, ATTR_SLOT: slot, ATTR_DEAD_TOKEN: run_dead_token}


def _check_deadline(remaining_ms: Callable[[], int] | None, spec: JobSpec) -> None:
    """End the attempt unwritten if the invocation outlived its timeout. Lambda kills such
    an invocation before this runs; an emulator (local mode) cannot, so it ends here the
    same way and the next delivery records the attempt TIMED_OUT."""
    if remaining_ms is not None and remaining_ms() <= 0:
        raise DeadlineExceeded(f"job {spec.name} ran past its {spec.timeout_seconds}s timeout")


def _short_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-3))[-2000:]
