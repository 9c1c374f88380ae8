"""How `cronbridge local --simulate` grows with the window and with the number of jobs.

Run: ``.venv/bin/python benchmarks/simulate_scale.py [CASE ...]`` with cases among
``24h 7d 30d 100jobs`` (default: ``24h 7d 100jobs``), optionally with ``--chaos``. Each case
runs in a fresh process (so peak memory is its own) and reports its CPU time (user +
system), peak resident memory, slots and CPU per slot; the ratios compare each case with
the first, within this one run. The demo jobs start at 2026-11-23T00:00Z; ``100jobs`` is a
day of 100 synthetic ``rate(1 hour)`` jobs (``infra/cronbridge_synthetic``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-23T00:00:00+00:00"
CASES = {"24h": ("24h", None), "7d": ("7d", None), "30d": ("30d", None),
         "100jobs": ("24h", 100)}
CHAOS = "failure=0.3,duplicate=0.2,crash=0.05,throttle=0.05,late=0.1"

_CHILD = """
import json, resource, sys
from datetime import datetime, timedelta
from pathlib import Path
from cronbridge.local.chaos import Chaos
from cronbridge.local.simulate import run_simulation
window, modules, chaos, log = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
amount, unit = int(window[:-1]), window[-1]
duration = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
sim = run_simulation(datetime.fromisoformat(%r), duration, seed=3,
                     chaos=Chaos.parse(chaos) if chaos else None,
                     job_modules=tuple(modules.split(",")) if modules else None,
                     log_path=Path(log))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": usage.ru_utime + usage.ru_stime, "peak_kib": usage.ru_maxrss,
                  "slots": sim.slots_expected, "accounted": sim.slots_accounted,
                  "ok": sim.ok()}))
""" % START


def run_case(name: str, chaos: str) -> dict[str, float]:
    """One case in a fresh interpreter; its own CPU seconds, peak KiB and slot counts."""
    window, jobs = CASES[name]
    env = dict(os.environ)
    modules = ""
    if jobs:
        env["CRONBRIDGE_SYNTHETIC_JOBS"] = str(jobs)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "infra"),
                                                          env.get("PYTHONPATH")]))
        modules = "cronbridge_synthetic"
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _CHILD, window, modules, chaos,
                              str(Path(tmp) / "worker.log")],
                             env=env, cwd=tmp, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    chaos = CHAOS if "--chaos" in argv else ""
    names = [a for a in argv if not a.startswith("--")] or ["24h", "7d", "100jobs"]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}",
              file=sys.stderr)
        return 2
    table = Table(title="cronbridge local --simulate" + (f" --chaos {chaos}" if chaos else ""))
    for col in ("case", "slots", "CPU s", "peak MiB", "CPU ms / slot", "CPU / first",
                "slots / first", "all accounted"):
        table.add_column(col, justify="left" if col == "case" else "right")
    first: dict[str, float] | None = None
    for name in names:
        result = run_case(name, chaos)
        first = first or result
        table.add_row(name, str(result["slots"]), f"{result['cpu']:.1f}",
                      f"{result['peak_kib'] / 1024:.0f}",
                      f"{1000 * result['cpu'] / result['slots']:.1f}",
                      f"{result['cpu'] / first['cpu']:.2f}x",
                      f"{result['slots'] / first['slots']:.2f}x",
                      "yes" if result["ok"] else "NO")
    Console(width=120).print(table)
    print("Linear scaling: CPU / first close to slots / first; peak memory flat.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
