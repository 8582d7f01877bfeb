"""FlinkSavepointTrigger in the event loop (its serialization: tests/lakesail/test_triggers.py) against
a loopback server that plays back the responses recorded from Flink 2.3."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_provider_flinksp.flink.waiting import RUNNING, WaitTarget, check
from airflow_provider_flinksp.hooks import FlinkRestHook
from airflow_provider_flinksp.triggers import FlinkSavepointTrigger
from tests.flink_backend.playback import JOB, STATUS, TRIGGER, Playback, recorded


def run_trigger(**kwargs: Any) -> list[dict[str, Any]]:
    """Every event of a FlinkSavepointTrigger (a 30 s deadline unless given) run to its end."""
    trigger = FlinkSavepointTrigger(**{"deadline": time.time() + 30, "poll_interval": 0.05, **kwargs})

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_waits_while_in_progress_then_yields_the_savepoint(flink: Playback) -> None:
    completed = recorded("savepoint_status_completed")
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress")] * 2 + [completed]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    (event,) = run_trigger(job_id=JOB, trigger_id=TRIGGER)
    assert event["status"] == "success"
    assert event["savepoint"] == {
        "location": completed[1]["operation"]["location"],
        "triggerType": "MANUAL",
        "triggerNonce": TRIGGER,
        "triggeredAt": None,
    }
    assert flink.seen.count(STATUS) == 3
    assert flink.seen.count(f"/jobs/{JOB}") == 2  # the job's state is read only while in progress


def test_failed_savepoint_yields_flinks_reason(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress"), recorded("savepoint_status_failed")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    (event,) = run_trigger(job_id=JOB, trigger_id=TRIGGER)
    assert event["status"] == "failed"
    assert event["reason"] == "savepoint"
    assert "IOException: Failed to create savepoint directory" in event["message"]


def test_job_ended_while_in_progress_fails(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_finished")]
    verdict = check(FlinkRestHook(), WaitTarget(JOB, TRIGGER))
    assert verdict.status == "failed"
    assert verdict.message.startswith(f"The job is FINISHED and savepoint {TRIGGER} did not complete")
    assert flink.seen.count(STATUS) == 2  # read again after the job's state: it may have completed


def test_unknown_trigger_is_an_api_failure(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("error_unknown_trigger")]
    (event,) = run_trigger(job_id=JOB, trigger_id=TRIGGER)
    assert event["status"] == "failed"
    assert event["reason"] == "api"
    assert "HTTP 404" in event["message"]
    assert "There is no savepoint operation" in event["message"]


def test_times_out_with_the_last_news(flink: Playback) -> None:
    """At the deadline, not before, saying what it was waiting for (the same for every backend)."""
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    deadline = time.time() + 0.3
    (event,) = run_trigger(job_id=JOB, trigger_id=TRIGGER, deadline=deadline)
    assert time.time() >= deadline
    assert event["status"] == "timeout"
    assert "is in progress (job RUNNING)" in event["message"]


def test_waits_for_a_new_job_to_run(flink: Playback) -> None:
    starting = recorded("job_running")
    starting[1]["state"] = "CREATED"
    flink.answers[f"/jobs/{JOB}"] = [starting, recorded("job_running")]
    (event,) = run_trigger(job_id=JOB, wait_for=RUNNING)
    assert event["status"] == "success"
    assert event["value"]["job_id"] == JOB
    assert event["value"]["state"] == "RUNNING"
