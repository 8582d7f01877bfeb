"""``selection.choose_latest()``: the "latest restorable savepoint" rule, table by table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_flinksp.core.models import Savepoint
from airflow_provider_flinksp.core.selection import choose_latest

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
MICRO = timedelta(microseconds=1)


def sp(
    name: str,
    at: datetime | str | None = None,
    *,
    kind: str = "MANUAL",
    nonce: str | None = None,
    location: bool = True,
) -> Savepoint:
    """A completed savepoint named by its location ``s3://b/<name>``; ``at`` as a datetime or API text."""
    data: dict[str, Any] = {"triggerType": kind}
    if location:
        data["location"] = f"s3://b/{name}"
    if nonce is not None:
        data["triggerNonce"] = nonce
    if isinstance(at, str):
        data["triggeredAt"] = at
        return Savepoint.from_api(data)
    return Savepoint(trigger_type=kind, location=data.get("location"), trigger_nonce=nonce, triggered_at=at)


def chosen_name(completed: list[Savepoint], **kwargs: Any) -> str | None:
    kwargs.setdefault("now", NOW)
    chosen, _found = choose_latest(completed, **kwargs)
    if chosen is None:
        return None
    assert any(chosen is item for item in completed), "returns one of the given objects"
    assert chosen.location is not None
    return chosen.location.removeprefix("s3://b/")


ORDERING = [
    pytest.param([], None, id="empty"),
    pytest.param([sp("a", NOW - HOUR)], "a", id="single"),
    pytest.param(
        [sp("a", NOW - 2 * HOUR), sp("b", NOW - HOUR), sp("c", NOW - 3 * HOUR)], "b", id="out-of-order-middle"
    ),
    pytest.param(
        [sp("a", NOW - HOUR), sp("b", NOW - 2 * HOUR), sp("c", NOW - 3 * HOUR)], "a", id="newest-first"
    ),
    pytest.param(
        [sp("a", NOW - 3 * HOUR), sp("b", NOW - 2 * HOUR), sp("c", NOW - HOUR)], "c", id="oldest-first"
    ),
    pytest.param([sp("a", NOW - HOUR), sp("b", NOW - HOUR - MICRO)], "a", id="one-microsecond-decides"),
    pytest.param([sp("a", NOW), sp("b", NOW)], "b", id="tie-later-position-wins"),
    pytest.param([sp("b", NOW), sp("a", NOW)], "a", id="tie-later-position-wins-reversed"),
    pytest.param(
        [sp("a", NOW), sp("b", NOW), sp("c", NOW - HOUR)], "b", id="tie-among-latest-ignores-older-after"
    ),
    pytest.param(
        [sp("a", "2026-11-27T10:00:00.000Z"), sp("b", "2026-11-27T12:00:00.000+02:00")],
        "b",
        id="tie-across-offsets-same-instant",
    ),
    pytest.param(
        [sp("b", "2026-11-27T12:00:00.000+02:00"), sp("a", "2026-11-27T10:00:00.000Z")],
        "a",
        id="tie-across-offsets-same-instant-reversed",
    ),
    pytest.param(
        [sp("z", "2026-11-27T10:00:00.000Z"), sp("plus2", "2026-11-27T11:30:00.000+02:00")],
        "z",
        id="offset-compares-by-instant-not-text",
    ),
    pytest.param(
        [sp("minus5", "2026-11-27T06:00:00.000-05:00"), sp("z", "2026-11-27T10:30:00.000Z")],
        "minus5",
        id="negative-offset-is-later",
    ),
    pytest.param(
        [sp("old", NOW - 3650 * 24 * HOUR), sp("untimed", None)], "old", id="no-time-ranks-below-any-time"
    ),
    pytest.param(
        [sp("untimed", None), sp("old", NOW - 3650 * 24 * HOUR)],
        "old",
        id="no-time-ranks-below-any-time-reversed",
    ),
    pytest.param([sp("u1", None), sp("u2", None)], "u2", id="all-untimed-later-position-wins"),
    pytest.param(
        [sp("a", NOW - HOUR), sp("b", NOW, location=False)], "a", id="newest-without-location-passed-over"
    ),
    pytest.param(
        [sp("a", NOW - HOUR, location=False), sp("b", None)],
        "b",
        id="untimed-with-location-beats-no-location",
    ),
    pytest.param([sp("a", NOW, location=False), sp("b", None, location=False)], None, id="none-has-location"),
]


