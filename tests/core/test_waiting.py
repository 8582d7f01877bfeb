"""The shared waiting logic: judge() (pure) and check()/acheck() (fetch, judge, transient errors)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_flinksp.core.events import verdict_event
from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.core.waiting import Verdict
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.lakesail.waiting import WaitTarget, acheck, check, judge

T0 = 1_800_000_000.0  # "now" in the pure tests
IDS = ("WS1", "SESS1", "JOB1")
PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints"


def sp(nonce: str | None, location: str | None = None, *, at: float, kind: str = "MANUAL") -> Savepoint:
    """A savepoint triggered at ``at`` (epoch seconds)."""
    return Savepoint(kind, location, nonce, datetime.fromtimestamp(at, timezone.utc))


def listing(pending: Sequence[Savepoint] = (), completed: Sequence[Savepoint] = ()) -> SavepointList:
    return SavepointList(list(pending), list(completed))


def target(nonce: str | None = None, grace: float | None = None) -> WaitTarget:
    """What to wait for; ``grace`` is the grace deadline relative to T0."""
    return WaitTarget(*IDS, trigger_nonce=nonce, grace_deadline=None if grace is None else T0 + grace)


OLD = sp("N0", "s3://b/old", at=T0 - 300)
NEW = sp(None, "s3://b/new", at=T0 - 100, kind="PERIODIC")
NO_LOCATION = sp("NX", at=T0 - 10)  # newest, but nothing to restore from
DONE = sp("N1", "s3://b/n1", at=T0 - 50)
P1 = sp("N1", at=T0 - 5)  # pending
P2 = sp("N2", at=T0 - 5)


ANY = target()  # no nonce: wait until nothing is pending
N1 = target("N1", grace=10)

LAPSED = (
    r"failed: Savepoint N1 is neither pending nor completed \(.*\) and did not appear within the grace "
    "period: it failed, or was removed by .* clean-up"
)
#: id: (list, target, now offset, chosen savepoint, "status: message" as a regular expression)
JUDGE_CASES = {
    "any/nothing-at-all": (listing(), ANY, 0, None, "success: No savepoint pending"),
    "any/none-restorable": (listing([], [NO_LOCATION]), ANY, 0, None, "success: .*none with a location"),
    "any/latest": (listing([], [NEW, NO_LOCATION, OLD]), ANY, 0, NEW, "success: .*3 completed.*s3://b/new"),
    "any/pending": (listing([P2], [OLD]), ANY, 0, None, "waiting: Waiting for the pending.*N2.*1 completed"),
    "n1/completed": (listing([P2], [OLD, DONE]), N1, 0, DONE, "success: .*N1 completed at s3://b/n1"),
    "n1/completed-after-grace": (listing([], [DONE]), N1, 100, DONE, "success: .*N1 completed"),
    "n1/pending": (listing([P1], [OLD]), N1, 0, None, "waiting: .*N1 is pending"),
    "n1/pending-after-grace": (listing([P1]), N1, 100, None, "waiting: .*N1 is pending"),
    "n1/missing-in-grace": (listing([], [OLD]), N1, 9.999, None, "waiting: .*N1 is not listed yet.*until"),
    "n1/other-pending": (listing([P2]), N1, 0, None, "waiting: .*N1 is not listed.*another is pending.*N2"),
    "n1/missing-no-grace-deadline": (listing(), target("N1"), 10**6, None, "waiting: .*N1 is not listed yet"),
    "n1/missing-at-deadline": (listing([], [OLD]), N1, 10, None, LAPSED),
    "n1/missing-after-deadline": (listing([P2], [OLD]), N1, 60, None, LAPSED),
}


@pytest.mark.parametrize(
    ("savepoints", "wait_for", "offset", "chosen", "expected"), JUDGE_CASES.values(), ids=JUDGE_CASES.keys()
)
def test_judge(
    savepoints: SavepointList, wait_for: WaitTarget, offset: float, chosen: Savepoint | None, expected: str
) -> None:
    verdict = judge(savepoints, wait_for, None, T0 + offset)
    assert re.match(expected, f"{verdict.status}: {verdict.message}"), verdict
    assert verdict.savepoint == (chosen.to_dict() if chosen else None)
    assert verdict.transient_error is None


STATES = {None: "waiting", "PENDING": "waiting", "RUNNING": "waiting"}  # job state: status if not settled
STATES |= {"FAILED": "failed", "DELETING": "failed"}
#: Situations in which the list alone says "not yet", so the job's state decides.
WAITING_SITUATIONS = {
    "no-nonce/pending": (listing([P2]), ANY),
    "nonce/pending": (listing([P1]), N1),
    "nonce/missing-within-grace": (listing([], [OLD]), N1),
}


@pytest.mark.parametrize("situation", sorted(WAITING_SITUATIONS))
@pytest.mark.parametrize(("job_state", "status"), STATES.items())
def test_judge_job_state(situation: str, job_state: str | None, status: str) -> None:
    """Without the job's state "waiting" is provisional; a stopped job fails it, saying what was awaited."""
    savepoints, wait_for = WAITING_SITUATIONS[situation]
    verdict = judge(savepoints, wait_for, job_state, T0)
    assert verdict.status == status
    assert verdict.savepoint is None
    if job_state is None:
        assert "(job" not in verdict.message
    elif status == "failed":
        assert f"The job is {job_state}" in verdict.message
    else:
        assert f"(job {job_state})" in verdict.message
    assert judge(savepoints, wait_for, None, T0).message in verdict.message


