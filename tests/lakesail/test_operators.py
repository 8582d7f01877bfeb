"""Both savepoint operators end to end: dag.test() runs of tests/dags/lakesail_dags.py against FakeLakeSail,
read back from the metadata DB (XComs, states) and the outcomes file (what failed or skipped tasks raised)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail, format_timestamp
from tests.conftest import point_at
from tests.dag_runs import OUTCOMES_ENV, Run, load_dag, run_once

pytestmark = pytest.mark.integration

TOKEN = "test-token-s3cr3t"
JOB1 = ("WS1", "SESS1", "JOB1")
DEFERRED = pytest.mark.parametrize("deferred", [False, True], ids=["poll", "deferrable"])

# --------------------------------------------------------------------------- LakeSailLatestSavepointOperator

#: JOB2's completed savepoints (type, nonce, age in s, location), not in time order; the newest of all
#: has no location, so nothing can be restored from it.
PRELOADED = [
    ("MANUAL", "n-old", 3 * 3600, "s3://bucket/sp/old-manual"),
    ("PERIODIC", None, 600, "s3://bucket/sp/periodic-recent"),
    ("MANUAL", "n-new", 3600, "s3://bucket/sp/manual-latest"),
    ("UPGRADE", None, 300, None),
    ("MANUAL", "n-mid", 2 * 3600, "s3://bucket/sp/manual-mid"),
]


@pytest.fixture(scope="module")
def latest_run(
    airflow_db: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, dict[str, Any], list[str]]:
    """One run of ``operators_latest`` (a task per filter case): the run, JOB2's savepoints by
    location, and the methods of the requests made."""
    now = time.time()
    savepoints = [
        {"triggerType": kind, "triggeredAt": format_timestamp(now - age)}
        | ({"triggerNonce": nonce} if nonce else {})
        | ({"location": location} if location else {})
        for kind, nonce, age, location in PRELOADED
    ]
    outcomes = tmp_path_factory.mktemp("latest") / "outcomes.jsonl"
    with FakeLakeSail(token=TOKEN) as server, pytest.MonkeyPatch.context() as patch:
        server.add_job("WS1", "SESS1", "JOB2", completed=savepoints)
        point_at(patch, server)
        patch.setenv(OUTCOMES_ENV, str(outcomes))
        run = run_once(load_dag("lakesail_dags.py", "operators_latest"), outcomes)
        methods = [request.method for request in server.requests]
    return run, {sp["location"]: sp for sp in savepoints if "location" in sp}, methods


@pytest.mark.parametrize(
    ("task_id", "location"),
    [
        pytest.param("any", "s3://bucket/sp/periodic-recent", id="no-filter-skips-newer-without-location"),
        pytest.param("by_nonce", "s3://bucket/sp/old-manual", id="templated-nonce-takes-that-one"),
        pytest.param("manual_only", "s3://bucket/sp/manual-latest", id="types-manual-by-time-not-position"),
        pytest.param("periodic_or_upgrade", "s3://bucket/sp/periodic-recent", id="types-two"),
        pytest.param("recent", "s3://bucket/sp/periodic-recent", id="max-age-holds"),
    ],
)
def test_latest_pushes_the_chosen_savepoint(latest_run: Any, task_id: str, location: str) -> None:
    run, savepoints, _ = latest_run
    assert run.states[task_id] == "success"
    assert run.xcoms[(task_id, "savepoint_location")] == location
    assert run.xcoms[(task_id, "return_value")] == {"triggerNonce": None, **savepoints[location]}
    assert task_id not in run.outcomes


FOUND = "No savepoint of job WS1/SESS1/JOB2 to choose: 5 completed savepoint(s), 4 with a location, "


@pytest.mark.parametrize(
    ("task_id", "state", "exception", "pattern"),
    [
        pytest.param(
            "none_fails",
            "failed",
            "LakeSailError",
            re.escape(FOUND + "0 matching trigger_nonce='no-such-nonce', trigger_types=['MANUAL']"),
            id="if-none-fail-names-what-was-found-and-the-filters",
        ),
        pytest.param(
            "none_skips",
            "skipped",
            "AirflowSkipException",
            re.escape(FOUND + "0 matching trigger_types=['UNKNOWN']"),
            id="if-none-skip",
        ),
        pytest.param(
            "recent_manual",
            "failed",
            "LakeSailError",
            re.escape(FOUND + "3 matching trigger_types=['MANUAL']; the latest (MANUAL, nonce n-new,")
            + r".* old, more than max_age=0:30:00",
            id="max-age-exceeded-fails",
        ),
    ],
)
def test_latest_fails_or_skips_when_nothing_matches(
    latest_run: Any, task_id: str, state: str, exception: str, pattern: str
) -> None:
    run = latest_run[0]
    assert run.states[task_id] == state
    assert run.outcomes[task_id]["exception"] == exception
    assert re.fullmatch(pattern, run.message(task_id)), run.message(task_id)
    assert (task_id, "return_value") not in run.xcoms
    assert (task_id, "savepoint_location") not in run.xcoms


def test_latest_run_as_a_whole(latest_run: Any) -> None:
    run, _, methods = latest_run
    assert run.state == "failed"  # the two tasks that must fail did
    assert sorted(run.outcomes) == ["none_fails", "none_skips", "recent_manual"]
    # One GET per task, never a POST; the token shows in no XCom and no message.
    assert methods == ["GET"] * len(run.states)
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
    """Run ``operators_trigger_<variant>`` against the ``fake`` server."""
    return lambda variant: run_dag("lakesail_dags.py", f"operators_trigger_{variant}")


@pytest.mark.parametrize("variant", ["nowait", "poll", "defer"])
def test_trigger_returns_its_savepoint(
    run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str], variant: str
) -> None:
    """Without waiting: the savepoint just triggered; waiting (in the worker or deferred): completed."""
    fake.get_job(*JOB1).savepoint_duration = 1.0  # long enough to be seen pending at least once
    run = run_trigger_dag(variant)
    assert run.state == "success"
    assert run.outcomes == {}
    result = run.xcoms[("trigger", "return_value")]
    nonce = run.xcoms[("trigger", "trigger_nonce")]
    assert nonce
    assert (result["triggerNonce"], result["triggerType"]) == (nonce, "MANUAL")
    assert result["triggeredAt"].endswith("Z")
    # One POST, made by the worker; the triggerer (when deferred) only read.
    assert fake.triggered_count(*JOB1) == 1
    assert fake.count("POST") == 1
    assert trigger_runs == ([nonce] if variant == "defer" else [])
    listing = fake.savepoints(*JOB1)
    if variant == "nowait":
        assert result["location"] is None
        # It really is that savepoint: the fake lists it (pending or, by now, completed) under that nonce.
        assert [sp["triggerNonce"] for sp in listing["pending"] + listing["completed"]] == [nonce]
    else:
        assert result["location"].startswith("s3://bucket/flink-savepoints/savepoint-")
        assert [(sp["triggerNonce"], sp["location"]) for sp in listing["completed"]] == [
            (nonce, result["location"])
        ]
        assert fake.count("GET", "/savepoints") >= 2  # it did wait: at least one "pending" answer first


@DEFERRED
def test_trigger_and_wait_for_a_savepoint_that_fails(
    run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str], deferred: bool
) -> None:
    fake.get_job(*JOB1).fail_next()
    run = run_trigger_dag("defer" if deferred else "poll")
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


def _own_savepoint_after_the_other(run: Run, fake: FakeLakeSail) -> str:
    assert run.state == "success", run.outcomes
    other = run.xcoms[("start_other", "return_value")]
    nonce = run.xcoms[("trigger", "return_value")]["triggerNonce"]
    assert nonce not in (None, other)
    assert [sp["triggerNonce"] for sp in fake.savepoints(*JOB1)["completed"]] == [other, nonce]
    return str(nonce)


@DEFERRED
def test_pending_savepoint_is_waited_out_then_one_is_triggered(
    run_trigger_dag: Any, fake: FakeLakeSail, trigger_runs: list[str], deferred: bool
) -> None:
    """if_pending="wait": a pending savepoint is waited out (in the triggerer when deferrable), then
    the operator POSTs once."""
    _slow(fake)
    run = run_trigger_dag("pending_defer" if deferred else "pending_poll")
    nonce = _own_savepoint_after_the_other(run, fake)
    assert run.xcoms[("trigger", "return_value")]["location"]
    assert fake.count("POST") == 2  # start_other's and the operator's
    # deferrable: one wait for the other savepoint, one for its own
    assert trigger_runs == (["", nonce] if deferred else [])


@pytest.mark.parametrize("policy", ["409", "400", "queue"])
def test_savepoint_not_listed_yet_is_waited_out(
    run_trigger_dag: Any, fake: FakeLakeSail, policy: str
) -> None:
    """Another savepoint, not listed yet, refuses the POST (409, 400: the operator looks again, sees
    it pending, waits and POSTs again) or queues it (202); one savepoint of its own in all."""
    fake.pending_policy = policy
    _slow(fake, listed_after=3.0)
    run = run_trigger_dag("pending_poll")
    _own_savepoint_after_the_other(run, fake)
    refused = sum(1 for r in fake.requests if r.method == "POST" and str(r.status) == policy)
    assert refused == (policy != "queue")
    assert fake.count("POST") == 2 + refused  # start_other's, the refused one, the accepted one


def test_pending_savepoint_with_if_pending_fail(run_trigger_dag: Any, fake: FakeLakeSail) -> None:
    """if_pending="fail": no POST of the operator's, and the error names the pending savepoint."""
    _slow(fake)
    run = run_trigger_dag("pending_fail")
    assert run.state == "failed"
    outcome = run.outcomes["trigger"]
    assert outcome["exception"] == "LakeSailError"
    assert run.xcoms[("start_other", "return_value")] in outcome["message"]
    assert "if_pending='fail'" in outcome["message"]
    assert fake.count("POST") == 1  # start_other's only
