"""The chaos check reads its verdicts from evidence outside the run table (issue 11, 8): a
table that claims SKIPPED for everything, or DEAD slots whose letters cannot be redriven,
must fail it."""

from __future__ import annotations

from datetime import datetime, timezone

from cronbridge.core.jobs import JobSpec
from cronbridge.local.chaos import Ledger, RunRecord, account

SPECS = {"every": JobSpec(name="every", schedule="cron(* * * * ? *)", func=print,
                          starting_deadline_seconds=120)}
LEASES = {"every": 90}
SLOTS = [f"2026-11-30T02:0{i}:00Z" for i in range(4)]
EXPECTED = {("every", slot) for slot in SLOTS}


def at(slot: str, seconds: float = 0) -> float:
    return datetime.fromisoformat(slot.replace("Z", "+00:00")).astimezone(
        timezone.utc).timestamp() + seconds


def test_a_table_of_skips_with_nothing_run_is_not_accounted():
    runs = [RunRecord("every", slot, "SKIPPED", reason, at(slot))
            for slot in SLOTS for reason in ("overlap",)]
    checked = account(EXPECTED, runs, set(), Ledger(), SPECS, LEASES)
    assert (checked.accounted, checked.skips_unconfirmed) == (set(), 4)
    assert checked.executed_nothing
    late = [RunRecord("every", slot, "SKIPPED", "late", at(slot, 60)) for slot in SLOTS]
    paused = [RunRecord("every", slot, "SKIPPED", "paused", at(slot)) for slot in SLOTS]
    assert account(EXPECTED, late + paused, set(), Ledger(), SPECS, LEASES).accounted == set()


def test_skips_the_ledger_or_the_schedule_confirm_are_accounted():
    ledger = Ledger()
    ledger.claimed("every", SLOTS[0], at(SLOTS[0]))
    ledger.record("every", SLOTS[0], "succeeded")
    runs = [RunRecord("every", SLOTS[0], "SUCCEEDED", finished_at=at(SLOTS[0], 1)),
            RunRecord("every", SLOTS[1], "SKIPPED", "overlap", at(SLOTS[1])),   # within a lease
            RunRecord("every", SLOTS[2], "SKIPPED", "overlap", at(SLOTS[2])),   # lease long gone
            RunRecord("every", SLOTS[3], "SKIPPED", "late", at(SLOTS[3], 121))]
    checked = account(EXPECTED, runs, set(), ledger, SPECS, LEASES)
    assert checked.accounted == {("every", s) for s in (SLOTS[0], SLOTS[1], SLOTS[3])}
    assert checked.skips_unconfirmed == 1


def test_dead_letters_stripped_of_their_dead_tokens_are_not_accounted():
    runs = [RunRecord("every", slot, "DEAD", dead_token=f"t{i}") for i, slot in enumerate(SLOTS)]
    stripped = {("every", slot, "") for slot in SLOTS}
    checked = account(EXPECTED, runs, stripped, Ledger(), SPECS, LEASES)
    assert (checked.accounted, checked.dead_not_redrivable) == (set(), 4)
    intact = {("every", slot, f"t{i}") for i, slot in enumerate(SLOTS)}
    assert len(account(EXPECTED, runs, intact, Ledger(), SPECS, LEASES).accounted) == 4


def test_a_success_the_ledger_never_saw_is_not_accounted():
    runs = [RunRecord("every", SLOTS[0], "SUCCEEDED")]
    assert account(EXPECTED, runs, set(), Ledger(), SPECS, LEASES).accounted == set()
