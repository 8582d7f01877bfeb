"""Both operators end to end: real ``dag.test()`` runs against FakeLakeSail over real HTTP.

What each task did is read back from the metadata DB (XCom, task states) and, for failed or
skipped tasks, from a file the DAGs append the exception's type and text to (the trigger DAGs from
``on_failure_callback``, the latest DAG from the operator itself, as a skip reason reaches no callback).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail, format_timestamp
from tests.dag_runs import OUTCOMES_ENV, Run, load_dag, run_once

pytestmark = pytest.mark.integration

TOKEN = "test-token-s3cr3t"
JOB1 = ("WS1", "SESS1", "JOB1")
JOB2 = ("WS1", "SESS1", "JOB2")


def connection_json(server: FakeLakeSail) -> str:
    return json.dumps(
        {
            "conn_type": "lakesail",
            "host": server.url,
            "password": server.token,
            "extra": {"retry_delay": 0.01},
        }
    )


# --------------------------------------------------------------------------- LakeSailLatestSavepointOperator


def preloaded(now: float) -> list[dict[str, str]]:
    """JOB2's completed savepoints, deliberately not in time order."""
    return [
        {
            "triggerType": "MANUAL",
            "triggerNonce": "n-old",
            "triggeredAt": format_timestamp(now - 3 * 3600),
            "location": "s3://bucket/sp/old-manual",
        },
        {
            "triggerType": "PERIODIC",
            "triggeredAt": format_timestamp(now - 600),
            "location": "s3://bucket/sp/periodic-recent",
        },
        {
            "triggerType": "MANUAL",
            "triggerNonce": "n-new",
            "triggeredAt": format_timestamp(now - 3600),
            "location": "s3://bucket/sp/manual-latest",
        },
        # The newest of all, but without a location: nothing can be restored from it.
        {"triggerType": "UPGRADE", "triggeredAt": format_timestamp(now - 300)},
        {
            "triggerType": "MANUAL",
            "triggerNonce": "n-mid",
            "triggeredAt": format_timestamp(now - 2 * 3600),
            "location": "s3://bucket/sp/manual-mid",
        },
    ]


@dataclass
class LatestRun:
    run: Run
    savepoints: dict[str, dict[str, str]]
    methods: list[str]


@pytest.fixture(scope="module")
def latest_run(airflow_db: str, tmp_path_factory: pytest.TempPathFactory) -> LatestRun:
    """One run of the ``operators_latest`` DAG (all filter cases in parallel tasks) against JOB2."""
    savepoints = preloaded(time.time())
    outcomes = tmp_path_factory.mktemp("latest") / "outcomes.jsonl"
    with FakeLakeSail(token=TOKEN) as server, pytest.MonkeyPatch.context() as patch:
        server.add_job(*JOB2, completed=savepoints)
        patch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", connection_json(server))
        patch.setenv(OUTCOMES_ENV, str(outcomes))
        run = run_once(load_dag("operators_latest.py"), outcomes)
        methods = [request.method for request in server.requests]
    by_location = {sp["location"]: sp for sp in savepoints if "location" in sp}
    return LatestRun(run, by_location, methods)


CHOSEN = [
    pytest.param("any", "s3://bucket/sp/periodic-recent", id="no-filter-skips-newer-without-location"),
    pytest.param("by_nonce", "s3://bucket/sp/old-manual", id="templated-nonce-takes-that-one"),
    pytest.param("manual_only", "s3://bucket/sp/manual-latest", id="types-manual-by-time-not-position"),
    pytest.param("periodic_or_upgrade", "s3://bucket/sp/periodic-recent", id="types-two"),
    pytest.param("recent", "s3://bucket/sp/periodic-recent", id="max-age-holds"),
]


@pytest.mark.parametrize(("task_id", "location"), CHOSEN)
def test_latest_pushes_the_chosen_savepoint(latest_run: LatestRun, task_id: str, location: str) -> None:
    run = latest_run.run
    assert run.states[task_id] == "success"
    assert run.xcoms[(task_id, "savepoint_location")] == location
    expected = {"triggerNonce": None, **latest_run.savepoints[location]}
    assert run.xcoms[(task_id, "return_value")] == expected
    assert task_id not in run.outcomes


@pytest.mark.parametrize(
    ("task_id", "fragments"),
    [
        pytest.param(
            "none_fails",
            [
                "No savepoint of job WS1/SESS1/JOB2 to choose",
                "5 completed savepoint(s), 4 with a location, 0 matching",
                "trigger_nonce='no-such-nonce'",
                "trigger_types=['MANUAL']",
            ],
            id="if-none-fail-names-what-was-found-and-the-filters",
        ),
        pytest.param(
            "recent_manual",
            [
                "5 completed savepoint(s), 4 with a location, 3 matching trigger_types=['MANUAL']",
                "the latest (MANUAL, nonce n-new,",
                "more than max_age=0:30:00",
            ],
            id="max-age-exceeded-fails",
        ),
    ],
)
def test_latest_fails_when_nothing_matches(latest_run: LatestRun, task_id: str, fragments: list[str]) -> None:
    run = latest_run.run
    assert run.states[task_id] == "failed"
    assert run.outcomes[task_id]["exception"] == "LakeSailError"
    for fragment in fragments:
        assert fragment in run.message(task_id)
    assert (task_id, "return_value") not in run.xcoms
    assert (task_id, "savepoint_location") not in run.xcoms


