"""LakeSailSavepointTrigger: serialization, run() against FakeLakeSail over real HTTP, and
result_of_event() when the task resumes."""

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
from airflow_provider_flinksp.exceptions import LakeSailError, LakeSailSavepointFailedError
from airflow_provider_flinksp.exceptions import LakeSailSavepointFailedError as _Failed
from airflow_provider_flinksp.hooks import aclose_async_clients
from airflow_provider_flinksp.testing import FakeJob, FakeLakeSail
from airflow_provider_flinksp.triggers import LakeSailSavepointTrigger


def result_of_event(event: object, log: Any, *, timeout_is_sensor_timeout: bool) -> Any:
    """What a LakeSail task returns on resume: the event's savepoint, or the error it raises."""
    return read_event(
        event,
        log,
        timeout_is_sensor_timeout=timeout_is_sensor_timeout,
        error=LakeSailError,
        failed_error=_Failed,
    ).savepoint


LOG = logging.getLogger("tests.test_trigger")
IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}


def make_trigger(**overrides: Any) -> LakeSailSavepointTrigger:
    """A trigger for WS1/SESS1/JOB1 with test-sized intervals; a 10 s deadline unless overridden."""
    kwargs: dict[str, Any] = {**IDS, "deadline": time.time() + 10, "poll_interval": 0.05}
    kwargs.update(overrides)
    return LakeSailSavepointTrigger(**kwargs)


async def _collect(trigger: LakeSailSavepointTrigger, timeout: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def consume() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    try:
        await asyncio.wait_for(consume(), timeout)
    finally:
        await aclose_async_clients()
    return events


def collect(trigger: LakeSailSavepointTrigger, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Run the trigger to its end in a fresh event loop; every event it yields, in order."""
    return asyncio.run(_collect(trigger, timeout))


def only_event(trigger: LakeSailSavepointTrigger, timeout: float = 15.0) -> dict[str, Any]:
    """The trigger's one event: it must yield exactly one and then stop."""
    events = collect(trigger, timeout)
    assert len(events) == 1, events
    json.dumps(events[0])  # an event travels through the metadata DB: plain JSON values only
    return events[0]


def job(fake: FakeLakeSail) -> FakeJob:
    return fake.get_job("WS1", "SESS1", "JOB1")


# ------------------------------------------------------------------------------------ serialization


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param(
            {
                "trigger_nonce": "5f0c1e2a-9b7d-4c3e-8a61-0d2b4e6f8a90",
                "grace_deadline": 1_800_000_120.5,
                "poll_interval": 2.5,
                "lakesail_conn_id": "lakesail_prod",
                "retry_limit": 5,
                "retry_delay": 0.25,
                "request_timeout": 12.0,
            },
            id="everything",
        ),
    ],
)
def test_serialize_round_trip(overrides: dict[str, Any]) -> None:
    trigger = LakeSailSavepointTrigger(**IDS, deadline=1_800_000_000.0, **overrides)
    classpath, kwargs = trigger.serialize()

    module_name, _, class_name = classpath.rpartition(".")
    assert getattr(importlib.import_module(module_name), class_name) is LakeSailSavepointTrigger
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON values, nothing Airflow must encode
    assert all(v is None or isinstance(v, (str, int, float)) for v in kwargs.values())
    assert kwargs["deadline"] == 1_800_000_000.0
    for key, value in overrides.items():
        assert kwargs[key] == value

    rebuilt = LakeSailSavepointTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


# ------------------------------------------------------------------------------------------ run()


def test_success_with_nonce(lakesail_conn: str, fake: FakeLakeSail) -> None:
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    event = only_event(make_trigger(trigger_nonce=nonce, grace_deadline=time.time() + 10))

    assert event["status"] == "success"
    savepoint = event["savepoint"]
    assert savepoint["triggerNonce"] == nonce
    assert savepoint["location"].startswith("s3://bucket/flink-savepoints/savepoint-")
    assert savepoint in fake.savepoints("WS1", "SESS1", "JOB1")["completed"]
    assert "completed at s3://" in event["message"]


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


def test_no_savepoint_at_all_is_success_with_none(lakesail_conn: str, fake: FakeLakeSail) -> None:
    event = only_event(make_trigger())
    assert event["status"] == "success"
    assert event["savepoint"] is None
    assert len(fake.requests) == 1  # settled by the list: the job's state is not needed


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


