"""The example DAGs in dags_examples/: they parse with no import errors and no look-ups (a tripwire on
connections, Variables and the network), have the tasks and settings the docs promise, and run end to
end with dag.test() against FakeLakeSail."""

from __future__ import annotations

import ast
import importlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flinksp._compat import AIRFLOW_V3
from airflow_provider_flinksp.testing import FakeLakeSail, format_timestamp
from airflow_provider_flinksp.testing.asset_runs import consuming, recorded_events, register_assets
from tests.conftest import REPO, point_at
from tests.dag_runs import Run, load_dag, run_once

EXAMPLES = REPO / "dags_examples"
JOB1 = ("WS1", "SESS1", "JOB1")
SAVEPOINT_PATH = "execution.savepoint.path"
IDS = {"workspace_id": "{{ params.workspace_id }}", "session_id": "{{ params.session_id }}"}

#: dag_id -> its tasks, each downstream of the one before
EXPECTED = {
    "lakesail_savepoint_upgrade": [
        "trigger_savepoint",
        "wait_for_savepoint",
        "push_latest",
        "restore_from_savepoint",
        "wait_until_running",
    ],
    "lakesail_restore_on_new_savepoint": ["savepoint_from_event", "restore_from_savepoint"],
    "lakesail_periodic_gate": ["wait_until_no_savepoint_pending", "latest_periodic_savepoint", "maintenance"],
    "lakesail_latest_for_restore": ["push_latest", "restore_from_savepoint"],
    # run end to end against a real cluster by ``make demo-flink``
    "flink_savepoint_upgrade": ["savepoint", "wait_for_savepoint", "push_latest", "restore"],
}

#: Every place a DAG file could look a connection or a Variable up, per Airflow version.
LOOKUPS_V3 = [
    ("airflow.sdk.bases.hook", "BaseHook", "get_connection"),
    ("airflow.sdk.definitions.connection", "Connection", "get"),
    ("airflow.models.connection", "Connection", "get_connection_from_secrets"),
    ("airflow.sdk.execution_time.context", None, "_get_connection"),
    ("airflow.sdk.definitions.variable", "Variable", "get"),
    ("airflow.models.variable", "Variable", "get"),
    ("airflow.sdk.execution_time.context", None, "_get_variable"),
]
LOOKUPS_V2 = [
    ("airflow.hooks.base", "BaseHook", "get_connection"),
    ("airflow.models.connection", "Connection", "get_connection_from_secrets"),
    ("airflow.models.variable", "Variable", "get"),
]


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records (and refuses) every connection or Variable look-up and every outgoing connection."""
    calls: list[str] = []

    def trap(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            calls.append(f"{name}{args[-1:]!r}")
            raise RuntimeError(f"tripwire: {name} called while parsing a DAG file")

        return refuse

    for module_name, class_name, attribute in LOOKUPS_V3 if AIRFLOW_V3 else LOOKUPS_V2:
        module = importlib.import_module(module_name)
        owner = getattr(module, class_name) if class_name else module
        assert hasattr(owner, attribute), f"{module_name}: nothing named {attribute} to trap"
        refuse = trap(f"{module_name}.{class_name + '.' if class_name else ''}{attribute}")
        monkeypatch.setattr(owner, attribute, classmethod(refuse) if class_name else refuse)
    # Even if something got past the traps: a connection that a look-up would find, and count.
    with FakeLakeSail(token="tripwire-token") as server:
        point_at(monkeypatch, server)
        with pytest.MonkeyPatch.context() as network:
            network.setattr(socket.socket, "connect", trap("socket.connect"))
            yield calls
        assert server.requests == []


def dag_bag(folder: Path) -> Any:
    """A DagBag over one folder, without Airflow's own examples."""
    if AIRFLOW_V3:
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="examples")
    from airflow.models.dagbag import DagBag  # Airflow 2.11

    return DagBag(dag_folder=str(folder), include_examples=False)


