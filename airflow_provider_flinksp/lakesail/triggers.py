"""The deferred waits for LakeSail: :class:`LakeSailSavepointTrigger` (savepoints) and
:class:`LakeSailSessionJobTrigger` (a session job's state)."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.api_trigger import ApiTrigger
from airflow_provider_flinksp.core.waiting import Verdict

if TYPE_CHECKING:
    from airflow_provider_flinksp.lakesail.hook import LakeSailHook
    from airflow_provider_flinksp.lakesail.waiting import WaitTarget


class _LakeSailTrigger(ApiTrigger):
    """What both LakeSail triggers share: the job's IDs and the connection.

    :param workspace_id: the workspace ID
    :param session_id: the Flink session ID
    :param job_id: the session job ID
    :param lakesail_conn_id: the Airflow connection
    :param kwargs: the deadline, the poll interval and the API settings of
        :class:`~airflow_provider_flinksp.core.api_trigger.ApiTrigger`
    """

    conn_id_attr = "lakesail_conn_id"
    hook_path = "airflow_provider_flinksp.lakesail.hook.LakeSailHook"
    hook: LakeSailHook

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        job_id: str,
        lakesail_conn_id: str = "lakesail_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.lakesail_conn_id = lakesail_conn_id


class LakeSailSavepointTrigger(_LakeSailTrigger):
    """Wait in the triggerer until a savepoint is done, failed, or the deadline passes.

    Serialized with plain values only. Polls with the async hook (one shared connection pool per
    event loop), the first time one ``poll_interval`` after the deferral, then every
    ``poll_interval`` seconds, and yields exactly one event:
    ``{"status": "success", "savepoint": {...} | None, "message": ...}``,
    ``{"status": "failed", "message": ...}`` or ``{"status": "timeout", "message": ...}``.

    :param trigger_nonce: wait for this savepoint; None waits until nothing is pending
    :param grace_deadline: epoch seconds after which a nonce in neither list means failure
    :param poll_interval: seconds between two checks
    :param kwargs: ``workspace_id``, ``session_id``, ``job_id``, ``lakesail_conn_id``, ``deadline``
        (absolute, epoch seconds) and the API settings (``retry_limit``, ``retry_delay``,
        ``request_timeout``)
    """

    fields = ("workspace_id", "session_id", "job_id", "trigger_nonce", "grace_deadline")

    def __init__(
        self,
        *,
        trigger_nonce: str | None = None,
        grace_deadline: float | None = None,
        poll_interval: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poll_interval=poll_interval, **kwargs)
        self.trigger_nonce = trigger_nonce
        self.grace_deadline = grace_deadline

    @cached_property
    def target(self) -> WaitTarget:
        """What this trigger waits for."""
        from airflow_provider_flinksp.lakesail.waiting import WaitTarget

        return WaitTarget(
            self.workspace_id, self.session_id, self.job_id, self.trigger_nonce, self.grace_deadline
        )

    def acheck(self) -> Awaitable[Verdict]:
        """List the savepoints (and the job's state when needed) and judge."""
        from airflow_provider_flinksp.lakesail.waiting import acheck

        return acheck(self.hook, self.target)


class LakeSailSessionJobTrigger(_LakeSailTrigger):
    """Wait in the triggerer until a session job is in a target state, a failure state, or the
    deadline passes; the same rule as :class:`~airflow_provider_flinksp.operators.LakeSailSessionJobSensor`.

    Yields exactly one event: ``{"status": "success", "value": {job}, ...}``,
    ``{"status": "failed", ...}`` or ``{"status": "timeout", ...}``.

    :param target_states: the states that mean done
    :param failure_states: the states that mean failed
    :param poll_interval: seconds between two checks
    :param kwargs: the job's IDs, the connection, the deadline and the API settings, as
        :class:`LakeSailSavepointTrigger` takes them
    """

    fields = ("workspace_id", "session_id", "job_id", "target_states", "failure_states")

    def __init__(
        self,
        *,
        target_states: list[str] | tuple[str, ...] = ("RUNNING",),
        failure_states: list[str] | tuple[str, ...] = ("FAILED", "DELETING"),
        poll_interval: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poll_interval=poll_interval, **kwargs)
        self.target_states = list(target_states)
        self.failure_states = list(failure_states)

    async def acheck(self) -> Verdict:
        """Describe the job and judge its state."""
        from airflow_provider_flinksp.lakesail.job_waiting import JobTarget, acheck

        target = JobTarget(
            self.workspace_id,
            self.session_id,
            self.job_id,
            tuple(self.target_states),
            tuple(self.failure_states),
        )
        return await acheck(self.hook, target)