@pytest.mark.parametrize("job_state", ["RUNNING", "FAILED", "DELETING"])
@pytest.mark.parametrize(
    ("savepoints", "wait_for", "status"),
    [
        pytest.param(listing([], [OLD]), ANY, "success", id="no-nonce/nothing-pending"),
        pytest.param(listing([], [DONE]), N1, "success", id="nonce/completed"),
        pytest.param(listing(), target("N1", grace=-1), "failed", id="nonce/gone"),
    ],
)
def test_judge_settled_list_wins_over_job_state(
    savepoints: SavepointList, wait_for: WaitTarget, status: str, job_state: str
) -> None:
    """What the list settles stays settled: a completed savepoint is still good after the job failed."""
    verdict = judge(savepoints, wait_for, job_state, T0)
    assert verdict.status == status
    assert job_state not in verdict.message


def test_verdict_events() -> None:
    success = {"status": "success", "savepoint": {"location": "s3://b/x"}, "value": None, "message": "done"}
    assert verdict_event(Verdict("success", "done", {"location": "s3://b/x"})) == success
    failed = {"status": "failed", "reason": "savepoint", "message": "gone"}
    assert verdict_event(Verdict("failed", "gone")) == failed


class StubHook:
    """LakeSailHook's stand-in: canned answers, ``errors`` to raise by call name, a record of calls."""

    def __init__(
        self, savepoints: SavepointList | None = None, state: str = "RUNNING", **errors: Exception
    ) -> None:
        self.savepoints = savepoints or listing()
        self.state = state
        self.errors = errors
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def _call(self, name: str, ids: tuple[str, ...]) -> None:
        self.calls.append((name, ids))
        if name in self.errors:
            raise self.errors[name]

    def list_session_job_savepoints(self, *ids: str) -> SavepointList:
        self._call("list", ids)
        return self.savepoints

    def describe_session_job(self, *ids: str) -> dict[str, Any]:
        self._call("describe", ids)
        return {"id": ids[2], "state": self.state}

    async def a_list_session_job_savepoints(self, *ids: str) -> SavepointList:
        return self.list_session_job_savepoints(*ids)

    async def a_describe_session_job(self, *ids: str) -> dict[str, Any]:
        return self.describe_session_job(*ids)

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)


Checker = Callable[..., Verdict]


@pytest.fixture(params=["check", "acheck"])
def run_check(request: pytest.FixtureRequest) -> Checker:
    """check() or acheck() (run to completion), with the same signature."""
    return check if request.param == "check" else lambda h, w, now=None: asyncio.run(acheck(h, w, now))


