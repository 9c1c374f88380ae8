"""Scheduler jobs in local mode: the simulated clock fires them with Scheduler's DST rules
(a local time that does not exist is skipped, a repeated one runs once); slot ids are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import zoned_jobs
from cronbridge.local.simulate import run_simulation


def _simulate(tmp_path, start: datetime, hours: int, *jobs: str):
    result = run_simulation(start, timedelta(hours=hours), seed=3,
                            registry=zoned_jobs.registry(*jobs), job_modules=("zoned_jobs",),
                            log_path=tmp_path / "worker.log")
    assert result.ok(), result.to_json()
    return {job: sorted(zoned_jobs.RAN[job]) for job in jobs}


def test_berlin_0230_skips_the_spring_forward_day(tmp_path) -> None:
    """The "Done when" case: from 2027-03-27T00:00Z for 72 h, 02:30 Europe/Berlin runs on
    Mar 27 (CET) and Mar 29 (CEST); on Mar 28 02:30 does not exist."""
    ran = _simulate(tmp_path, datetime(2027, 3, 27, tzinfo=UTC), 72, "berlin-0230")
    assert ran == {"berlin-0230": ["2027-03-27T01:30:00Z", "2027-03-29T00:30:00Z"]}


@pytest.mark.parametrize("job, start, hours, slots", [
    # New York springs forward on 2027-03-14 at 02:00 EST: 02:30 does not exist that day.
    ("newyork-0230", datetime(2027, 3, 13, tzinfo=UTC), 72,
     ["2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z"]),
    # New York falls back on 2027-11-07 at 02:00 EDT: 01:30 happens twice and runs once, at
    # its first (EDT) occurrence.
    ("newyork-0130", datetime(2027, 11, 6, tzinfo=UTC), 72,
     ["2027-11-06T05:30:00Z", "2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"]),
    # Berlin falls back on 2027-10-31 at 03:00 CEST: 02:30 runs once, at 00:30Z (CEST).
    ("berlin-0230", datetime(2027, 10, 30, tzinfo=UTC), 72,
     ["2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"]),
    # Hourly through Berlin's spring gap: 02:00 local does not exist, so UTC runs straight on.
    ("berlin-hourly", datetime(2027, 3, 28, tzinfo=UTC), 3,
     ["2027-03-28T00:00:00Z", "2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z"]),
    # Hourly through Berlin's autumn repeat: the second 02:00 (01:00Z) does not run.
    ("berlin-hourly", datetime(2027, 10, 30, 22, tzinfo=UTC), 5,
     ["2027-10-30T22:00:00Z", "2027-10-30T23:00:00Z", "2027-10-31T00:00:00Z",
      "2027-10-31T02:00:00Z"]),
])
def test_dst_transitions_run_the_exact_slots(tmp_path, job, start, hours, slots) -> None:
    assert _simulate(tmp_path, start, hours, job) == {job: slots}
