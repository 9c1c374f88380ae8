"""What the run record keeps of a job's return value: JSON within the limit, or a note."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from cronbridge.core.results import RESULT_LIMIT_BYTES, RecordedResult, record_result

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20)
ANY = st.recursive(
    JSON | st.sets(st.integers(), max_size=3) | st.just(math.nan) | st.binary(max_size=5)
    | st.datetimes(),
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=5),
    max_leaves=20)


def _size(value) -> int:
    return len(json.dumps(value, allow_nan=False, separators=(",", ":")).encode())


@given(JSON)
def test_small_json_is_kept_as_is(value):
    if value is not None and _size(value) <= RESULT_LIMIT_BYTES:
        assert record_result(value) == RecordedResult(value=value)


@given(ANY)
def test_a_kept_value_is_json_within_the_limit_and_anything_else_is_a_note(value):
    recorded = record_result(value)
    if recorded.omitted is None:
        assert _size(recorded.value) <= RESULT_LIMIT_BYTES or recorded.value is None
        assert json.loads(json.dumps(recorded.value, allow_nan=False)) == recorded.value
    else:
        assert recorded.value is None
        assert recorded.omitted.startswith(("not JSON: ", "too big: "))
        assert "\n" not in recorded.omitted


def test_none_records_nothing():
    assert record_result(None) == RecordedResult()


def test_tuples_and_number_keys_are_kept_as_json_reads_them():
    assert record_result({"pair": (1, 2), 3: "x"}).value == {"pair": [1, 2], "3": "x"}


def test_a_value_that_is_not_json_is_noted_never_stored_as_its_repr():
    when = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
    assert record_result({"at": when}) == RecordedResult(
        omitted="not JSON: dict value (Object of type datetime is not JSON serializable)")
    assert record_result({1, 2}).omitted == (
        "not JSON: set value (Object of type set is not JSON serializable)")
    assert record_result([math.nan]).omitted == (
        "not JSON: list value (Out of range float values are not JSON compliant)")
    loop: list = []
    loop.append(loop)
    assert record_result(loop).omitted == "not JSON: list value (Circular reference detected)"


def test_a_value_over_the_limit_is_noted_never_cut():
    fits = "x" * (RESULT_LIMIT_BYTES - 2)  # two quote marks
    assert record_result(fits) == RecordedResult(value=fits)
    assert record_result(fits + "x") == RecordedResult(
        omitted=f"too big: {RESULT_LIMIT_BYTES + 1} bytes of JSON, over the "
                f"{RESULT_LIMIT_BYTES}-byte limit")
    # Non-ASCII text is stored \u-escaped, so it counts as stored.
    assert record_result("é" * 1000).omitted == (
        f"too big: 6002 bytes of JSON, over the {RESULT_LIMIT_BYTES}-byte limit")
