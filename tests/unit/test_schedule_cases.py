"""Every reference case in shared/cron/cases.json, run against the schedule engine.

The cases live outside the repository, in ``shared/`` beside the clone (where CI lays it);
``CRONBRIDGE_SHARED_DIR`` points elsewhere. A clone without it uses the copy in
``tests/data/``, which a test keeps identical to the shared file wherever both exist.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from cronbridge.core.schedule import ScheduleExpressionError, parse_schedule


COPY = Path(__file__).resolve().parents[1] / "data" / "cron_cases.json"


def _shared_cases() -> Path:
    shared = os.environ.get("CRONBRIDGE_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
    return root / "cron" / "cases.json"


def _cases_path() -> Path:
    return _shared_cases() if _shared_cases().is_file() else COPY


CASES: list[dict] = json.loads(_cases_path().read_text(encoding="utf-8"))["cases"]


def test_the_copy_matches_the_shared_reference_cases():
    shared = _shared_cases()
    source = shared if shared.is_file() else COPY  # without shared/, the copy is the reference
    assert json.loads(COPY.read_text(encoding="utf-8")) == json.loads(
        source.read_text(encoding="utf-8")), "refresh tests/data/cron_cases.json from shared/"

# The field each invalid reference case must blame; a case may also carry its own "field".
EXPECTED_FIELD: dict[str, str] = {
    "both-day-fields-star": "day-of-week",
    "both-day-fields-question": "day-of-week",
    "unix-five-fields": "expression",
    "minute-71": "minutes",
    "hour-24": "hours",
    "dom-0": "day-of-month",
    "month-13": "month",
    "dow-0-unix-sunday": "day-of-week",
    "dow-negative": "day-of-week",
    "hour-word": "hours",
    "cron-garbage": "expression",
    "hour-step-24": "hours",
    "year-2200": "year",
    "year-1969": "year",
    "year-descending-range": "year",
    "hash-list": "day-of-week",
    "hash-mixed-list": "day-of-week",
    "hash-6th": "day-of-week",
    "question-in-hours": "hours",
    "dow-L-in-list": "day-of-week",
    "W-in-dow": "day-of-week",
    "L-offset-31": "day-of-month",
    "at-in-rules": "expression",
    "rate-1-minutes": "rate",
    "rate-1-hours": "rate",
    "rate-years": "rate",
    "rate-uppercase-unit": "rate",
    "rate-inner-spaces": "rate",
    "rate-leading-space": "expression",
    "sched-at-date-only": "at",
}
FIELDS = {"minutes", "hours", "day-of-month", "month", "day-of-week", "year", "rate", "at",
          "expression", "timezone"}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _parse(case: dict):
    return parse_schedule(case["expr"], timezone=case.get("timezone"),
                          scheduler=case.get("scope") == "scheduler")


def test_the_reference_file_is_not_empty() -> None:
    assert len(CASES) >= 80
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c["valid"]], ids=lambda c: c["id"])
def test_valid_case(case: dict) -> None:
    schedule = _parse(case)
    assert schedule.expression == case["expr"]
    assert schedule.kind == case["expr"].split("(", 1)[0]
    if "next" in case and "start" in case:
        got = schedule.next_fire_times(_utc(case["start"]), 5)
        assert [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in got] == case["next"]
        assert all(t.utcoffset().total_seconds() == 0 for t in got)


@pytest.mark.parametrize("case", [c for c in CASES if not c["valid"]], ids=lambda c: c["id"])
def test_invalid_case(case: dict) -> None:
    with pytest.raises(ScheduleExpressionError) as info:
        _parse(case)
    err = info.value
    expected = case.get("field") or EXPECTED_FIELD.get(case["id"])
    if expected is not None:
        assert err.field == expected, str(err)
    assert err.field in FIELDS
    assert err.reason and err.token
    assert str(err).startswith(f"{err.field} '{err.token}'")


@pytest.mark.parametrize("case", [c for c in CASES if c.get("scope") == "scheduler"
                                  and c["valid"]], ids=lambda c: c["id"])
def test_scheduler_only_case_is_invalid_for_rules(case: dict) -> None:
    with pytest.raises(ScheduleExpressionError) as info:
        parse_schedule(case["expr"])
    assert "Scheduler" in info.value.reason
