"""LakeSail's waiting rule: what counts as done, failed, or not yet, for the sensor, the trigger
and the trigger operator alike.

:func:`judge` is pure (a savepoint list, a job state and a clock in, a
:class:`~airflow_provider_flinksp.core.waiting.Verdict` out); :func:`check` and :func:`acheck`
fetch what it needs, the job's state only when the list alone does not settle it, and turn
transient API errors into "not yet".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider_flinksp.core.models import SavepointList
from airflow_provider_flinksp.core.selection import choose_latest
from airflow_provider_flinksp.core.waiting import Verdict, not_yet_or_raise, settle
from airflow_provider_flinksp.exceptions import FlinkspError
from airflow_provider_flinksp.lakesail.models import TERMINAL_JOB_STATES, JobRef

if TYPE_CHECKING:
    from airflow_provider_flinksp.lakesail.hook import LakeSailHook


@dataclass(frozen=True)
class WaitTarget(JobRef):
    """What to wait for: the job's savepoints (the job's IDs come first, as in :class:`JobRef`).

    :param trigger_nonce: wait for this savepoint to complete; None: wait until nothing is pending
    :param grace_deadline: epoch seconds after which a nonce in neither list means failure
    """

    trigger_nonce: str | None = None
    grace_deadline: float | None = None


def judge(savepoints: SavepointList, target: WaitTarget, job_state: str | None, now: float) -> Verdict:
    """Decide from one savepoint list (and, when known, the job's state).

    :param savepoints: the job's savepoint list
    :param target: what is awaited
    :param job_state: the job's state, or None when not fetched (then "waiting" is provisional)
    :param now: epoch seconds
    """
    nonce = target.trigger_nonce
    pending = savepoints.pending[0] if savepoints.pending else None
    summary = f"{len(savepoints.completed)} completed"
    if nonce is None:
        if pending is None:
            latest, _ = choose_latest(savepoints.completed)
            found = f"latest {latest.describe()} at {latest.location}" if latest else "none with a location"
            return Verdict(
                "success", f"No savepoint pending ({summary}; {found})", latest.to_dict() if latest else None
            )
        waiting = f"Waiting for the pending savepoint ({pending.describe()}) to finish; {summary}"
    else:
        where = savepoints.find(nonce)
        if where is not None and where[0] == "completed":
            savepoint = where[1]
            return Verdict(
                "success", f"Savepoint {nonce} completed at {savepoint.location}", savepoint.to_dict()
            )
        if where is not None:
            waiting = f"Savepoint {nonce} is pending ({where[1].describe(with_nonce=False)}); {summary}"
        elif target.grace_deadline is not None and now >= target.grace_deadline:
            return Verdict(
                "failed",
                f"Savepoint {nonce} is neither pending nor completed ({summary}) and did not appear "
                "within the grace period: it failed, or was removed by the job's savepoint history clean-up",
            )
        else:
            until = ""
            if target.grace_deadline is not None:
                until = " until " + datetime.fromtimestamp(target.grace_deadline, timezone.utc).strftime(
                    "%H:%M:%SZ"
                )
            other = f"; another is pending: {pending.describe()}" if pending else ""
            waiting = (
                f"Savepoint {nonce} is not listed yet; waiting for it to appear{until}{other}; {summary}"
            )
    verdict = Verdict("waiting", waiting)
    return verdict if job_state is None else with_job_state(verdict, job_state)


def with_job_state(verdict: Verdict, job_state: str | None) -> Verdict:
    """Settle a provisional "waiting" verdict of :func:`judge` with the job's state: a job that
    ended fails the wait, any other state is named in the message.

    :param verdict: what :func:`judge` said without the job's state ("waiting")
    :param job_state: the job's state
    """
    if job_state in TERMINAL_JOB_STATES:
        return Verdict("failed", f"The job is {job_state}: no savepoint will complete. {verdict.message}")
    return Verdict("waiting", verdict.message + (f" (job {job_state})" if job_state else ""))


def check(hook: LakeSailHook, target: WaitTarget, now: float | None = None) -> Verdict:
    """Fetch and judge once (sync). Transient errors give "waiting"; others raise.

    :param hook: the hook
    :param target: what is awaited
    :param now: epoch seconds (default: now)
    """
    ids = target.ids

    def once() -> Verdict:
        savepoints = hook.list_session_job_savepoints(*ids)
        verdict = judge(savepoints, target, None, _now(now))
        if verdict.status == "waiting":
            verdict = with_job_state(verdict, hook.describe_session_job(*ids)["state"])
        return verdict

    return settle(once)


async def acheck(hook: LakeSailHook, target: WaitTarget, now: float | None = None) -> Verdict:
    """Async twin of :func:`check`, for the triggerer (one coroutine a poll: no closure)."""
    ids = target.ids
    try:
        savepoints = await hook.a_list_session_job_savepoints(*ids)
        verdict = judge(savepoints, target, None, _now(now))
        if verdict.status == "waiting":
            verdict = with_job_state(verdict, (await hook.a_describe_session_job(*ids))["state"])
    except FlinkspError as exc:
        return not_yet_or_raise(exc)
    return verdict


def _now(now: float | None) -> float:
    return time.time() if now is None else now
