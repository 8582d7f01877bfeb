"""The shared waiting logic: judge() (pure) and check()/acheck() (fetch, judge, transient errors)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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


def sp(
    nonce: str | None = None, *, location: str | None = None, at: float | None = None, kind: str = "MANUAL"
) -> Savepoint:
    """A savepoint; ``at`` is epoch seconds."""
    return Savepoint(
        trigger_type=kind,
        location=location,
        trigger_nonce=nonce,
        triggered_at=None if at is None else datetime.fromtimestamp(at, timezone.utc),
    )


def listing(
    pending: list[Savepoint] | None = None, completed: list[Savepoint] | None = None
) -> SavepointList:
    return SavepointList(pending=pending or [], completed=completed or [])


def target(nonce: str | None = None, grace: float | None = None) -> WaitTarget:
    """What to wait for; ``grace`` is the grace deadline relative to T0."""
    return WaitTarget(*IDS, trigger_nonce=nonce, grace_deadline=None if grace is None else T0 + grace)


OLD = sp("N0", location="s3://b/old", at=T0 - 300)
NEW = sp(None, location="s3://b/new", at=T0 - 100, kind="PERIODIC")
NO_LOCATION = sp("NX", at=T0 - 10)  # newest, but nothing to restore from
DONE = sp("N1", location="s3://b/n1", at=T0 - 50)
RUNNING_N1 = sp("N1", at=T0 - 5)
RUNNING_N2 = sp("N2", at=T0 - 5)


# ---------------------------------------------------------------------------------------------- judge()

JUDGE_CASES = [
    # id, list, target, job state, now offset, status, savepoint, words in the message
    ("no-nonce/nothing-at-all", listing(), target(), None, 0, "success", None, ["No savepoint pending"]),
    (
        "no-nonce/none-restorable",
        listing(completed=[NO_LOCATION]),
        target(),
        None,
        0,
        "success",
        None,
        ["none with a location"],
    ),
    (
        "no-nonce/latest-with-location",
        listing(completed=[NEW, NO_LOCATION, OLD]),
        target(),
        None,
        0,
        "success",
        NEW.to_dict(),
        ["3 completed", "s3://b/new"],
    ),
    (
        "no-nonce/pending",
        listing(pending=[RUNNING_N2], completed=[OLD]),
        target(),
        None,
        0,
        "waiting",
        None,
        ["Waiting for the pending savepoint", "N2", "1 completed"],
    ),
    (
        "nonce/completed",
        listing(pending=[RUNNING_N2], completed=[OLD, DONE]),
        target("N1", grace=10),
        None,
        0,
        "success",
        DONE.to_dict(),
        ["N1 completed at s3://b/n1"],
    ),
    (
        "nonce/completed-after-grace",
        listing(completed=[DONE]),
        target("N1", grace=10),
        None,
        100,
        "success",
        DONE.to_dict(),
        ["N1 completed"],
    ),
    (
        "nonce/pending",
        listing(pending=[RUNNING_N1], completed=[OLD]),
        target("N1", grace=10),
        None,
        0,
        "waiting",
        None,
        ["N1 is pending"],
    ),
    (
        "nonce/pending-after-grace",
        listing(pending=[RUNNING_N1]),
        target("N1", grace=10),
        None,
        100,
        "waiting",
        None,
        ["N1 is pending"],
    ),
    (
        "nonce/missing-within-grace",
        listing(completed=[OLD]),
        target("N1", grace=10),
        None,
        9.999,
        "waiting",
        None,
        ["N1 is not listed yet", "until"],
    ),
    (
        "nonce/missing-other-pending",
        listing(pending=[RUNNING_N2]),
        target("N1", grace=10),
        None,
        0,
        "waiting",
        None,
        ["N1 is not listed yet", "another is pending", "N2"],
    ),
    (
        "nonce/missing-no-grace-deadline",
        listing(),
        target("N1"),
        None,
        10**6,
        "waiting",
        None,
        ["N1 is not listed yet"],
    ),
    (
        "nonce/missing-at-deadline",
        listing(completed=[OLD]),
        target("N1", grace=10),
        None,
        10,
        "failed",
        None,
        ["N1 is neither pending nor completed", "failed", "clean-up"],
    ),
    (
        "nonce/missing-after-deadline",
        listing(pending=[RUNNING_N2], completed=[OLD]),
        target("N1", grace=10),
        "RUNNING",
        60,
        "failed",
        None,
        ["did not appear within the grace period", "failed", "clean-up"],
    ),
]


@pytest.mark.parametrize(
    ("savepoints", "wait_for", "job_state", "offset", "status", "savepoint", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in JUDGE_CASES],
)
def test_judge(
    savepoints: SavepointList,
    wait_for: WaitTarget,
    job_state: str | None,
    offset: float,
    status: str,
    savepoint: dict[str, Any] | None,
    words: list[str],
) -> None:
    verdict = judge(savepoints, wait_for, job_state, T0 + offset)
    assert verdict.status == status
    assert verdict.savepoint == savepoint
    assert verdict.transient_error is None
    for word in words:
        assert word in verdict.message


#: Situations in which the list alone says "not yet", so the job's state decides.
WAITING_SITUATIONS = {
    "no-nonce/pending": (listing(pending=[RUNNING_N2]), target()),
    "nonce/pending": (listing(pending=[RUNNING_N1]), target("N1", grace=10)),
    "nonce/missing-within-grace": (listing(completed=[OLD]), target("N1", grace=10)),
}


@pytest.mark.parametrize("situation", sorted(WAITING_SITUATIONS))
@pytest.mark.parametrize(
    ("job_state", "status"),
    [("PENDING", "waiting"), ("RUNNING", "waiting"), ("FAILED", "failed"), ("DELETING", "failed")],
)
def test_judge_job_state(situation: str, job_state: str, status: str) -> None:
    savepoints, wait_for = WAITING_SITUATIONS[situation]
    verdict = judge(savepoints, wait_for, job_state, T0)
    assert verdict.status == status
    assert verdict.savepoint is None
    if status == "failed":
        assert f"The job is {job_state}" in verdict.message
    else:
        assert f"(job {job_state})" in verdict.message
    # The failure still says what was awaited.
    assert judge(savepoints, wait_for, None, T0).message in verdict.message


@pytest.mark.parametrize("situation", sorted(WAITING_SITUATIONS))
def test_judge_without_job_state_is_provisional(situation: str) -> None:
    savepoints, wait_for = WAITING_SITUATIONS[situation]
    verdict = judge(savepoints, wait_for, None, T0)
    assert verdict.status == "waiting"
    assert "(job" not in verdict.message


@pytest.mark.parametrize("job_state", ["FAILED", "DELETING"])
@pytest.mark.parametrize(
    ("savepoints", "wait_for", "status"),
    [
        pytest.param(listing(completed=[OLD]), target(), "success", id="no-nonce/nothing-pending"),
        pytest.param(listing(completed=[DONE]), target("N1", grace=10), "success", id="nonce/completed"),
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
    success = Verdict("success", "done", {"location": "s3://b/x"})
    assert verdict_event(success) == {
        "status": "success",
        "savepoint": {"location": "s3://b/x"},
        "value": None,
        "message": "done",
    }
    failed = Verdict("failed", "gone")
    assert verdict_event(failed) == {"status": "failed", "reason": "savepoint", "message": "gone"}


# --------------------------------------------------------------------------------- check() / acheck()


class StubHook:
    """Stands in for LakeSailHook: canned answers or errors, and a record of the calls."""

    def __init__(
        self,
        savepoints: SavepointList | None = None,
        state: str = "RUNNING",
        list_error: Exception | None = None,
        describe_error: Exception | None = None,
    ) -> None:
        self.savepoints = savepoints if savepoints is not None else listing()
        self.state = state
        self.list_error = list_error
        self.describe_error = describe_error
        self.calls: list[tuple[str, tuple[str, str, str]]] = []

    def list_session_job_savepoints(self, workspace_id: str, session_id: str, job_id: str) -> SavepointList:
        self.calls.append(("list", (workspace_id, session_id, job_id)))
        if self.list_error is not None:
            raise self.list_error
        return self.savepoints

    def describe_session_job(self, workspace_id: str, session_id: str, job_id: str) -> dict[str, Any]:
        self.calls.append(("describe", (workspace_id, session_id, job_id)))
        if self.describe_error is not None:
            raise self.describe_error
        return {"id": job_id, "state": self.state}

    async def a_list_session_job_savepoints(self, *ids: str) -> SavepointList:
        await asyncio.sleep(0)
        return self.list_session_job_savepoints(*ids)

    async def a_describe_session_job(self, *ids: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return self.describe_session_job(*ids)

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)


Checker = Callable[..., Verdict]


def _check_async(hook: Any, wait_for: WaitTarget, now: float | None = None) -> Verdict:
    return asyncio.run(acheck(hook, wait_for, now))


@pytest.fixture(params=["check", "acheck"])
def run_check(request: pytest.FixtureRequest) -> Checker:
    """check() or acheck() (run to completion), with the same signature."""
    return check if request.param == "check" else _check_async


TRANSIENT = [
    pytest.param(LakeSailApiError("GET", PATH, status, "busy"), id=f"http-{status}")
    for status in (429, 500, 502, 503, 504)
] + [pytest.param(LakeSailConnectionError("GET", PATH, "connection broken (reset)"), id="connection")]

PERMANENT = [
    pytest.param(LakeSailApiError("GET", PATH, status, "no"), id=f"http-{status}")
    for status in (400, 401, 403, 404)
] + [pytest.param(LakeSailResponseError("returned HTTP 200 with an HTML page"), id="bad-body")]


@pytest.mark.parametrize("where", ["list", "describe"])
@pytest.mark.parametrize("error", TRANSIENT)
def test_transient_errors_mean_not_yet(run_check: Checker, error: LakeSailError, where: str) -> None:
    hook = StubHook(
        listing(pending=[RUNNING_N2]),
        list_error=error if where == "list" else None,
        describe_error=error if where == "describe" else None,
    )
    verdict = run_check(hook, target(), T0)
    assert verdict.status == "waiting"
    assert verdict.transient_error is error
    assert str(error) in verdict.message
    assert "transient" in verdict.message
    assert hook.count("describe") == (0 if where == "list" else 1)


@pytest.mark.parametrize("where", ["list", "describe"])
@pytest.mark.parametrize("error", PERMANENT)
def test_other_errors_are_raised(run_check: Checker, error: LakeSailError, where: str) -> None:
    hook = StubHook(
        listing(pending=[RUNNING_N2]),
        list_error=error if where == "list" else None,
        describe_error=error if where == "describe" else None,
    )
    with pytest.raises(LakeSailError) as raised:
        run_check(hook, target(), T0)
    assert raised.value is error


@pytest.mark.parametrize(
    ("savepoints", "wait_for", "offset", "status", "describes"),
    [
        pytest.param(listing(completed=[OLD]), target(), 0, "success", 0, id="no-nonce/nothing-pending"),
        pytest.param(listing(completed=[DONE]), target("N1", 10), 0, "success", 0, id="nonce/completed"),
        pytest.param(listing(), target("N1", 10), 10, "failed", 0, id="nonce/gone-after-grace"),
        pytest.param(listing(pending=[RUNNING_N2]), target(), 0, "waiting", 1, id="no-nonce/pending"),
        pytest.param(listing(pending=[RUNNING_N1]), target("N1", 10), 0, "waiting", 1, id="nonce/pending"),
        pytest.param(listing(), target("N1", 10), 5, "waiting", 1, id="nonce/missing-within-grace"),
    ],
)
def test_job_state_is_fetched_only_when_needed(
    run_check: Checker,
    savepoints: SavepointList,
    wait_for: WaitTarget,
    offset: float,
    status: str,
    describes: int,
) -> None:
    hook = StubHook(savepoints, state="RUNNING")
    verdict = run_check(hook, wait_for, T0 + offset)
    assert verdict.status == status
    assert hook.count("list") == 1
    assert hook.count("describe") == describes
    assert all(ids == IDS for _, ids in hook.calls)
    if describes:
        assert "(job RUNNING)" in verdict.message


@pytest.mark.parametrize("job_state", ["FAILED", "DELETING"])
def test_stopped_job_fails_the_wait(run_check: Checker, job_state: str) -> None:
    hook = StubHook(listing(pending=[RUNNING_N1]), state=job_state)
    verdict = run_check(hook, target("N1", 10), T0)
    assert verdict.status == "failed"
    assert f"The job is {job_state}" in verdict.message
    assert verdict.transient_error is None


def test_default_now_is_the_wall_clock(run_check: Checker) -> None:
    """Without ``now``, the grace deadline is compared with the current time."""
    hook = StubHook(listing())
    now = time.time()
    passed = WaitTarget(*IDS, trigger_nonce="N1", grace_deadline=now - 1)
    ahead = WaitTarget(*IDS, trigger_nonce="N1", grace_deadline=now + 3600)
    assert run_check(hook, passed).status == "failed"
    assert run_check(hook, ahead).status == "waiting"


def test_value_error_from_the_hook_propagates(run_check: Checker) -> None:
    hook = StubHook(list_error=ValueError("workspace_id must be a LakeSail ResourceId"))
    with pytest.raises(ValueError, match="workspace_id"):
        run_check(hook, target(), T0)


@pytest.mark.parametrize(
    ("field", "ids"), [("workspace_id", ("ws-1", "SESS1", "JOB1")), ("job_id", ("WS1", "SESS1", ""))]
)
def test_bad_ids_raise_before_any_request(run_check: Checker, field: str, ids: tuple[str, str, str]) -> None:
    """With the real hook: a bad ID is a ValueError naming it, raised before the connection is looked up."""
    hook = LakeSailHook("no_such_connection")
    with pytest.raises(ValueError, match=f"{field} must be a LakeSail ResourceId"):
        run_check(hook, WaitTarget(*ids), T0)
    assert hook._settings is None
