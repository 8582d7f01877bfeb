"""What every LakeSail task shares: its IDs and connection, the hook made lazily, and the
deferral to :class:`~airflow_provider_flinksp.lakesail.triggers.LakeSailSavepointTrigger`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_flinksp.core.tasks import HookTask

if TYPE_CHECKING:
    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.lakesail.hook import LakeSailHook
    from airflow_provider_flinksp.lakesail.waiting import WaitTarget


class LakeSailTask(HookTask):
    """Mixin for the LakeSail sensors and operators."""

    workspace_id: str
    session_id: str
    job_id: str
    lakesail_conn_id: str
    api_retry_limit: int | None
    api_retry_delay: float | None
    request_timeout: float | None
    hook: LakeSailHook

    def make_hook(self) -> LakeSailHook:
        """The LakeSail hook with the task's connection and retry settings."""
        from airflow_provider_flinksp.lakesail.hook import LakeSailHook

        return LakeSailHook(
            self.lakesail_conn_id,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            timeout=self.request_timeout,
        )

    @property
    def _job(self) -> str:
        return f"{self.workspace_id}/{self.session_id}/{self.job_id}"

    def _defer_until_done(
        self,
        target: WaitTarget,
        *,
        deadline: float,
        poll_interval: float,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Hand the wait for ``target`` to the LakeSail trigger.

        :param target: what to wait for
        :param deadline: absolute wall-clock deadline, epoch seconds
        :param poll_interval: seconds between two checks
        :param method_name: the method the task resumes in
        :param kwargs: extra keyword arguments for that method
        """
        from airflow_provider_flinksp.lakesail.triggers import LakeSailSavepointTrigger

        trigger = LakeSailSavepointTrigger(
            workspace_id=target.workspace_id,
            session_id=target.session_id,
            job_id=target.job_id,
            deadline=deadline,
            trigger_nonce=target.trigger_nonce,
            grace_deadline=target.grace_deadline,
            poll_interval=poll_interval,
            lakesail_conn_id=self.lakesail_conn_id,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            request_timeout=self.request_timeout,
        )
        self.defer_to(trigger, deadline=deadline, method_name=method_name, kwargs=kwargs)

    def _publish(self, context: Any, savepoint: dict[str, Any] | None) -> None:
        """Attach the savepoint to the events of this job's savepoint assets among the outlets.

        :param context: the task's context
        :param savepoint: the savepoint's dict, or None
        """
        outlets = getattr(self, "outlets", None) or []
        if outlets:
            from airflow_provider_flinksp.assets import record_savepoint_event

            ids = (self.workspace_id, self.session_id, self.job_id)
            record_savepoint_event(context, outlets, ids, savepoint, self.log)

    def _read_event(self, event: object, *, sensor: bool, nonce: str | None = None) -> Verdict:
        """Check a LakeSail trigger's event on resume; the successful verdict, or raise.

        :param event: what the trigger sent
        :param sensor: a timeout is a sensor timeout (else a LakeSailError)
        :param nonce: the savepoint awaited, if one was
        """
        from airflow_provider_flinksp.core.events import read_event
        from airflow_provider_flinksp.exceptions import LakeSailError, LakeSailSavepointFailedError

        return read_event(
            event,
            self.log,
            timeout_is_sensor_timeout=sensor,
            error=LakeSailError,
            failed_error=LakeSailSavepointFailedError,
            nonce=nonce,
        )
