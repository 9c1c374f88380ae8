"""Retry backoff: exponential with full jitter and a cap.

Full jitter spreads retries of many failing slots instead of synchronising them
(https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). The delay is
applied by changing the message's visibility, so SQS holds it: no sleeping in Lambda.
"""

from __future__ import annotations

import random

# SQS ChangeMessageVisibility accepts 0-43200 seconds.
MAX_DELAY_SECONDS = 43200


def backoff_seconds(attempt: int, *, base: int, cap: int, rng: random.Random) -> int:
    """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` failed.

    Uniform in ``[1, min(cap, base * 2 ** (attempt - 1))]``.

    Raises:
        ValueError: ``attempt`` < 1.
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    ceiling = min(cap, base * 2 ** min(attempt - 1, 30), MAX_DELAY_SECONDS)
    return max(1, int(rng.uniform(0, ceiling)))
