"""Instants as the operations layer returns them."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(epoch_or_time: float | datetime | None) -> str | None:
    """An epoch (seconds) or aware datetime as ``2026-11-30T02:00:05Z``; ``None`` stays."""
    if epoch_or_time is None:
        return None
    when = (epoch_or_time if isinstance(epoch_or_time, datetime)
            else datetime.fromtimestamp(epoch_or_time, timezone.utc))
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
