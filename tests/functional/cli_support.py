"""Shared by the operator CLI tests: a moto server in a subprocess, a target provisioned on
it, the CLI run in process against it, and the worker draining its queues.

Each test module starts its own server on a free port, so modules (and pytest-xdist
workers) never share state.
"""

from __future__ import annotations

import io
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.cli import cli
from cronbridge.core.jobs import load_job_modules
from cronbridge.core.plan import DeploymentPlan, build_plan
from cronbridge.local.clock import WallClock
from cronbridge.local.esm import EventSourceMapping
from cronbridge.local.provision import JobResources, provision
from cronbridge.local_resources import run_local_resources
from cronbridge.runtime.settings import Settings
from run_harness import READY_SECONDS

ROOT = Path(__file__).resolve().parents[2]
APP = "cronbridge"  # the sample events in events/ name cronbridge-<job> queues
MODULES = ("cronbridge_examples",)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def moto_server() -> Iterator[str]:
    """``python -m moto.server`` on a free port; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=READY_SECONDS)


COMMAND = [sys.executable, "-c", "from cronbridge.cli import main; main()", "local", "--serve"]


class Served:
    """A running ``local --serve`` and the lines it has printed."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = READY_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, f"serve exited: {''.join(self.seen)}"
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise TimeoutError(f"{text!r} not printed in {timeout}s: {''.join(self.seen)}")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "CRONBRIDGE_"))}
    # Run from a scratch directory, so the project is named: this repository, the demo's.
    return {**env, "PYTHONPATH": str(ROOT / "functions"), "PYTHONUNBUFFERED": "1",
            "CRONBRIDGE_PROJECT": str(ROOT)}


@contextmanager
def serve(cwd: Path, *args: str) -> Iterator[Served]:
    """``cronbridge local --serve`` in ``cwd``, itself and its dashboard on free ports
    (``args``: more options)."""
    port = free_port()
    process = subprocess.Popen([*COMMAND, "--port", str(port), "--dashboard-port",
                                str(free_port()), *args], cwd=cwd, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield Served(process, port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=READY_SECONDS)


def aws_env(endpoint: str) -> dict[str, str]:
    """What an operator exports to reach ``endpoint`` (as `local --serve` prints it)."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "CRONBRIDGE_APP": APP}


@dataclass
class Deployed:
    """The demo app provisioned on a moto server, with the worker wired to it."""

    endpoint: str
    plan: DeploymentPlan
    resources: dict[str, JobResources]

    def cb(self, *args: str, input: str | None = None) -> Result:  # noqa: A002
        """Run ``cronbridge ARGS`` in process against the server."""
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    def cb_json(self, *args: str) -> Any:
        result = self.cb(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def drain(self, job: str, rounds: int = 3) -> None:
        """Deliver the job's visible messages to the real handler, as Lambda's event source
        mapping would, until its queue has nothing visible."""
        from cronbridge.runtime import handler

        mapping = EventSourceMapping(boto3.client("sqs"), self.resources[job],
                                     handler.lambda_handler, WallClock())  # type: ignore[arg-type]
        with redirect_stdout(io.StringIO()):  # EMF metrics
            for _ in range(rounds):
                while mapping.poll():
                    pass

    def sqs(self) -> Any:
        return boto3.client("sqs")


@contextmanager
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    """A moto server with the demo app (``APP``) provisioned and seeded, the environment
    pointing at it, and the in-process Lambda handler serving it."""
    from cronbridge.runtime import handler
    from cronbridge.runtime.wiring import Worker
    from cronbridge_examples import aws

    with moto_server() as endpoint:
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        for key, value in aws_env(endpoint).items():
            monkeypatch.setenv(key, value)
        aws.reset_clients()
        registry = load_job_modules(MODULES)
        plan = build_plan(registry, app=APP, job_modules=MODULES)
        resources = provision(plan)
        now = datetime.now(timezone.utc)
        run_local_resources(MODULES, now - timedelta(hours=1), now + timedelta(hours=1))
        settings = Settings(app=APP, table_name=plan.table_name, job_modules=MODULES)
        # The store names its endpoint: the model classes are cached per (table, host), and a
        # module run earlier in this process had the same table on another server.
        store = DynamoRunStore(plan.table_name, host=endpoint)
        monkeypatch.setattr(handler, "_worker", Worker(settings, handler.telemetry, plan=plan,
                                                       registry=registry, store=store))
        monkeypatch.setattr(handler.telemetry.logger.registered_handler, "stream",
                            io.StringIO())
        try:
            yield Deployed(endpoint, plan, resources)
        finally:
            aws.reset_clients()


def hour_floor(delta_hours: int = 0) -> datetime:
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(hours=delta_hours)


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
