"""Gate a DAG on a Flink savepoint: :class:`FlinkSavepointSensor`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp._compat import BaseSensorOperator
from airflow_provider_flinksp.core.tasks import SensorTask
from airflow_provider_flinksp.flink.ids import check_static_ids
from airflow_provider_flinksp.flink.task import FlinkTask

if TYPE_CHECKING:
    from airflow_provider_flinksp.flink.waiting import WaitTarget


class FlinkSavepointSensor(FlinkTask, SensorTask, BaseSensorOperator):
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
    :param kwargs: ``flink_conn_id`` (templated), ``deferrable`` and ``api_retry_limit``,
        ``api_retry_delay``, ``request_timeout`` (see :class:`~airflow_provider_flinksp.core.tasks.ApiTask`),
        and the sensor's usual arguments
    """

    template_fields: Sequence[str] = ("job_id", "trigger_id", "flink_conn_id")
    ui_color = "#e6f0ff"

    def __init__(self, *, job_id: str, trigger_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.trigger_id = trigger_id
        check_static_ids(job_id=job_id, trigger_id=trigger_id)

    def _target(self, context: Any) -> WaitTarget:
        from airflow_provider_flinksp.flink.waiting import WaitTarget

        return WaitTarget(self.job_id, self.trigger_id or None)

    def _nonce(self) -> str | None:
        return self.trigger_id or None
