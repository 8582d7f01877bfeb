"""Bad IDs: a literal one fails when the task is built (DAG parse), a templated one after rendering
(the run fails, nothing is sent), and the hook refuses each before any request. Every operation on
both wires checks IDs first: tests/lakesail/test_hook.py."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor
from airflow_provider_flinksp.testing import FakeLakeSail
from tests.dag_runs import load_module

IDS = ("WS1", "SESS1", "JOB1")
ID_NAMES = ("workspace_id", "session_id", "job_id")


# -- malformed IDs: ValueError naming the parameter, and no request --------------------------------

BAD_IDS = {
    "empty": "",
    "21-chars": "A" * 21,
    "lowercase": "ws1",
    "dash": "WS-1",
    "slash": "WS/1",
    "dot-dot": "..",
    "space": "WS 1",
    "trailing-newline": "WS1\n",
    "unicode-letter": "WSÄ1",
    "fullwidth-digit": "WS\uff11",
    "percent-encoded": "WS%2F1",
    "query": "WS1?x=1",
    "dot-dot-slash": "../X",
    "None": None,
    "int": 1,
    "bytes": b"WS1",
}


@pytest.mark.parametrize("value", BAD_IDS.values(), ids=BAD_IDS.keys())
@pytest.mark.parametrize("position", range(3), ids=ID_NAMES)
def test_bad_id_rejected_before_any_request(
    position: int, value: Any, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """Each bad ID in each position: ValueError naming that parameter and the rule; nothing sent."""
    ids = list(IDS)
    ids[position] = value
    with pytest.raises(ValueError, match=rf"^{ID_NAMES[position]} must be a LakeSail ResourceId \(1 to 20"):
        LakeSailHook().list_session_job_savepoints(*ids)
    assert fake.requests == []


TASK_CLASSES = (LakeSailSavepointSensor, LakeSailLatestSavepointOperator, LakeSailTriggerSavepointOperator)


@pytest.mark.parametrize("value", ["ws-1", "", "A" * 21, "WS/1"], ids=["dash", "empty", "21-chars", "slash"])
@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_bad_literal_id_rejected_at_dag_parse(cls: type, value: str) -> None:
    """A literal bad ID fails when the task is built, i.e. when the DAG file is parsed."""
    with pytest.raises(ValueError, match=r"^session_id must be a LakeSail ResourceId"):
        cls(task_id="t", workspace_id="WS1", session_id=value, job_id="JOB1")


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_templated_ids_pass_dag_parse(cls: type) -> None:
    """Templates are not judged at parse time (they are checked after rendering, below)."""
    task = cls(task_id="t", workspace_id="{{ params.ws }}", session_id="{% if 1 %}S{% endif %}", job_id="J")
    assert task.workspace_id == "{{ params.ws }}"


@pytest.fixture(scope="module")
def template_dag() -> ModuleType:
    """tests/dags/faults_bad_template.py, parsed once."""
    return load_module("faults_bad_template.py")


@pytest.mark.parametrize(
    ("name", "rendered"),
    [("workspace_id", "ws-1"), ("session_id", ""), ("job_id", "A" * 21), ("job_id", "None")],
    ids=["workspace-dash", "session-empty", "job-21-chars", "job-None"],
)
def test_template_rendering_to_bad_id_fails_the_run(
    name: str,
    rendered: str,
    template_dag: ModuleType,
    airflow_db: str,
    fake: FakeLakeSail,
    lakesail_conn: str,
) -> None:
    """A template that renders to a bad ID: every task (sensor in both modes, both operators) fails
    with a ValueError naming the parameter, and nothing reaches the server."""
    template_dag.FAILURES.clear()
    conf = {**dict(zip(ID_NAMES, IDS, strict=True)), name: rendered}
    run = template_dag.dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == dict.fromkeys(("sensor_poke", "sensor_deferrable", "latest", "trigger"), "failed")
    assert sorted(task for task, _ in template_dag.FAILURES) == sorted(states)
    for task, exc in template_dag.FAILURES:
        assert type(exc) is ValueError, (task, exc)
        assert str(exc).startswith(f"{name} must be a LakeSail ResourceId"), (task, exc)
        assert repr(rendered) in str(exc)
    assert fake.requests == []
