"""Flink's answers (recorded from Flink 2.3 in tests/flink/responses, and shapes derived from them)
through the parsers, the ID rules and the waiting rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.exceptions import FlinkResponseError
from airflow_provider_flinksp.flink.ids import check_static_ids, validate_jar_id, validate_job_id
from airflow_provider_flinksp.flink.models import (
    error_message,
    java_reason,
    parse_checkpoints,
    parse_jar_upload,
    parse_job,
    parse_job_id,
    parse_savepoint_status,
    parse_trigger,
    restored_from,
)
from airflow_provider_flinksp.flink.waiting import (
    RUNNING,
    WaitTarget,
    judge_list,
    judge_running,
    judge_trigger,
)
from tests.flink_backend import playback
from tests.flink_backend.playback import JOB, TRIGGER


def recorded(name: str) -> Any:
    """The body Flink sent, as recorded by tests/flink (checked against the real cluster each run)."""
    return playback.recorded(name)[1]


# ---------------------------------------------------------------------------- /checkpoints


@pytest.mark.parametrize(
    "name", ["checkpoints_none", "checkpoints_after_failed_savepoint", "checkpoints_restored"]
)
def test_nothing_to_restore_from(name: str) -> None:
    assert parse_checkpoints(recorded(name)) == SavepointList()


def test_restored_path() -> None:
    body = recorded("checkpoints_restored")
    assert restored_from(body) == body["latest"]["restored"]["external_path"]
    assert restored_from(recorded("checkpoints_none")) is None


def test_completed_savepoint_with_its_path_and_trigger_time_also_after_it_left_the_history() -> None:
    body = recorded("checkpoints_savepoint")
    entry = body["latest"]["savepoint"]
    expected = Savepoint(
        "UNKNOWN",
        location=entry["external_path"],
        triggered_at=datetime.fromtimestamp(entry["trigger_timestamp"] / 1000, timezone.utc),
    )
    assert parse_checkpoints(body) == SavepointList(completed=[expected])
    assert expected.to_dict()["triggeredAt"].endswith("Z")
    body["history"] = []
    assert parse_checkpoints(body).completed == [expected]
    body["latest"]["savepoint"]["discarded"] = True
    assert parse_checkpoints(body).completed == []


def test_savepoint_in_progress_is_pending_and_checkpoints_are_left_out() -> None:
    body = recorded("checkpoints_savepoint")
    done = body["history"][0]
    start = done["trigger_timestamp"]
    running = {**done, "id": 3, "status": "IN_PROGRESS", "trigger_timestamp": start + 5000}
    running.pop("external_path")
    checkpoint = {**done, "id": 2, "is_savepoint": False, "checkpoint_type": "CHECKPOINT"}
    older = {**done, "id": 0, "trigger_timestamp": start - 60_000, "external_path": "file:/old"}
    body["history"] = [running, checkpoint, done, older]
    savepoints = parse_checkpoints(body)
    assert [sp.trigger_type for sp in savepoints.pending] == ["UNKNOWN"]
    assert savepoints.pending[0].location is None
    # oldest first, whatever Flink's order; the checkpoint is not a savepoint
    assert [sp.location for sp in savepoints.completed] == ["file:/old", done["external_path"]]


@pytest.mark.parametrize(
    ("parse", "body", "fragment"),
    [
        (parse_checkpoints, [], "checkpoint statistics should be a JSON object, got an array"),
        (parse_checkpoints, {"latest": None}, "'history' as an array"),
        (parse_checkpoints, {"history": [1]}, "history[0] should be a JSON object"),
        (parse_checkpoints, {"history": [], "latest": "x"}, "'latest' should be a JSON object"),
        (
            parse_checkpoints,
            {"history": [], "latest": {"savepoint": []}},
            "latest.savepoint should be a JSON object",
        ),
        (parse_savepoint_status, "COMPLETED", "savepoint status should be a JSON object, got a string"),
        (
            parse_savepoint_status,
            {"status": {"id": "DONE"}},
            "should be IN_PROGRESS or COMPLETED, got 'DONE'",
        ),
        (
            parse_savepoint_status,
            {"status": {}},
            "needs 'id' as a non-empty string, got nothing (key missing)",
        ),
        (
            parse_savepoint_status,
            {"status": {"id": "COMPLETED"}, "operation": None},
            "'operation' should be a JSON object, got null",
        ),
        (
            parse_savepoint_status,
            {"status": {"id": "COMPLETED"}, "operation": {}},
            "needs 'location' as a non-empty",
        ),
        (
            parse_savepoint_status,
            {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": "x"}},
            "failure-cause' should be a JSON",
        ),
        (parse_trigger, {"request-id": "not-hex"}, "32 hex digits"),
        (parse_job, {"jid": JOB}, "'state'"),
        (parse_jar_upload, {"filename": "x.jar", "status": "failure"}, "not 'success'"),
        (parse_job_id, {"jobid": None}, "jobid"),
    ],
)
def test_bodies_of_the_wrong_shape(parse: Callable[[Any], object], body: Any, fragment: str) -> None:
    with pytest.raises(FlinkResponseError) as info:
        parse(body)
    assert fragment in str(info.value)


# ---------------------------------------------------------------------------- savepoint status


def test_status_in_progress_and_completed() -> None:
    assert parse_savepoint_status(recorded("savepoint_status_in_progress")).in_progress
    for name in ("savepoint_status_completed", "stop_status_completed"):
        body = recorded(name)
        status = parse_savepoint_status(body)
        assert not status.in_progress
        assert status.location == body["operation"]["location"]
        assert status.failure is None


def test_status_failed_gives_flinks_reason_without_frames() -> None:
    status = parse_savepoint_status(recorded("savepoint_status_failed"))
    assert status.location is None
    reason = status.failure
    assert reason is not None
    assert reason.startswith("CheckpointException: An Exception occurred while triggering the checkpoint.")
    assert "caused by IOException: Failed to create savepoint directory at file:/" in reason
    assert "caused by FileAlreadyExistsException: /tmp/" in reason
    assert "\tat " not in reason
    assert "CompletionException" not in reason
    assert reason.count("IO-problem detected") == 1  # the repeated Caused by line is left out
    reason = parse_savepoint_status(recorded("savepoint_status_finished_job")).failure
    assert reason is not None
    assert "FlinkJobNotFoundException: Could not find Flink job" in reason
    body = {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {"class": "java.io.IOException"}}}
    assert parse_savepoint_status(body).failure == "java.io.IOException"  # no stack trace: the class


# ---------------------------------------------------------------------------- triggers, jobs, jars, errors


def test_trigger_job_detail_and_jar_responses() -> None:
    assert len(parse_trigger(recorded("savepoint_trigger"))) == 32
    assert len(parse_trigger(recorded("stop_with_savepoint"))) == 32
    assert parse_job(recorded("job_running"))["state"] == "RUNNING"
    assert parse_job(recorded("job_finished"))["state"] == "FINISHED"
    jar_id = parse_jar_upload(recorded("jar_upload"))
    assert jar_id.endswith("_counter.jar")
    assert "/" not in jar_id
    assert validate_jar_id("jar_id", jar_id) == jar_id
    assert parse_job_id(recorded("jar_run")) == recorded("jar_run")["jobid"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("error_unknown_job", "NotFoundException: Job 1b4283e6d7b94c7e8b4fd1a48ef985a0 not found"),
        ("error_unknown_trigger", "RestHandlerException: There is no savepoint operation with triggerId="),
        ("error_malformed_job_id", "Cannot resolve path parameter (jobid)"),
        ("error_jar_run_bad_args", "RestHandlerException: Could not execute application."),
        ("error_unknown_jar", "RestHandlerException: Jar file /tmp/"),
    ],
)
def test_error_messages_keep_the_reason_not_the_frames(name: str, expected: str) -> None:
    message = error_message(recorded(name))
    assert message is not None
    assert expected in message
    assert "\tat " not in message
    assert "Internal server error" not in message  # the 500's second entry says more


def test_error_message_of_other_bodies() -> None:
    assert error_message({"message": "x"}) is None
    assert error_message(["x"]) is None
    assert error_message({"errors": ["Internal server error."]}) == "Internal server error."
    assert java_reason("<Exception on server side:\nfoo.BarException: boom\n\tat x\nEnd of exception>") == (
        "BarException: boom"
    )


# ---------------------------------------------------------------------------- IDs


@pytest.mark.parametrize("value", ["", JOB[:-1], "g" * 32, None, 42, JOB + "0"])
def test_bad_job_ids_name_the_parameter_and_the_rule(value: object) -> None:
    with pytest.raises(ValueError, match=r"job_id must be a Flink job ID \(32 hexadecimal digits\)"):
        validate_job_id("job_id", value)


@pytest.mark.parametrize("value", ["../etc/passwd.jar", "a/b.jar", "x.zip", ".jar", "a b.jar", ""])
def test_bad_jar_ids(value: str) -> None:
    with pytest.raises(ValueError, match="jar_id must be a Flink jar ID"):
        validate_jar_id("jar_id", value)


def test_static_ids_checked_only_when_literal() -> None:
    check_static_ids(job_id="{{ ti.xcom_pull(task_ids='run', key='job_id') }}", jar_id="{{ params.jar }}")
    check_static_ids(job_id=JOB, trigger_id=TRIGGER)
    with pytest.raises(ValueError, match="trigger_id must be a Flink trigger ID"):
        check_static_ids(trigger_id="abc")


# ---------------------------------------------------------------------------- waiting rule


def test_trigger_wait_verdicts() -> None:
    target = WaitTarget(JOB, TRIGGER)
    done = Savepoint("MANUAL", location="file:/sp", trigger_nonce=TRIGGER)
    success = judge_trigger(target, done, None)
    assert success.status == "success"
    assert success.savepoint == done.to_dict()
    assert judge_trigger(target, None, None).status == "waiting"
    assert judge_trigger(target, None, "RUNNING").status == "waiting"
    failed = judge_trigger(target, None, "CANCELED")
    assert failed.status == "failed"
    assert "The job is CANCELED" in failed.message


def test_list_wait_verdicts() -> None:
    body = recorded("checkpoints_savepoint")
    location = body["latest"]["savepoint"]["external_path"]
    done = judge_list(WaitTarget(JOB), parse_checkpoints(body), None)
    assert done.status == "success"
    assert (done.savepoint or {}).get("location") == location
    nothing = parse_checkpoints(recorded("checkpoints_none"))
    assert judge_list(WaitTarget(JOB), nothing, None).savepoint is None
    running = {**body["history"][0], "id": 9, "status": "IN_PROGRESS"}
    body["history"].insert(0, running)
    assert judge_list(WaitTarget(JOB), parse_checkpoints(body), "RUNNING").status == "waiting"
    assert judge_list(WaitTarget(JOB), parse_checkpoints(body), "FAILED").status == "failed"


def test_running_wait_verdicts() -> None:
    target = WaitTarget(JOB, kind=RUNNING)
    job = recorded("job_running")
    success = judge_running(target, job)
    assert success.status == "success"
    assert success.value == {"job_id": JOB, "state": "RUNNING", "name": job["name"]}
    job["vertices"][0]["status"] = "DEPLOYING"
    starting = judge_running(target, job)
    assert starting.status == "waiting"
    assert "1 of 2 tasks still starting" in starting.message
    assert judge_running(target, recorded("job_finished")).status == "failed"
