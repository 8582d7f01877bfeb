"""Waiting for a LakeSail session job's state: the one rule behind
:class:`~airflow_provider_flinksp.lakesail.session_jobs.LakeSailSessionJobSensor`, the create
operator's ``wait_for_running`` and
:class:`~airflow_provider_flinksp.lakesail.triggers.LakeSailSessionJobTrigger`.

:func:`judge` is pure (a job's dict in, a :class:`~airflow_provider_flinksp.core.waiting.Verdict`
out, ``value`` = the job's dict on success); :func:`check` and :func:`acheck` fetch the job and turn
transient API errors into "not yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.waiting import Verdict, asettle, settle
from airflow_provider_flinksp.lakesail.ids import (  # noqa: F401  (the state rules' old home)
    DEFAULT_FAILURE_STATES,
    DEFAULT_TARGET_STATES,
    JOB_STATES,
    check_states,
)
from airflow_provider_flinksp.lakesail.models import JobRef

if TYPE_CHECKING:
    from airflow_provider_flinksp.lakesail.hook import LakeSailHook


@dataclass(frozen=True)
class JobTarget(JobRef):
    """Which states of the job end the wait (the job's IDs come first, as in :class:`JobRef`).

    :param target_states: done in one of these
    :param failure_states: failed in one of these
    """

    target_states: tuple[str, ...] = DEFAULT_TARGET_STATES
    failure_states: tuple[str, ...] = DEFAULT_FAILURE_STATES


def judge(job: dict[str, Any], target: JobTarget) -> Verdict:
    """Decide from one look at the job.

    :param job: the job's dict (``DescribeFlinkSessionJob``), with a ``state`` string
    :param target: what is awaited
    """
    state = job["state"]
    name = "/".join(target.ids)
    if state in target.failure_states:
        return Verdict("failed", f"Session job {name} is {state}, a failure state: it will not become "
                       f"{' or '.join(target.target_states)}")  # fmt: skip
    if state in target.target_states:
        return Verdict("success", f"Session job {name} is {state}", value=job)
    wanted = " or ".join(target.target_states)
    return Verdict("waiting", f"Session job {name} is {state}; waiting for {wanted}")


def check(hook: LakeSailHook, target: JobTarget) -> Verdict:
    """Fetch the job and judge once (sync). Transient errors give "waiting"; others raise.

    :param hook: the hook
    :param target: what is awaited
    """
    return settle(lambda: judge(hook.describe_session_job(*target.ids), target))


async def acheck(hook: LakeSailHook, target: JobTarget) -> Verdict:
    """Async twin of :func:`check`, for the triggerer."""

    async def once() -> Verdict:
        return judge(await hook.a_describe_session_job(*target.ids), target)

    return await asettle(once)