def test_deadline_reached_while_pending(lakesail_conn: str, fake: FakeLakeSail) -> None:
    job(fake).savepoint_duration = 60.0
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    deadline = time.time() + 0.5

    event = only_event(make_trigger(trigger_nonce=nonce, deadline=deadline, poll_interval=0.1))

    assert time.time() >= deadline
    assert event["status"] == "timeout"
    assert f"Savepoint {nonce} is pending" in event["message"]  # says what it was waiting for


def test_unauthorized_is_an_api_failure_after_one_request(
    lakesail_conn: str, fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-token-d00dfeed"
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKESAIL_WRONG",
        json.dumps(
            {"conn_type": "lakesail", "host": fake.url, "password": wrong, "extra": {"retry_delay": 0.01}}
        ),
    )
    event = only_event(make_trigger(lakesail_conn_id="lakesail_wrong", retry_limit=3))

    assert event["status"] == "failed"
    assert event["reason"] == "api"
    assert "401" in event["message"]
    assert wrong not in json.dumps(event)
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
    events: list[dict[str, Any]] = []

    async def consume() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    async def watch() -> float:
        task = asyncio.create_task(consume())
        for _ in range(2000):  # the first poll may wait for the connection look-up: start from it
            if fake.requests:
                break
            await asyncio.sleep(0.005)
        first = time.monotonic()
        await asyncio.sleep(window)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - first
        await aclose_async_clients()
        return elapsed

    elapsed = asyncio.run(watch())

    assert events == []
    requests = fake.requests
    assert all(r.status == 503 and r.method == "GET" for r in requests)
    polls_possible = elapsed / poll_interval + 1  # a poll starts at most once per interval
    assert len(requests) <= retry_limit * polls_possible, (len(requests), elapsed)
    assert len(requests) >= 2 * retry_limit  # it kept polling: at least two full polls in the window


class FinishAfterPolls:
    """A clock for the fake: real time until the job's state was asked for ``polls`` times (the
    trigger asks only while it waits), then an hour later, so a long savepoint finishes next poll."""

    def __init__(self, fake: FakeLakeSail, polls: int) -> None:
        self.fake = fake
        self.polls = polls
        self.offset = 0.0

    def __call__(self) -> float:
        if not self.offset and describe_count(self.fake) >= self.polls:
            self.offset = 3600.0
        return time.time() + self.offset


