"""LakeSailSavepointSensor gating ``sensor_gate`` (tests/dags/lakesail_dags.py), run by dag.test()
against FakeLakeSail: the same outcomes in poke, reschedule and deferrable mode. In reschedule mode the
metadata DB must show the gate rescheduled (dag.test() of Airflow 3.3 and 2.11 both reschedule)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_flinksp.testing import FakeJob, FakeLakeSail
from tests.conftest import jump_once, point_at
from tests.dag_runs import Run

pytestmark = pytest.mark.integration

MODES = ["poke", "reschedule", "deferrable"]
JOB_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1"


@pytest.fixture
def run_gate(run_dag: Callable[..., Run], lakesail_conn: str) -> Callable[..., Run]:
    """Run ``sensor_gate`` in a mode, with these settings."""
    return lambda mode, **settings: run_dag(
        "lakesail_dags.py", "sensor_gate", settings={"mode": mode, **settings}
    )


def describe_calls(fake: FakeLakeSail) -> int:
    """GETs of the job itself: the sensor asks for the job's state only while it has to wait."""
    return sum(1 for r in fake.requests if r.method == "GET" and r.path == JOB_PATH)


def assert_waited(outcome: Run, fake: FakeLakeSail, mode: str) -> None:
    """The gate saw "not yet" at least once (so the test exercised waiting, not just one look)."""
    assert describe_calls(fake) >= 1
    if mode == "reschedule":
        assert outcome.reschedules["gate"] >= 1
    else:
        assert outcome.reschedules["gate"] == 0


def assert_gate_failed(outcome: Run, exception: str) -> str:
    """The gate failed with ``exception`` on its first try (no retry although it has one), the run
    failed; returns the message."""
    assert outcome.state == "failed"
    assert outcome.states["gate"] == "failed"
    assert outcome.tries["gate"] == 1
    assert outcome.states["report"] in ("upstream_failed", "None")
    assert all(r.get("event") != "report" for r in outcome.records)
    assert outcome.outcomes["gate"]["exception"] == exception
    return outcome.message("gate")


def job(fake: FakeLakeSail) -> FakeJob:
    return fake.get_job("WS1", "SESS1", "JOB1")


@pytest.mark.parametrize("mode", MODES)
def test_gate_on_the_triggered_nonce(run_gate, fake, mode):
    """(a) Trigger, then gate on the nonce from XCom: the gate's XCom is that completed savepoint."""
    job(fake).savepoint_duration = 60.0
    fake.clock = jump_once(lambda: describe_calls(fake))  # done once seen waiting
    outcome = run_gate(mode)
    assert outcome.state == "success", outcome
    assert outcome.states == {"trigger": "success", "gate": "success", "report": "success"}
    report = outcome.record("report")
    savepoint = report["gate"]
    assert savepoint["triggerNonce"] == report["nonce"] is not None
    assert savepoint["location"].startswith("s3://bucket/flink-savepoints/savepoint-")
    assert savepoint["triggerType"] == "MANUAL"
    assert savepoint in fake.savepoints("WS1", "SESS1", "JOB1")["completed"]
    assert_waited(outcome, fake, mode)


@pytest.mark.parametrize("mode", MODES)
def test_gate_without_nonce_waits_for_pending(run_gate, fake, mode):
    """(b) No nonce: wait while a savepoint is pending; the XCom is the latest completed savepoint."""
    job(fake).savepoint_duration = 0.0
    older = fake.trigger("WS1", "SESS1", "JOB1")  # completes at once: history to choose from
    assert fake.savepoints("WS1", "SESS1", "JOB1")["pending"] == []
    job(fake).savepoint_duration = 60.0
    fake.clock = jump_once(lambda: describe_calls(fake))  # done once seen waiting
    outcome = run_gate(mode, nonce=None)
    assert outcome.state == "success", outcome
    report = outcome.record("report")
    listing = fake.savepoints("WS1", "SESS1", "JOB1")
    assert listing["pending"] == []
    assert [sp["triggerNonce"] for sp in listing["completed"]] == [older["triggerNonce"], report["nonce"]]
    assert report["gate"] == listing["completed"][-1]
    assert report["gate"]["location"]
    assert_waited(outcome, fake, mode)


