"""Ports: what the service needs from the outside world, as protocols.

Adapters implement them with DynamoDB and SQS (``cronbridge.adapters``) or in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from cronbridge.core.runstate import Claim, Conflict, Finish, RunSnapshot, Skip


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware UTC."""


class RunStore(Protocol):
    """The run table. Every method is one conditional write (one round trip)."""

    def claim(self, claim: Claim) -> Conflict | None:
        """Claim a slot: ``None`` when the write went through, else what was found."""

    def finish(self, finish: Finish) -> bool:
        """End an attempt, fenced by attempt and lease token: ``False`` if the lease was lost."""

    def skip(self, skip: Skip) -> RunSnapshot | None:
        """Record a SKIPPED slot unless it has a run: ``None`` when written, else the run."""

    def checkpoint(self, job: str, slot: str, attempt: int, token: str, state: Any) -> bool:
        """Save a checkpoint, fenced like :meth:`finish`: ``False`` if the lease was lost."""

    def consecutive_failures(self, job: str) -> int:
        """The job's current streak of DEAD slots (one strongly consistent read)."""


class Pauser(Protocol):
    """Pauses a job the way an operator's ``cronbridge disable`` does (auto-pause)."""

    def pause(self, job: str, *, reason: str, now: float) -> bool:
        """Pause ``job`` unless it is paused already, recording ``reason`` and ``now``
        (epoch seconds), and notify the operators; ``True`` when this call paused it."""


class MessageActions(Protocol):
    """What the worker does to the message it is processing, beyond the batch response."""

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Make the in-flight message visible again after ``seconds``."""

    def send_to_dlq(self, body: str, attributes: Mapping[str, str]) -> None:
        """Send a copy of the message to the job's dead-letter queue with string attributes."""


class Telemetry(Protocol):
    """Structured logs, metrics and traces (Powertools in the runtime)."""

    logger: Any

    def bind(self, **keys: Any) -> None:
        """Add per-record log keys (job, slot, attempt, status, ...); ``None`` values are
        left out."""

    def reset(self) -> None:
        """Drop every per-record key, so nothing leaks into the next record."""

    def metric(self, job: str, name: str, value: float = 1.0, unit: str = "Count") -> None:
        """Record one metric data point with the dimension ``job``."""

    def span(self, name: str, **annotations: str) -> Any:
        """A context manager tracing one run (an X-Ray subsegment)."""
