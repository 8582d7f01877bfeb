"""Savepoint / SavepointList parsing and to_dict, timestamps, and the ResourceId check."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_flinksp.core.models import Savepoint, SavepointList, parse_timestamp
from airflow_provider_flinksp.exceptions import LakeSailError, LakeSailResponseError
from airflow_provider_flinksp.lakesail.ids import RESOURCE_ID_RULE, check_static_ids, validate_resource_id
from airflow_provider_flinksp.lakesail.models import parse_session_job

LOCATION = "s3://bucket/flink-savepoints/savepoint-1a2b-3c4d"
NONCE = "4f7c2a8e-1b6d-4c3a-9e5f-0a1b2c3d4e5f"
KEYS = {"location", "triggerType", "triggerNonce", "triggeredAt"}


# ---------------------------------------------------------------------------- Savepoint


def test_savepoint_from_api_full() -> None:
    sp = Savepoint.from_api(
        {
            "location": LOCATION,
            "triggerType": "MANUAL",
            "triggerNonce": NONCE,
            "triggeredAt": "2026-11-27T06:15:45.123Z",
        }
    )
    assert sp.location == LOCATION
    assert sp.trigger_type == "MANUAL"
    assert sp.trigger_nonce == NONCE
    assert sp.triggered_at == datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)
    assert sp.triggered_at.utcoffset() == timedelta(0)


def test_savepoint_from_api_minimal_and_to_dict_has_four_keys() -> None:
    sp = Savepoint.from_api({"triggerType": "PERIODIC"})
    assert (sp.location, sp.trigger_nonce, sp.triggered_at) == (None, None, None)
    assert sp.to_dict() == {
        "location": None,
        "triggerType": "PERIODIC",
        "triggerNonce": None,
        "triggeredAt": None,
    }


def test_savepoint_explicit_nulls_are_absent_values() -> None:
    sp = Savepoint.from_api(
        {"triggerType": "MANUAL", "location": None, "triggerNonce": None, "triggeredAt": None}
    )
    assert sp == Savepoint(trigger_type="MANUAL")


def test_savepoint_unknown_trigger_type_and_extra_fields_kept_or_ignored() -> None:
    sp = Savepoint.from_api({"triggerType": "SOMETHING_NEW", "future": {"x": 1}})
    assert sp.trigger_type == "SOMETHING_NEW"
    assert set(sp.to_dict()) == KEYS


def test_savepoint_to_dict_shape_and_round_trip() -> None:
    api = {
        "location": LOCATION,
        "triggerType": "MANUAL",
        "triggerNonce": NONCE,
        "triggeredAt": "2026-11-27T06:15:45.123Z",
    }
    sp = Savepoint.from_api(api)
    assert sp.to_dict() == api
    assert Savepoint.from_api(sp.to_dict()) == sp


@pytest.mark.parametrize(
    ("body", "needle"),
    [
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
    ],
)
def test_savepoint_bad_shapes_raise_response_error(body: Any, needle: str) -> None:
    with pytest.raises(LakeSailResponseError, match=needle) as info:
        Savepoint.from_api(body)
    assert isinstance(info.value, LakeSailError)


def test_savepoint_error_names_where() -> None:
    with pytest.raises(LakeSailResponseError, match=r"completed\[1\]\.location"):
        SavepointList.from_api(
            {
                "pending": [],
                "completed": [{"triggerType": "MANUAL"}, {"triggerType": "MANUAL", "location": 1}],
            }
        )


# ---------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T06:15:45.123Z", datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)),
        ("2026-11-27T06:15:45.123z", datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)),
        ("2026-11-27T06:15:45Z", datetime(2026, 11, 27, 6, 15, 45, tzinfo=timezone.utc)),
        ("2026-11-27T06:15:45.123456Z", datetime(2026, 11, 27, 6, 15, 45, 123456, tzinfo=timezone.utc)),
        ("2026-11-27T06:15:45.123+00:00", datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)),
        # An offset is kept as the same instant.
        ("2026-11-27T08:15:45.123+02:00", datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)),
        ("2026-11-27T01:15:45.123-05:00", datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)),
        # Naive means UTC.
        ("2026-11-27T06:15:45.123", datetime(2026, 11, 27, 6, 15, 45, 123000, tzinfo=timezone.utc)),
    ],
)
def test_parse_timestamp_forms(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text, "x")
    assert parsed.tzinfo is not None
    assert parsed == expected


@pytest.mark.usefixtures("tokyo_local_time")
def test_parse_timestamp_naive_is_utc_not_local() -> None:
    assert time.localtime(0).tm_gmtoff == 9 * 3600  # the fixture took effect
    parsed = parse_timestamp("2026-11-27T06:15:45.123", "x")
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.hour == 6


@pytest.mark.parametrize(
    "text", ["not a date", "", "2026-11-27T25:00:00Z", "27/11/2026 06:15", "2026-11-27T06:15:45.123ZZ"]
)
def test_parse_timestamp_bad_text(text: str) -> None:
    with pytest.raises(LakeSailResponseError, match=r"where\.it is not an ISO-8601 date-time"):
        parse_timestamp(text, "where.it")


@pytest.mark.parametrize(
    ("given", "wire"),
    [
        ("2026-11-27T06:15:45.123Z", "2026-11-27T06:15:45.123Z"),
        ("2026-11-27T06:15:45Z", "2026-11-27T06:15:45.000Z"),
        ("2026-11-27T06:15:45.100Z", "2026-11-27T06:15:45.100Z"),
        ("2026-11-27T06:15:45.123456Z", "2026-11-27T06:15:45.123456Z"),
        ("2026-11-27T06:15:45.000001Z", "2026-11-27T06:15:45.000001Z"),
        ("2026-11-27T08:15:45.123+02:00", "2026-11-27T06:15:45.123Z"),
        ("2026-11-27T00:30:00.000-07:00", "2026-11-27T07:30:00.000Z"),
        ("2026-11-27T06:15:45.123", "2026-11-27T06:15:45.123Z"),
    ],
)
def test_triggered_at_to_dict_is_utc_z_and_round_trips(given: str, wire: str) -> None:
    sp = Savepoint.from_api({"triggerType": "MANUAL", "triggeredAt": given})
    out = sp.to_dict()["triggeredAt"]
    assert out == wire
    again = Savepoint.from_api(sp.to_dict())
    assert again.triggered_at == sp.triggered_at
    assert again.to_dict() == sp.to_dict()


@pytest.mark.parametrize("micro", [0, 1000, 123000, 999000, 1, 123456, 999999])
def test_millisecond_and_microsecond_round_trip(micro: int) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, micro, tzinfo=timezone.utc)
    text = Savepoint(trigger_type="MANUAL", triggered_at=when).to_dict()["triggeredAt"]
    assert text is not None
    assert text.endswith("Z")
    fraction = text[text.index(".") + 1 : -1]
    assert len(fraction) == (3 if micro % 1000 == 0 else 6)
    assert parse_timestamp(text, "x") == when


def test_to_dict_converts_an_aware_offset_to_utc() -> None:
    when = datetime(2026, 1, 2, 5, 4, 5, 7000, tzinfo=timezone(timedelta(hours=2)))
    assert Savepoint("MANUAL", triggered_at=when).to_dict()["triggeredAt"] == "2026-01-02T03:04:05.007Z"


@pytest.mark.usefixtures("tokyo_local_time")
def test_to_dict_treats_a_naive_datetime_as_utc() -> None:
    text = Savepoint("MANUAL", triggered_at=datetime(2026, 1, 2, 3, 4, 5)).to_dict()["triggeredAt"]
    assert text == "2026-01-02T03:04:05.000Z"


# ---------------------------------------------------------------------------- SavepointList


def test_savepoint_list_parses_both_lists_in_order() -> None:
    data = {
        "pending": [
            {"triggerType": "MANUAL", "triggerNonce": "n2", "triggeredAt": "2026-11-27T06:20:00.000Z"}
        ],
        "completed": [
            {"triggerType": "PERIODIC", "location": "s3://b/sp-1", "triggeredAt": "2026-11-27T06:00:00.000Z"},
            {"triggerType": "MANUAL", "location": "s3://b/sp-2", "triggerNonce": "n1"},
        ],
    }
    sl = SavepointList.from_api(data)
    assert [sp.trigger_nonce for sp in sl.pending] == ["n2"]
    assert [sp.location for sp in sl.completed] == ["s3://b/sp-1", "s3://b/sp-2"]
    assert sl.completed[1].triggered_at is None
    assert all(set(sp.to_dict()) == KEYS for sp in sl.pending + sl.completed)
    assert sl.find("n1") == ("completed", sl.completed[1])
    assert sl.find("n2") == ("pending", sl.pending[0])
    assert sl.find("nope") is None


def test_savepoint_list_empty() -> None:
    assert SavepointList.from_api({"pending": [], "completed": []}) == SavepointList()


def test_find_prefers_completed_and_the_last_of_duplicates() -> None:
    sl = SavepointList.from_api(
        {
            "pending": [{"triggerType": "MANUAL", "triggerNonce": "n"}],
            "completed": [
                {"triggerType": "MANUAL", "triggerNonce": "n", "location": "s3://b/old"},
                {"triggerType": "MANUAL", "triggerNonce": "n", "location": "s3://b/new"},
            ],
        }
    )
    found = sl.find("n")
    assert found is not None
    assert found[0] == "completed"
    assert found[1].location == "s3://b/new"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
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
    ],
)
def test_savepoint_list_bad_shapes(body: Any, needle: str) -> None:
    with pytest.raises(LakeSailResponseError, match=needle):
        SavepointList.from_api(body)


def test_parse_session_job() -> None:
    job = {"id": "JOB1", "state": "RUNNING", "name": "j"}
    assert parse_session_job(job) is job
    for bad in ([], None, {}, {"state": 1}, {"state": None}):
        with pytest.raises(LakeSailResponseError):
            parse_session_job(bad)


# ---------------------------------------------------------------------------- ResourceId


@pytest.mark.parametrize("value", ["A", "WS1", "0", "A" * 20, "9" * 20, "ABCDEFGHIJ0123456789"])
def test_validate_resource_id_accepts(value: str) -> None:
    assert validate_resource_id("job_id", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A" * 21,
        "ws1",
        "Ws1",
        "WS-1",
        "WS_1",
        "WS 1",
        " WS1",
        "WS1\n",
        "WS1/../X",
        "WS%31",
        "ÄB",
        "١٢",  # Arabic-Indic digits are not 0-9
        "{{ params.ws }}",
        None,
        1,
        ["WS1"],
        b"WS1",
    ],
)
def test_validate_resource_id_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="workspace_id") as info:
        validate_resource_id("workspace_id", value)
    text = str(info.value)
    assert RESOURCE_ID_RULE in text
    assert "ResourceId" in text


def test_validate_resource_id_shortens_a_huge_value() -> None:
    with pytest.raises(ValueError, match="session_id") as info:
        validate_resource_id("session_id", "x" * 10_000)
    assert len(str(info.value)) < 200


def test_check_static_ids_skips_templates_but_checks_plain_text() -> None:
    check_static_ids(workspace_id="{{ params.ws }}", session_id="{% if x %}A{% endif %}", job_id="JOB1")
    check_static_ids(workspace_id=None)  # not text: left for the hook after rendering
    with pytest.raises(ValueError, match="job_id"):
        check_static_ids(workspace_id="WS1", job_id="job-1")


# ---------------------------------------------------------------------------- helpers


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