ERRORS = (
    [
        pytest.param(LakeSailApiError("GET", PATH, status, "busy"), True, id=f"http-{status}")
        for status in (429, 500, 502, 503, 504)
    ]
    + [pytest.param(LakeSailConnectionError("GET", PATH, "connection broken (reset)"), True, id="connection")]
    + [
        pytest.param(LakeSailApiError("GET", PATH, status, "no"), False, id=f"http-{status}")
        for status in (400, 401, 403, 404)
    ]
    + [pytest.param(LakeSailResponseError("returned HTTP 200 with an HTML page"), False, id="bad-body")]
)


@pytest.mark.parametrize("where", ["list", "describe"])
@pytest.mark.parametrize(("error", "transient"), ERRORS)
def test_transient_errors_mean_not_yet_others_are_raised(
    run_check: Checker, error: LakeSailError, transient: bool, where: str
) -> None:
    hook = StubHook(listing([P2]), **{where: error})
    if not transient:
        with pytest.raises(LakeSailError) as raised:
            run_check(hook, ANY, T0)
        assert raised.value is error
        return
    verdict = run_check(hook, ANY, T0)
    assert verdict.status == "waiting"
    assert verdict.transient_error is error
    assert str(error) in verdict.message
    assert "transient" in verdict.message
    assert hook.count("describe") == (0 if where == "list" else 1)


@pytest.mark.parametrize(
    ("savepoints", "wait_for", "offset", "state", "status", "describes"),
    [
        pytest.param(listing([], [OLD]), ANY, 0, "RUNNING", "success", 0, id="no-nonce/nothing-pending"),
        pytest.param(listing([], [DONE]), N1, 0, "RUNNING", "success", 0, id="nonce/completed"),
        pytest.param(listing(), N1, 10, "RUNNING", "failed", 0, id="nonce/gone-after-grace"),
        pytest.param(listing([P2]), ANY, 0, "RUNNING", "waiting", 1, id="no-nonce/pending"),
        pytest.param(listing([P1]), N1, 0, "RUNNING", "waiting", 1, id="nonce/pending"),
        pytest.param(listing(), N1, 5, "RUNNING", "waiting", 1, id="nonce/missing-within-grace"),
        pytest.param(listing([P1]), N1, 0, "FAILED", "failed", 1, id="nonce/pending-job-failed"),
        pytest.param(listing([P1]), N1, 0, "DELETING", "failed", 1, id="nonce/pending-job-deleting"),
    ],
)
def test_job_state_is_fetched_only_when_needed(
    run_check: Checker,
    savepoints: SavepointList,
    wait_for: WaitTarget,
    offset: float,
    state: str,
    status: str,
    describes: int,
) -> None:
    """The list settles it, or the job's state does: a stopped job fails the wait."""
    hook = StubHook(savepoints, state=state)
    verdict = run_check(hook, wait_for, T0 + offset)
    assert verdict.status == status
    assert verdict.transient_error is None
    assert hook.count("list") == 1
    assert hook.count("describe") == describes
    assert all(ids == IDS for _, ids in hook.calls)
    if describes:
        assert (f"The job is {state}" if status == "failed" else f"(job {state})") in verdict.message


def test_default_now_is_the_wall_clock(run_check: Checker) -> None:
    """Without ``now``, the grace deadline is compared with the current time."""
    now = time.time()
    passed = WaitTarget(*IDS, trigger_nonce="N1", grace_deadline=now - 1)
    ahead = WaitTarget(*IDS, trigger_nonce="N1", grace_deadline=now + 3600)
    assert run_check(StubHook(), passed).status == "failed"
    assert run_check(StubHook(), ahead).status == "waiting"


@pytest.mark.parametrize(
    ("field", "ids"), [("workspace_id", ("ws-1", "SESS1", "JOB1")), ("job_id", ("WS1", "SESS1", ""))]
)
def test_bad_ids_raise_before_any_request(run_check: Checker, field: str, ids: tuple[str, str, str]) -> None:
    """With the real hook: a bad ID is a ValueError naming it, raised before the connection is looked up."""
    hook = LakeSailHook("no_such_connection")
    with pytest.raises(ValueError, match=f"{field} must be a LakeSail ResourceId"):
        run_check(hook, WaitTarget(*ids), T0)
    assert hook._settings is None
