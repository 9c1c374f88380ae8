"""What a job body receives when its slot runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class JobContext:
    """The context passed to a job function.

    Attributes:
        job: the job name.
        slot: the slot id, e.g. ``2026-11-30T02:00:00Z`` (UTC, minute precision) or
            ``manual:<id>`` for a manual trigger.
        scheduled_time: the slot's scheduled fire time (aware UTC datetime), ``None`` for a
            manual trigger.
        attempt: 1 for the first attempt of this slot, n+1 for each retry.
        trigger: ``schedule``, ``manual``, ``backfill`` or ``redrive``.
        payload: the job's static payload merged with the message's payload (a trigger's
            ``--payload``).
        logger: a logger already carrying job, slot and attempt keys.
        resume_state: the last state saved with :meth:`checkpoint` by an earlier attempt of
            this slot, or ``None``.
        key: the key of the dynamic schedule that fired (e.g. a customer id), ``None`` for
            a job-level slot. A keyed slot id is ``<time>#<key>``.
    """

    job: str
    slot: str
    scheduled_time: datetime | None
    attempt: int
    trigger: str
    payload: Mapping[str, Any]
    logger: logging.Logger | Any
    resume_state: Any = None
    key: str | None = None
    _remaining_ms: Callable[[], int] = field(default=lambda: 0, repr=False)
    _checkpoint: Callable[[Any], None] = field(default=lambda state: None, repr=False)

    def remaining_time_seconds(self) -> float:
        """Seconds left before the Lambda invocation times out (0 when unknown)."""
        return max(self._remaining_ms(), 0) / 1000.0

    def checkpoint(self, state: Any) -> None:
        """Save JSON-serialisable ``state`` so a later attempt of this slot resumes from it.

        The write is fenced by this attempt's lease.

        Raises:
            LeaseLostError: a newer attempt took over this slot; stop working.
        """
        self._checkpoint(state)
        self.resume_state = state
