"""The Flink operators and sensor: what they refuse when built (at DAG parse time, with no hook and
no request), and their decisions against the loopback playback of Flink's recorded responses."""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_provider_flinksp._compat import AirflowSkipException
from airflow_provider_flinksp.exceptions import FlinkError, FlinkSavepointFailedError
from airflow_provider_flinksp.flink.operators import as_bool
from airflow_provider_flinksp.flink.waiting import RUNNING, WaitTarget
from airflow_provider_flinksp.operators import (
    FlinkLatestSavepointOperator,
    FlinkRunJarOperator,
    FlinkTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import FlinkSavepointSensor
from tests.flink_backend.playback import JOB, STATUS, TRIGGER, Playback, recorded

JAR = "aa818516-7442-4036-8e7b-11299af16ea5_counter.jar"


class TaskInstance:
    """Records what a task pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.mark.parametrize(
    ("task", "kwargs", "fragment"),
    [
        (FlinkTriggerSavepointOperator, {"job_id": "JOB1"}, "job_id must be a Flink job ID"),
        (FlinkTriggerSavepointOperator, {"job_id": JOB, "drain": True}, "drain=True needs stop=True"),
        (FlinkSavepointSensor, {"job_id": JOB, "trigger_id": "x"}, "trigger_id must be a Flink trigger"),
        (FlinkRunJarOperator, {}, "give exactly one of jar_id"),
        (FlinkRunJarOperator, {"jar_id": JAR, "jar_path": "/a.jar"}, "give exactly one of jar_id"),
        (FlinkRunJarOperator, {"jar_id": "a/b.jar"}, "jar_id must be a Flink jar ID"),
        (FlinkRunJarOperator, {"jar_id": JAR, "args": "--x 1"}, "args must be a list of strings"),
        (FlinkLatestSavepointOperator, {"job_id": JOB, "if_none": "ignore"}, 'if_none must be "fail"'),
        (
            FlinkLatestSavepointOperator,
            {"job_id": JOB, "trigger_id": TRIGGER, "max_age": 60},
            "cannot be combined with trigger_id",
        ),
    ],
)
def test_refused_when_built(task: Any, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        task(task_id="t", **kwargs)


def test_templates_are_left_for_run_time_and_no_hook_is_made() -> None:
    task = FlinkRunJarOperator(
        task_id="t",
        jar_id="{{ params.jar }}",
        savepoint_path="{{ ti.xcom_pull(task_ids='latest', key='savepoint_location') }}",
        args=["--name", "{{ dag.dag_id }}"],
    )
    assert task.jar_id == "{{ params.jar }}"
    assert task.args == ["--name", "{{ dag.dag_id }}"]
    assert "hook" not in task.__dict__
    sensor = FlinkSavepointSensor(
        task_id="s", job_id="{{ params.job_id }}", trigger_id="{{ ti.xcom_pull() }}"
    )
    assert "hook" not in sensor.__dict__
    fields = {"job_id", "target_directory", "stop", "flink_conn_id"}
    assert set(FlinkTriggerSavepointOperator.template_fields) == fields


def test_as_bool() -> None:
    cases = {True: True, "False": False, " true ": True, False: False}
    assert {value: as_bool(value, "stop") for value in cases} == cases
    for value in ("yes", "", None, 1):
        with pytest.raises(ValueError, match="stop must be true or false"):
            as_bool(value, "stop")


def test_latest_takes_the_newest_completed_and_pushes_its_location(flink: Playback) -> None:
    body = recorded("checkpoints_savepoint")[1]
    location = body["latest"]["savepoint"]["external_path"]
    older = {**body["history"][0], "id": 0, "trigger_timestamp": 1, "external_path": "file:/older"}
    body["history"].append(older)
    flink.answers[f"/jobs/{JOB}/checkpoints"] = [(200, body)]
    ti = TaskInstance()
    result = FlinkLatestSavepointOperator(task_id="latest", job_id=JOB).execute({"ti": ti})  # type: ignore[arg-type]
    assert result["location"] == location
    assert ti.pushed == {"savepoint_location": location}


def test_latest_with_nothing_fails_or_skips(flink: Playback) -> None:
    flink.answers[f"/jobs/{JOB}/checkpoints"] = [recorded("checkpoints_after_failed_savepoint")]
    with pytest.raises(FlinkError, match=f"No savepoint of job {JOB} to choose: 0 completed"):
        FlinkLatestSavepointOperator(task_id="l", job_id=JOB).execute({"ti": TaskInstance()})  # type: ignore[arg-type]
    with pytest.raises(AirflowSkipException):
        FlinkLatestSavepointOperator(task_id="l", job_id=JOB, if_none="skip").execute(
            {"ti": TaskInstance()}  # type: ignore[arg-type]
        )


def test_latest_by_trigger_id_reads_the_status_endpoint(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_completed")]
    ti = TaskInstance()
    result = FlinkLatestSavepointOperator(task_id="l", job_id=JOB, trigger_id=TRIGGER).execute({"ti": ti})  # type: ignore[arg-type]
    assert result["triggerNonce"] == TRIGGER
    assert ti.pushed["savepoint_location"] == result["location"]


def test_sensor_poke_fails_with_flinks_reason(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_failed")]
    sensor = FlinkSavepointSensor(task_id="gate", job_id=JOB, trigger_id=TRIGGER)
    with pytest.raises(FlinkSavepointFailedError, match="Failed to create savepoint directory"):
        sensor.poke({})  # type: ignore[arg-type]


def test_sensor_poke_without_trigger_id_waits_while_one_is_in_progress(flink: Playback) -> None:
    body = recorded("checkpoints_savepoint")[1]
    body["history"].insert(0, {**body["history"][0], "id": 5, "status": "IN_PROGRESS"})
    flink.answers[f"/jobs/{JOB}/checkpoints"] = [(200, body), recorded("checkpoints_savepoint")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    sensor = FlinkSavepointSensor(task_id="gate", job_id=JOB)
    first = sensor.poke({})  # type: ignore[arg-type]
    assert first.is_done is False
    second = sensor.poke({})  # type: ignore[arg-type]
    assert second.is_done is True
    assert second.xcom_value["location"] == body["latest"]["savepoint"]["external_path"]


def test_run_jar_fails_when_the_new_job_fails(flink: Playback) -> None:
    failed = recorded("job_finished")
    failed[1]["state"] = "FAILED"
    flink.answers[f"/jobs/{JOB}"] = [failed]
    task = FlinkRunJarOperator(task_id="run", jar_id=JAR, poll_interval=0.01, timeout=5, deferrable=False)
    with pytest.raises(FlinkSavepointFailedError, match=f"Job {JOB} .*is FAILED: it will not run"):
        task._wait(WaitTarget(JOB, kind=RUNNING))
