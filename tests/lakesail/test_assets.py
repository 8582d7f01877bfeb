"""Savepoints as Airflow assets (datasets on 2.11): the ``lakesail`` URI scheme registered through
the provider info and checked by its normaliser, the savepoint dict as the event's ``extra`` from
the trigger operator, the sensor and the latest operator, and reading it back in a consumer."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_flinksp import get_provider_info
from airflow_provider_flinksp._compat import AIRFLOW_V3, TRIGGERING_EVENTS_KEY, asset_type
from airflow_provider_flinksp.assets import (
    lakesail_savepoint_asset,
    normalize_lakesail_uri,
    parse_lakesail_uri,
    record_savepoint_event,
    savepoint_from_events,
)
from airflow_provider_flinksp.testing import FakeLakeSail
from airflow_provider_flinksp.testing.asset_runs import recorded_events, register_assets
from tests.dag_runs import load_dag, run_once

Asset = asset_type()
URI = "lakesail://WS1/SESS1/JOB1"
SAVEPOINT = {
    "location": "s3://bucket/sp/savepoint-1",
    "triggerType": "MANUAL",
    "triggerNonce": "n-1",
    "triggeredAt": "2026-11-29T08:00:00.000Z",
}


def test_the_asset_of_a_jobs_savepoints() -> None:
    asset = lakesail_savepoint_asset("WS1", "SESS1", "JOB1")
    assert isinstance(asset, Asset)
    assert type(asset).__name__ == ("Asset" if AIRFLOW_V3 else "Dataset")
    assert asset.uri == URI
    assert parse_lakesail_uri(asset.uri) == ("WS1", "SESS1", "JOB1")
    assert normalize_lakesail_uri(urlsplit(URI)).geturl() == URI


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (("ws1", "SESS1", "JOB1"), "workspace_id must be a LakeSail ResourceId"),
        (("WS1", "", "JOB1"), "session_id must be a LakeSail ResourceId"),
        (("WS1", "SESS1", "J" * 21), "job_id must be a LakeSail ResourceId"),
    ],
)
def test_the_asset_refuses_bad_ids(ids: tuple[str, str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lakesail_savepoint_asset(*ids)


def test_the_scheme_is_registered_for_both_airflow_versions() -> None:
    handler = "airflow_provider_flinksp.assets.normalize_lakesail_uri"
    info = get_provider_info()
    assert info["asset-uris"] == [{"schemes": ["lakesail"], "handler": handler}]
    assert info["dataset-uris"] == [{"schemes": ["lakesail"], "handler": handler}]
    if AIRFLOW_V3:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        assert ProvidersManagerTaskRuntime().asset_uri_handlers["lakesail"] is normalize_lakesail_uri
    else:
        from airflow.providers_manager import ProvidersManager

        assert ProvidersManager().dataset_uri_handlers["lakesail"] is normalize_lakesail_uri


MALFORMED = [
    ("lakesail://WS1/SESS1", "has missing parts"),
    ("lakesail://WS1", "has missing parts"),
    ("lakesail://WS1/SESS1/JOB1/savepoints", "has extra path"),
    ("lakesail://ws1/SESS1/JOB1", "the workspace ID must be a LakeSail ResourceId"),
    ("lakesail://WS1//JOB1", "the session ID must be a LakeSail ResourceId"),
    ("lakesail://WS1/SESS1/JOB-1", "the job ID must be a LakeSail ResourceId"),
    ("lakesail://WS1/SESS1/JOB1?x=1", "no query or fragment"),
    ("lakesail://WS1:8080/SESS1/JOB1", "no user, password or port"),
]


@pytest.mark.parametrize(("uri", "message"), MALFORMED)
def test_airflow_refuses_a_malformed_lakesail_uri(uri: str, message: str) -> None:
    """Through Airflow's providers manager: Airflow 3 refuses the URI; 2.11 warns unless strict."""
    if AIRFLOW_V3:
        with pytest.raises(ValueError, match=message):
            Asset(uri=uri)
        return
    with pytest.warns(UserWarning, match=message):
        Asset(uri=uri)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__STRICT_DATASET_URI_VALIDATION", "True")
        with pytest.raises(ValueError, match=message):
            Asset(uri=uri)


def test_record_attaches_to_this_jobs_asset_only(caplog: pytest.LogCaptureFixture) -> None:
    mine, other, plain = Asset(uri=URI), Asset(uri="lakesail://WS1/SESS1/JOB2"), Asset(uri="s3://b/k")
    events = {asset: SimpleNamespace(extra={}) for asset in (mine, other, plain)}
    context = {"outlet_events": events}
    log = logging.getLogger("test")
    with caplog.at_level(logging.WARNING):
        attached = record_savepoint_event(
            context, [mine, other, plain], ("WS1", "SESS1", "JOB1"), SAVEPOINT, log
        )
    assert attached == 1
    assert [events[asset].extra for asset in (mine, other, plain)] == [SAVEPOINT, {}, {}]
    assert "is another job's savepoint asset than lakesail://WS1/SESS1/JOB1" in caplog.text


def _event(extra: dict[str, Any], minute: int) -> SimpleNamespace:
    return SimpleNamespace(extra=extra, timestamp=datetime(2026, 11, 29, 8, minute, tzinfo=timezone.utc))


def test_savepoint_from_events_takes_the_newest() -> None:
    asset = Asset(uri=URI)
    key: Any = URI if not AIRFLOW_V3 else asset
    older = {**SAVEPOINT, "location": "s3://bucket/sp/older"}
    context = {TRIGGERING_EVENTS_KEY: {key: [_event(SAVEPOINT, 5), _event(older, 1)]}}
    assert savepoint_from_events(context, asset) == SAVEPOINT
    assert savepoint_from_events(context) == SAVEPOINT


@pytest.mark.parametrize(
    ("events", "message"),
    [
        pytest.param({}, "was not triggered by an event of lakesail://WS1/SESS1/JOB1", id="no-event"),
        pytest.param({URI: [_event({}, 1)]}, "carries no savepoint location", id="no-location"),
    ],
)
def test_savepoint_from_events_says_what_is_missing(events: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        savepoint_from_events({TRIGGERING_EVENTS_KEY: events}, SimpleNamespace(uri=URI))


@pytest.mark.integration
def test_the_three_savepoint_tasks_record_the_savepoint_as_the_event_extra(
    airflow_db: str, lakesail_conn: str, fake: FakeLakeSail
) -> None:
    before = len(recorded_events(URI))
    dag = load_dag("lakesail_dags.py", "asset_producers")
    register_assets(dag)
    run = run_once(dag)
    assert run.states == dict.fromkeys(["trigger", "gate", "latest", "other_job"], "success")
    xcoms = run.xcoms
    completed = fake.savepoints("WS1", "SESS1", "JOB1")["completed"]
    assert len(completed) == 1
    expected = {"triggerNonce": None, "triggeredAt": None, **completed[0]}
    for task_id in ("trigger", "gate", "latest"):
        assert xcoms[(task_id, "return_value")] == expected
    events = recorded_events(URI)[before:]
    assert [event.extra for event in events] == [expected] * 3
    assert [event.extra for event in recorded_events("lakesail://WS1/SESS1/JOB9")] == [{}]