def test_latest_if_none_skip_skips(latest_run: LatestRun) -> None:
    run = latest_run.run
    assert run.states["none_skips"] == "skipped"
    assert run.outcomes["none_skips"] == {
        "task_id": "none_skips",
        "exception": "AirflowSkipException",
        "message": "No savepoint of job WS1/SESS1/JOB2 to choose: 5 completed savepoint(s), "
        "4 with a location, 0 matching trigger_types=['UNKNOWN']",
    }
    assert ("none_skips", "return_value") not in run.xcoms
    assert ("none_skips", "savepoint_location") not in run.xcoms


def test_latest_run_as_a_whole(latest_run: LatestRun) -> None:
    run = latest_run.run
    assert run.state == "failed"  # the two tasks that must fail did
    assert sorted(run.outcomes) == ["none_fails", "none_skips", "recent_manual"]
    # One GET per task, never a POST; the token shows in no XCom and no message.
    assert latest_run.methods == ["GET"] * len(run.states)
    assert TOKEN not in json.dumps([run.xcoms[key] for key in sorted(run.xcoms)])
    assert TOKEN not in json.dumps(run.outcomes)


# --------------------------------------------------------------------------- LakeSailTriggerSavepointOperator


@pytest.fixture
def trigger_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each start of ``LakeSailSavepointTrigger.run`` (dag.test runs triggers in-process)."""
    from airflow_provider_flinksp.triggers import LakeSailSavepointTrigger

    started: list[str] = []
    original = LakeSailSavepointTrigger.run

    def spy(self: LakeSailSavepointTrigger) -> Any:
        started.append(self.trigger_nonce or "")
        return original(self)

    monkeypatch.setattr(LakeSailSavepointTrigger, "run", spy)
    return started


@pytest.fixture
def run_trigger_dag(run_dag: Callable[..., Run], lakesail_conn: str) -> Callable[[str], Run]:
    """Run one of the ``operators_trigger_*`` DAGs against the ``fake`` server."""
    return lambda dag_id: run_dag("operators_trigger.py", dag_id)


def test_trigger_without_waiting(run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str]) -> None:
    run = run_trigger_dag("operators_trigger_nowait")
    assert run.state == "success"
    result = run.xcoms[("trigger", "return_value")]
    nonce = run.xcoms[("trigger", "trigger_nonce")]
    assert nonce
    assert result["triggerNonce"] == nonce
    assert result["triggerType"] == "MANUAL"
    assert result["location"] is None
    assert result["triggeredAt"].endswith("Z")
    assert fake.triggered_count(*JOB1) == 1
    assert fake.count("POST") == 1
    assert trigger_runs == []
    # It really is that savepoint: the fake lists it (pending or, by now, completed) under that nonce.
    listing = fake.savepoints(*JOB1)
    assert [sp["triggerNonce"] for sp in listing["pending"] + listing["completed"]] == [nonce]


@pytest.mark.parametrize(
    ("dag_id", "deferred"),
    [
        pytest.param("operators_trigger_poll", False, id="poll"),
        pytest.param("operators_trigger_defer", True, id="deferrable"),
    ],
)
def test_trigger_and_wait_returns_the_completed_savepoint(
    run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str], dag_id: str, deferred: bool
) -> None:
    fake.get_job(*JOB1).savepoint_duration = 1.0  # long enough to be seen pending at least once
    run = run_trigger_dag(dag_id)
    assert run.state == "success"
    assert run.outcomes == {}
    result = run.xcoms[("trigger", "return_value")]
    nonce = result["triggerNonce"]
    assert nonce
    assert run.xcoms[("trigger", "trigger_nonce")] == nonce
    assert result["location"].startswith("s3://bucket/flink-savepoints/savepoint-")
    assert result["triggerType"] == "MANUAL"
    completed = fake.savepoints(*JOB1)["completed"]
    assert [(sp["triggerNonce"], sp["location"]) for sp in completed] == [(nonce, result["location"])]
    # One POST, made by the worker; the triggerer (when deferred) only read.
    assert fake.triggered_count(*JOB1) == 1
    assert fake.count("POST") == 1
    assert trigger_runs == ([nonce] if deferred else [])
    assert fake.count("GET", "/savepoints") >= 2  # it did wait: at least one "pending" answer first


@pytest.mark.parametrize(
    ("dag_id", "deferred"),
    [
        pytest.param("operators_trigger_fail_poll", False, id="poll"),
        pytest.param("operators_trigger_fail_defer", True, id="deferrable"),
    ],
)
def test_trigger_and_wait_for_a_savepoint_that_fails(
    run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str], dag_id: str, deferred: bool
) -> None:
    fake.get_job(*JOB1).fail_next()
    run = run_trigger_dag(dag_id)
    assert run.state == "failed"
    assert run.states == {"trigger": "failed"}
    outcome = run.outcomes["trigger"]
    assert outcome["exception"] == "LakeSailSavepointFailedError"
    nonce = run.xcoms[("trigger", "trigger_nonce")]  # pushed before the wait, so kept on failure
    assert nonce
    assert f"Savepoint {nonce} is neither pending nor completed" in outcome["message"]
    assert "failed, or was removed" in outcome["message"]
    assert ("trigger", "return_value") not in run.xcoms
    assert fake.savepoints(*JOB1) == {"pending": [], "completed": []}
    assert fake.triggered_count(*JOB1) == 1
    assert fake.count("POST") == 1
    assert trigger_runs == ([nonce] if deferred else [])
    assert TOKEN not in outcome["message"]


# ------------------------------------------------------------------------ a savepoint already pending
# The pending DAGs' first task, start_other, POSTs someone else's savepoint just before the operator.


def _slow(fake: FakeLakeSail, *, listed_after: float = 0.0) -> None:
    """Savepoints of JOB1 take 4 s, and are listed only ``listed_after`` seconds after they start."""
    job = fake.get_job(*JOB1)
    job.savepoint_duration = 4.0
    job.appear_delay = listed_after


@pytest.mark.parametrize(
    ("dag_id", "deferred"),
    [
        pytest.param("operators_trigger_pending_poll", False, id="poll"),
        pytest.param("operators_trigger_pending_defer", True, id="deferrable"),
    ],
)
def test_pending_savepoint_is_waited_out_then_one_is_triggered(
    run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str], dag_id: str, deferred: bool
) -> None:
    """if_pending="wait": a savepoint listed as pending before the POST is waited out (in the
    triggerer when deferrable), then exactly one POST of the operator's is made."""
    _slow(fake)
    run = run_trigger_dag(dag_id)
    assert run.state == "success", run.outcomes
    other = run.xcoms[("start_other", "return_value")]
    result = run.xcoms[("trigger", "return_value")]
    assert result["triggerNonce"] not in (None, other)
    assert result["location"]
    assert fake.count("POST") == 2  # start_other's and the operator's
    completed = [sp["triggerNonce"] for sp in fake.savepoints(*JOB1)["completed"]]
    assert completed == [other, result["triggerNonce"]]
    # deferrable: one wait for the other savepoint, one for its own
    assert trigger_runs == (["", result["triggerNonce"]] if deferred else [])


