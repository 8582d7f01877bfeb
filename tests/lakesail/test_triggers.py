"""The polling triggers: serialization (both backends), LakeSailSavepointTrigger.run() against
FakeLakeSail over real HTTP, and read_event() when the task resumes."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import time
from typing import Any

import pytest

from airflow_provider_flinksp._compat import AirflowFailException, AirflowSensorTimeout
from airflow_provider_flinksp.core.events import read_event
from airflow_provider_flinksp.exceptions import LakeSailError
from airflow_provider_flinksp.exceptions import LakeSailSavepointFailedError as Failed
from airflow_provider_flinksp.flink.waiting import RUNNING
from airflow_provider_flinksp.hooks import aclose_async_clients
from airflow_provider_flinksp.testing import FakeJob, FakeLakeSail
from airflow_provider_flinksp.triggers import FlinkSavepointTrigger, LakeSailSavepointTrigger
from tests.conftest import jump_once
from tests.flink_backend.playback import JOB, TRIGGER

LOG = logging.getLogger("tests.test_trigger")
IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
EVERYTHING = {**IDS, "trigger_nonce": "5f0c1e2a-9b7d-4c3e-8a61-0d2b4e6f8a90", "retry_limit": 5}
EVERYTHING |= {"grace_deadline": 1_800_000_120.5, "poll_interval": 2.5, "lakesail_conn_id": "lakesail_prod"}
EVERYTHING |= {"retry_delay": 0.25, "request_timeout": 12.0}


def read(event: object, *, sensor: bool = False, nonce: str | None = None) -> Any:
    """What a LakeSail task returns on resume: the event's savepoint, or the error it raises."""
    verdict = read_event(
        event, LOG, timeout_is_sensor_timeout=sensor, error=LakeSailError, failed_error=Failed, nonce=nonce
    )
    return verdict.savepoint


def make_trigger(**overrides: Any) -> LakeSailSavepointTrigger:
    """A trigger for WS1/SESS1/JOB1 with test-sized intervals; a 10 s deadline unless overridden."""
    return LakeSailSavepointTrigger(
        **{**IDS, "deadline": time.time() + 10, "poll_interval": 0.05, **overrides}
    )


def only_event(trigger: LakeSailSavepointTrigger, timeout: float = 15.0) -> dict[str, Any]:
    """Run the trigger to its end in a fresh event loop: it must yield exactly one event, plain JSON."""

    async def collect() -> list[dict[str, Any]]:
        try:
            return await asyncio.wait_for(_events(trigger), timeout)
        finally:
            await aclose_async_clients()

    events = asyncio.run(collect())
    assert len(events) == 1, events
    json.dumps(events[0])  # an event travels through the metadata DB: plain JSON values only
    return events[0]


async def _events(trigger: LakeSailSavepointTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def job(fake: FakeLakeSail) -> FakeJob:
    return fake.get_job("WS1", "SESS1", "JOB1")


def describe_count(fake: FakeLakeSail) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/jobs/JOB1"))


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        pytest.param(LakeSailSavepointTrigger, IDS, id="lakesail-defaults"),
        pytest.param(LakeSailSavepointTrigger, EVERYTHING, id="lakesail-everything"),
        pytest.param(
            FlinkSavepointTrigger, {"job_id": JOB, "trigger_id": TRIGGER, "poll_interval": 2.0}, id="flink"
        ),
        pytest.param(
            FlinkSavepointTrigger, {"job_id": JOB, "wait_for": RUNNING, "retry_limit": 3}, id="flink-running"
        ),
    ],
)
def test_serialize_round_trip(
    cls: type[LakeSailSavepointTrigger | FlinkSavepointTrigger], kwargs: dict[str, Any]
) -> None:
    classpath, serialized = cls(deadline=1_800_000_000.0, **kwargs).serialize()
    module_name, _, class_name = classpath.rpartition(".")
    assert getattr(importlib.import_module(module_name), class_name) is cls
    assert json.loads(json.dumps(serialized)) == serialized  # plain JSON values, nothing Airflow must encode
    assert all(v is None or isinstance(v, (str, int, float)) for v in serialized.values())
    assert serialized["deadline"] == 1_800_000_000.0
    assert serialized.items() >= kwargs.items()
    assert cls(**json.loads(json.dumps(serialized))).serialize() == (classpath, serialized)


def test_success_without_nonce_waits_for_pending(lakesail_conn: str, fake: FakeLakeSail) -> None:
    job(fake).savepoint_duration = 0.0
    fake.trigger("WS1", "SESS1", "JOB1")  # an older one, completed at once
    job(fake).savepoint_duration = 0.5
    started = time.time()
    newer = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    event = only_event(make_trigger())
    assert event["status"] == "success"
    assert event["savepoint"]["triggerNonce"] == newer  # the latest completed one
    assert event["savepoint"]["location"]
    assert time.time() - started >= 0.5  # it did wait for the pending one
    assert fake.savepoints("WS1", "SESS1", "JOB1")["pending"] == []


