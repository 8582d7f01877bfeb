"""Restore for real: :class:`LakeSailCreateSessionJobOperator` creates a session job (from a
savepoint when given one) and can wait until it runs; :class:`LakeSailSessionJobSensor` waits for a
job's state. Both wait through :mod:`~airflow_provider_flinksp.lakesail.job_waiting`, polling in the
worker or deferred to :class:`~airflow_provider_flinksp.lakesail.triggers.LakeSailSessionJobTrigger`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp._compat import BaseSensorOperator
from airflow_provider_flinksp.core.tasks import SensorTask, WaitingOperator
from airflow_provider_flinksp.exceptions import LakeSailJobFailedError
from airflow_provider_flinksp.lakesail.ids import DEFAULT_FAILURE_STATES, DEFAULT_TARGET_STATES, check_states
from airflow_provider_flinksp.lakesail.task import LakeSailJobTask, LakeSailTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.lakesail.job_waiting import JobTarget

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

    trigger_path = "airflow_provider_flinksp.lakesail.triggers.LakeSailSessionJobTrigger"
    failed_error = LakeSailJobFailedError

    def _check(self, target: JobTarget) -> Verdict:  # type: ignore[override]
        from airflow_provider_flinksp.lakesail.job_waiting import check

        return check(self.hook, target)


class LakeSailCreateSessionJobOperator(_JobWait, WaitingOperator):
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
    :param kwargs: the API settings of :class:`~airflow_provider_flinksp.core.tasks.ApiTask`
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

    default_timeout = 30 * 60.0

    def __init__(
        self,
        *,
        name: str,
        job: dict[str, Any],
        flink_configuration: dict[str, str] | None = None,
        savepoint_location: str | None = None,
        allow_non_restored_state: bool = False,
        wait_for_running: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.job = job
        self.flink_configuration = flink_configuration
        self.savepoint_location = savepoint_location
        self.allow_non_restored_state = allow_non_restored_state
        self.wait_for_running = wait_for_running
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
        from airflow_provider_flinksp.lakesail.job_waiting import JobTarget

        target = JobTarget(self.workspace_id, self.session_id, summary["id"])
        deadline = time.time() + self.timeout
        if self.deferrable:
            verdict = self._check_or_defer(target, deadline=deadline, poll_interval=self.poll_interval)
        else:
            timed_out = functools.partial(_created_but_not_running, summary["id"])
            verdict = self._wait(target, deadline=deadline, timed_out=timed_out)
        return _summary(verdict.value or summary)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: the running job's summary, or fail."""
        if isinstance(event, dict) and event.get("status") == "timeout":
            job_id = context["ti"].xcom_pull(task_ids=self.task_id, key="job_id")
            raise _created_but_not_running(str(job_id), str(event.get("message")))
        verdict = self._read_event(event, sensor=False)
        return _summary(verdict.value or {})


class LakeSailSessionJobSensor(LakeSailJobTask, _JobWait, SensorTask, BaseSensorOperator):
    """Wait until a LakeSail session job is in one of ``target_states``; fail without retrying in
    one of ``failure_states``. XCom: the job's dict. Transient API errors count as "not yet".

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param job_id: the session job ID (templated)
    :param target_states: the states that mean done (default ``("RUNNING",)``)
    :param failure_states: the states that mean failed (default ``("FAILED", "DELETING")``)
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``)
    :param lakesail_conn_id: the Airflow connection (templated)
    :param kwargs: the API settings of :class:`~airflow_provider_flinksp.core.tasks.ApiTask`
    """

    template_fields: Sequence[str] = ("workspace_id", "session_id", "job_id", "lakesail_conn_id")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        target_states: Collection[str] = DEFAULT_TARGET_STATES,
        failure_states: Collection[str] = DEFAULT_FAILURE_STATES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target_states, self.failure_states = check_states(target_states, failure_states)

    def _target(self, context: Any) -> JobTarget:
        from airflow_provider_flinksp.lakesail.job_waiting import JobTarget

        return JobTarget(
            self.workspace_id, self.session_id, self.job_id, self.target_states, self.failure_states
        )

    def _value(self, verdict: Verdict) -> Any:
        return verdict.value


def _created_but_not_running(job_id: str, message: str) -> LakeSailJobFailedError:
    """The wait for RUNNING timed out: no retry, which would create a second job."""
    return LakeSailJobFailedError(
        f"{message}. Session job {job_id} was created and is left as it is; not retrying, as a retry "
        "would create another job"
    )


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    return {key: job.get(key) for key in SUMMARY_KEYS}
