"""A job's return value as the run record keeps it: small JSON, or a note saying why not.

The run record is one DynamoDB item (400 KB at most, shared with the checkpoint and every
attempt's outcome), and readers (``cronbridge history --json``, dashboards, scripts) parse the
result as JSON. So a value that is not JSON is never stored as its ``repr``, and a value that
is too big is never cut (a cut JSON text is not JSON): the record keeps no result and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

RESULT_LIMIT_BYTES = 4096  # of compact UTF-8 JSON


@dataclass(frozen=True)
class RecordedResult:
    """What the run record keeps of a return value.

    Attributes:
        value: the value as JSON data (tuples become lists, number keys strings), or ``None``.
        omitted: why the value is not kept, one line (``"not JSON: ..."`` or
            ``"too big: ..."``), or ``None`` when it is kept (or was ``None``).
    """

    value: Any = None
    omitted: str | None = None


def record_result(result: Any) -> RecordedResult:
    """The part of a job's return value the run record keeps.

    A value is kept when ``json.dumps`` accepts it as strict JSON (no ``NaN``/``Infinity``,
    no fallback conversion of other types) and its compact UTF-8 encoding is at most
    :data:`RESULT_LIMIT_BYTES` bytes. Never raises.
    """
    if result is None:
        return RecordedResult()
    try:
        text = json.dumps(result, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        return RecordedResult(omitted=f"not JSON: {type(result).__name__} value ({exc})")
    size = len(text.encode())
    if size > RESULT_LIMIT_BYTES:
        return RecordedResult(omitted=f"too big: {size} bytes of JSON, over the "
                                      f"{RESULT_LIMIT_BYTES}-byte limit")
    return RecordedResult(value=json.loads(text))
