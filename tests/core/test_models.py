"""Savepoint / SavepointList parsing and to_dict, timestamps, and the session job parser."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_flinksp.core.models import Savepoint, SavepointList, parse_timestamp
from airflow_provider_flinksp.exceptions import LakeSailError, LakeSailResponseError
from airflow_provider_flinksp.lakesail.models import parse_session_job

LOCATION = "s3://bucket/flink-savepoints/savepoint-1a2b-3c4d"
NONCE = "4f7c2a8e-1b6d-4c3a-9e5f-0a1b2c3d4e5f"
KEYS = {"location", "triggerType", "triggerNonce", "triggeredAt"}


@pytest.fixture
def tokyo_local_time() -> Iterator[None]:
    """Run with the process's local time zone at UTC+9 (a POSIX TZ string: no tz database needed)."""
    if not hasattr(time, "tzset"):  # pragma: no cover - Windows
        pytest.skip("time.tzset is not available")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


# ---------------------------------------------------------------------------- Savepoint


def test_savepoint_from_api_full_and_round_trip() -> None:
    api = {
        "location": LOCATION,
        "triggerType": "MANUAL",
        "triggerNonce": NONCE,
        "triggeredAt": "2026-11-27T06:15:45.123Z",
    }
    sp = Savepoint.from_api(api)
    assert sp.location == LOCATION
    assert sp.trigger_type == "MANUAL"
    assert sp.trigger_nonce == NONCE
    assert sp.triggered_at == datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)
    assert sp.triggered_at.utcoffset() == timedelta(0)
    assert sp.to_dict() == api
    assert Savepoint.from_api(sp.to_dict()) == sp


@pytest.mark.parametrize(
    "api",
    [
        pytest.param({"triggerType": "SOMETHING_NEW"}, id="minimal"),
        pytest.param(dict.fromkeys(KEYS) | {"triggerType": "SOMETHING_NEW"}, id="explicit-nulls"),
        pytest.param({"triggerType": "SOMETHING_NEW", "future": {"x": 1}}, id="extra-field"),
    ],
)
def test_savepoint_absent_values_unknown_type_and_extra_fields(api: dict[str, Any]) -> None:
    sp = Savepoint.from_api(api)
    assert sp == Savepoint(trigger_type="SOMETHING_NEW")
    assert sp.to_dict() == dict.fromkeys(KEYS) | {"triggerType": "SOMETHING_NEW"}


SAVEPOINT_SHAPES = [
    ([], "should be a JSON object"),
    ("MANUAL", "should be a JSON object"),
    (None, "should be a JSON object"),
    ({}, "triggerType"),
    ({"triggerType": None}, "triggerType"),
    ({"triggerType": 3}, "triggerType"),
    ({"triggerType": "MANUAL", "location": 5}, "location"),
    ({"triggerType": "MANUAL", "location": ["s3://a"]}, "location"),
    ({"triggerType": "MANUAL", "triggerNonce": 12}, "triggerNonce"),
    ({"triggerType": "MANUAL", "triggeredAt": 1700000000}, "triggeredAt"),
    ({"triggerType": "MANUAL", "triggeredAt": "yesterday"}, "triggeredAt"),
    ({"triggerType": "MANUAL", "triggeredAt": ""}, "triggeredAt"),
    ({"triggerType": "MANUAL", "triggeredAt": "2026-13-40T99:00:00Z"}, "triggeredAt"),
]


# ---------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("2026-11-27T06:15:45.123Z", "2026-11-27T06:15:45.123Z"),
        ("2026-11-27T06:15:45.123z", "2026-11-27T06:15:45.123Z"),
        ("2026-11-27T06:15:45Z", "2026-11-27T06:15:45.000Z"),
        ("2026-11-27T06:15:45.100Z", "2026-11-27T06:15:45.100Z"),
        ("2026-11-27T06:15:45.123456Z", "2026-11-27T06:15:45.123456Z"),
        ("2026-11-27T06:15:45.000001Z", "2026-11-27T06:15:45.000001Z"),
        ("2026-11-27T06:15:45.123+00:00", "2026-11-27T06:15:45.123Z"),
        ("2026-11-27T08:15:45.123+02:00", "2026-11-27T06:15:45.123Z"),  # an offset: the same instant
        ("2026-11-27T01:15:45.123-05:00", "2026-11-27T06:15:45.123Z"),
        ("2026-11-27T00:30:00.000-07:00", "2026-11-27T07:30:00.000Z"),
        ("2026-11-27T06:15:45.123", "2026-11-27T06:15:45.123Z"),  # naive means UTC
    ],
)
def test_timestamps_parse_to_utc_and_give_back_utc_z(text: str, wire: str) -> None:
    parsed = parse_timestamp(text, "x")
    assert parsed == datetime.fromisoformat(wire[:-1] + "+00:00")
    assert parsed.utcoffset() == timedelta(0)
    sp = Savepoint.from_api({"triggerType": "MANUAL", "triggeredAt": text})
    assert sp.triggered_at == parsed
    assert sp.to_dict()["triggeredAt"] == wire
    assert Savepoint.from_api(sp.to_dict()) == sp


