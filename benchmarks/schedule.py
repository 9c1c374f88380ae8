"""Time per next-fire-time step: cronbridge vs croniter vs cronsim, measured in one run.

Run: ``.venv/bin/python benchmarks/schedule.py``. Each engine computes the same fire times
from 2026-01-01T00:00Z (croniter and cronsim on the equivalent Unix expression, where one
exists; ``n/a`` otherwise). A figure is the mean time per fire time, best of several rounds.
cronbridge is timed two ways: one ``next_fire_times(after, N)`` call (``batch``), and N chained
``next_fire_times(t, 1)`` calls (``1-step``), which is how croniter and cronsim are driven.
The ratios are the other engine's time over cronbridge's batch time (> 1: cronbridge faster).
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
ROUNDS = 5

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


def _per_step(run: Callable[[], int]) -> float | None:
    """Best-of-ROUNDS mean seconds per produced fire time (per call if none is produced)."""
    best = None
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        produced = run()
        elapsed = (time.perf_counter() - t0) / max(produced, 1)
        best = elapsed if best is None else min(best, elapsed)
    return best


def _expected(expr: str) -> list[datetime]:
    return parse_schedule(expr).next_fire_times(START, STEPS)


def _cronbridge_batch(expr: str, n: int) -> Callable[[], int]:
    def run() -> int:
        # Parse inside the timing so the per-(year, month) day cache starts cold every round.
        return len(parse_schedule(expr).next_fire_times(START, n))
    return run


def _cronbridge_single(expr: str, n: int) -> Callable[[], int]:
    def run() -> int:
        schedule, t, k = parse_schedule(expr), START, 0
        for k in range(n):
            nxt = schedule.next_fire_times(t, 1)
            if not nxt:
                return k
            t = nxt[0]
        return n
    return run


def _croniter(expr: str, n: int) -> Callable[[], int]:
    def run() -> int:
        it = croniter(expr, START)
        for _ in range(n):
            it.get_next(datetime)
        return n
    return run


def _cronsim(expr: str, n: int) -> Callable[[], int]:
    def run() -> int:
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
    table = Table(title=f"Mean time per next-fire-time step, µs (best of {ROUNDS} rounds, "
                        f"up to {STEPS} steps from {START:%Y-%m-%d})")
    for col in ("expression", "cronbridge batch", "cronbridge 1-step", "croniter", "cronsim",
                "croniter / cb", "cronsim / cb"):
        table.add_column(col, justify="left" if col == "expression" else "right")
    ratios_croniter: list[float] = []
    ratios_cronsim: list[float] = []
    single_croniter: list[float] = []
    single_cronsim: list[float] = []
    for label, expr, unix_croniter, unix_cronsim in CASES:
        expected = _expected(expr)
        n = len(expected)
        ours = _per_step(_cronbridge_batch(expr, STEPS))
        single = _per_step(_cronbridge_single(expr, STEPS))
        assert ours is not None
        other_croniter = other_cronsim = None
        if unix_croniter and _agrees(
                lambda: list(_take(croniter(unix_croniter, START).all_next(datetime), n)),
                expected):
            other_croniter = _per_step(_croniter(unix_croniter, n))
        if unix_cronsim and _agrees(lambda: list(_take(CronSim(unix_cronsim, START), n)),
                                    expected):
            other_cronsim = _per_step(_cronsim(unix_cronsim, n))
        assert single is not None
        if other_croniter is not None:
            ratios_croniter.append(other_croniter / ours)
            single_croniter.append(other_croniter / single)
        if other_cronsim is not None:
            ratios_cronsim.append(other_cronsim / ours)
            single_cronsim.append(other_cronsim / single)
        table.add_row(f"{label}  {expr}", _us(ours), _us(single), _us(other_croniter),
                      _us(other_cronsim), _ratio(other_croniter, ours),
                      _ratio(other_cronsim, ours))
    console = Console(width=160)
    console.print(table)
    console.print(
        f"median ratio: croniter/cronbridge {statistics.median(ratios_croniter):.1f}x "
        f"(min {min(ratios_croniter):.1f}x, {len(ratios_croniter)} expressions); "
        f"cronsim/cronbridge {statistics.median(ratios_cronsim):.1f}x "
        f"(min {min(ratios_cronsim):.1f}x, {len(ratios_cronsim)} expressions)")
    console.print(
        f"1-step calls: croniter/cronbridge median {statistics.median(single_croniter):.1f}x "
        f"(min {min(single_croniter):.1f}x); cronsim/cronbridge median "
        f"{statistics.median(single_cronsim):.1f}x (min {min(single_cronsim):.1f}x)")
    console.print("n/a: the engine cannot express the schedule, or its answer differs from "
                  "EventBridge's, so it is not timed.")


if __name__ == "__main__":
    main()
