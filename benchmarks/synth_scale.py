"""Synthesize the CDK app with 10, 100 and 1,000 synthetic jobs and print its scale figures.

Usage: ``python benchmarks/synth_scale.py [N ...] [--nag]`` (default 10 100 1000). Each size
runs in a fresh process so timings do not include an earlier app. Prints, per size: the
CloudFormation resources per job, the nested stacks, the most resources, parameters and
bytes in any one template, the parent template's size and the synth time (construction
plus synthesis; add ``--nag`` to include the cdk-nag AwsSolutions checks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (10, 100, 1000)
RESOURCE_LIMIT = 500
TEMPLATE_LIMIT = 1_000_000


def measure(jobs: int, nag: bool) -> dict[str, float | int]:
    """Synthesize ``jobs`` synthetic jobs in this process and return the figures."""
    sys.path[:0] = [str(ROOT / "functions"), str(ROOT / "infra")]
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,21")
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks

    from demo_stack import SYNTHETIC_MODULE, CronbridgeStack

    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        app = App(outdir=outdir, context={"cronbridge:job_modules": SYNTHETIC_MODULE,
                                          "cronbridge:synthetic_jobs": str(jobs)})
        stack = CronbridgeStack(app, "Cronbridge")
        if nag:
            Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        app.synth()
        elapsed = time.perf_counter() - started
        templates = {p.name: (p.stat().st_size, json.loads(p.read_text()))
                     for p in Path(outdir).glob("*.template.json")}
    parent = templates.pop("Cronbridge.template.json")
    job_ids = {s.node.id for s in stack.jobs.job_stacks.values()}
    job_templates = [t for name, t in templates.items() if "Dashboard" not in name]
    job_resources = sum(len(t["Resources"]) for _, t in job_templates)
    every = [parent, *templates.values()]
    return {
        "jobs": jobs,
        "resources_per_job": job_resources / jobs,
        "job_stacks": len(job_ids),
        "dashboards": len(stack.jobs.dashboards),
        "parent_resources": len(parent[1]["Resources"]),
        "max_resources_per_stack": max(len(t["Resources"]) for _, t in every),
        "max_parameters_per_stack": max(len(t.get("Parameters", {})) for _, t in every),
        "max_template_bytes": max(size for size, _ in every),
        "parent_template_bytes": parent[0],
        "total_template_bytes": sum(size for size, _ in every),
        "synth_seconds": round(elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--nag", action="store_true", help="include cdk-nag in the synth")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.nag)))
        return
    header = ("jobs", "res/job", "job stacks", "dashboards", "max res/stack", "max params",
              "max template", "parent template", "synth s")
    print(" | ".join(header))
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size)] + (["--nag"] if args.nag else [])
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"synth of {size} jobs failed:\n{result.stderr}")
        f = json.loads(result.stdout.strip().splitlines()[-1])
        print(" | ".join(str(v) for v in (
            f["jobs"], f"{f['resources_per_job']:.0f}", f["job_stacks"], f["dashboards"],
            f"{f['max_resources_per_stack']} (limit {RESOURCE_LIMIT})",
            f["max_parameters_per_stack"],
            f"{f['max_template_bytes'] / 1000:.0f} kB (limit {TEMPLATE_LIMIT // 1000} kB)",
            f"{f['parent_template_bytes'] / 1000:.0f} kB", f["synth_seconds"])))


if __name__ == "__main__":
    main()
