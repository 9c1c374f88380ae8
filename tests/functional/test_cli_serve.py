"""``cronbridge local --serve`` in a subprocess, driven from the CLI as a second terminal
would: it prints the endpoint, fires schedules in real time, runs triggers through the real
handler, honours ``disable`` at once, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from cli_support import COMMAND, Served, environment, serve
from run_harness import READY_SECONDS
from cronbridge.cli import cli

@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def second_terminal(served: Served) -> Iterator[dict[str, str]]:
    """The environment after pasting the ``export`` line serve printed."""
    line = served.wait_for("export AWS_ENDPOINT_URL=")
    exported = dict(item.split("=", 1) for item in line.split()[1:])
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.delenv("CRONBRIDGE_APP", raising=False)
        for key, value in exported.items():
            monkeypatch.setenv(key, value)
        yield exported


def cb(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_serve_prints_the_endpoint_and_the_jobs_are_there(served: Served,
                                                          second_terminal: dict[str, str]
                                                          ) -> None:
    assert second_terminal["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{served.port}"
    code, output = cb("jobs")
    assert code == 0, output
    for job in ("cache-refresh", "daily-aggregation", "email-outbox", "health-report",
                "log-purge"):
        assert job in output
    # rate() rules fire at start: email-outbox's first slot runs in real time.
    served.wait_for("email-outbox")


def test_a_trigger_runs_on_the_served_worker(served: Served,
                                             second_terminal: dict[str, str]) -> None:
    code, output = cb("trigger", "health-report", "--slot", "serve-1")
    assert code == 0, output

    served.wait_for("manual:serve-1")
    code, output = cb("history", "health-report")
    assert code == 0 and "manual:serve-1" in output and "SUCCEEDED" in output


def test_a_schedule_created_while_serving_runs_within_its_minute(
        served: Served, second_terminal: dict[str, str]) -> None:
    """The "done when" case: `schedules create` against `local --serve`, then `history`."""
    code, output = cb("schedules", "create", "customer-digest", "walk-in", "--expression",
                      "cron(* * * * ? *)", "--payload", '{"to": "walk-in@example.com"}')
    assert code == 0, output
    created = time.time()
    # Its next minute comes within 60 s, then the worker's line (a generous ceiling: the
    # machine may be loaded).
    line = served.wait_for("#walk-in succeeded")
    assert "customer-digest" in line
    code, output = cb("history", "customer-digest", "--key", "walk-in", "--json")
    assert code == 0, output
    runs = json.loads(output)
    assert runs and all(r["status"] == "SUCCEEDED" for r in runs)
    # Slots are whole minutes from the one after the schedule was created, never earlier.
    first = datetime.fromisoformat(runs[-1]["slot"].removesuffix("#walk-in").replace("Z",
                                                                                    "+00:00"))
    assert created - 60 < first.timestamp() <= created + 60
    assert cb("schedules", "delete", "customer-digest", "walk-in")[0] == 0


def test_disable_takes_effect_on_the_served_rule(served: Served,
                                                 second_terminal: dict[str, str]) -> None:
    code, output = cb("disable", "email-outbox")
    assert code == 0, output
    events = boto3.client("events", endpoint_url=second_terminal["AWS_ENDPOINT_URL"],
                          region_name="us-east-1")
    assert events.describe_rule(Name="cronbridge-email-outbox")["State"] == "DISABLED"
    assert cb("enable", "email-outbox")[0] == 0


def test_a_second_serve_on_the_same_port_exits_2(served: Served,
                                                 second_terminal: dict[str, str],
                                                 tmp_path: Path) -> None:
    second = subprocess.run([*COMMAND, "--port", str(served.port)], cwd=tmp_path,
                            env=environment(), capture_output=True, text=True,
                            timeout=READY_SECONDS)

    assert second.returncode == 2
    assert f"port {served.port} on 127.0.0.1 is in use: pick another with --port" in second.stderr


def test_serve_with_simulate_options_is_bad_usage(tmp_path: Path) -> None:
    result = subprocess.run([*COMMAND, "--simulate", "3h"], cwd=tmp_path, env=environment(),
                            capture_output=True, text=True, timeout=READY_SECONDS)

    assert result.returncode == 2 and "--simulate cannot be combined with --serve" in result.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_serve_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    with serve(tmp_path) as running:
        running.wait_for("Ctrl-C stops")
        running.process.send_signal(stop)

        running.wait_for("stopped")
        assert running.process.wait(timeout=READY_SECONDS) == 0
        assert (tmp_path / ".cronbridge" / "local" / "serve.log").exists()
