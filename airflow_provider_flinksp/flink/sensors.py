"""Gate a DAG on a Flink savepoint: :class:`FlinkSavepointSensor`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp._compat import BaseSensorOperator, PokeReturnValue, default_deferrable
from airflow_provider_flinksp.exceptions import FlinkSavepointFailedError
from airflow_provider_flinksp.flink.ids import check_static_ids
from airflow_provider_flinksp.flink.task import FlinkTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.flink.waiting import WaitTarget


class FlinkSavepointSensor(FlinkTask, BaseSensorOperator):
    """Wait until one savepoint of a Flink job completed, or until none is in progress.

    With ``trigger_id``: done when Flink's status endpoint says that savepoint completed; the XCom
    value is its dict (``location``, ``triggerType`` ``MANUAL``, ``triggerNonce`` = the trigger
    ID). The task fails without retrying when Flink reports the savepoint failed (naming Flink's
    reason) or when the job ended with it not completed. Without ``trigger_id``: done when the
    job's ``/checkpoints`` show no savepoint in progress; the XCom value is the latest completed
    savepoint's dict (None when there is none). Transient API errors (429, 5xx, the network, after
    the hook's retries) count as "not yet" up to the sensor's ``timeout``; other 4xx fail at once.

    :param job_id: the Flink job ID, 32 hex digits (templated)
    :param trigger_id: the savepoint's trigger ID (templated), e.g. from the XCom ``trigger_id`` of
        :class:`~airflow_provider_flinksp.operators.FlinkTriggerSavepointOperator`
    :param flink_conn_id: the Airflow connection (templated)
    :param deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``)
    :param api_retry_limit: attempts per API call (default: the connection's extra, else 3)
    :param api_retry_delay: first backoff in seconds (default: the connection's extra, else 1.0)
    :param request_timeout: seconds per API request (default: the connection's extra, else 30)
    """

    template_fields: Sequence[str] = ("job_id", "trigger_id", "flink_conn_id")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        job_id: str,
        trigger_id: str | None = None,
        flink_conn_id: str = "flink_default",
        deferrable: bool | None = None,
        api_retry_limit: int | None = None,
        api_retry_delay: float | None = None,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.trigger_id = trigger_id
        self.flink_conn_id = flink_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.api_retry_limit = api_retry_limit
        self.api_retry_delay = api_retry_delay
        self.request_timeout = request_timeout
        check_static_ids(job_id=job_id, trigger_id=trigger_id)

    def _target(self) -> WaitTarget:
        from airflow_provider_flinksp.flink.waiting import WaitTarget

        return WaitTarget(self.job_id, self.trigger_id or None)

    def _decide(self, verdict: Verdict) -> bool:
        if verdict.status == "failed":
            raise FlinkSavepointFailedError(verdict.message)
        self.progress.report(verdict)
        return verdict.status == "success"

    def poke(self, context: Context) -> PokeReturnValue:
        """Check once: done, not yet, or fail."""
        from airflow_provider_flinksp.flink.waiting import check

        verdict = check(self.hook, self._target())
        return PokeReturnValue(is_done=self._decide(verdict), xcom_value=verdict.savepoint)

    def execute(self, context: Context) -> Any:
        """Poke or reschedule as usual; when deferrable, check once and then defer to the trigger."""
        from airflow_provider_flinksp.flink.waiting import check

        if not self.deferrable:
            return super().execute(context)
        target = self._target()
        verdict = check(self.hook, target)
        if self._decide(verdict):
            return verdict.savepoint
        timeout = float(self.timeout) if self.timeout is not None else 7 * 24 * 3600.0
        self._defer_until_done(
            target, deadline=time.time() + timeout, poll_interval=float(self.poke_interval)
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger fired: check its event and return the savepoint or fail."""
        return self._read_event(event, sensor=True, nonce=self.trigger_id or None).savepoint
