"""The ResourceId rule, and bad IDs: a literal one fails when the task is built (DAG parse), a
templated one after rendering (the run fails, nothing is sent). The hook refuses each before any
request, in every operation on both wires: tests/lakesail/test_hook.py."""

from __future__ import annotations

from types import ModuleType

import pytest

from airflow_provider_flinksp.lakesail.ids import RESOURCE_ID_RULE, check_static_ids, validate_resource_id
from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor
from airflow_provider_flinksp.testing import FakeLakeSail
from tests.dag_runs import load_module

IDS = ("WS1", "SESS1", "JOB1")
ID_NAMES = ("workspace_id", "session_id", "job_id")


# -- the rule: ValueError naming the parameter ----------------------------------------------------


@pytest.mark.parametrize("value", ["A", "WS1", "0", "A" * 20, "9" * 20, "ABCDEFGHIJ0123456789"])
def test_validate_resource_id_accepts(value: str) -> None:
    assert validate_resource_id("job_id", value) == value


#: Values that are not a ResourceId, by kind.
NOT_IDS = {
    "length": ["", "A" * 21],
    "case": ["ws1", "Ws1"],
    "punctuation": ["WS-1", "WS_1", "WS/1", "..", "../X", "WS1/../X", "WS%31", "WS%2F1", "WS1?x=1"],
    "space": ["WS 1", " WS1", "WS1\n"],
    "unicode": ["ÄB", "WS\uff11", "١٢"],  # a fullwidth digit; Arabic-Indic digits are not 0-9
    "template": ["{{ params.ws }}"],
    "not-text": [None, 1, ["WS1"], b"WS1"],
}


@pytest.mark.parametrize("value", [value for values in NOT_IDS.values() for value in values])
def test_validate_resource_id_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="workspace_id") as info:
        validate_resource_id("workspace_id", value)
    assert RESOURCE_ID_RULE in str(info.value)
    assert "ResourceId" in str(info.value)


def test_validate_resource_id_shortens_a_huge_value() -> None:
    with pytest.raises(ValueError, match="session_id") as info:
        validate_resource_id("session_id", "x" * 10_000)
    assert len(str(info.value)) < 200


def test_check_static_ids_skips_templates_but_checks_plain_text() -> None:
    check_static_ids(workspace_id="{{ params.ws }}", session_id="{% if x %}A{% endif %}", job_id="JOB1")
    check_static_ids(workspace_id=None)  # not text: left for the hook after rendering
    with pytest.raises(ValueError, match="job_id"):
        check_static_ids(workspace_id="WS1", job_id="job-1")


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
