"""Restore for real, ``restore_jobs`` (tests/dags/lakesail_dags.py) run by dag.test() against FakeLakeSail:
LakeSailCreateSessionJobOperator creates a session job from a savepoint and waits until it is RUNNING,
or LakeSailSessionJobSensor waits; poke and deferrable, including a job that FAILS while awaited."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail
from tests.conftest import jump_once, point_at
from tests.dag_runs import Run

pytestmark = pytest.mark.integration

MODES = ["poke", "deferrable"]
TOKEN = "restore-token-s3cr3t"
JOBS_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs"
SAVEPOINT = "s3://bucket/flink-savepoints/savepoint-0a1b2c"
DESCRIBE = re.compile(rf"^{JOBS_PATH}/(SJ[0-9A-F]+)$")


@pytest.fixture
def run_restore(run_dag: Callable[..., Run], server: FakeLakeSail) -> Callable[..., Run]:
    """Run ``restore_jobs`` with these settings."""
    return lambda **settings: run_dag("lakesail_dags.py", "restore_jobs", settings=settings)


@pytest.fixture
def server(airflow_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLakeSail]:
    """A fake with session WS1/SESS1; a created job runs once a wait has seen it PENDING."""
    with FakeLakeSail(token=TOKEN, job_start_delay=600) as fake:
        fake.clock = jump_once(lambda: describes(fake))
        fake.add_session("WS1", "SESS1")
        point_at(monkeypatch, fake)
        yield fake


def describes(fake: FakeLakeSail) -> list[str]:
    """The IDs of the jobs described so far (the waits look at the job, nothing else)."""
    return [m.group(1) for r in fake.requests if r.method == "GET" and (m := DESCRIBE.match(r.path))]


@pytest.fixture
def fail_while_watched(server: FakeLakeSail) -> Iterator[list[str]]:
    """Fails the created job as soon as a wait has looked at it once (and seen it PENDING)."""
    server.state.job_start_delay = 10**6  # it would never start by itself
    failed: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not failed and not stop.wait(0.02):
            if seen := describes(server):
                server.fail_job("WS1", "SESS1", seen[0])
                failed.append(seen[0])

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield failed
    stop.set()
    thread.join(5)


@pytest.mark.parametrize("mode", MODES)
def test_restore_from_a_savepoint_and_wait_until_running(
    server: FakeLakeSail, run_restore: Callable[..., Run], mode: str
) -> None:
    outcome = run_restore(mode=mode, savepoint=SAVEPOINT)
    assert outcome.states == {"create": "success"}, outcome.outcomes
    job_id = outcome.xcoms[("create", "job_id")]
    summary = outcome.xcoms[("create", "return_value")]
    assert (summary["id"], summary["state"], summary["name"]) == (job_id, "RUNNING", "orders-restored")
    assert set(summary) == {"id", "name", "state", "createdAt", "updatedAt"}
    spec = server.job_spec("WS1", "SESS1", job_id)
    assert spec["flinkConfiguration"] == {
        "parallelism.default": "2",
        "execution.savepoint.path": SAVEPOINT,
        "execution.savepoint.ignore-unclaimed-state": "true",
    }
    assert spec["job"] == {
        "jarUri": "s3://bucket/jars/orders-2.jar",
        "entryClass": "com.example.Orders",
        "args": ["--v", "2"],
    }
    assert server.count("POST") == 1
    assert set(describes(server)) == {job_id}
    assert len(describes(server)) >= 2  # it saw PENDING, then RUNNING


@pytest.mark.parametrize("mode", MODES)
def test_create_without_a_savepoint_then_the_sensor_waits(
    server: FakeLakeSail, run_restore: Callable[..., Run], mode: str
) -> None:
    outcome = run_restore(mode=mode, wait="sensor")
    assert outcome.states == {"create": "success", "watch": "success"}, outcome.outcomes
    job_id = outcome.xcoms[("create", "job_id")]
    assert outcome.xcoms[("create", "return_value")]["state"] == "PENDING"  # it did not wait
    watched = outcome.xcoms[("watch", "return_value")]
    assert (watched["id"], watched["state"]) == (job_id, "RUNNING")
    assert server.job_spec("WS1", "SESS1", job_id)["flinkConfiguration"] == {"parallelism.default": "2"}
    assert len(describes(server)) >= 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("waiter", ["create", "watch"])
def test_a_job_that_fails_while_awaited_fails_the_task_without_retry(
    server: FakeLakeSail,
    fail_while_watched: list[str],
    run_restore: Callable[..., Run],
    mode: str,
    waiter: str,
) -> None:
    """The operator (``create``) or the sensor (``watch``) waits: the job FAILS, the task fails."""
    outcome = run_restore(mode=mode, savepoint=SAVEPOINT, wait="sensor" if waiter == "watch" else "operator")
    assert outcome.state == "failed"
    expected = {"create": "failed"} if waiter == "create" else {"create": "success", "watch": "failed"}
    assert outcome.states == expected
    assert outcome.tries[waiter] == 1  # retries=1, but a FAILED job is not retried
    assert outcome.outcomes[waiter]["exception"] == "LakeSailJobFailedError"
    [failed] = fail_while_watched
    assert f"Session job WS1/SESS1/{failed} is FAILED, a failure state" in outcome.message(waiter)
    assert server.count("POST") == 1
    assert outcome.xcoms[("create", "job_id")] == failed


def test_a_wait_that_outlasts_its_timeout_fails(
    server: FakeLakeSail, run_restore: Callable[..., Run]
) -> None:
    server.state.job_start_delay = 10**6
    started = time.monotonic()
    outcome = run_restore(mode="poke", timeout=0.5)
    assert outcome.states == {"create": "failed"}
    assert outcome.tries["create"] == 1  # a retry would create a second job
    error = outcome.message("create")
    assert "Timed out waiting: Session job WS1/SESS1/" in error
    assert "is PENDING; waiting for RUNNING" in error
    assert "was created and is left as it is; not retrying" in error
    assert server.count("POST") == 1
    assert time.monotonic() - started < 30
