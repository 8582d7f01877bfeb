"""Restore for real: :class:`LakeSailCreateSessionJobOperator` creates a session job (from a
savepoint when given one) and can wait until it runs; :class:`LakeSailSessionJobSensor` waits for a
job's state. Both wait through :mod:`~airflow_provider_flinksp.lakesail.job_waiting`, polling in the
worker or deferred to :class:`~airflow_provider_flinksp.lakesail.triggers.LakeSailSessionJobTrigger`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_flinksp._compat import (
    BaseOperator,
    BaseSensorOperator,
    PokeReturnValue,
    default_deferrable,
)
from airflow_provider_flinksp.core.checks import as_seconds
from airflow_provider_flinksp.exceptions import LakeSailJobFailedError
from airflow_provider_flinksp.lakesail.ids import check_static_ids
from airflow_provider_flinksp.lakesail.job_waiting import (
    DEFAULT_FAILURE_STATES,
    DEFAULT_TARGET_STATES,
    JobTarget,
    check_states,
)
from airflow_provider_flinksp.lakesail.task import LakeSailTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.waiting import Verdict

SUMMARY_KEYS = ("id", "name", "state", "createdAt", "updatedAt")


def _is_template(value: object) -> bool:
    """Whether a value still has something to render: a Jinja string (anywhere inside) or another
    object, such as an XComArg."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_is_template(key) or _is_template(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_is_template(item) for item in value)
    return not (value is None or isinstance(value, (int, float, bool)))


class _JobWait(LakeSailTask):
    """Waiting for a job's state, the same in the sensor and the create operator."""

    def _defer_for_job(self, target: JobTarget, *, deadline: float, poll_interval: float) -> NoReturn:
        from airflow_provider_flinksp.lakesail.triggers import LakeSailSessionJobTrigger

        trigger = LakeSailSessionJobTrigger(
            workspace_id=target.workspace_id,
            session_id=target.session_id,
            job_id=target.job_id,
            deadline=deadline,
            target_states=list(target.target_states),
            failure_states=list(target.failure_states),
            poll_interval=poll_interval,
            lakesail_conn_id=self.lakesail_conn_id,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            request_timeout=self.request_timeout,
        )
        self.defer_to(trigger, deadline=deadline)

    def _read_job_event(self, event: object, *, sensor: bool) -> Verdict:
        from airflow_provider_flinksp.core.events import read_event
        from airflow_provider_flinksp.exceptions import LakeSailError

        return read_event(
            event,
            self.log,
            timeout_is_sensor_timeout=sensor,
            error=LakeSailError,
            failed_error=LakeSailJobFailedError,
        )


