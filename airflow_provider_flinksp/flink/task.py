"""What every Flink task shares: its connection, the hook made lazily, and the deferral to
:class:`~airflow_provider_flinksp.flink.triggers.FlinkSavepointTrigger`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_flinksp.core.tasks import HookTask

if TYPE_CHECKING:
    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.flink.hook import FlinkRestHook
    from airflow_provider_flinksp.flink.waiting import WaitTarget


class FlinkTask(HookTask):
    """Mixin for the Flink sensors and operators."""

    flink_conn_id: str
    api_retry_limit: int | None
    api_retry_delay: float | None
    request_timeout: float | None
    hook: FlinkRestHook

    def make_hook(self) -> FlinkRestHook:
        """The Flink hook with the task's connection and retry settings."""
        from airflow_provider_flinksp.flink.hook import FlinkRestHook

        return FlinkRestHook(
            self.flink_conn_id,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            timeout=self.request_timeout,
        )

    def _defer_until_done(
        self,
        target: WaitTarget,
        *,
        deadline: float,
        poll_interval: float,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Hand the wait for ``target`` to the Flink trigger.

        :param target: what to wait for
        :param deadline: absolute wall-clock deadline, epoch seconds
        :param poll_interval: seconds between two checks
        :param method_name: the method the task resumes in
        :param kwargs: extra keyword arguments for that method
        """
        from airflow_provider_flinksp.flink.triggers import FlinkSavepointTrigger

        trigger = FlinkSavepointTrigger(
            job_id=target.job_id,
            trigger_id=target.trigger_id,
            wait_for=target.kind,
            deadline=deadline,
            poll_interval=poll_interval,
            flink_conn_id=self.flink_conn_id,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            request_timeout=self.request_timeout,
        )
        self.defer_to(trigger, deadline=deadline, method_name=method_name, kwargs=kwargs)

    def _read_event(self, event: object, *, sensor: bool, nonce: str | None = None) -> Verdict:
        """Check a Flink trigger's event on resume; the successful verdict, or raise.

        :param event: what the trigger sent
        :param sensor: a timeout is a sensor timeout (else a FlinkError)
        :param nonce: the awaited savepoint's trigger ID: a success must carry it, with a location
        """
        from airflow_provider_flinksp.core.events import read_event
        from airflow_provider_flinksp.exceptions import FlinkError, FlinkSavepointFailedError

        return read_event(
            event,
            self.log,
            timeout_is_sensor_timeout=sensor,
            error=FlinkError,
            failed_error=FlinkSavepointFailedError,
            nonce=nonce,
        )