@pytest.mark.parametrize("policy", ["409", "400"])
def test_refusal_while_pending_is_waited_out(run_trigger_dag: Any, fake: FakeLakeSail, policy: str) -> None:
    """A savepoint not listed yet refuses the POST (409 or 400): the operator looks again, sees it
    pending, waits, and POSTs once more; one savepoint of its own in all."""
    fake.pending_policy = policy
    _slow(fake, listed_after=3.0)
    run = run_trigger_dag("operators_trigger_pending_poll")
    assert run.state == "success", run.outcomes
    assert fake.count("POST") == 3  # start_other's, the refused one, the accepted one
    assert sum(1 for r in fake.requests if r.method == "POST" and r.status == int(policy)) == 1
    nonces = [sp["triggerNonce"] for sp in fake.savepoints(*JOB1)["completed"]]
    other = run.xcoms[("start_other", "return_value")]
    assert nonces == [other, run.xcoms[("trigger", "return_value")]["triggerNonce"]]


def test_queued_savepoint_is_waited_for(run_trigger_dag: Any, fake: FakeLakeSail) -> None:
    """A server that accepts the POST while one is pending and queues it (202): its own savepoint
    is waited for after the other one."""
    fake.pending_policy = "queue"
    _slow(fake, listed_after=3.0)  # not listed yet: the operator POSTs at once
    run = run_trigger_dag("operators_trigger_pending_poll")
    assert run.state == "success", run.outcomes
    assert fake.count("POST") == 2
    nonces = [sp["triggerNonce"] for sp in fake.savepoints(*JOB1)["completed"]]
    other = run.xcoms[("start_other", "return_value")]
    assert nonces == [other, run.xcoms[("trigger", "return_value")]["triggerNonce"]]


def test_pending_savepoint_with_if_pending_fail(run_trigger_dag: Any, fake: FakeLakeSail) -> None:
    """if_pending="fail": no POST of the operator's, and the error names the pending savepoint."""
    _slow(fake)
    run = run_trigger_dag("operators_trigger_pending_fail")
    assert run.state == "failed"
    outcome = run.outcomes["trigger"]
    assert outcome["exception"] == "LakeSailError"
    assert run.xcoms[("start_other", "return_value")] in outcome["message"]
    assert "if_pending='fail'" in outcome["message"]
    assert fake.count("POST") == 1  # start_other's only
