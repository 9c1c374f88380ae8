"""cronbridge's schedule engine against croniter and cronsim, like with like, in one run.

Run: ``.venv/bin/python benchmarks/schedule.py``. Each engine computes the same fire times
from 2026-01-01T00:00Z (croniter and cronsim on the equivalent Unix expression, where one
exists and agrees with EventBridge; ``n/a`` otherwise). Two figures per expression, each the
best of interleaved rounds:

* one step: the mean time of one ``next_fire_times(t, 1)`` call chained from the last
  answer, against croniter's ``get_next`` and cronsim's ``next`` (parsing untimed);
* cold start: ``parse_schedule(expr)`` plus the first ``next_fire_times(START, 1)`` (the
  CLI's and ``cronbridge jobs``' pattern) against ``next(CronSim(expr, START))``.

Ratios are the other engine's time over cronbridge's (> 1: cronbridge faster).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from croniter import croniter  # noqa: E402
from cronsim import CronSim  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from cronbridge.core.schedule import parse_schedule  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
STEPS = 500
ROUNDS = 7
COLD = 50  # cold starts per round

# (label, EventBridge expression, croniter expression, cronsim expression). croniter and
# cronsim number day-of-week Unix-style (0/7 = Sunday); croniter writes "last Friday" as L5,
# cronsim as 5L; neither knows W except cronsim's LW; only croniter has a year field.
CASES: list[tuple[str, str, str | None, str | None]] = [
    ("every minute", "cron(* * * * ? *)", "* * * * *", "* * * * *"),
    ("every 15 min", "cron(0/15 * * * ? *)", "*/15 * * * *", "*/15 * * * *"),
    ("hourly", "cron(0 * * * ? *)", "0 * * * *", "0 * * * *"),
    ("weekdays 09:00", "cron(0 9 ? * MON-FRI *)", "0 9 * * 1-5", "0 9 * * 1-5"),
    ("business hours", "cron(0/5 8-17 ? * MON-FRI *)", "*/5 8-17 * * 1-5", "*/5 8-17 * * 1-5"),
    ("last day (L)", "cron(0 0 L * ? *)", "0 0 L * *", "0 0 L * *"),
    ("last Friday (6L)", "cron(0 0 ? * 6L *)", "0 0 * * L5", "0 0 * * 5L"),
    ("first Monday (2#1)", "cron(0 9 ? * 2#1 *)", "0 9 * * 1#1", "0 9 * * 1#1"),
    ("nearest weekday (15W)", "cron(0 9 15W * ? *)", None, None),
    ("last weekday (LW)", "cron(0 18 LW * ? *)", None, "0 18 LW * *"),
    ("yearly", "cron(0 0 1 1 ? *)", "0 0 1 1 *", "0 0 1 1 *"),
    ("Feb 29", "cron(0 0 29 2 ? *)", "0 0 29 2 *", "0 0 29 2 *"),
    ("sparse years", "cron(0 12 ? * MON 2026,2030-2031,2040)",
     "0 12 * * 1 0 2026,2030-2031,2040", None),
    ("never again (2020)", "cron(0 0 1 1 ? 2020)", None, None),
]


def _interleaved(runs: dict[str, Callable[[], int] | None], rounds: int = ROUNDS
                 ) -> dict[str, float | None]:
    """Best-of-``rounds`` mean seconds per produced fire time (per call if none is produced)
    of each run, the runs taking turns within each round so load on the machine hits all
    of them alike."""
    best: dict[str, float | None] = {name: None for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            if run is None:
                continue
            t0 = time.perf_counter()
            produced = run()
            elapsed = (time.perf_counter() - t0) / max(produced, 1)
            previous = best[name]
            best[name] = elapsed if previous is None else min(previous, elapsed)
    return best


def _expected(expr: str) -> list[datetime]:
    return parse_schedule(expr).next_fire_times(START, STEPS)


def _cronbridge_steps(expr: str, n: int) -> Callable[[], int]:
    """n chained one-step calls, as croniter and cronsim are driven (parse untimed)."""
    schedule = parse_schedule(expr)

    def run() -> int:
        t, k = START, 0
        for k in range(n):
            nxt = schedule.next_fire_times(t, 1)
            if not nxt:
                return k
            t = nxt[0]
        return n
    return run


def _repeat(first: Callable[[], object]) -> Callable[[], int]:
    """``COLD`` cold starts (parse + first fire time) of one engine, counted per call."""
    def run() -> int:
        for _ in range(COLD):
            first()
        return COLD
    return run


def _croniter(expr: str, n: int) -> Callable[[], int]:
    it = croniter(expr, START)

    def run() -> int:
        it.set_current(START)
        for _ in range(n):
            it.get_next(datetime)
        return n
    return run


def _cronsim(expr: str, n: int) -> Callable[[], int]:
    def run() -> int:
        # cronsim has no reset: a fresh iterator per round (its parse is 1/n of a step).
        it = CronSim(expr, START)
        for _ in range(n):
            next(it)
        return n
    return run


def _take(iterator, n: int):
    for _, item in zip(range(n), iterator):
        yield item


def _agrees(make: Callable[[], list[datetime]], expected: list[datetime]) -> bool:
    try:
        return make() == expected
    except Exception:  # noqa: BLE001 - an engine that cannot answer is simply not compared
        return False


def _us(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:.2f}"


def _ratio(other: float | None, ours: float) -> str:
    return "n/a" if other is None else f"{other / ours:.1f}x"


def main() -> None:
    table = Table(title=f"µs per step (best of {ROUNDS} interleaved rounds, up to {STEPS} "
                        f"one-step calls from {START:%Y-%m-%d}) and per cold start (parse + "
                        f"first fire time)")
    for col in ("expression", "cb step", "croniter", "cronsim", "croniter / cb",
                "cronsim / cb", "cb cold", "cronsim cold", "cronsim / cb cold"):
        table.add_column(col, justify="left" if col == "expression" else "right")
    step_croniter: list[float] = []
    step_cronsim: list[float] = []
    cold_cronsim: list[float] = []
    for label, expr, unix_croniter, unix_cronsim in CASES:
        expected = _expected(expr)
        n = len(expected)
        use_croniter = bool(unix_croniter) and _agrees(
            lambda: list(_take(croniter(unix_croniter, START).all_next(datetime), n)), expected)
        use_cronsim = bool(unix_cronsim) and _agrees(
            lambda: list(_take(CronSim(unix_cronsim, START), n)), expected)
        steps = _interleaved({
            "cb": _cronbridge_steps(expr, STEPS),
            "croniter": _croniter(unix_croniter, n) if use_croniter else None,
            "cronsim": _cronsim(unix_cronsim, n) if use_cronsim else None})
        cold = _interleaved({
            "cb": _repeat(lambda: parse_schedule(expr).next_fire_times(START, 1)),
            "cronsim": _repeat(lambda: next(CronSim(unix_cronsim, START)))
            if use_cronsim else None})
        ours, ours_cold = steps["cb"], cold["cb"]
        assert ours is not None and ours_cold is not None
        if steps["croniter"] is not None:
            step_croniter.append(steps["croniter"] / ours)
        if steps["cronsim"] is not None:
            step_cronsim.append(steps["cronsim"] / ours)
        if cold["cronsim"] is not None:
            cold_cronsim.append(cold["cronsim"] / ours_cold)
        table.add_row(f"{label}  {expr}", _us(ours), _us(steps["croniter"]),
                      _us(steps["cronsim"]), _ratio(steps["croniter"], ours),
                      _ratio(steps["cronsim"], ours), _us(ours_cold), _us(cold["cronsim"]),
                      _ratio(cold["cronsim"], ours_cold))
    console = Console(width=180)
    console.print(table)
    console.print(
        f"one step: croniter/cronbridge median {statistics.median(step_croniter):.1f}x "
        f"(min {min(step_croniter):.1f}x, {len(step_croniter)} expressions); "
        f"cronsim/cronbridge median {statistics.median(step_cronsim):.1f}x "
        f"(min {min(step_cronsim):.1f}x, {len(step_cronsim)} expressions)")
    console.print(
        f"cold start (parse + first fire time): cronsim/cronbridge median "
        f"{statistics.median(cold_cronsim):.2f}x (min {min(cold_cronsim):.2f}x, "
        f"{len(cold_cronsim)} expressions; > 1: cronbridge faster)")
    console.print("n/a: the engine cannot express the schedule, or its answer differs from "
                  "EventBridge's, so it is not timed.")


if __name__ == "__main__":
    main()
