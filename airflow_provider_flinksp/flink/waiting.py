"""Flink's waiting rules: what counts as done, failed, or not yet, for the sensor, the trigger and
the operators alike, as :class:`~airflow_provider_flinksp.core.waiting.Verdict` values.

- A savepoint with its trigger ID: done when the status endpoint says it completed (its dict);
  failed when Flink gives a failure cause, or when the job ended with the savepoint not completed.
- Without a trigger ID: done when ``/checkpoints`` shows no savepoint in progress (the latest
  completed one's dict); failed when one is in progress and the job ended.
- A new job: done when it and all its tasks run; failed when it ended (FAILED, CANCELED, FINISHED).

The ``judge_*`` functions are pure; :func:`check` and :func:`acheck` fetch what they need (the
job's state only when the answer alone does not settle it) and turn transient errors into "not yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.core.selection import choose_latest
from airflow_provider_flinksp.core.waiting import Verdict, not_yet_or_raise, settle
from airflow_provider_flinksp.exceptions import FlinkSavepointFailedError, FlinkspError
from airflow_provider_flinksp.flink.models import ENDED_JOB_STATES

if TYPE_CHECKING:
    from airflow_provider_flinksp.flink.hook import FlinkRestHook

#: What a wait is for.
SAVEPOINT = "savepoint"
RUNNING = "running"
#: Task states that mean a job's task is not running yet.
_STARTING = frozenset({"CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RECONCILING"})


@dataclass(frozen=True)
class WaitTarget:
    """What to wait for.

    :param job_id: the Flink job
    :param trigger_id: the savepoint to wait for; None: until no savepoint is in progress
    :param kind: ``"savepoint"`` or ``"running"`` (the job runs)
    """

    job_id: str
    trigger_id: str | None = None
    kind: str = SAVEPOINT


def judge_trigger(target: WaitTarget, savepoint: Savepoint | None, job_state: str | None) -> Verdict:
    """Decide from the status endpoint's answer (a failure was raised before this).

    :param target: what is awaited (with a trigger ID)
    :param savepoint: the completed savepoint, or None while in progress
    :param job_state: the job's state, or None when not fetched
    """
    trigger = target.trigger_id
    if savepoint is not None:
        return Verdict(
            "success", f"Savepoint {trigger} completed at {savepoint.location}", savepoint.to_dict()
        )
    waiting = f"Savepoint {trigger} of job {target.job_id} is in progress"
    if job_state in ENDED_JOB_STATES:
        return Verdict(
            "failed", f"The job is {job_state} and savepoint {trigger} did not complete. {waiting}"
        )
    return Verdict("waiting", waiting + (f" (job {job_state})" if job_state else ""))


def judge_list(target: WaitTarget, savepoints: SavepointList, job_state: str | None) -> Verdict:
    """Decide from ``/checkpoints`` (waiting until no savepoint is in progress).

    :param target: what is awaited (without a trigger ID)
    :param savepoints: the job's savepoints
    :param job_state: the job's state, or None when not fetched
    """
    summary = f"{len(savepoints.completed)} completed"
    if not savepoints.pending:
        latest, _ = choose_latest(savepoints.completed)
        found = f"latest at {latest.location}" if latest else "none with a location"
        return Verdict(
            "success",
            f"No savepoint of job {target.job_id} in progress ({summary}; {found})",
            latest.to_dict() if latest else None,
        )
    waiting = f"Waiting for the savepoint in progress ({savepoints.pending[0].describe()}); {summary}"
    if job_state in ENDED_JOB_STATES:
        return Verdict(
            "failed", f"The job is {job_state}: the savepoint in progress will not complete. {waiting}"
        )
    return Verdict("waiting", waiting + (f" (job {job_state})" if job_state else ""))


def judge_running(target: WaitTarget, job: dict[str, Any]) -> Verdict:
    """Decide from ``GET /jobs/{job}`` whether a new job runs.

    :param target: what is awaited
    :param job: the job's details
    """
    state = job["state"]
    name = f"Job {target.job_id}" + (f" ({job['name']})" if isinstance(job.get("name"), str) else "")
    if state in ENDED_JOB_STATES:
        return Verdict("failed", f"{name} is {state}: it will not run")
    listed = job.get("vertices")
    vertices: list[Any] = listed if isinstance(listed, list) else []
    starting = [v for v in vertices if isinstance(v, dict) and v.get("status") in _STARTING]
    value = {"job_id": target.job_id, "state": state, "name": job.get("name")}
    if state == "RUNNING" and not starting:
        return Verdict("success", f"{name} is RUNNING with all its tasks", value=value)
    detail = f", {len(starting)} of {len(vertices)} tasks still starting" if starting else ""
    return Verdict("waiting", f"{name} is {state}{detail}")


def check(hook: FlinkRestHook, target: WaitTarget) -> Verdict:
    """Fetch and judge once (sync). Transient errors give "waiting"; others raise.

    :param hook: the hook
    :param target: what is awaited
    """

    def once() -> Verdict:
        job = target.job_id
        if target.kind == RUNNING:
            return judge_running(target, hook.describe_job(job))
        if target.trigger_id is None:
            savepoints = hook.list_savepoints(job)
            verdict = judge_list(target, savepoints, None)
            if verdict.status == "waiting":
                verdict = judge_list(target, savepoints, hook.describe_job(job)["state"])
            return verdict
        trigger = target.trigger_id
        try:
            verdict = judge_trigger(target, hook.get_savepoint(job, trigger), None)
            if verdict.status == "waiting":
                state = hook.describe_job(job)["state"]
                # it may have completed between the two reads
                again = hook.get_savepoint(job, trigger) if state in ENDED_JOB_STATES else None
                verdict = judge_trigger(target, again, state)
        except FlinkSavepointFailedError as exc:
            return Verdict("failed", str(exc))
        return verdict

    return settle(once)


async def acheck(hook: FlinkRestHook, target: WaitTarget) -> Verdict:
    """Async twin of :func:`check`, for the triggerer (one coroutine a poll: no closure)."""
    job = target.job_id
    try:
        if target.kind == RUNNING:
            return judge_running(target, await hook.a_describe_job(job))
        if target.trigger_id is None:
            savepoints = await hook.a_list_savepoints(job)
            verdict = judge_list(target, savepoints, None)
            if verdict.status == "waiting":
                verdict = judge_list(target, savepoints, (await hook.a_describe_job(job))["state"])
            return verdict
        trigger = target.trigger_id
        verdict = judge_trigger(target, await hook.a_get_savepoint(job, trigger), None)
        if verdict.status == "waiting":
            state = (await hook.a_describe_job(job))["state"]
            again = await hook.a_get_savepoint(job, trigger) if state in ENDED_JOB_STATES else None
            verdict = judge_trigger(target, again, state)
    except FlinkSavepointFailedError as exc:
        return Verdict("failed", str(exc))
    except FlinkspError as exc:
        return not_yet_or_raise(exc)
    return verdict