@pytest.mark.parametrize(("completed", "expected"), ORDERING)
def test_ordering(completed: list[Savepoint], expected: str | None) -> None:
    assert chosen_name(completed) == expected


SEVERAL = [
    sp("m-old", NOW - 3 * HOUR, nonce="n-old"),
    sp("periodic", NOW - 10 * timedelta(minutes=1), kind="PERIODIC"),
    sp("m-new", NOW - HOUR, nonce="n-new"),
    sp("upgrade-unrestorable", NOW - 5 * timedelta(minutes=1), kind="UPGRADE", location=False),
    sp("m-mid", NOW - 2 * HOUR, nonce="n-mid"),
    sp("unknown-untimed", None, kind="UNKNOWN"),
    sp("m-dup-old", NOW - 4 * HOUR, nonce="n-dup"),
    sp("m-dup-new", NOW - 30 * timedelta(minutes=1), nonce="n-dup"),
    sp("m-gone", NOW - timedelta(minutes=1), nonce="n-gone", location=False),
]

FILTERS = [
    pytest.param({}, "periodic", id="no-filter"),
    pytest.param({"trigger_nonce": "n-old"}, "m-old", id="nonce-takes-exactly-that-one"),
    pytest.param({"trigger_nonce": "n-mid"}, "m-mid", id="nonce-out-of-order"),
    pytest.param({"trigger_nonce": "n-dup"}, "m-dup-new", id="nonce-twice-latest-wins"),
    pytest.param({"trigger_nonce": "n-none"}, None, id="nonce-unknown"),
    pytest.param({"trigger_nonce": "n-gone"}, None, id="nonce-without-location"),
    pytest.param({"trigger_types": ["MANUAL"]}, "m-dup-new", id="types-manual"),
    pytest.param({"trigger_types": ["PERIODIC"]}, "periodic", id="types-periodic"),
    pytest.param({"trigger_types": ("UPGRADE",)}, None, id="types-only-unrestorable"),
    pytest.param({"trigger_types": {"UNKNOWN"}}, "unknown-untimed", id="types-untimed-only"),
    pytest.param({"trigger_types": ["UPGRADE", "MANUAL"]}, "m-dup-new", id="types-two"),
    pytest.param({"trigger_types": ["manual"]}, None, id="types-are-case-sensitive-here"),
    pytest.param({"trigger_nonce": "n-old", "trigger_types": ["MANUAL"]}, "m-old", id="nonce-and-type"),
    pytest.param({"trigger_nonce": "n-old", "trigger_types": ["PERIODIC"]}, None, id="nonce-and-other-type"),
    pytest.param({"trigger_nonce": None, "trigger_types": None}, "periodic", id="explicit-none-no-filter"),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS)
def test_filters(filters: dict[str, Any], expected: str | None) -> None:
    assert chosen_name(SEVERAL, **filters) == expected


MAX_AGE = [
    pytest.param([sp("a", NOW - HOUR)], HOUR, "a", id="exactly-max-age-old-is-chosen"),
    pytest.param([sp("a", NOW - HOUR - MICRO)], HOUR, None, id="one-microsecond-older-is-refused"),
    pytest.param([sp("a", NOW - HOUR + MICRO)], HOUR, "a", id="one-microsecond-younger"),
    pytest.param([sp("a", NOW)], timedelta(0), "a", id="zero-max-age-now"),
    pytest.param([sp("a", NOW + HOUR)], timedelta(0), "a", id="triggered-in-the-future-clock-skew"),
    pytest.param([sp("a", None)], timedelta(days=365), None, id="no-trigger-time-is-refused"),
    pytest.param(
        [sp("a", None), sp("b", NOW - 2 * HOUR)],
        HOUR,
        None,
        id="refused-latest-does-not-fall-back-to-untimed",
    ),
    pytest.param(
        [sp("a", NOW - 2 * HOUR), sp("b", NOW - 10 * timedelta(minutes=1))],
        HOUR,
        "b",
        id="latest-young-enough",
    ),
    pytest.param(
        [sp("a", NOW - 10 * timedelta(minutes=1)), sp("b", NOW - 2 * HOUR)],
        HOUR,
        "a",
        id="latest-young-enough-reversed",
    ),
    pytest.param(
        [sp("a", "2026-11-27T13:00:00.000+02:00")], HOUR, "a", id="offset-exactly-max-age-by-instant"
    ),
    pytest.param(
        [sp("a", "2026-11-27T12:59:59.999999+02:00")], HOUR, None, id="offset-one-microsecond-older"
    ),
]