@pytest.mark.usefixtures("tokyo_local_time")
def test_naive_means_utc_not_local_time() -> None:
    assert time.localtime(0).tm_gmtoff == 9 * 3600  # the fixture took effect
    parsed = parse_timestamp("2026-11-27T06:15:45.123", "x")
    assert parsed == datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)
    assert parsed.utcoffset() == timedelta(0)
    naive = Savepoint("MANUAL", triggered_at=datetime(2026, 1, 2, 3, 4, 5))
    assert naive.to_dict()["triggeredAt"] == "2026-01-02T03:04:05.000Z"
    aware = datetime(2026, 1, 2, 5, 4, 5, 7000, tzinfo=timezone(timedelta(hours=2)))
    assert Savepoint("MANUAL", triggered_at=aware).to_dict()["triggeredAt"] == "2026-01-02T03:04:05.007Z"


@pytest.mark.parametrize(
    "text", ["not a date", "", "2026-11-27T25:00:00Z", "27/11/2026 06:15", "2026-11-27T06:15:45.123ZZ"]
)
def test_parse_timestamp_bad_text(text: str) -> None:
    with pytest.raises(LakeSailResponseError, match=r"where\.it is not an ISO-8601 date-time"):
        parse_timestamp(text, "where.it")


@pytest.mark.parametrize("micro", [0, 1000, 123000, 999000, 1, 123456, 999999])
def test_millisecond_and_microsecond_round_trip(micro: int) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, micro, tzinfo=timezone.utc)
    text = Savepoint(trigger_type="MANUAL", triggered_at=when).to_dict()["triggeredAt"]
    assert text is not None
    assert text.endswith("Z")
    fraction = text[text.index(".") + 1 : -1]
    assert len(fraction) == (3 if micro % 1000 == 0 else 6)
    assert parse_timestamp(text, "x") == when


# ---------------------------------------------------------------------------- SavepointList


def test_savepoint_list_parses_both_lists_in_order_and_finds_by_nonce() -> None:
    data = {
        "pending": [
            {"triggerType": "MANUAL", "triggerNonce": "n2", "triggeredAt": "2026-11-27T06:20:00.000Z"}
        ],
        "completed": [
            {"triggerType": "PERIODIC", "location": "s3://b/sp-1", "triggeredAt": "2026-11-27T06:00:00.000Z"},
            {"triggerType": "MANUAL", "location": "s3://b/sp-2", "triggerNonce": "n1"},
            {"triggerType": "MANUAL", "location": "s3://b/sp-3", "triggerNonce": "n1"},
        ],
    }
    sl = SavepointList.from_api(data)
    assert [sp.trigger_nonce for sp in sl.pending] == ["n2"]
    assert [sp.location for sp in sl.completed] == ["s3://b/sp-1", "s3://b/sp-2", "s3://b/sp-3"]
    assert sl.completed[1].triggered_at is None
    assert all(set(sp.to_dict()) == KEYS for sp in sl.pending + sl.completed)
    assert sl.find("n1") == ("completed", sl.completed[2])  # the last of duplicates
    assert sl.find("n2") == ("pending", sl.pending[0])
    assert sl.find("nope") is None
    both = SavepointList(
        pending=[Savepoint("MANUAL", trigger_nonce="n")], completed=[Savepoint("MANUAL", "s3://b", "n")]
    )
    assert both.find("n") == ("completed", both.completed[0])
    assert SavepointList.from_api({"pending": [], "completed": []}) == SavepointList()


LIST_SHAPES = [
    ([], "should be a JSON object, got an array"),
    ("text", "should be a JSON object, got a string"),
    (None, "should be a JSON object, got null"),
    (7, "should be a JSON object, got a number"),
    ({"pending": []}, "'completed'.*key missing"),
    ({"completed": []}, "'pending'.*key missing"),
    ({"pending": None, "completed": []}, "'pending'.*null"),
    ({"pending": [], "completed": {}}, "'completed'.*an object"),
    ({"pending": "x", "completed": []}, "'pending'.*a string"),
    ({"pending": [], "completed": [5]}, r"completed\[0\] should be a JSON object"),
    ({"pending": [{"location": "s3://x"}], "completed": []}, r"pending\[0\]\.triggerType"),
    ({"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": "bad"}]}, "triggeredAt"),
    (
        {
            "pending": [],
            "completed": [{"triggerType": "MANUAL"}, {"triggerType": "MANUAL", "location": 1}],
        },
        r"completed\[1\]\.location",
    ),
]


@pytest.mark.parametrize(
    ("parse", "body", "needle"),
    [(Savepoint.from_api, *row) for row in SAVEPOINT_SHAPES]
    + [(SavepointList.from_api, *row) for row in LIST_SHAPES],
)
def test_bad_shapes_raise_response_error(parse: Callable[[object], object], body: Any, needle: str) -> None:
    with pytest.raises(LakeSailResponseError, match=needle) as info:
        parse(body)
    assert isinstance(info.value, LakeSailError)


def test_parse_session_job() -> None:
    job = {"id": "JOB1", "state": "RUNNING", "name": "j"}
    assert parse_session_job(job) is job
    for bad in ([], None, {}, {"state": 1}, {"state": None}):
        with pytest.raises(LakeSailResponseError):
            parse_session_job(bad)