@pytest.mark.parametrize("mode", MODES)
def test_failed_savepoint_fails_the_gate_after_grace(run_gate, fake, mode):
    """(c) The savepoint vanishes (failed): after the grace period the gate fails, without retrying.
    In reschedule mode the grace must count from the first poke, not from each reschedule."""
    job(fake).fail_next()
    outcome = run_gate(mode, grace=0.5, timeout=8)

    message = assert_gate_failed(outcome, "LakeSailSavepointFailedError")
    assert outcome.states["trigger"] == "success"
    assert "neither pending nor completed" in message
    assert "failed, or was removed" in message
    assert_waited(outcome, fake, mode)


@pytest.mark.parametrize("mode", MODES)
def test_failed_job_fails_the_gate_naming_the_state(run_gate, fake, mode):
    """(d) The job is FAILED while its savepoint is pending: the gate fails at once, naming the state."""
    job(fake).savepoint_duration = 60.0
    nonce = fake.trigger("WS1", "SESS1", "JOB1")["triggerNonce"]
    job(fake).state = "FAILED"
    outcome = run_gate(mode, trigger=0, nonce=nonce)

    message = assert_gate_failed(outcome, "LakeSailSavepointFailedError")
    assert "The job is FAILED" in message
    assert nonce in message
    assert outcome.reschedules["gate"] == 0  # decided on the first look, in every mode


@pytest.mark.parametrize("mode", MODES)
def test_outage_longer_than_retries_is_waited_out(run_gate, fake, monkeypatch, mode):
    """(e) Six 503s in a row, two attempts per call: the trigger operator's look for a pending
    savepoint takes two (and triggers anyway), two of the sensor's polls fail, it still succeeds."""
    point_at(monkeypatch, fake, retry_limit=2)  # two attempts per API call, for every task
    fake.add_fault("status", status=503, times=6, method="GET")
    outcome = run_gate(mode, timeout=20)
    assert outcome.state == "success", outcome
    assert outcome.tries["gate"] == 1
    assert sum(1 for r in fake.requests if r.status == 503) == 6
    assert outcome.record("report")["gate"]["location"]
    if mode == "reschedule":
        assert outcome.reschedules["gate"] >= 2  # two polls answered only by 503s


@pytest.mark.parametrize("mode", MODES)
def test_sensor_timeout_shorter_than_the_wait(run_gate, fake, mode):
    """(f) The savepoint takes a minute, the sensor waits 0.6 s: a sensor timeout, no retry."""
    job(fake).savepoint_duration = 60.0
    outcome = run_gate(mode, timeout=0.6)

    assert_gate_failed(outcome, "AirflowSensorTimeout")
    assert fake.savepoints("WS1", "SESS1", "JOB1")["pending"]  # still pending: it really timed out


def _sensor_in_dag(default_args: dict[str, Any]) -> Any:
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2.11
        from airflow import DAG  # type: ignore[no-redef,assignment]

    from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

    with DAG("sensor_default_args", schedule=None, default_args=default_args):
        return LakeSailSavepointSensor(task_id="gate", workspace_id="WS1", session_id="SESS1", job_id="JOB1")


def test_task_retry_delay(lakesail_conn, fake) -> None:
    """A LakeSail task's retry_delay is Airflow's task retry delay (its default, not None, or the
    one of default_args); poking still works."""
    assert isinstance(_sensor_in_dag({}).retry_delay, timedelta)
    sensor = _sensor_in_dag({"retries": 2, "retry_delay": timedelta(minutes=5)})
    assert sensor.retry_delay == timedelta(minutes=5)
    assert sensor.poke({}).is_done
