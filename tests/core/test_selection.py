"""``selection.choose_latest()``: the "latest restorable savepoint" rule, table by table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_flinksp.core.models import Savepoint, parse_timestamp
from airflow_provider_flinksp.core.selection import choose_latest

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
MICRO = timedelta(microseconds=1)


def sp(
    name: str,
    at: datetime | str | None,
    *,
    kind: str = "MANUAL",
    nonce: str | None = None,
    location: bool = True,
) -> Savepoint:
    """A completed savepoint named by its location ``s3://b/<name>``; ``at`` as a datetime, or API text
    for a time on NOW's day (``"10:00:00.000Z"``)."""
    if isinstance(at, str):
        at = parse_timestamp(f"2026-11-27T{at}", "at")
    return Savepoint(kind, f"s3://b/{name}" if location else None, nonce, at)


def chosen_name(completed: list[Savepoint], **kwargs: Any) -> str | None:
    kwargs.setdefault("now", NOW)
    chosen, _found = choose_latest(completed, **kwargs)
    if chosen is None:
        return None
    assert any(chosen is item for item in completed), "returns one of the given objects"
    assert chosen.location is not None
    return chosen.location.removeprefix("s3://b/")


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


ORDERING = {
    "empty": ([], None),
    "single": ([sp("a", ago(1))], "a"),
    "out-of-order-middle": ([sp("a", ago(2)), sp("b", ago(1)), sp("c", ago(3))], "b"),
    "newest-first": ([sp("a", ago(1)), sp("b", ago(2)), sp("c", ago(3))], "a"),
    "oldest-first": ([sp("a", ago(3)), sp("b", ago(2)), sp("c", ago(1))], "c"),
    "one-microsecond-decides": ([sp("a", ago(1)), sp("b", ago(1) - MICRO)], "a"),
    "tie-later-position-wins": ([sp("a", NOW), sp("b", NOW)], "b"),
    "tie-later-position-wins-reversed": ([sp("b", NOW), sp("a", NOW)], "a"),
    "tie-among-latest-ignores-older-after": ([sp("a", NOW), sp("b", NOW), sp("c", ago(1))], "b"),
    "tie-across-offsets-same-instant": ([sp("a", "10:00:00.000Z"), sp("b", "12:00:00.000+02:00")], "b"),
    "tie-across-offsets-same-instant-reversed": (
        [sp("b", "12:00:00.000+02:00"), sp("a", "10:00:00.000Z")],
        "a",
    ),
    "offset-compares-by-instant-not-text": (
        [sp("z", "10:00:00.000Z"), sp("plus2", "11:30:00.000+02:00")],
        "z",
    ),
    "negative-offset-is-later": ([sp("minus5", "06:00:00.000-05:00"), sp("z", "10:30:00.000Z")], "minus5"),
    "no-time-ranks-below-any-time": ([sp("old", ago(87600)), sp("untimed", None)], "old"),
    "no-time-ranks-below-any-time-reversed": ([sp("untimed", None), sp("old", ago(87600))], "old"),
    "all-untimed-later-position-wins": ([sp("u1", None), sp("u2", None)], "u2"),
    "newest-without-location-passed-over": ([sp("a", ago(1)), sp("b", NOW, location=False)], "a"),
    "untimed-with-location-beats-no-location": ([sp("a", ago(1), location=False), sp("b", None)], "b"),
    "none-has-location": ([sp("a", NOW, location=False), sp("b", None, location=False)], None),
}


@pytest.mark.parametrize(("completed", "expected"), ORDERING.values(), ids=ORDERING.keys())
def test_ordering(completed: list[Savepoint], expected: str | None) -> None:
    assert chosen_name(completed) == expected


SEVERAL = [
    sp("m-old", ago(3), nonce="n-old"),
    sp("periodic", ago(1 / 6), kind="PERIODIC"),
    sp("m-new", ago(1), nonce="n-new"),
    sp("upgrade-unrestorable", ago(1 / 12), kind="UPGRADE", location=False),
    sp("m-mid", ago(2), nonce="n-mid"),
    sp("unknown-untimed", None, kind="UNKNOWN"),
    sp("m-dup-old", ago(4), nonce="n-dup"),
    sp("m-dup-new", ago(0.5), nonce="n-dup"),
    sp("m-gone", ago(1 / 60), nonce="n-gone", location=False),
]