def test_no_savepoint_at_all_is_success_with_none_one_interval_after_the_deferral(
    lakesail_conn: str, fake: FakeLakeSail
) -> None:
    """The task checked just before it deferred: the trigger asks again only one interval later."""
    started = time.monotonic()
    event = only_event(make_trigger(poll_interval=0.6))
    assert event["status"] == "success"
    assert event["savepoint"] is None
    assert len(fake.requests) == 1  # settled by the list: the job's state is not needed
    first = min(arrival.at for arrival in fake.arrivals)
    assert first - started >= 0.6 * 0.95, first - started


def test_failed_savepoint_after_grace(lakesail_conn: str, fake: FakeLakeSail) -> None:
    job(fake).fail_next()
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    grace_deadline = time.time() + 0.8
    event = only_event(make_trigger(trigger_nonce=nonce, grace_deadline=grace_deadline))
    assert time.time() >= grace_deadline  # not before the grace period ended
    assert event["status"] == "failed"
    assert event["reason"] == "savepoint"
    assert nonce in event["message"]
    assert "failed, or was removed" in event["message"]
    assert "clean-up" in event["message"]


@pytest.mark.parametrize("state", ["FAILED", "DELETING"])
def test_stopped_job_fails_at_once(lakesail_conn: str, fake: FakeLakeSail, state: str) -> None:
    job(fake).savepoint_duration = 60.0
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    job(fake).state = state
    event = only_event(make_trigger(trigger_nonce=nonce, grace_deadline=time.time() + 60, poll_interval=5))
    assert event["status"] == "failed"
    assert event["reason"] == "savepoint"
    assert f"The job is {state}" in event["message"]
    assert [r.method for r in fake.requests] == ["GET", "GET"]  # one list, one describe: no poll again


def test_deadline_in_the_past_times_out_without_a_request(lakesail_conn: str, fake: FakeLakeSail) -> None:
    event = only_event(make_trigger(deadline=time.time() - 1))
    assert event["status"] == "timeout"
    assert "Timed out" in event["message"]
    assert fake.requests == []


