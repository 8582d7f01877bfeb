"""The deferred wait for Flink: :class:`FlinkSavepointTrigger`."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.trigger import PollingTrigger
from airflow_provider_flinksp.core.waiting import Verdict

if TYPE_CHECKING:
    from airflow_provider_flinksp.flink.hook import FlinkRestHook
    from airflow_provider_flinksp.flink.waiting import WaitTarget


class FlinkSavepointTrigger(PollingTrigger):
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
    :param retry_limit: attempts per API call (None: the connection's or the hook's default)
    :param retry_delay: first backoff in seconds (None: the connection's or the hook's default)
    :param request_timeout: seconds per request (None: the connection's or the hook's default)
    """

    def __init__(
        self,
        *,
        job_id: str,
        deadline: float,
        trigger_id: str | None = None,
        wait_for: str = "savepoint",
        poll_interval: float = 30.0,
        flink_conn_id: str = "flink_default",
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        request_timeout: float | None = None,
    ) -> None:
        super().__init__(deadline=deadline, poll_interval=poll_interval)
        self.job_id = job_id
        self.trigger_id = trigger_id
        self.wait_for = wait_for
        self.flink_conn_id = flink_conn_id
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.request_timeout = request_timeout

    def serialize_fields(self) -> dict[str, Any]:
        """The plain keyword arguments besides the deadline and the poll interval."""
        return {
            "job_id": self.job_id,
            "trigger_id": self.trigger_id,
            "wait_for": self.wait_for,
            "flink_conn_id": self.flink_conn_id,
            "retry_limit": self.retry_limit,
            "retry_delay": self.retry_delay,
            "request_timeout": self.request_timeout,
        }

    @cached_property
    def hook(self) -> FlinkRestHook:
        """The async-capable hook, made once per trigger run."""
        from airflow_provider_flinksp.flink.hook import FlinkRestHook

        return FlinkRestHook(
            self.flink_conn_id,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
            timeout=self.request_timeout,
        )

    @cached_property
    def target(self) -> WaitTarget:
        """What this trigger waits for."""
        from airflow_provider_flinksp.flink.waiting import WaitTarget

        return WaitTarget(self.job_id, self.trigger_id, self.wait_for)

    def acheck(self) -> Awaitable[Verdict]:
        """Read the savepoint's status (or the checkpoints, or the job) and judge."""
        from airflow_provider_flinksp.flink.waiting import acheck

        return acheck(self.hook, self.target)
