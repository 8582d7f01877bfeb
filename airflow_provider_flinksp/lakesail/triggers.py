"""The deferred waits for LakeSail: :class:`LakeSailSavepointTrigger` (savepoints) and
:class:`LakeSailSessionJobTrigger` (a session job's state)."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.trigger import PollingTrigger
from airflow_provider_flinksp.core.waiting import Verdict

if TYPE_CHECKING:
    from airflow_provider_flinksp.lakesail.hook import LakeSailHook
    from airflow_provider_flinksp.lakesail.waiting import WaitTarget


class _LakeSailPollingTrigger(PollingTrigger):
    """What both LakeSail triggers share: the connection and retry settings, and the hook."""

    lakesail_conn_id: str
    retry_limit: int | None
    retry_delay: float | None
    request_timeout: float | None

    def _connection_fields(self) -> dict[str, Any]:
        return {
            "lakesail_conn_id": self.lakesail_conn_id,
            "retry_limit": self.retry_limit,
            "retry_delay": self.retry_delay,
            "request_timeout": self.request_timeout,
        }

    @cached_property
    def hook(self) -> LakeSailHook:
        """The async-capable hook, made once per trigger run."""
        from airflow_provider_flinksp.lakesail.hook import LakeSailHook

        return LakeSailHook(
            self.lakesail_conn_id,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
            timeout=self.request_timeout,
        )


class LakeSailSavepointTrigger(_LakeSailPollingTrigger):
    """Wait in the triggerer until a savepoint is done, failed, or the deadline passes.

    Serialized with plain values only. Polls with the async hook (one shared connection pool per
    event loop), the first time one ``poll_interval`` after the deferral, then every
    ``poll_interval`` seconds, and yields exactly one event:
    ``{"status": "success", "savepoint": {...} | None, "message": ...}``,
    ``{"status": "failed", "message": ...}`` or ``{"status": "timeout", "message": ...}``.

    :param workspace_id: the workspace ID
    :param session_id: the Flink session ID
    :param job_id: the session job ID
    :param deadline: absolute wall-clock deadline, epoch seconds
    :param trigger_nonce: wait for this savepoint; None waits until nothing is pending
    :param grace_deadline: epoch seconds after which a nonce in neither list means failure
    :param poll_interval: seconds between two checks
    :param lakesail_conn_id: the Airflow connection
    :param retry_limit: attempts per API call (None: the connection's or the hook's default)
    :param retry_delay: first backoff in seconds (None: the connection's or the hook's default)
    :param request_timeout: seconds per request (None: the connection's or the hook's default)
    """

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        job_id: str,
        deadline: float,
        trigger_nonce: str | None = None,
        grace_deadline: float | None = None,
        poll_interval: float = 30.0,
        lakesail_conn_id: str = "lakesail_default",
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        request_timeout: float | None = None,
    ) -> None:
        super().__init__(deadline=deadline, poll_interval=poll_interval)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.trigger_nonce = trigger_nonce
        self.grace_deadline = grace_deadline
        self.lakesail_conn_id = lakesail_conn_id
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.request_timeout = request_timeout

    def serialize_fields(self) -> dict[str, Any]:
        """The plain keyword arguments besides the deadline and the poll interval."""
        return {
            "workspace_id": self.workspace_id,
            "session_id": self.session_id,
            "job_id": self.job_id,
            "trigger_nonce": self.trigger_nonce,
            "grace_deadline": self.grace_deadline,
            **self._connection_fields(),
        }

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


class LakeSailSessionJobTrigger(_LakeSailPollingTrigger):
    """Wait in the triggerer until a session job is in a target state, a failure state, or the
    deadline passes; the same rule as :class:`~airflow_provider_flinksp.operators.LakeSailSessionJobSensor`.

    Yields exactly one event: ``{"status": "success", "value": {job}, ...}``,
    ``{"status": "failed", ...}`` or ``{"status": "timeout", ...}``.

    :param workspace_id: the workspace ID
    :param session_id: the Flink session ID
    :param job_id: the session job ID
    :param deadline: absolute wall-clock deadline, epoch seconds
    :param target_states: the states that mean done
    :param failure_states: the states that mean failed
    :param poll_interval: seconds between two checks
    :param lakesail_conn_id: the Airflow connection
    :param retry_limit: attempts per API call (None: the connection's or the hook's default)
    :param retry_delay: first backoff in seconds (None: the connection's or the hook's default)
    :param request_timeout: seconds per request (None: the connection's or the hook's default)
    """

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        job_id: str,
        deadline: float,
        target_states: list[str] | tuple[str, ...] = ("RUNNING",),
        failure_states: list[str] | tuple[str, ...] = ("FAILED", "DELETING"),
        poll_interval: float = 10.0,
        lakesail_conn_id: str = "lakesail_default",
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        request_timeout: float | None = None,
    ) -> None:
        super().__init__(deadline=deadline, poll_interval=poll_interval)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.target_states = list(target_states)
        self.failure_states = list(failure_states)
        self.lakesail_conn_id = lakesail_conn_id
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.request_timeout = request_timeout

    def serialize_fields(self) -> dict[str, Any]:
        """The plain keyword arguments besides the deadline and the poll interval."""
        return {
            "workspace_id": self.workspace_id,
            "session_id": self.session_id,
            "job_id": self.job_id,
            "target_states": self.target_states,
            "failure_states": self.failure_states,
            **self._connection_fields(),
        }

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