def test_examples_parse_without_errors_or_lookups(tripwire: list[str]) -> None:
    bag = dag_bag(EXAMPLES)
    assert bag.import_errors == {}
    assert tripwire == []
    assert sorted(bag.dag_ids) == sorted(EXPECTED)
    assert len(list(EXAMPLES.glob("*.py"))) == len(EXPECTED)


def test_tripwire_catches_a_lookup_at_parse_time(tripwire: list[str], tmp_path: Path) -> None:
    (tmp_path / "bad_dag.py").write_text(
        "from __future__ import annotations\n"
        "from datetime import datetime\n"
        "from airflow_provider_flinksp._compat import BaseHook\n"
        "try:\n    from airflow.sdk import DAG\nexcept ImportError:\n    from airflow import DAG\n"
        "HOST = BaseHook.get_connection('lakesail_default').host\n"
        "dag = DAG('bad', start_date=datetime(2026, 1, 1), schedule=None)\n",
        encoding="utf-8",
    )
    bag = dag_bag(tmp_path)
    assert len(bag.import_errors) == 1
    assert "tripwire" in next(iter(bag.import_errors.values()))
    hook_module = "airflow.sdk.bases.hook" if AIRFLOW_V3 else "airflow.hooks.base"
    assert tripwire == [f"{hook_module}.BaseHook.get_connection('lakesail_default',)"]


@pytest.fixture(scope="module")
def examples() -> dict[str, Any]:
    bag = dag_bag(EXAMPLES)
    assert bag.import_errors == {}
    return {dag_id: bag.dags[dag_id] for dag_id in EXPECTED}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_example_has_the_expected_tasks_and_serializes(examples: dict[str, Any], dag_id: str) -> None:
    """Serializing is what the DAG processor does after parsing: an error there is an import error."""
    from airflow.serialization import serialized_objects as so

    dag = examples[dag_id]
    graph = {task.task_id: set(task.downstream_task_ids) for task in dag.tasks}
    chain = EXPECTED[dag_id]
    assert graph == {task: set(chain[i + 1 : i + 2]) for i, task in enumerate(chain)}
    if AIRFLOW_V3:
        again = so.DagSerialization.deserialize_dag(so.DagSerialization.serialize_dag(dag))
    else:
        again = so.SerializedDAG.from_dict(so.SerializedDAG.to_dict(dag))
    assert again.dag_id == dag.dag_id


@pytest.mark.parametrize("dag_id", sorted(d for d in EXPECTED if d.startswith("lakesail")))
def test_example_settings(examples: dict[str, Any], dag_id: str) -> None:
    dag = examples[dag_id]
    assert sorted(dag.tags) == ["flink", "lakesail"]
    assert dag.catchup is False
    assert dag.timetable.can_be_scheduled is (dag_id == "lakesail_restore_on_new_savepoint")  # asset-run
    assert "LakeSail" in (dag.doc_md or "")
    assert dag.description
    assert ast.get_docstring(ast.parse(Path(dag.fileloc).read_text(encoding="utf-8")))
    assert (dag.params["workspace_id"], dag.params["session_id"]) == ("WS1", "SESS1")
    lakesail_tasks = [task for task in dag.tasks if hasattr(task, "lakesail_conn_id")]
    assert lakesail_tasks
    for task in lakesail_tasks:
        assert task.lakesail_conn_id == "lakesail_default"
        assert {"workspace_id": task.workspace_id, "session_id": task.session_id} == IDS
        if task.task_type in ("LakeSailCreateSessionJobOperator", "LakeSailSessionJobSensor"):
            continue  # the job they create or watch is not the params' job
        assert dag.params["job_id"] == "JOB1"
        assert task.job_id == "{{ params.job_id }}"