class LakeSailCreateSessionJobOperator(_JobWait, BaseOperator):
    """Create a LakeSail Flink session job, restored from a savepoint when given one.

    LakeSail documents ``CreateFlinkSessionJob`` with a per-job ``flinkConfiguration``; the restore
    itself is Flink's: ``savepoint_location`` sets Flink's option ``execution.savepoint.path``, and
    ``allow_non_restored_state`` sets ``execution.savepoint.ignore-unclaimed-state`` to ``"true"``.
    The spec is checked before anything is sent; the POST is made once (repeated only where the
    server cannot have acted on it). Returns the job's summary dict (``id``, ``name``, ``state``,
    ``createdAt``, ``updatedAt``) and pushes its ID under the XCom key ``job_id`` at once. With
    ``wait_for_running``, waits until the job is ``RUNNING`` (polling, or in the triggerer when
    deferrable) and fails without retrying when it is ``FAILED`` or ``DELETING``, or still not
    running at ``timeout`` (a retry would create a second job).

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param name: the new job's name (templated)
    :param job: ``{"jarUri"?, "entryClass"?, "args": [str]}`` (templated)
    :param flink_configuration: the job's own Flink options, strings to strings (templated)
    :param savepoint_location: a completed savepoint's location to restore from (templated), e.g.
        ``"{{ ti.xcom_pull(task_ids='push_latest', key='savepoint_location') }}"``
    :param allow_non_restored_state: let Flink skip savepoint state no operator of the new job claims
    :param wait_for_running: wait until the job is ``RUNNING``
    :param poll_interval: seconds between two checks while waiting
    :param timeout: how long to wait for ``RUNNING`` (timedelta or seconds)
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``)
    :param lakesail_conn_id: the Airflow connection (templated)
    :param api_retry_limit: attempts per API call (default: the connection's extra, else 3)
    :param api_retry_delay: first backoff in seconds (default: the connection's extra, else 1.0)
    :param request_timeout: seconds per API request (default: the connection's extra, else 30)
    """

    template_fields: Sequence[str] = (
        "workspace_id",
        "session_id",
        "name",
        "job",
        "flink_configuration",
        "savepoint_location",
        "lakesail_conn_id",
    )
    ui_color = "#e8dff5"

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        name: str,
        job: dict[str, Any],
        flink_configuration: dict[str, str] | None = None,
        savepoint_location: str | None = None,
        allow_non_restored_state: bool = False,
        wait_for_running: bool = True,
        poll_interval: timedelta | float = 10.0,
        timeout: timedelta | float = timedelta(minutes=30),
        deferrable: bool | None = None,
        lakesail_conn_id: str = "lakesail_default",
        api_retry_limit: int | None = None,
        api_retry_delay: float | None = None,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.name = name
        self.job = job
        self.flink_configuration = flink_configuration
        self.savepoint_location = savepoint_location
        self.allow_non_restored_state = allow_non_restored_state
        self.wait_for_running = wait_for_running
        self.poll_interval = as_seconds(poll_interval, "poll_interval")
        self.timeout = as_seconds(timeout, "timeout")
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.lakesail_conn_id = lakesail_conn_id
        self.api_retry_limit = api_retry_limit
        self.api_retry_delay = api_retry_delay
        self.request_timeout = request_timeout
        check_static_ids(workspace_id=workspace_id, session_id=session_id)
        if not any(_is_template(value) for value in (name, job, flink_configuration)):
            # nothing is left to render: a wrong spec fails when the DAG is parsed, not when it runs
            plain = isinstance(savepoint_location, str) and not _is_template(savepoint_location)
            self._spec(savepoint_location if plain else None)

    def _spec(self, savepoint_location: object) -> dict[str, Any]:
        from airflow_provider_flinksp.lakesail.jobspec import build_spec

        return build_spec(
            name=self.name,
            job=self.job,
            flink_configuration=self.flink_configuration,
            savepoint_location=savepoint_location,
            allow_non_restored_state=self.allow_non_restored_state,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the spec, create the job once, push its ID, then wait for ``RUNNING`` if asked."""
        from airflow_provider_flinksp.core.waiting import poll
        from airflow_provider_flinksp.lakesail.job_waiting import check
        from airflow_provider_flinksp.lakesail.jobspec import SAVEPOINT_PATH_OPTION

        spec = self._spec(self.savepoint_location)
        restore = spec["flinkConfiguration"].get(SAVEPOINT_PATH_OPTION)
        where = f"{self.workspace_id}/{self.session_id}"
        if restore:
            self.log.info(
                "Creating session job %r in %s, restored from %s (Flink's %s)",
                self.name, where, restore, SAVEPOINT_PATH_OPTION,
            )  # fmt: skip
        else:
            self.log.info("Creating session job %r in %s without a savepoint", self.name, where)
        summary = self.hook.create_session_job(self.workspace_id, self.session_id, spec)
        context["ti"].xcom_push(key="job_id", value=summary["id"])
        self.log.info("Created session job %s/%s (%s)", where, summary["id"], summary["state"])
        if not self.wait_for_running:
            return summary
        target = JobTarget(self.workspace_id, self.session_id, summary["id"])
        deadline = time.time() + self.timeout
        if self.deferrable:
            verdict = check(self.hook, target)
            if verdict.status == "failed":
                raise LakeSailJobFailedError(verdict.message)
            if verdict.status == "waiting":
                self.progress.report(verdict)
                self._defer_for_job(target, deadline=deadline, poll_interval=self.poll_interval)
        else:
            verdict = poll(
                functools.partial(check, self.hook, target),
                deadline=deadline,
                poll_interval=self.poll_interval,
                progress=self.progress,
                failed=LakeSailJobFailedError,
                timed_out=functools.partial(_created_but_not_running, summary["id"]),
            )
        return _summary(verdict.value or summary)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: the running job's summary, or fail."""
        if isinstance(event, dict) and event.get("status") == "timeout":
            job_id = context["ti"].xcom_pull(task_ids=self.task_id, key="job_id")
            raise _created_but_not_running(str(job_id), str(event.get("message")))
        verdict = self._read_job_event(event, sensor=False)
        return _summary(verdict.value or {})


class LakeSailSessionJobSensor(_JobWait, BaseSensorOperator):
    """Wait until a LakeSail session job is in one of ``target_states``; fail without retrying in
    one of ``failure_states``. XCom: the job's dict. Transient API errors count as "not yet".

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param job_id: the session job ID (templated)
    :param target_states: the states that mean done (default ``("RUNNING",)``)
    :param failure_states: the states that mean failed (default ``("FAILED", "DELETING")``)
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``)
    :param lakesail_conn_id: the Airflow connection (templated)
    :param api_retry_limit: attempts per API call (default: the connection's extra, else 3)
    :param api_retry_delay: first backoff in seconds (default: the connection's extra, else 1.0)
    :param request_timeout: seconds per API request (default: the connection's extra, else 30)
    """

    template_fields: Sequence[str] = ("workspace_id", "session_id", "job_id", "lakesail_conn_id")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        job_id: str,
        target_states: Collection[str] = DEFAULT_TARGET_STATES,
        failure_states: Collection[str] = DEFAULT_FAILURE_STATES,
        deferrable: bool | None = None,
        lakesail_conn_id: str = "lakesail_default",
        api_retry_limit: int | None = None,
        api_retry_delay: float | None = None,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.target_states, self.failure_states = check_states(target_states, failure_states)
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.lakesail_conn_id = lakesail_conn_id
        self.api_retry_limit = api_retry_limit
        self.api_retry_delay = api_retry_delay
        self.request_timeout = request_timeout
        check_static_ids(workspace_id=workspace_id, session_id=session_id, job_id=job_id)

    def _target(self) -> JobTarget:
        return JobTarget(
            self.workspace_id, self.session_id, self.job_id, self.target_states, self.failure_states
        )

    def _decide(self, verdict: Verdict) -> bool:
        if verdict.status == "failed":
            raise LakeSailJobFailedError(verdict.message)
        self.progress.report(verdict)
        return verdict.status == "success"

    def poke(self, context: Context) -> PokeReturnValue:
        """Check once: done, not yet, or fail."""
        from airflow_provider_flinksp.lakesail.job_waiting import check

        verdict = check(self.hook, self._target())
        return PokeReturnValue(is_done=self._decide(verdict), xcom_value=verdict.value)

    def execute(self, context: Context) -> Any:
        """Poke or reschedule as usual; when deferrable, check once and then defer to the trigger."""
        from airflow_provider_flinksp.lakesail.job_waiting import check

        if not self.deferrable:
            return super().execute(context)
        verdict = check(self.hook, self._target())
        if self._decide(verdict):
            return verdict.value
        timeout = float(self.timeout) if self.timeout is not None else 7 * 24 * 3600.0
        self._defer_for_job(
            self._target(), deadline=time.time() + timeout, poll_interval=float(self.poke_interval)
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger fired: the job's dict, or fail."""
        return self._read_job_event(event, sensor=True).value


def _created_but_not_running(job_id: str, message: str) -> LakeSailJobFailedError:
    """The wait for RUNNING timed out: no retry, which would create a second job."""
    return LakeSailJobFailedError(
        f"{message}. Session job {job_id} was created and is left as it is; not retrying, as a retry "
        "would create another job"
    )


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    return {key: job.get(key) for key in SUMMARY_KEYS}