FILTERS = {
    "no-filter": ({}, "periodic"),
    "nonce-takes-exactly-that-one": ({"trigger_nonce": "n-old"}, "m-old"),
    "nonce-out-of-order": ({"trigger_nonce": "n-mid"}, "m-mid"),
    "nonce-twice-latest-wins": ({"trigger_nonce": "n-dup"}, "m-dup-new"),
    "nonce-unknown": ({"trigger_nonce": "n-none"}, None),
    "nonce-without-location": ({"trigger_nonce": "n-gone"}, None),
    "types-manual": ({"trigger_types": ["MANUAL"]}, "m-dup-new"),
    "types-periodic": ({"trigger_types": ["PERIODIC"]}, "periodic"),
    "types-only-unrestorable": ({"trigger_types": ("UPGRADE",)}, None),
    "types-untimed-only": ({"trigger_types": {"UNKNOWN"}}, "unknown-untimed"),
    "types-two": ({"trigger_types": ["UPGRADE", "MANUAL"]}, "m-dup-new"),
    "types-are-case-sensitive-here": ({"trigger_types": ["manual"]}, None),
    "nonce-and-type": ({"trigger_nonce": "n-old", "trigger_types": ["MANUAL"]}, "m-old"),
    "nonce-and-other-type": ({"trigger_nonce": "n-old", "trigger_types": ["PERIODIC"]}, None),
    "explicit-none-no-filter": ({"trigger_nonce": None, "trigger_types": None}, "periodic"),
    "max-age-after-the-nonce-filter": ({"trigger_nonce": "n-old", "max_age": 4 * HOUR}, "m-old"),
    "max-age-after-the-nonce-filter-too-old": ({"trigger_nonce": "n-old", "max_age": 2 * HOUR}, None),
}


@pytest.mark.parametrize(("filters", "expected"), FILTERS.values(), ids=FILTERS.keys())
def test_filters(filters: dict[str, Any], expected: str | None) -> None:
    assert chosen_name(SEVERAL, **filters) == expected


MAX_AGE = {
    "exactly-max-age-old-is-chosen": ([sp("a", ago(1))], HOUR, "a"),
    "one-microsecond-older-is-refused": ([sp("a", ago(1) - MICRO)], HOUR, None),
    "one-microsecond-younger": ([sp("a", ago(1) + MICRO)], HOUR, "a"),
    "zero-max-age-now": ([sp("a", NOW)], timedelta(0), "a"),
    "triggered-in-the-future-clock-skew": ([sp("a", ago(-1))], timedelta(0), "a"),
    "no-trigger-time-is-refused": ([sp("a", None)], timedelta(days=365), None),
    "refused-latest-does-not-fall-back-to-untimed": ([sp("a", None), sp("b", ago(2))], HOUR, None),
    "latest-young-enough": ([sp("a", ago(2)), sp("b", ago(1 / 6))], HOUR, "b"),
    "latest-young-enough-reversed": ([sp("a", ago(1 / 6)), sp("b", ago(2))], HOUR, "a"),
    "offset-exactly-max-age-by-instant": ([sp("a", "13:00:00.000+02:00")], HOUR, "a"),
    "offset-one-microsecond-older": ([sp("a", "12:59:59.999999+02:00")], HOUR, None),
}


@pytest.mark.parametrize(("completed", "max_age", "expected"), MAX_AGE.values(), ids=MAX_AGE.keys())
def test_max_age(completed: list[Savepoint], max_age: timedelta, expected: str | None) -> None:
    assert chosen_name(completed, max_age=max_age) == expected


def test_max_age_defaults_now_to_the_current_time() -> None:
    fresh = sp("fresh", datetime.now(timezone.utc) - timedelta(seconds=5))
    assert choose_latest([fresh], max_age=timedelta(minutes=10))[0] is fresh
    stale = sp("stale", datetime.now(timezone.utc) - timedelta(minutes=11))
    assert choose_latest([stale], max_age=timedelta(minutes=10))[0] is None


