"""The deferred wait: :class:`LakeSailSavepointTrigger` polls in the triggerer's event loop, and
:func:`result_of_event` checks what it sent when the task resumes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_flinksp._compat import AirflowSensorTimeout
from airflow_provider_flinksp.exceptions import LakeSailError, LakeSailSavepointFailedError
from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.models import Savepoint
from airflow_provider_flinksp.waiting import WaitTarget, acheck


class LakeSailSavepointTrigger(BaseTrigger):
    """Wait in the triggerer until a savepoint is done, failed, or the deadline passes.

    Serialized with plain values only. Polls with the async hook (one shared connection pool per
    event loop) every ``poll_interval`` seconds on a fixed schedule (a slow poll shortens the next
    sleep, down to half the interval, rather than shifting every later poll), sleeps in every
    branch, and yields exactly one event:
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
        lakesail_conn_id: str = LakeSailHook.default_conn_name,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        request_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.deadline = deadline
        self.trigger_nonce = trigger_nonce
        self.grace_deadline = grace_deadline
        self.poll_interval = poll_interval
        self.lakesail_conn_id = lakesail_conn_id
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.request_timeout = request_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the plain keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "workspace_id": self.workspace_id,
                "session_id": self.session_id,
                "job_id": self.job_id,
                "deadline": self.deadline,
                "trigger_nonce": self.trigger_nonce,
                "grace_deadline": self.grace_deadline,
                "poll_interval": self.poll_interval,
                "lakesail_conn_id": self.lakesail_conn_id,
                "retry_limit": self.retry_limit,
                "retry_delay": self.retry_delay,
                "request_timeout": self.request_timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until there is an outcome; yield it as the one event."""
        hook = LakeSailHook(
            self.lakesail_conn_id,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
            timeout=self.request_timeout,
        )
        target = WaitTarget(
            self.workspace_id, self.session_id, self.job_id, self.trigger_nonce, self.grace_deadline
        )
        last_message = None
        next_poll = time.monotonic()
        while True:
            if time.time() >= self.deadline:
                yield TriggerEvent(
                    {"status": "timeout", "message": f"Timed out waiting: {last_message or 'no answer yet'}"}
                )
                return
            try:
                verdict = await acheck(hook, target)
            except LakeSailError as exc:
                yield TriggerEvent({"status": "failed", "reason": "api", "message": str(exc)})
                return
            if verdict.status != "waiting":
                yield TriggerEvent(verdict.to_event())
                return
            if verdict.transient_error is not None:
                self.log.warning("%s", verdict.message)
            elif verdict.message != last_message:
                self.log.info("%s", verdict.message)
            last_message = verdict.message
            # on schedule (a late poll does not push every later one back), but never sooner than
            # half an interval after the last answer
            now = time.monotonic()
            next_poll = max(next_poll + self.poll_interval, now + self.poll_interval / 2)
            await asyncio.sleep(max(0.0, min(next_poll - now, self.deadline - time.time())))


def result_of_event(event: object, log: Any, *, timeout_is_sensor_timeout: bool) -> dict[str, Any] | None:
    """Check a trigger event when the task resumes; return the savepoint's dict or raise.

    :param event: what the trigger sent
    :param log: the task's logger
    :param timeout_is_sensor_timeout: raise ``AirflowSensorTimeout`` (a sensor) rather than a
        :class:`~airflow_provider_flinksp.exceptions.LakeSailError` (an operator) on timeout
    :raises LakeSailSavepointFailedError: the savepoint failed or its job stopped (no retry)
    :raises LakeSailError: an API error, a timeout (operators), or an event that is not one of ours
    """
    if not isinstance(event, dict):
        raise LakeSailError(f"The LakeSail trigger sent no usable event: {event!r}")
    status = event.get("status")
    message = str(event.get("message") or f"trigger reported {status}")
    if status == "success":
        savepoint = event.get("savepoint")
        if savepoint is not None:
            try:
                savepoint = Savepoint.from_api(savepoint, "trigger event savepoint").to_dict()
            except LakeSailError as exc:
                raise LakeSailError(f"The LakeSail trigger sent a malformed savepoint: {exc}") from None
        log.info("%s", message)
        return savepoint
    if status == "timeout":
        raise AirflowSensorTimeout(message) if timeout_is_sensor_timeout else LakeSailError(message)
    if status == "failed":
        if event.get("reason") == "api":
            raise LakeSailError(message)
        raise LakeSailSavepointFailedError(message)
    raise LakeSailError(f"The LakeSail trigger sent an event with an unknown status: {status!r}")
