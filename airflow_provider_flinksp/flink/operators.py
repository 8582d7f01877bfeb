"""Flink operators: trigger a savepoint (or stop with one), push the latest completed savepoint,
run a jar (restored from a savepoint)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.latest import LatestSavepointTask
from airflow_provider_flinksp.core.tasks import WaitingOperator
from airflow_provider_flinksp.exceptions import FlinkError
from airflow_provider_flinksp.flink.ids import check_static_ids
from airflow_provider_flinksp.flink.task import FlinkTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.models import Savepoint
    from airflow_provider_flinksp.core.waiting import Verdict


def as_bool(value: object, name: str) -> bool:
    """A flag given as a boolean or, rendered from a template, as ``"true"`` or ``"false"``.

    :param value: the value
    :param name: the parameter's name, for the message
    :raises ValueError: for anything else
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{name} must be true or false, got {str(value)[:60]!r}")


class _WaitingOperator(FlinkTask, WaitingOperator):
    """A Flink operator that may wait (polling here, or deferred to the trigger) for a verdict."""

    default_poll_interval = 5.0


class FlinkTriggerSavepointOperator(_WaitingOperator):
    """Trigger a savepoint of a Flink job (or stop the job with one); optionally wait for it.

    The POST carries a client-chosen trigger ID, so a retried request takes no second savepoint.
    The trigger ID is pushed under the XCom key ``trigger_id`` at once, before any waiting. Returns
    the triggered savepoint's dict (``location`` None); with ``wait_for_completion``, waits like
    :class:`~airflow_provider_flinksp.sensors.FlinkSavepointSensor` with that trigger ID, returns the
    completed savepoint's dict and pushes its location under ``savepoint_location``.

    :param job_id: the Flink job ID, 32 hex digits (templated)
    :param target_directory: where to write the savepoint (templated; default: the connection's
        extra ``savepoint_dir``, else the cluster's ``state.savepoints.dir``)
    :param stop: stop the job with this savepoint (stop-with-savepoint: the job ends FINISHED);
        templated (a rendered ``"true"``/``"false"`` counts)
    :param drain: with ``stop``, drain the pipeline first
    :param wait_for_completion: wait until the savepoint completed (fail if it failed)
    :param kwargs: ``flink_conn_id`` (templated); how to wait: ``poll_interval`` (default 5 s),
        ``timeout`` (default an hour) and ``deferrable``, as
        :class:`~airflow_provider_flinksp.core.tasks.WaitingOperator` takes them; the API settings
        of :class:`~airflow_provider_flinksp.core.tasks.ApiTask`
    """

    template_fields: Sequence[str] = ("job_id", "target_directory", "stop", "flink_conn_id")
    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        job_id: str,
        target_directory: str | None = None,
        stop: bool | str = False,
        drain: bool = False,
        wait_for_completion: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if drain and not (isinstance(stop, str) or stop):
            raise ValueError("drain=True needs stop=True: only stop-with-savepoint drains the job")
        self.job_id = job_id
        self.target_directory = target_directory
        self.stop = stop
        self.drain = drain
        self.wait_for_completion = wait_for_completion
        check_static_ids(job_id=job_id)

    def execute(self, context: Context) -> dict[str, Any] | None:
        """POST once, push the trigger ID, then return or wait."""
        from airflow_provider_flinksp.core.models import Savepoint
        from airflow_provider_flinksp.flink.models import MANUAL
        from airflow_provider_flinksp.flink.waiting import WaitTarget

        stop = as_bool(self.stop, "stop")
        triggered_at = datetime.now(timezone.utc)
        trigger_id = self.hook.trigger_savepoint(
            self.job_id, target_directory=self.target_directory or None, stop=stop, drain=self.drain
        )
        context["ti"].xcom_push(key="trigger_id", value=trigger_id)
        what = "Stopping the job with a savepoint" if stop else "Triggered a savepoint"
        self.log.info("%s of job %s: trigger ID %s", what, self.job_id, trigger_id)
        triggered = Savepoint(MANUAL, trigger_nonce=trigger_id, triggered_at=triggered_at).to_dict()
        if not self.wait_for_completion:
            return triggered
        return self._done(context, self._wait(WaitTarget(self.job_id, trigger_id)))

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger fired: check its event, push the location, return the savepoint.

        :param context: the task's context
        :param event: what the trigger sent
        """
        trigger_id = context["ti"].xcom_pull(task_ids=self.task_id, key="trigger_id")
        return self._done(context, self._read_event(event, sensor=False, nonce=trigger_id or None))

    def _done(self, context: Context, verdict: Verdict) -> dict[str, Any]:
        savepoint = verdict.savepoint
        if savepoint is None or not savepoint.get("location"):
            raise FlinkError(f"Flink reported no location for the savepoint of job {self.job_id}")
        context["ti"].xcom_push(key="savepoint_location", value=savepoint["location"])
        return savepoint


class FlinkLatestSavepointOperator(FlinkTask, LatestSavepointTask):
    """Push the latest completed savepoint of a Flink job into XCom.

    Without ``trigger_id``: the completed savepoint with the latest trigger time in the job's
    ``/checkpoints`` (Flink keeps the latest one even when it has left the history). With
    ``trigger_id``: exactly that savepoint, read from the status endpoint (``/checkpoints`` may lag a
    fresh savepoint by a few seconds). Returns its dict and pushes its location under the XCom key
    ``savepoint_location``.

    :param job_id: the Flink job ID (templated)
    :param trigger_id: take exactly the savepoint of this trigger, or fail (templated)
    :param max_age: fail if the chosen savepoint was triggered longer ago than this; a timedelta or
        seconds (not with ``trigger_id``)
    :param if_none: ``"fail"`` (default) or ``"skip"`` the task when there is none
    :param kwargs: ``flink_conn_id`` (templated), and the API settings of
        :class:`~airflow_provider_flinksp.core.tasks.ApiTask`
    """

    template_fields: Sequence[str] = ("job_id", "trigger_id", "flink_conn_id")
    ui_color = "#dff5e1"

    def __init__(self, *, job_id: str, trigger_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if trigger_id is not None and self.max_age is not None:
            raise ValueError("max_age applies to the latest savepoint; it cannot be combined with trigger_id")
        self.job_id = job_id
        self.trigger_id = trigger_id
        check_static_ids(job_id=job_id, trigger_id=trigger_id)

    @property
    def _job(self) -> str:
        return self.job_id

    def _choose(self) -> tuple[Savepoint | None, str]:
        from airflow_provider_flinksp.core.selection import choose_latest

        if self.trigger_id:
            chosen = self.hook.get_savepoint(self.job_id, self.trigger_id)
            return chosen, f"savepoint {self.trigger_id} is {'completed' if chosen else 'still in progress'}"
        savepoints = self.hook.list_savepoints(self.job_id)
        chosen, found = choose_latest(savepoints.completed, max_age=self.max_age)
        if savepoints.pending:
            found += f"; {len(savepoints.pending)} in progress"
        return chosen, found


class FlinkRunJarOperator(_WaitingOperator):
    """Start a Flink job from a jar (uploaded first when ``jar_path`` is given), restored from a
    savepoint when ``savepoint_path`` is given; optionally wait until it runs.

    Returns the new job's ID and pushes it under the XCom key ``job_id`` at once. With
    ``wait_for_running`` (default), waits until the job and all its tasks are RUNNING, and fails
    without retrying when it ends instead (FAILED, CANCELED, FINISHED).

    :param jar_id: an uploaded jar's ID (templated); or give ``jar_path``
    :param jar_path: a jar on the worker to upload first (templated)
    :param entry_class: the main class (templated; default: the jar manifest's)
    :param args: the program's arguments (templated)
    :param parallelism: the job's parallelism (default: the cluster's)
    :param savepoint_path: restore from this savepoint (templated), e.g. the XCom
        ``savepoint_location`` of :class:`FlinkLatestSavepointOperator`
    :param allow_non_restored_state: start even when savepoint state maps to no operator
    :param wait_for_running: wait until the job runs
    :param kwargs: ``flink_conn_id`` (templated); ``poll_interval``, ``timeout`` (how long it may
        wait for the job to run) and ``deferrable``, see
        :class:`~airflow_provider_flinksp.core.tasks.WaitingOperator`; ``api_retry_limit``,
        ``api_retry_delay``, ``request_timeout``, see :class:`~airflow_provider_flinksp.core.tasks.ApiTask`
    """

    template_fields: Sequence[str] = (
        "jar_id",
        "jar_path",
        "entry_class",
        "args",
        "savepoint_path",
        "flink_conn_id",
    )
    ui_color = "#e8dff5"

    def __init__(
        self,
        *,
        jar_id: str | None = None,
        jar_path: str | None = None,
        entry_class: str | None = None,
        args: Sequence[str] = (),
        parallelism: int | None = None,
        savepoint_path: str | None = None,
        allow_non_restored_state: bool = False,
        wait_for_running: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (jar_id is None) == (jar_path is None):
            raise ValueError("give exactly one of jar_id (an uploaded jar) and jar_path (a jar to upload)")
        if isinstance(args, str):
            raise ValueError(f"args must be a list of strings, not one string: {args!r}")
        self.jar_id = jar_id
        self.jar_path = jar_path
        self.entry_class = entry_class
        self.args = args
        self.parallelism = parallelism
        self.savepoint_path = savepoint_path
        self.allow_non_restored_state = allow_non_restored_state
        self.wait_for_running = wait_for_running
        check_static_ids(jar_id=jar_id)

    def execute(self, context: Context) -> str:
        """Upload if need be, run, push the job ID, then return or wait until it runs."""
        from airflow_provider_flinksp.flink.waiting import RUNNING, WaitTarget

        jar_id = self.jar_id or self.hook.upload_jar(str(self.jar_path))
        if self.jar_path:
            self.log.info("Uploaded %s as jar %s", self.jar_path, jar_id)
        job_id = self.hook.run_jar(
            jar_id,
            entry_class=self.entry_class or None,
            args=list(self.args),
            parallelism=self.parallelism,
            savepoint_path=self.savepoint_path or None,
            allow_non_restored_state=self.allow_non_restored_state,
        )
        context["ti"].xcom_push(key="job_id", value=job_id)
        restored = f", restoring from {self.savepoint_path}" if self.savepoint_path else ""
        self.log.info("Started job %s from jar %s%s", job_id, jar_id, restored)
        if self.wait_for_running:
            self._wait(WaitTarget(job_id, kind=RUNNING))
        return job_id

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume after the trigger fired: check its event, return the job ID.

        :param context: the task's context
        :param event: what the trigger sent
        """
        value = self._read_event(event, sensor=False).value or {}
        job_id = value.get("job_id")
        if not isinstance(job_id, str):
            raise FlinkError(f"The trigger's event names no job: {str(value)[:200]!r}")
        return job_id
