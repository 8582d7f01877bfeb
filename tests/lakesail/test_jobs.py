"""LakeSail session jobs through the hook (create, list every page, find), over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_flinksp import hooks
from airflow_provider_flinksp.core.waiting import Verdict
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.lakesail.job_waiting import JobTarget, check_states, judge
from airflow_provider_flinksp.lakesail.jobspec import build_spec, parse_job_summary
from airflow_provider_flinksp.operators import LakeSailCreateSessionJobOperator
from airflow_provider_flinksp.testing import FakeLakeSail
from airflow_provider_flinksp.triggers import LakeSailSessionJobTrigger
from tests.conftest import point_at

TOKEN = "jobs-token-s3cr3t"
JOBS_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs"
JOB = {"jarUri": "s3://bucket/jars/app-2.jar", "entryClass": "com.example.App", "args": ["--mode", "prod"]}
SAVEPOINT_KEY = "execution.savepoint.path"
GOOD = {"name": "orders-v2", "flinkConfiguration": {"parallelism.default": "4"}, "job": JOB}


@pytest.fixture
def paged(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLakeSail]:
    """A fake whose job list pages hold at most 2 items, with session WS1/SESS1; created jobs stay
    PENDING, so two listings agree however slow the run."""
    with FakeLakeSail(token=TOKEN, page_size=2, job_start_delay=3600) as server:
        server.add_session("WS1", "SESS1")
        point_at(monkeypatch, server)
        yield server


def list_calls(server: FakeLakeSail) -> list[str]:
    return [r.path for r in server.requests if r.method == "GET" and r.path.startswith(JOBS_PATH + "?")]


def test_list_follows_every_marker_across_pages_sync_and_async_and_find(paged: FakeLakeSail) -> None:
    hook = LakeSailHook()
    created = [hook.create_session_job("WS1", "SESS1", {**GOOD, "name": f"job-{i}"}) for i in range(5)]
    paged.reset_counters()
    jobs = hook.list_session_jobs("WS1", "SESS1")
    assert [job["id"] for job in jobs] == [job["id"] for job in created]
    assert [job["name"] for job in jobs] == [f"job-{i}" for i in range(5)]
    assert set(jobs[0]) == {"id", "name", "state", "createdAt", "updatedAt"}
    calls = list_calls(paged)
    assert len(calls) == 3  # 2 + 2 + 1
    assert calls[0] == f"{JOBS_PATH}?limit=100"
    assert all("&marker=" in call for call in calls[1:])

    async def main() -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        try:
            listed = await hook.a_list_session_jobs("WS1", "SESS1")
            return listed, await hook.a_find_session_job("WS1", "SESS1", "job-3")
        finally:
            await hooks.aclose_async_clients()

    jobs, found = asyncio.run(main())
    assert jobs == hook.list_session_jobs("WS1", "SESS1")
    assert found is not None
    assert found["name"] == "job-3"
    assert len(list_calls(paged)) == 3 + 9  # three more listings of three pages
    second = hook.create_session_job("WS1", "SESS1", {**GOOD, "name": "job-1"})
    found = hook.find_session_job("WS1", "SESS1", "job-1")
    assert found is not None
    assert found["id"] == second["id"]  # the newest with that name
    assert hook.find_session_job("WS1", "SESS1", "zzz") is None


def test_list_of_an_empty_or_unknown_session_and_a_repeated_marker(paged: FakeLakeSail) -> None:
    with pytest.raises(ValueError, match="session_id must be a LakeSail ResourceId"):
        LakeSailHook().create_session_job("WS1", "sess-1", GOOD)
    with pytest.raises(ValueError, match="workspace_id must be a LakeSail ResourceId"):
        LakeSailHook().list_session_jobs("", "SESS1")
    assert paged.requests == []  # bad IDs are refused before a request
    assert LakeSailHook().list_session_jobs("WS1", "SESS1") == []
    assert len(list_calls(paged)) == 1
    with pytest.raises(LakeSailApiError, match="HTTP 404: session SESS9 not found") as raised:
        LakeSailHook().list_session_jobs("WS1", "SESS9")
    assert raised.value.status_code == 404
    paged.reset_counters()
    page = {"items": [], "marker": "same-marker"}
    paged.add_fault("body", body=json.dumps(page), method="GET", path_contains="/jobs?", times=None)
    with pytest.raises(LakeSailResponseError, match=r"marker 'same-marker' twice.*page forever"):
        LakeSailHook().list_session_jobs("WS1", "SESS1")
    assert len(list_calls(paged)) == 2


def test_create_sends_the_spec(paged: FakeLakeSail) -> None:
    """As given, and with the optional parts filled in (from a savepoint: test_restore_dags)."""
    hook = LakeSailHook()
    summary = hook.create_session_job("WS1", "SESS1", GOOD)
    assert (summary["state"], summary["name"]) == ("PENDING", "orders-v2")
    assert paged.job_spec("WS1", "SESS1", summary["id"]) == GOOD
    assert paged.count("POST") == 1
    summary = hook.create_session_job("WS1", "SESS1", {"name": "bare", "job": {}})
    assert paged.job_spec("WS1", "SESS1", summary["id"]) == {
        "name": "bare",
        "flinkConfiguration": {},
        "job": {"args": []},
    }
    documented = {"id": "SJ1", "name": "n", "state": "RUNNING", "createdAt": "2026-01-01T00:00:00.000Z"}
    assert parse_job_summary({**documented, "other": 1}) == {**documented, "updatedAt": None}


BAD_SPECS = [
    (None, "spec must be a dict"),
    (["orders"], "spec must be a dict.*got an array"),
    ({**GOOD, "flinkConfig": {}}, "unknown field.*flinkConfig"),
    ({"flinkConfiguration": {}, "job": JOB}, "spec.name must be a non-empty string; got None"),
    ({**GOOD, "name": ""}, "spec.name must be a non-empty string"),
    ({**GOOD, "name": "   "}, "spec.name must be a non-empty string"),
    ({**GOOD, "name": 42}, "spec.name must be a non-empty string; got 42"),
    ({**GOOD, "flinkConfiguration": ["a=b"]}, "spec.flinkConfiguration must be a dict.*array"),
    ({**GOOD, "flinkConfiguration": "a=b"}, "spec.flinkConfiguration must be a dict.*string"),
    ({**GOOD, "flinkConfiguration": {"p.d": 4}}, r"\['p.d'\] must be a string.*a number 4"),
    ({**GOOD, "flinkConfiguration": {"x.enabled": True}}, r"\['x.enabled'\] must be a string.*a boolean"),
    ({**GOOD, "flinkConfiguration": {"x": None}}, r"\['x'\] must be a string.*null"),
    ({**GOOD, "flinkConfiguration": {1: "x"}}, "keys must be non-empty strings; got 1"),
    ({**GOOD, "flinkConfiguration": {"": "x"}}, "keys must be non-empty strings"),
    ({"name": "n", "flinkConfiguration": {}}, "spec.job must be a dict.*null"),
    ({**GOOD, "job": ["x.jar"]}, "spec.job must be a dict.*array"),
    ({**GOOD, "job": {**JOB, "arguments": []}}, "spec.job has unknown field.*arguments"),
    ({**GOOD, "job": {**JOB, "jarUri": 7}}, "spec.job.jarUri must be a non-empty string"),
    ({**GOOD, "job": {**JOB, "entryClass": ["A"]}}, "spec.job.entryClass must be a non-empty string"),
    ({**GOOD, "job": {**JOB, "args": "-v"}}, "spec.job.args must be a list of strings; got a string"),
    ({**GOOD, "job": {**JOB, "args": ["--n", 3]}}, r"spec.job.args\[1\] must be a string; got a number 3"),
    ({**GOOD, "job": {**JOB, "args": None}}, "spec.job.args must be a list of strings; got null"),
    ({**GOOD, "job": {**JOB, "args": {"a": "b"}}}, "spec.job.args must be a list of strings; got an object"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_spec_is_a_clear_error_and_no_request(
    fake: FakeLakeSail, lakesail_conn: str, spec: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LakeSailHook().create_session_job("WS1", "SESS1", spec)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("fault", "seconds"), [({"kind": "reset"}, 0.0), ({"kind": "stall", "seconds": 1.5}, 0.4)]
)
def test_a_create_post_is_never_silently_repeated(
    paged: FakeLakeSail, fault: dict[str, Any], seconds: float
) -> None:
    """The server may have created the job: the hook says so rather than POST again."""
    paged.add_fault(method="POST", path_contains="/jobs", **fault)
    hook = LakeSailHook(retry_limit=5, timeout=seconds or None)
    with pytest.raises(LakeSailConnectionError, match=f"POST {JOBS_PATH} got no answer"):
        hook.create_session_job("WS1", "SESS1", GOOD)
    assert [a.method for a in paged.arrivals] == ["POST"]
    if fault["kind"] == "stall":  # the server did act on it, once the stall was over: exactly one job
        deadline = time.monotonic() + 10
        while paged.count("POST") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        created = hook.list_session_jobs("WS1", "SESS1")
        assert [job["name"] for job in created] == ["orders-v2"]


def test_a_create_refused_with_503_is_retried_once_and_with_400_not(paged: FakeLakeSail) -> None:
    paged.add_fault("status", status=503, method="POST", path_contains="/jobs")
    hook = LakeSailHook()
    summary = hook.create_session_job("WS1", "SESS1", GOOD)
    assert paged.count("POST") == 2
    assert [job["id"] for job in hook.list_session_jobs("WS1", "SESS1")] == [summary["id"]]
    paged.add_fault("status", status=400, body=json.dumps({"message": "unknown jar"}), method="POST")
    with pytest.raises(LakeSailApiError, match="HTTP 400: unknown jar"):
        hook.create_session_job("WS1", "SESS1", GOOD)
    assert paged.count("POST") == 3


BAD_SUMMARIES = [
    ("<html>ok</html>", "HTTP 201 with an HTML page"),
    (json.dumps([]), "should be a JSON object, got an array"),
    (json.dumps({"name": "n", "state": "PENDING"}), "no 'id' string"),
    (json.dumps({"id": "sj-1", "name": "n", "state": "PENDING"}), "id must be a LakeSail ResourceId"),
    (json.dumps({"id": "SJ1", "name": "n", "state": 3}), "no 'state' string"),
    (json.dumps({"id": "SJ1", "name": "n", "state": "X", "createdAt": "0"}), "createdAt is not an ISO-8601"),
]


@pytest.mark.parametrize(("body", "message"), BAD_SUMMARIES)
def test_a_summary_of_another_shape_is_a_clear_error(paged: FakeLakeSail, body: str, message: str) -> None:
    paged.add_fault("body", status=201, body=body, method="POST")
    with pytest.raises(LakeSailResponseError, match=message):
        LakeSailHook().create_session_job("WS1", "SESS1", GOOD)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"savepoint_location": ""}, "savepoint_location must be a non-empty string"),
        ({"savepoint_location": "None"}, "rendered to 'None'"),
        ({"savepoint_location": 5}, "savepoint_location must be a non-empty string"),
        (
            {"savepoint_location": "s3://b/1", "flink_configuration": {SAVEPOINT_KEY: "s3://b/0"}},
            "the savepoint once",
        ),
        ({"flink_configuration": {"a": 1}}, r"flink_configuration\['a'\] must be a string"),
    ],
)
def test_build_spec_refuses(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_spec(name="n", job=JOB, **kwargs)


def test_judge_success_failure_and_waiting() -> None:
    target = JobTarget("WS1", "SESS1", "SJ1")
    running = {"id": "SJ1", "state": "RUNNING"}
    assert judge(running, target) == Verdict("success", "Session job WS1/SESS1/SJ1 is RUNNING", value=running)
    waiting = judge({"state": "PENDING"}, target)
    assert waiting.status == "waiting"
    assert waiting.message == "Session job WS1/SESS1/SJ1 is PENDING; waiting for RUNNING"
    for state in ("FAILED", "DELETING"):
        failed = judge({"state": state}, target)
        assert failed.status == "failed"
        assert f"is {state}, a failure state" in failed.message
    custom = JobTarget("WS1", "SESS1", "SJ1", ("FAILED",), ())
    assert judge({"state": "FAILED"}, custom).status == "success"


@pytest.mark.parametrize(
    ("target", "failure", "message"),
    [
        ("RUNNING", ("FAILED",), "target_states must be a list of job states"),
        ((), ("FAILED",), "target_states must name at least one"),
        (("RUNNING",), [None], "failure_states must be a list of job states"),
        (("RUNNING", "FAILED"), ("failed",), "FAILED cannot be in both"),
    ],
)
def test_check_states_refuses(target: Any, failure: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_states(target, failure)


def test_job_trigger_serializes_to_plain_values_and_back() -> None:
    trigger = LakeSailSessionJobTrigger(
        workspace_id="WS1", session_id="SESS1", job_id="SJ1", deadline=1e9, poll_interval=2.0
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_flinksp.lakesail.triggers.LakeSailSessionJobTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["target_states"] == ["RUNNING"]
    assert kwargs["failure_states"] == ["FAILED", "DELETING"]
    assert LakeSailSessionJobTrigger(**kwargs).serialize() == (path, kwargs)


def test_job_trigger_yields_one_failed_event_for_a_failed_job(paged: FakeLakeSail) -> None:
    summary = LakeSailHook().create_session_job("WS1", "SESS1", GOOD)
    paged.fail_job("WS1", "SESS1", summary["id"])
    ids = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": summary["id"]}
    trigger = LakeSailSessionJobTrigger(**ids, deadline=time.time() + 30, poll_interval=0.05)

    async def main() -> list[Any]:
        try:
            return [event.payload async for event in trigger.run()]
        finally:
            await hooks.aclose_async_clients()

    events = asyncio.run(main())
    assert [(event["status"], event["reason"]) for event in events] == [("failed", "savepoint")]
    assert f"Session job WS1/SESS1/{summary['id']} is FAILED" in events[0]["message"]


def test_the_operator_checks_a_plain_spec_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match=r"spec.job.args\[0\] must be a string"):
        LakeSailCreateSessionJobOperator(
            task_id="t", workspace_id="WS1", session_id="SESS1", name="n", job={"args": [1]}
        )
    with pytest.raises(ValueError, match="session_id must be a LakeSail ResourceId"):
        LakeSailCreateSessionJobOperator(task_id="t", workspace_id="WS1", session_id="s", name="n", job={})
    # left to render: checked when the task runs, before any request
    templated = LakeSailCreateSessionJobOperator(
        task_id="t", workspace_id="WS1", session_id="SESS1", name="n", job={"args": "{{ params.args }}"}
    )
    assert templated.job == {"args": "{{ params.args }}"}
