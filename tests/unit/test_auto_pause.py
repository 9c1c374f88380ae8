"""Auto-pause: a job pauses itself once its streak of DEAD slots (in slot order) reaches
``pause_after_failures``, once, and never for a streak below it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from run_harness import MutableClock, RecordingTelemetry

from cronbridge.adapters.memory import MemoryRunStore
from cronbridge.core.errors import JobDefinitionError, PermanentError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.messages import scheduled_event
from cronbridge.core.plan import build_plan
from cronbridge.service import Message, SlotService

START = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


class Actions:
    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        pass

    def send_to_dlq(self, body: str, attributes: Any) -> None:
        pass


class Pauser:
    def __init__(self) -> None:
        self.paused: dict[str, str] = {}
        self.calls = 0

    def pause(self, job: str, *, reason: str, now: float) -> bool:
        self.calls += 1
        if job in self.paused:
            return False
        self.paused[job] = reason
        return True


def service(outcomes: list[str], limit: int | None, pauser: Pauser
            ) -> tuple[SlotService, RecordingTelemetry, str]:
    def body(ctx: Any) -> str:
        if outcomes.pop(0) == "dead":
            raise PermanentError("bad input")
        return "ok"

    registry = JobRegistry()
    registry.add(JobSpec(name="jj", schedule="rate(1 minute)", func=body, max_attempts=1,
                         pause_after_failures=limit))
    plan = build_plan(registry, app="t", job_modules=())
    telemetry = RecordingTelemetry()
    svc = SlotService(registry=registry, plan=plan, store=MemoryRunStore(), actions=Actions(),
                      telemetry=telemetry, clock=MutableClock(START + timedelta(hours=1)),
                      serves="jj", pauser=pauser)
    rule_arn = f"arn:aws:events:us-east-1:123456789012:rule/{plan.jobs[0].rule_name}"
    return svc, telemetry, rule_arn


def deliver(svc: SlotService, rule_arn: str, minute: int) -> None:
    event = scheduled_event(rule_arn=rule_arn, time=START + timedelta(minutes=minute),
                            account="123456789012", region="us-east-1")
    svc.handle(Message(f"m{minute}", json.dumps(event), f"r{minute}"))


@pytest.mark.parametrize(("outcomes", "paused_after"), [
    (["dead", "dead", "dead"], 3),
    (["dead", "dead", "ok", "dead", "dead"], None),        # a success resets the streak
    (["dead", "dead", "ok", "dead", "dead", "dead"], 6),
])
def test_the_job_pauses_itself_at_the_limit(outcomes: list[str],
                                             paused_after: int | None) -> None:
    pauser = Pauser()
    svc, telemetry, rule_arn = service(list(outcomes), 3, pauser)
    for minute in range(len(outcomes)):
        deliver(svc, rule_arn, minute)
        if paused_after is not None and minute + 1 >= paused_after:
            assert pauser.paused == {"jj": "3 slots in a row ended DEAD "
                                           "(pause_after_failures=3)"}
        else:
            assert pauser.paused == {}
    assert telemetry.count("AutoPaused") == (1 if paused_after else 0)


def test_a_streak_past_the_limit_pauses_once_and_no_limit_never() -> None:
    pauser = Pauser()
    svc, telemetry, rule_arn = service(["dead"] * 5, 2, pauser)
    for minute in range(5):
        deliver(svc, rule_arn, minute)
    assert list(pauser.paused) == ["jj"] and telemetry.count("AutoPaused") == 1

    never = Pauser()
    svc, _, rule_arn = service(["dead"] * 5, None, never)
    for minute in range(5):
        deliver(svc, rule_arn, minute)
    assert never.calls == 0


def test_a_failing_pause_does_not_crash_the_settled_slot() -> None:
    class Broken(Pauser):
        def pause(self, job: str, *, reason: str, now: float) -> bool:
            raise ConnectionError("events unreachable")

    svc, telemetry, rule_arn = service(["dead"], 1, Broken())
    deliver(svc, rule_arn, 0)
    assert telemetry.count("RunDead") == 1 and telemetry.count("AutoPaused") == 0


def test_pause_after_failures_is_validated() -> None:
    with pytest.raises(JobDefinitionError, match="pause_after_failures"):
        JobSpec(name="jj", schedule="rate(1 minute)", func=lambda ctx: None,
                pause_after_failures=0)
