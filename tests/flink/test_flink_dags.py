"""The provider's Flink classes against the real cluster, through ``dag.test()``: trigger, gate,
latest, restore and wait until it runs (deferred and polled); a savepoint that fails; stop with a
savepoint and restore; and the hook's retried trigger POST taking one savepoint."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flinksp.hooks import FlinkRestHook
from tests.dag_runs import Run
from tests.flink.cluster import FlinkCluster
from tests.flink.support import FlinkRest, record_timing, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def flink_conn(flink_cluster: FlinkCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """``flink_default`` pointing at the real cluster, through AIRFLOW_CONN_ (JSON)."""
    value = {"conn_type": "flink", "host": flink_cluster.url, "extra": {"retry_delay": 0.05}}
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", json.dumps(value))
    return "flink_default"


@pytest.fixture
def run_flink_dag(run_dag: Callable[..., Run], flink_conn: str) -> Callable[..., Run]:
    """Run one DAG of ``tests/dags/flink_savepoints.py`` with the given params."""
    return lambda dag_id, **params: run_dag("flink_savepoints.py", dag_id, **params)


def restored_path(rest: FlinkRest, job_id: str) -> str | None:
    latest = rest.checkpoints(job_id)["latest"]
    restored = latest.get("restored") if isinstance(latest, dict) else None
    return restored.get("external_path") if isinstance(restored, dict) else None


@pytest.mark.parametrize("mode", ["defer", "poke"])
def test_trigger_gate_latest_restore(
    run_flink_dag: Any,
    rest: FlinkRest,
    counter_job: str,
    counter_jar_id: str,
    started_jobs: list[str],
    flink_cluster: FlinkCluster,
    mode: str,
) -> None:
    run = run_flink_dag(f"flink_restore_{mode}", job_id=counter_job, jar_id=counter_jar_id)
    new_job = run.xcoms.get(("restore", "job_id"))
    if new_job:
        started_jobs.append(new_job)
    assert run.state == "success", run.outcomes
    trigger_id = run.xcoms[("trigger", "trigger_id")]
    savepoint = run.xcoms[("gate", "return_value")]
    location = savepoint["location"]
    assert savepoint == {
        "location": location,
        "triggerType": "MANUAL",
        "triggerNonce": trigger_id,
        "triggeredAt": None,
    }
    # a real savepoint on disk, in the cluster's default directory
    assert location.startswith(flink_cluster.savepoint_dir.as_uri().replace("file:///", "file:/"))
    assert (Path(location.removeprefix("file:")) / "_metadata").is_file()
    assert run.xcoms[("latest", "savepoint_location")] == location
    assert run.xcoms[("latest", "return_value")]["triggerNonce"] == trigger_id
    assert run.xcoms[("restore", "return_value")] == new_job
    # the new job runs, restored from exactly that savepoint
    assert rest.job(new_job)["state"] == "RUNNING"
    assert restored_path(rest, new_job) == location
    assert rest.job(counter_job)["state"] == "RUNNING"  # a plain savepoint leaves the job running


@pytest.mark.parametrize("mode", ["defer", "poke"])
def test_failing_savepoint_fails_the_gate_with_flinks_cause(
    run_flink_dag: Any, rest: FlinkRest, counter_job: str, tmp_path: Path, mode: str
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the savepoint directory should go")
    run = run_flink_dag(
        f"flink_failing_{mode}", job_id=counter_job, target_directory=(blocker / "sp").as_uri()
    )
    assert run.state == "failed"
    assert run.states == {"trigger": "success", "gate": "failed"}
    trigger_id = run.xcoms[("trigger", "trigger_id")]
    outcome = run.outcomes["gate"]
    assert outcome["exception"] == "FlinkSavepointFailedError"
    message = outcome["message"]
    assert f"Savepoint {trigger_id} of job {counter_job} failed" in message
    assert "Failed to create savepoint directory" in message
    assert "FileAlreadyExistsException" in message
    assert "\tat " not in message
    assert rest.job(counter_job)["state"] == "RUNNING"


def test_stop_with_savepoint_then_restore(
    run_flink_dag: Any,
    rest: FlinkRest,
    counter_job: str,
    counter_jar_id: str,
    started_jobs: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_flinksp.triggers import FlinkSavepointTrigger

    deferred: list[tuple[str | None, str]] = []
    original = FlinkSavepointTrigger.run

    def spy(self: FlinkSavepointTrigger) -> Any:
        deferred.append((self.trigger_id, self.wait_for))
        return original(self)

    monkeypatch.setattr(FlinkSavepointTrigger, "run", spy)
    run = run_flink_dag("flink_stop_restore", job_id=counter_job, jar_id=counter_jar_id)
    new_job = run.xcoms.get(("restore", "job_id"))
    if new_job:
        started_jobs.append(new_job)
    assert run.state == "success", run.outcomes
    savepoint = run.xcoms[("stop", "return_value")]
    location = run.xcoms[("stop", "savepoint_location")]
    assert savepoint["location"] == location
    assert savepoint["triggerNonce"] == run.xcoms[("stop", "trigger_id")]
    assert savepoint["triggerType"] == "MANUAL"
    # both waits ran in the trigger: the stop's savepoint, then the new job's start
    assert deferred == [(savepoint["triggerNonce"], "savepoint"), (None, "running")]
    record_timing("stop: old job FINISHED shown", rest.wait_state(counter_job, "FINISHED"))
    assert rest.job(new_job)["state"] == "RUNNING"
    assert restored_path(rest, new_job) == location


def test_gate_and_latest_without_a_trigger_id(run_flink_dag: Any, rest: FlinkRest, counter_job: str) -> None:
    hook = FlinkRestHook("flink_default")
    trigger_id = hook.trigger_savepoint(counter_job)
    wait_until(lambda: hook.get_savepoint(counter_job, trigger_id), 30, "the savepoint", 0.05)
    location = hook.get_savepoint(counter_job, trigger_id)
    assert location is not None
    # /checkpoints lags the status endpoint by up to web.refresh-interval (3 s)
    wait_until(lambda: hook.list_savepoints(counter_job).completed, 15, "/checkpoints to list it", 0.2)
    run = run_flink_dag("flink_latest_idle", job_id=counter_job)
    assert run.state == "success", run.outcomes
    assert run.xcoms[("gate", "return_value")]["location"] == location.location
    assert run.xcoms[("latest", "savepoint_location")] == location.location
    assert run.xcoms[("latest", "return_value")]["triggerType"] == "UNKNOWN"
    assert run.xcoms[("latest", "return_value")]["triggeredAt"].endswith("Z")


@pytest.fixture
def slow_job(rest: FlinkRest, counter_jar_id: str, started_jobs: list[str]) -> str:
    """A running counter job whose savepoints take at least 6 s (its throttle sleeps while snapshotting)."""
    args = ["--snapshot-ms", "6000", "--name", "counter-slow-savepoints"]
    job_id = rest.run_jar(counter_jar_id, entryClass="Counter", programArgsList=args)
    started_jobs.append(job_id)
    rest.wait_running(job_id)
    return job_id


@pytest.mark.parametrize("mode", ["reschedule", "defer"])
def test_gate_waits_for_a_slow_savepoint(
    run_flink_dag: Any, rest: FlinkRest, slow_job: str, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    from airflow_provider_flinksp.triggers import FlinkSavepointTrigger

    polls: list[str] = []
    original = FlinkSavepointTrigger.acheck

    async def spy(self: FlinkSavepointTrigger) -> Any:
        verdict = await original(self)
        polls.append(verdict.status)
        return verdict

    monkeypatch.setattr(FlinkSavepointTrigger, "acheck", spy)
    run = run_flink_dag(f"flink_slow_{mode}", job_id=slow_job)
    assert run.state == "success", run.outcomes
    savepoint = run.xcoms[("gate", "return_value")]
    assert savepoint["triggerNonce"] == run.xcoms[("trigger", "trigger_id")]
    assert (Path(savepoint["location"].removeprefix("file:")) / "_metadata").is_file()
    status = rest.savepoint_status(slow_job, savepoint["triggerNonce"])
    assert status["operation"]["location"] == savepoint["location"]
    if mode == "defer":  # the wait happened in the trigger: "in progress" at least once
        assert polls[0] == "waiting"
        assert polls[-1] == "success"
    else:
        assert polls == []
        assert run.reschedules["gate"] >= 1


# ---------------------------------------------------------------------------- a retried trigger POST


class ResettingProxy:
    """A loopback TCP proxy to the cluster that forwards the first request, lets Flink act on it
    and answer, then resets the client's connection instead of passing the answer on; every later
    connection is passed through unchanged."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            first = self.connections == 1
            threading.Thread(target=self._relay, args=(client, first), daemon=True).start()

    def _relay(self, client: socket.socket, reset: bool) -> None:
        with client, socket.create_connection(self.upstream) as server:
            client.settimeout(10)
            server.settimeout(10)
            while True:  # one request and its answer at a time, as long as the client keeps it open
                request = _read_message(client)
                if not request:
                    return
                server.sendall(request)
                answer = _read_message(server)  # Flink has acted on it and answered
                if reset:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                client.sendall(answer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)


def _read_message(sock: socket.socket) -> bytes:
    """One HTTP message (head and Content-Length body) from ``sock``; b"" when it closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def resetting_proxy(flink_cluster: FlinkCluster) -> Iterator[ResettingProxy]:
    proxy = ResettingProxy(flink_cluster.url)
    yield proxy
    proxy.close()


def test_trigger_retried_after_a_reset_takes_one_savepoint(
    resetting_proxy: ResettingProxy,
    rest: FlinkRest,
    counter_job: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = {"conn_type": "flink", "host": resetting_proxy.url, "extra": {"retry_delay": 0.05}}
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_PROXY", json.dumps(value))
    target = tmp_path / "once"
    hook = FlinkRestHook("flink_proxy")
    trigger_id = hook.trigger_savepoint(counter_job, target_directory=target.as_uri())
    assert resetting_proxy.connections == 2  # the first answer was lost; the POST was sent again
    status = rest.wait_savepoint(counter_job, trigger_id)
    location = status["operation"]["location"]
    assert sorted(p.name for p in target.iterdir()) == [location.rsplit("/", 1)[-1]]  # one savepoint
    saved = hook.get_savepoint(counter_job, trigger_id)
    assert saved is not None
    assert saved.location == location