def test_flink_example_settings(examples: dict[str, Any]) -> None:
    dag = examples["flink_savepoint_upgrade"]
    assert sorted(dag.tags) == ["flink"]
    assert dag.catchup is False
    assert dag.timetable.can_be_scheduled is False
    assert "flink_default" in (dag.doc_md or "")
    assert set(dag.params.keys()) == {"job_id", "jar_id", "entry_class", "stop"}
    for task in dag.tasks:
        assert task.flink_conn_id == "flink_default"
    tasks = {task.task_id: task for task in dag.tasks}
    assert tasks["savepoint"].stop == "{{ params.stop }}"
    assert tasks["wait_for_savepoint"].deferrable is True
    pulled = "{{ ti.xcom_pull(task_ids='push_latest', key='savepoint_location') }}"
    assert tasks["restore"].savepoint_path == pulled


@pytest.fixture
def run_example(run_dag: Callable[..., Run], lakesail_conn: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run_example(file stem, **conf)``: one example DAG run by dag.test() against ``fake``."""
    monkeypatch.setenv("LAKESAIL_EXAMPLE_POLL_SECONDS", "0.1")
    return lambda stem, **conf: run_dag(f"examples/{stem}.py", **conf)


def test_upgrade_example_runs(fake: FakeLakeSail, run_example: Any) -> None:
    fake.add_job("WS2", "SESS1", "JOB1")  # another job: its savepoints must not be mixed in
    fake.trigger("WS2", "SESS1", "JOB1")
    upgrade = load_dag("examples/lakesail_savepoint_upgrade.py")
    register_assets(upgrade)
    run = run_once(upgrade)
    assert run.states == dict.fromkeys(EXPECTED["lakesail_savepoint_upgrade"], "success")
    xcoms = run.xcoms
    nonce = xcoms[("trigger_savepoint", "trigger_nonce")]
    completed = fake.savepoints(*JOB1)["completed"]
    assert [sp["triggerNonce"] for sp in completed] == [nonce]
    location = completed[0]["location"]
    assert xcoms[("wait_for_savepoint", "return_value")]["location"] == location
    assert xcoms[("push_latest", "return_value")]["triggerNonce"] == nonce
    assert xcoms[("push_latest", "savepoint_location")] == location
    assert fake.triggered_count(*JOB1) == 1
    # the restore: the upgraded job, created from that savepoint, running
    new_id = xcoms[("restore_from_savepoint", "job_id")]
    assert xcoms[("restore_from_savepoint", "return_value")]["id"] == new_id
    assert xcoms[("wait_until_running", "return_value")]["state"] == "RUNNING"
    assert fake.job_spec("WS1", "SESS1", new_id) == {
        "name": "orders-v2",
        "flinkConfiguration": {SAVEPOINT_PATH: location},
        "job": {"jarUri": "s3://bucket/jars/orders-2.0.jar", "entryClass": "com.example.Orders", "args": []},
    }
    assert fake.count("POST", "/sessions/SESS1/jobs") - fake.count("POST", "/savepoints") == 1
    # push_latest recorded the savepoint as an event of the job's savepoint asset ...
    assert recorded_events("lakesail://WS1/SESS1/JOB1")[-1].extra == xcoms[("push_latest", "return_value")]
    # ... and the DAG scheduled on that asset restores a standby job from the event's location
    with consuming("lakesail://WS1/SESS1/JOB1"):
        consumer = run_example("lakesail_restore_on_new_savepoint")
    assert consumer.states == dict.fromkeys(EXPECTED["lakesail_restore_on_new_savepoint"], "success")
    assert consumer.xcoms[("savepoint_from_event", "return_value")] == location
    standby = consumer.xcoms[("restore_from_savepoint", "return_value")]
    assert (standby["state"], standby["name"]) == ("RUNNING", "orders-standby")
    assert fake.job_spec("WS1", "SESS1", standby["id"])["flinkConfiguration"] == {SAVEPOINT_PATH: location}


def test_restore_example_without_an_event_fails_saying_why(fake: FakeLakeSail, run_example: Any) -> None:
    run = run_example("lakesail_restore_on_new_savepoint")
    assert run.states == {"savepoint_from_event": "failed", "restore_from_savepoint": "upstream_failed"}
    assert fake.count("POST") == 0


def test_upgrade_example_takes_its_ids_from_params(fake: FakeLakeSail, run_example: Any) -> None:
    fake.add_job("WS2", "SESS2", "JOB7")
    run = run_example("lakesail_savepoint_upgrade", workspace_id="WS2", session_id="SESS2", job_id="JOB7")
    assert set(run.states.values()) == {"success"}
    assert (fake.triggered_count("WS2", "SESS2", "JOB7"), fake.triggered_count(*JOB1)) == (1, 0)
    location = fake.savepoints("WS2", "SESS2", "JOB7")["completed"][0]["location"]
    new_id = run.xcoms[("restore_from_savepoint", "job_id")]
    assert fake.job_spec("WS2", "SESS2", new_id)["flinkConfiguration"] == {SAVEPOINT_PATH: location}


def _periodic(age: float, loc: str) -> dict[str, str]:
    return {"triggerType": "PERIODIC", "triggeredAt": format_timestamp(time.time() - age), "location": loc}


def test_periodic_gate_example_waits_then_maintains(fake: FakeLakeSail, run_example: Any) -> None:
    fake.add_job("WS1", "SESS1", "JOB2", completed=[_periodic(600, "s3://bucket/periodic-10min")])
    fake.trigger("WS1", "SESS1", "JOB2")  # a savepoint in flight: the gate waits for it
    run = run_example("lakesail_periodic_gate", job_id="JOB2")
    assert run.states == dict.fromkeys(EXPECTED["lakesail_periodic_gate"], "success")
    xcoms = run.xcoms
    # The manual savepoint completed while the gate waited; the operator still takes the periodic one.
    manual = fake.savepoints("WS1", "SESS1", "JOB2")["completed"][-1]
    assert manual["triggerType"] == "MANUAL"
    assert xcoms[("wait_until_no_savepoint_pending", "return_value")]["location"] == manual["location"]
    assert xcoms[("latest_periodic_savepoint", "savepoint_location")] == "s3://bucket/periodic-10min"
    assert xcoms[("maintenance", "return_value")] == "s3://bucket/periodic-10min"
    assert fake.count("POST") == 0


def test_periodic_gate_example_refuses_a_stale_savepoint(fake: FakeLakeSail, run_example: Any) -> None:
    fake.add_job("WS1", "SESS1", "JOB2", completed=[_periodic(3 * 3600, "s3://bucket/periodic-3h")])
    run = run_example("lakesail_periodic_gate", job_id="JOB2")
    assert run.state == "failed"
    states = ["success", "failed", "upstream_failed"]
    assert run.states == dict(zip(EXPECTED["lakesail_periodic_gate"], states, strict=True))


def test_latest_for_restore_example_restores(fake: FakeLakeSail, run_example: Any) -> None:
    an_hour_ago = format_timestamp(time.time() - 3600)
    manual = {"triggerType": "MANUAL", "triggerNonce": "n1", "triggeredAt": an_hour_ago}
    newest, older = _periodic(60, "s3://bucket/newest-periodic"), _periodic(7200, "s3://bucket/older")
    fake.add_job("WS1", "SESS1", "JOB2", completed=[newest, manual, older])
    run = run_example("lakesail_latest_for_restore", job_id="JOB2")
    assert run.states == {"push_latest": "success", "restore_from_savepoint": "success"}
    assert run.xcoms[("restore_from_savepoint", "return_value")] == {SAVEPOINT_PATH: newest["location"]}


def test_latest_for_restore_example_skips_without_savepoints(run_example: Any) -> None:
    run = run_example("lakesail_latest_for_restore")
    assert run.state == "success"
    assert run.states == {"push_latest": "skipped", "restore_from_savepoint": "skipped"}
    assert run.xcoms == {}