def test_waiting_messages_are_logged_once_each(
    lakesail_conn: str,
    fake: FakeLakeSail,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A person can follow the wait: what it waits for is logged, and the same news is not repeated."""
    job(fake).savepoint_duration = 60.0
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    fake.clock = FinishAfterPolls(fake, polls=3)
    caplog.set_level(logging.INFO)

    event = only_event(make_trigger(trigger_nonce=nonce, grace_deadline=time.time() + 10))

    assert event["status"] == "success"
    assert event["savepoint"]["triggerNonce"] == nonce
    assert describe_count(fake) == 3  # three polls saw it pending, the fourth saw it completed
    # Airflow 2.11 logs through logging (caplog), Airflow 3 through structlog (printed): one of them.
    out, err = capfd.readouterr()
    logged = [r.getMessage() for r in caplog.records]
    if not any(nonce in line for line in logged):
        logged = (out + err).splitlines()
    pending = [line for line in logged if f"Savepoint {nonce} is pending" in line]
    assert len(pending) == 1, logged
    assert "(job RUNNING)" in pending[0]


def describe_count(fake: FakeLakeSail) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/jobs/JOB1"))


# ------------------------------------------------------------------------------- result_of_event()

GOOD = {
    "location": "s3://bucket/flink-savepoints/savepoint-1a2b",
    "triggerType": "MANUAL",
    "triggerNonce": "n-1",
    "triggeredAt": "2026-11-27T06:15:45.123Z",
}


@pytest.mark.parametrize(
    ("event", "words"),
    [
        pytest.param(None, "no usable event", id="none"),
        pytest.param("success", "no usable event", id="not-a-dict"),
        pytest.param(["status", "success"], "no usable event", id="a-list"),
        pytest.param({"status": "done"}, "unknown status", id="unknown-status"),
        pytest.param({}, "unknown status", id="no-status"),
        pytest.param(
            {"status": "success", "savepoint": {"location": 5, "triggerType": "MANUAL"}},
            "malformed",
            id="bad-location",
        ),
        pytest.param({"status": "success", "savepoint": {"location": "s3://x"}}, "malformed", id="no-type"),
        pytest.param({"status": "success", "savepoint": "s3://x"}, "malformed", id="savepoint-not-a-dict"),
        pytest.param(
            {"status": "success", "savepoint": {**GOOD, "triggeredAt": "yesterday"}},
            "malformed",
            id="bad-time",
        ),
        pytest.param({"status": "failed", "reason": "api", "message": "HTTP 401"}, "HTTP 401", id="api"),
    ],
)
@pytest.mark.parametrize("sensor", [True, False])
def test_result_of_event_errors(event: object, words: str, sensor: bool) -> None:
    with pytest.raises(LakeSailError, match=words) as raised:
        result_of_event(event, LOG, timeout_is_sensor_timeout=sensor)
    assert not isinstance(raised.value, LakeSailSavepointFailedError)  # may be retried
    assert not isinstance(raised.value, AirflowFailException)


def test_result_of_event_success() -> None:
    assert (
        result_of_event({"status": "success", "savepoint": GOOD}, LOG, timeout_is_sensor_timeout=True) == GOOD
    )
    assert (
        result_of_event({"status": "success", "savepoint": None}, LOG, timeout_is_sensor_timeout=True) is None
    )
    # An event from an older trigger may lack keys: the result still has the four, normalized.
    sparse = {"status": "success", "savepoint": {"location": "s3://x", "triggerType": "PERIODIC"}}
    assert result_of_event(sparse, LOG, timeout_is_sensor_timeout=False) == {
        "location": "s3://x",
        "triggerType": "PERIODIC",
        "triggerNonce": None,
        "triggeredAt": None,
    }


def test_result_of_event_timeout() -> None:
    event = {"status": "timeout", "message": "Timed out waiting: Savepoint n-1 is pending"}
    with pytest.raises(AirflowSensorTimeout, match="n-1 is pending"):
        result_of_event(event, LOG, timeout_is_sensor_timeout=True)
    with pytest.raises(LakeSailError, match="n-1 is pending") as raised:
        result_of_event(event, LOG, timeout_is_sensor_timeout=False)
    assert not isinstance(raised.value, AirflowSensorTimeout)


@pytest.mark.parametrize("sensor", [True, False])
def test_result_of_event_failed_savepoint(sensor: bool) -> None:
    event = {
        "status": "failed",
        "reason": "savepoint",
        "message": "Savepoint n-1 is neither pending nor completed",
    }
    with pytest.raises(LakeSailSavepointFailedError, match="neither pending nor completed") as raised:
        result_of_event(event, LOG, timeout_is_sensor_timeout=sensor)
    assert isinstance(raised.value, AirflowFailException)  # the task fails without retrying
    assert isinstance(raised.value, LakeSailError)


def test_first_poll_comes_one_interval_after_the_deferral(lakesail_conn: str, fake: FakeLakeSail) -> None:
    """The task checked just before it deferred: the trigger asks again only one interval later
    (which narrows Airflow's own race with triggers that fire within seconds of the deferral)."""
    started = time.monotonic()
    events = collect(make_trigger(poll_interval=0.6))
    assert [event["status"] for event in events] == ["success"]
    first = min(arrival.at for arrival in fake.arrivals)
    assert first - started >= 0.6 * 0.95, first - started


@pytest.mark.parametrize(
    ("event", "words"),
    [
        pytest.param({"status": "success", "savepoint": None}, "without the completed savepoint", id="none"),
        pytest.param(
            {"status": "success", "savepoint": {**GOOD, "triggerNonce": "another"}},
            "without the completed savepoint",
            id="another-nonce",
        ),
        pytest.param(
            {"status": "success", "savepoint": {**GOOD, "location": None}},
            "without the completed savepoint",
            id="no-location",
        ),
        pytest.param({"status": "failed", "message": "gone"}, "unknown reason", id="failed-without-reason"),
    ],
)
def test_event_for_an_awaited_savepoint_must_carry_it(event: dict[str, Any], words: str) -> None:
    """Resuming after a wait for one nonce: success must carry that savepoint, with a location;
    a failed event must say why (an unknown one is an error the task may retry, not a no-retry fail)."""
    with pytest.raises(LakeSailError, match=words) as info:
        read_event(
            event,
            LOG,
            timeout_is_sensor_timeout=False,
            error=LakeSailError,
            failed_error=_Failed,
            nonce=GOOD["triggerNonce"],
        )
    assert not isinstance(info.value, _Failed)


def test_event_message_is_bounded() -> None:
    with pytest.raises(_Failed) as info:
        result_of_event(
            {"status": "failed", "reason": "savepoint", "message": "x" * 1_000_000},
            LOG,
            timeout_is_sensor_timeout=False,
        )
    assert len(str(info.value)) <= 2000
