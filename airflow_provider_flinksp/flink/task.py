"""What every Flink task shares: its connection, its hook and trigger, its errors, and how a wait
is checked and handed to :class:`~airflow_provider_flinksp.flink.triggers.FlinkSavepointTrigger`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.tasks import ApiTask
from airflow_provider_flinksp.exceptions import FlinkError, FlinkSavepointFailedError

if TYPE_CHECKING:
    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.flink.hook import FlinkRestHook
    from airflow_provider_flinksp.flink.waiting import WaitTarget


class FlinkTask(ApiTask):
    """Base of the Flink sensors and operators.

    :param flink_conn_id: the Airflow connection (templated)
    """

    conn_id_attr = "flink_conn_id"
    hook_path = "airflow_provider_flinksp.flink.hook.FlinkRestHook"
    trigger_path = "airflow_provider_flinksp.flink.triggers.FlinkSavepointTrigger"
    error = FlinkError
    failed_error = FlinkSavepointFailedError
    hook: FlinkRestHook

    def __init__(self, *, flink_conn_id: str = "flink_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flink_conn_id = flink_conn_id

    def _check(self, target: WaitTarget) -> Verdict:
        from airflow_provider_flinksp.flink.waiting import check

        return check(self.hook, target)

    def _trigger_kwargs(self, target: WaitTarget) -> dict[str, Any]:
        return {"job_id": target.job_id, "trigger_id": target.trigger_id, "wait_for": target.kind}
