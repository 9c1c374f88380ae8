"""The simulated EventBridge clock, shared by the worker and the embedded SQS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class SimulatedClock:
    """A clock that moves only when told to (aware UTC).

    Raises:
        ValueError: a naive start, or moving backwards.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware start time")
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError(f"the clock cannot go back from {self._now} to {when}")
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self.advance_to(self._now + delta)

    def epoch(self) -> float:
        return self._now.timestamp()

    def epoch_millis(self) -> float:
        return self._now.timestamp() * 1000.0


class WallClock:
    """The real clock, with the same interface as :class:`SimulatedClock` (aware UTC), for
    ``cronbridge local --serve`` and ``cronbridge invoke``, which run in real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def epoch(self) -> float:
        return self.now().timestamp()

    def epoch_millis(self) -> float:
        return self.epoch() * 1000.0