@pytest.mark.parametrize(("completed", "max_age", "expected"), MAX_AGE)
def test_max_age(completed: list[Savepoint], max_age: timedelta, expected: str | None) -> None:
    assert chosen_name(completed, max_age=max_age) == expected


def test_max_age_applies_after_the_nonce_filter() -> None:
    assert chosen_name(SEVERAL, trigger_nonce="n-old", max_age=4 * HOUR) == "m-old"
    assert chosen_name(SEVERAL, trigger_nonce="n-old", max_age=2 * HOUR) is None


def test_max_age_defaults_now_to_the_current_time() -> None:
    fresh = sp("fresh", datetime.now(timezone.utc) - timedelta(seconds=5))
    assert choose_latest([fresh], max_age=timedelta(minutes=10))[0] is fresh
    stale = sp("stale", datetime.now(timezone.utc) - timedelta(minutes=11))
    assert choose_latest([stale], max_age=timedelta(minutes=10))[0] is None


FOUND = [
    pytest.param(
        [],
        {},
        "0 completed savepoint(s), 0 with a location, 0 matching no filters",
        id="empty",
    ),
    pytest.param(
        SEVERAL,
        {},
        "9 completed savepoint(s), 7 with a location, 7 matching no filters",
        id="no-filters",
    ),
    pytest.param(
        SEVERAL,
        {"trigger_nonce": "n-x"},
        "9 completed savepoint(s), 7 with a location, 0 matching trigger_nonce='n-x'",
        id="nonce",
    ),
    pytest.param(
        SEVERAL,
        {"trigger_types": ["PERIODIC", "MANUAL"]},
        "9 completed savepoint(s), 7 with a location, 6 matching trigger_types=['MANUAL', 'PERIODIC']",
        id="types-sorted",
    ),
    pytest.param(
        SEVERAL,
        {"trigger_nonce": "n-dup", "trigger_types": ["MANUAL"]},
        "9 completed savepoint(s), 7 with a location, 2 matching trigger_nonce='n-dup', "
        "trigger_types=['MANUAL']",
        id="nonce-and-types",
    ),
]


@pytest.mark.parametrize(("completed", "filters", "sentence"), FOUND)
def test_found_sentence_names_counts_and_filters(
    completed: list[Savepoint], filters: dict[str, Any], sentence: str
) -> None:
    assert choose_latest(completed, now=NOW, **filters)[1] == sentence


def test_found_sentence_when_too_old() -> None:
    chosen, found = choose_latest([sp("a", NOW - HOUR - MICRO, nonce="n1")], max_age=HOUR, now=NOW)
    assert chosen is None
    assert found.startswith("1 completed savepoint(s), 1 with a location, 1 matching no filters; ")
    assert "the latest (MANUAL, nonce n1, triggered 2026-11-27T10:59:59.999999Z)" in found
    assert "is 1:00:00.000001 old, more than max_age=1:00:00" in found


def test_found_sentence_when_latest_has_no_time() -> None:
    chosen, found = choose_latest([sp("a", None)], trigger_types=["MANUAL"], max_age=HOUR, now=NOW)
    assert chosen is None
    assert found == (
        "1 completed savepoint(s), 1 with a location, 1 matching trigger_types=['MANUAL']; "
        "the latest has no trigger time, so max_age=1:00:00 cannot hold"
    )


def test_found_sentence_comes_with_a_choice_too() -> None:
    chosen, found = choose_latest(SEVERAL, trigger_types=["PERIODIC"], now=NOW)
    assert chosen is SEVERAL[1]
    assert found == "9 completed savepoint(s), 7 with a location, 1 matching trigger_types=['PERIODIC']"


def test_input_is_not_modified() -> None:
    completed = [sp("b", NOW), sp("a", NOW - HOUR)]
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
    """Any permutation of a list with distinct trigger times gives the same choice and the same
    explanation; the choice is the newest restorable match (or nothing)."""
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
        newest is not None
        and max_age is not None
        and (newest.triggered_at is None or NOW - newest.triggered_at > max_age)
    ):
        newest = None
    assert first[0] == newest