S9 = "9 completed savepoint(s), 7 with a location, "
FOUND = {
    "empty": ([], {}, "0 completed savepoint(s), 0 with a location, 0 matching no filters"),
    "no-filters": (SEVERAL, {}, S9 + "7 matching no filters"),
    "nonce": (SEVERAL, {"trigger_nonce": "n-x"}, S9 + "0 matching trigger_nonce='n-x'"),
    "types-sorted": (
        SEVERAL,
        {"trigger_types": ["PERIODIC", "MANUAL"]},
        S9 + "6 matching trigger_types=['MANUAL', 'PERIODIC']",
    ),
    "with-a-choice": (SEVERAL, {"trigger_types": ["PERIODIC"]}, S9 + "1 matching trigger_types=['PERIODIC']"),
    "nonce-and-types": (
        SEVERAL,
        {"trigger_nonce": "n-dup", "trigger_types": ["MANUAL"]},
        S9 + "2 matching trigger_nonce='n-dup', trigger_types=['MANUAL']",
    ),
    "too-old": (
        [sp("a", ago(1) - MICRO, nonce="n1")],
        {"max_age": HOUR},
        "1 completed savepoint(s), 1 with a location, 1 matching no filters; the latest (MANUAL, nonce n1, "
        "triggered 2026-11-27T10:59:59.999999Z) is 1:00:00.000001 old, more than max_age=1:00:00",
    ),
    "latest-has-no-time": (
        [sp("a", None)],
        {"trigger_types": ["MANUAL"], "max_age": HOUR},
        "1 completed savepoint(s), 1 with a location, 1 matching trigger_types=['MANUAL']; "
        "the latest has no trigger time, so max_age=1:00:00 cannot hold",
    ),
}


@pytest.mark.parametrize(("completed", "filters", "sentence"), FOUND.values(), ids=FOUND.keys())
def test_found_sentence_names_counts_and_filters(
    completed: list[Savepoint], filters: dict[str, Any], sentence: str
) -> None:
    assert choose_latest(completed, now=NOW, **filters)[1] == sentence


def test_input_is_not_modified() -> None:
    completed = [sp("b", NOW), sp("a", ago(1))]
    before = list(completed)
    choose_latest(completed, trigger_types=["MANUAL"], max_age=HOUR, now=NOW)
    assert completed == before


# ---------------------------------------------------------------------------------------- properties

_TYPES = ("MANUAL", "PERIODIC", "UNKNOWN", "UPGRADE")
utc_times = st.datetimes(
    min_value=datetime(2016, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(timezone.utc)
)
savepoints = st.builds(
    Savepoint,
    trigger_type=st.sampled_from(_TYPES),
    location=st.none() | st.sampled_from(("s3://b/1", "s3://b/2", "s3://b/3")),
    trigger_nonce=st.none() | st.sampled_from(("n1", "n2")),
    triggered_at=st.none() | utc_times,
)
#: Distinct trigger times (so at most one savepoint without one).
distinct_lists = st.lists(savepoints, max_size=8, unique_by=lambda sp: sp.triggered_at)
filters = st.fixed_dictionaries(
    {
        "trigger_nonce": st.none() | st.sampled_from(("n1", "n2")),
        "trigger_types": st.none() | st.lists(st.sampled_from(_TYPES), max_size=3),
        "max_age": st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4000)),
    }
)


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(st.data(), distinct_lists, filters)
def test_choose_latest_ignores_order(
    data: st.DataObject, completed: list[Savepoint], chosen_by: dict[str, Any]
) -> None:
    """Any order of distinct trigger times: the same choice and sentence, the newest restorable match."""
    permuted = data.draw(st.permutations(completed))
    first = choose_latest(completed, now=NOW, **chosen_by)
    assert choose_latest(permuted, now=NOW, **chosen_by) == first
    restorable = sum(1 for sp in completed if sp.location)
    assert f"{len(completed)} completed savepoint(s), {restorable} with a location" in first[1]
    matching = [
        sp
        for sp in completed
        if sp.location
        and (chosen_by["trigger_nonce"] is None or sp.trigger_nonce == chosen_by["trigger_nonce"])
        and (chosen_by["trigger_types"] is None or sp.trigger_type in chosen_by["trigger_types"])
    ]
    newest = max(matching, key=lambda sp: (sp.triggered_at is not None, sp.triggered_at or NOW), default=None)
    max_age = chosen_by["max_age"]
    if (
        newest
        and max_age is not None
        and (newest.triggered_at is None or NOW - newest.triggered_at > max_age)
    ):
        newest = None
    assert first[0] == newest