def test_unauthorized_is_an_api_failure_after_one_request(
    lakesail_conn: str, fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-token-d00dfeed"
    conn = {"conn_type": "lakesail", "host": fake.url, "password": wrong, "extra": {"retry_delay": 0.01}}
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_WRONG", json.dumps(conn))
    event = only_event(make_trigger(lakesail_conn_id="lakesail_wrong", retry_limit=3))
    assert event["status"] == "failed"
    assert event["reason"] == "api"
    assert "401" in event["message"]
    assert wrong not in json.dumps(event)
    assert [record.status for record in fake.requests] == [401]  # retry_limit=3, yet one request
    assert fake.token not in json.dumps(event)
    assert len(fake.requests) == 1


def test_outage_then_recovery(lakesail_conn: str, fake: FakeLakeSail) -> None:
    """More 503s than one call's retries: the trigger keeps polling and succeeds after the outage."""
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    fake.add_fault("status", status=503, times=6)
    event = only_event(make_trigger(trigger_nonce=nonce, retry_limit=2, retry_delay=0.01))
    assert event["status"] == "success"
    assert event["savepoint"]["triggerNonce"] == nonce
    assert sum(1 for r in fake.requests if r.status == 503) == 6


def test_persistent_outage_keeps_polling_and_sleeps(lakesail_conn: str, fake: FakeLakeSail) -> None:
    """503 on every request: no event, and at most retry_limit requests per poll interval."""
    fake.add_fault("status", status=503, times=None)
    poll_interval, retry_limit, window = 0.2, 2, 1.2
    trigger = make_trigger(
        poll_interval=poll_interval, retry_limit=retry_limit, retry_delay=0.01, deadline=time.time() + 60
    )

    async def watch() -> float:
        task = asyncio.create_task(_events(trigger))
        for _ in range(2000):  # the first poll may wait for the connection look-up: start from it
            if fake.requests:
                break
            await asyncio.sleep(0.005)
        first = time.monotonic()
        await asyncio.sleep(window)
        assert not task.done()  # no event
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - first
        await aclose_async_clients()
        return elapsed

    elapsed = asyncio.run(watch())
    requests = fake.requests
    assert all(r.status == 503 and r.method == "GET" for r in requests)
    polls_possible = elapsed / poll_interval + 1  # a poll starts at most once per interval
    assert len(requests) <= retry_limit * polls_possible, (len(requests), elapsed)
    assert len(requests) >= 2 * retry_limit  # it kept polling: at least two full polls in the window


def test_success_with_nonce_and_waiting_messages_logged_once_each(
    lakesail_conn: str,
    fake: FakeLakeSail,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A person can follow the wait: what it waits for is logged, and the same news is not repeated."""
    job(fake).savepoint_duration = 60.0
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    fake.clock = jump_once(lambda: describe_count(fake) >= 3)  # the job is asked only while it waits
    caplog.set_level(logging.INFO)
    event = only_event(make_trigger(trigger_nonce=nonce, grace_deadline=time.time() + 10))
    assert event["status"] == "success"
    savepoint = event["savepoint"]
    assert savepoint["triggerNonce"] == nonce
    assert savepoint["location"].startswith("s3://bucket/flink-savepoints/savepoint-")
    assert savepoint in fake.savepoints("WS1", "SESS1", "JOB1")["completed"]
    assert "completed at s3://" in event["message"]
    assert describe_count(fake) == 3  # three polls saw it pending, the fourth saw it completed
    out, err = capfd.readouterr()
    logged = [r.getMessage() for r in caplog.records]  # Airflow 2.11; Airflow 3 prints (structlog)
    if not any(nonce in line for line in logged):
        logged = (out + err).splitlines()
    pending = [line for line in logged if f"Savepoint {nonce} is pending" in line]
    assert len(pending) == 1, logged
    assert "(job RUNNING)" in pending[0]


GOOD = {
    "location": "s3://bucket/flink-savepoints/savepoint-1a2b",
    "triggerType": "MANUAL",
    "triggerNonce": "n-1",
    "triggeredAt": "2026-11-27T06:15:45.123Z",
}
#: Events the task may retry on (an error, not a no-retry fail): id: (event, words in the error).
RETRYABLE = {
    "none": (None, "no usable event"),
    "not-a-dict": ("success", "no usable event"),
    "a-list": (["status", "success"], "no usable event"),
    "unknown-status": ({"status": "done"}, "unknown status"),
    "no-status": ({}, "unknown status"),
    "bad-location": ({"status": "success", "savepoint": {**GOOD, "location": 5}}, "malformed"),
    "no-type": ({"status": "success", "savepoint": {"location": "s3://x"}}, "malformed"),
    "savepoint-not-a-dict": ({"status": "success", "savepoint": "s3://x"}, "malformed"),
    "bad-time": ({"status": "success", "savepoint": {**GOOD, "triggeredAt": "yesterday"}}, "malformed"),
    "value-not-a-dict": ({"status": "success", "savepoint": None, "value": "RUNNING"}, "malformed value"),
    "api": ({"status": "failed", "reason": "api", "message": "HTTP 401"}, "HTTP 401"),
    "failed-without-reason": ({"status": "failed", "message": "gone"}, "unknown reason"),
}
#: Resuming after a wait for GOOD's nonce: success must carry that savepoint, with a location.
AWAITED = {
    "awaited/none": {"status": "success", "savepoint": None},
    "awaited/another-nonce": {"status": "success", "savepoint": {**GOOD, "triggerNonce": "another"}},
    "awaited/no-location": {"status": "success", "savepoint": {**GOOD, "location": None}},
}


@pytest.mark.parametrize(
    ("event", "words", "nonce"),
    [*((event, words, None) for event, words in RETRYABLE.values())]
    + [(event, "without the completed savepoint n-1", "n-1") for event in AWAITED.values()],
    ids=[*RETRYABLE, *AWAITED],
)
@pytest.mark.parametrize("sensor", [True, False])
def test_read_event_errors_may_be_retried(event: object, words: str, nonce: str | None, sensor: bool) -> None:
    with pytest.raises(LakeSailError, match=words) as raised:
        read(event, sensor=sensor, nonce=nonce)
    assert type(raised.value) is LakeSailError  # neither a no-retry fail nor a sensor timeout


def test_read_event_success() -> None:
    assert read({"status": "success", "savepoint": GOOD}, sensor=True) == GOOD
    assert read({"status": "success", "savepoint": GOOD}, nonce="n-1") == GOOD
    assert read({"status": "success", "savepoint": None}, sensor=True) is None
    sparse = {"location": "s3://x", "triggerType": "PERIODIC"}  # from an older trigger: keys missing
    event = {"status": "success", "savepoint": sparse}
    assert read(event) == {**sparse, "triggerNonce": None, "triggeredAt": None}


def test_read_event_timeout() -> None:
    event = {"status": "timeout", "message": "Timed out waiting: Savepoint n-1 is pending"}
    with pytest.raises(AirflowSensorTimeout, match="n-1 is pending"):
        read(event, sensor=True)
    with pytest.raises(LakeSailError, match="n-1 is pending") as raised:
        read(event, sensor=False)
    assert not isinstance(raised.value, AirflowSensorTimeout)


@pytest.mark.parametrize("sensor", [True, False])
def test_read_event_failed_savepoint_is_not_retried(sensor: bool) -> None:
    event = {"status": "failed", "reason": "savepoint", "message": "n-1 is neither pending nor completed"}
    with pytest.raises(Failed, match="neither pending nor completed") as raised:
        read(event, sensor=sensor)
    assert isinstance(raised.value, AirflowFailException)  # the task fails without retrying
    assert isinstance(raised.value, LakeSailError)
    with pytest.raises(Failed) as info:
        read({**event, "message": "x" * 1_000_000}, sensor=sensor)
    assert len(str(info.value)) <= 2000  # the message is bounded
