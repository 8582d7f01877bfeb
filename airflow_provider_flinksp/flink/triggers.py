"""The deferred wait for Flink: :class:`FlinkSavepointTrigger`."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.api_trigger import ApiTrigger
from airflow_provider_flinksp.core.waiting import Verdict

if TYPE_CHECKING:
    from airflow_provider_flinksp.flink.hook import FlinkRestHook
    from airflow_provider_flinksp.flink.waiting import WaitTarget


class FlinkSavepointTrigger(ApiTrigger):
    """Wait in the triggerer until a Flink savepoint is done or failed (or a new job runs), or the
    deadline passes.

    Serialized with plain values only. Polls with the async hook, the first time one
    ``poll_interval`` after the deferral, and yields exactly one event:
    ``{"status": "success", "savepoint": {...} | None, "value": ..., "message": ...}``,
    ``{"status": "failed", "message": ...}`` or ``{"status": "timeout", "message": ...}``.

    :param job_id: the Flink job
    :param deadline: absolute wall-clock deadline, epoch seconds
    :param trigger_id: wait for this savepoint; None waits until no savepoint is in progress
    :param wait_for: ``"savepoint"`` (default) or ``"running"`` (the job and its tasks run)
    :param poll_interval: seconds between two checks
    :param flink_conn_id: the Airflow connection
    :param kwargs: the deadline and the API settings of
        :class:`~airflow_provider_flinksp.core.api_trigger.ApiTrigger`
    """

    conn_id_attr = "flink_conn_id"
    hook_path = "airflow_provider_flinksp.flink.hook.FlinkRestHook"
    fields = ("job_id", "trigger_id", "wait_for")
    hook: FlinkRestHook

    def __init__(
        self,
        *,
        job_id: str,
        trigger_id: str | None = None,
        wait_for: str = "savepoint",
        poll_interval: float = 30.0,
        flink_conn_id: str = "flink_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(poll_interval=poll_interval, **kwargs)
        self.job_id = job_id
        self.trigger_id = trigger_id
        self.wait_for = wait_for
        self.flink_conn_id = flink_conn_id

    @cached_property
    def target(self) -> WaitTarget:
        """What this trigger waits for."""
        from airflow_provider_flinksp.flink.waiting import WaitTarget

        return WaitTarget(self.job_id, self.trigger_id, self.wait_for)

    def acheck(self) -> Awaitable[Verdict]:
        """Read the savepoint's status (or the checkpoints, or the job) and judge."""
        from airflow_provider_flinksp.flink.waiting import acheck

        return acheck(self.hook, self.target)
