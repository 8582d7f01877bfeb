"""Operators: push the latest completed savepoint into XCom; trigger a savepoint."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_flinksp._checks import as_seconds, check_static_ids
from airflow_provider_flinksp._compat import AirflowSkipException, BaseOperator, default_deferrable
from airflow_provider_flinksp.exceptions import (
    LakeSailError,
    LakeSailResponseError,
    LakeSailSavepointFailedError,
)

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.hooks import LakeSailHook
    from airflow_provider_flinksp.waiting import WaitTarget

#: Extra time the task's own deferral timeout leaves the trigger to report a timeout itself.
DEFERRAL_TIMEOUT_SLACK = 60.0


class LakeSailTaskMixin:
    """What every LakeSail task shares: the hook made lazily, and the deferral to the trigger."""

    workspace_id: str
    session_id: str
    job_id: str
    lakesail_conn_id: str
    api_retry_limit: int | None
    api_retry_delay: float | None
    request_timeout: float | None

    @cached_property
    def hook(self) -> LakeSailHook:
        """The hook, made at the first use (never at DAG parse time)."""
        from airflow_provider_flinksp.hooks import LakeSailHook

        return LakeSailHook(
            self.lakesail_conn_id,
            retry_limit=self.api_retry_limit,
            retry_delay=self.api_retry_delay,
            timeout=self.request_timeout,
        )

    @property
    def _job(self) -> str:
        return f"{self.workspace_id}/{self.session_id}/{self.job_id}"

    def _defer_until_done(self, target: WaitTarget, *, deadline: float, poll_interval: float) -> NoReturn:
        """Hand the wait to :class:`~airflow_provider_flinksp.triggers.LakeSailSavepointTrigger`.

        :param target: what to wait for
        :param deadline: absolute wall-clock deadline, epoch seconds
        :param poll_interval: seconds between two checks
        """
        from airflow_provider_flinksp.triggers import LakeSailSavepointTrigger

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
        # The task's own deferral timeout leaves the trigger time to report the timeout itself.
        timeout = timedelta(seconds=max(0.0, deadline - time.time()) + DEFERRAL_TIMEOUT_SLACK)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)  # type: ignore[attr-defined]
        raise AssertionError("defer() returned")  # pragma: no cover - defer always raises


class _LakeSailOperator(LakeSailTaskMixin, BaseOperator):
    """What both operators share: the IDs, the connection and the per-task retry settings."""

    template_fields: Sequence[str] = ("workspace_id", "session_id", "job_id", "lakesail_conn_id")

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        job_id: str,
        lakesail_conn_id: str = "lakesail_default",
        api_retry_limit: int | None = None,
        api_retry_delay: float | None = None,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.lakesail_conn_id = lakesail_conn_id
        self.api_retry_limit = api_retry_limit
        self.api_retry_delay = api_retry_delay
        self.request_timeout = request_timeout
        check_static_ids(workspace_id=workspace_id, session_id=session_id, job_id=job_id)


class LakeSailLatestSavepointOperator(_LakeSailOperator):
    """Push the latest restorable completed savepoint of a session job into XCom.

    Latest means the greatest ``triggeredAt``; savepoints without one rank below those with one,
    among equals the later in the list wins, and savepoints without a location are passed over.
    Returns the savepoint's dict and pushes its location under the XCom key ``savepoint_location``.

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param job_id: the session job ID (templated)
    :param trigger_nonce: take exactly the savepoint with this nonce, or fail (templated)
    :param trigger_types: take only savepoints of these types (``MANUAL``, ``PERIODIC``, ``UPGRADE``, ...)
    :param max_age: fail if the chosen savepoint was triggered longer ago than this (or has no
        trigger time); a timedelta or seconds
    :param if_none: ``"fail"`` (default) or ``"skip"`` the task when nothing matches
    :param lakesail_conn_id: the Airflow connection (templated)
    :param api_retry_limit: attempts per API call (default: the connection's extra, else 3)
    :param api_retry_delay: first backoff in seconds (default: the connection's extra, else 1.0)
    :param request_timeout: seconds per API request (default: the connection's extra, else 30)
    """

    template_fields: Sequence[str] = (
        "workspace_id",
        "session_id",
        "job_id",
        "trigger_nonce",
        "lakesail_conn_id",
    )
    ui_color = "#dff5e1"

    def __init__(
        self,
        *,
        trigger_nonce: str | None = None,
        trigger_types: Collection[str] | None = None,
        max_age: timedelta | float | None = None,
        if_none: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_none not in ("fail", "skip"):
            raise ValueError(f'if_none must be "fail" or "skip", got {if_none!r}')
        if isinstance(trigger_types, str) or (
            trigger_types is not None and not all(isinstance(t, str) for t in trigger_types)
        ):
            raise ValueError(
                f"trigger_types must be a list of strings such as ['MANUAL'], got {trigger_types!r}"
            )
        self.trigger_nonce = trigger_nonce
        self.trigger_types = None if trigger_types is None else [t.upper() for t in trigger_types]
        self.max_age = None if max_age is None else timedelta(seconds=as_seconds(max_age, "max_age"))
        self.if_none = if_none

    def execute(self, context: Context) -> dict[str, Any]:
        """List the savepoints, choose, push the location; fail or skip when nothing matches."""
        from airflow_provider_flinksp.selection import choose_latest

        savepoints = self.hook.list_session_job_savepoints(self.workspace_id, self.session_id, self.job_id)
        chosen, found = choose_latest(
            savepoints.completed,
            trigger_nonce=self.trigger_nonce or None,
            trigger_types=self.trigger_types,
            max_age=self.max_age,
            now=datetime.now(timezone.utc),
        )
        if chosen is None:
            message = f"No savepoint of job {self._job} to choose: {found}"
            if self.if_none == "skip":
                raise AirflowSkipException(message)
            raise LakeSailError(message)
        self.log.info("Chose savepoint %s at %s (%s)", chosen.describe(), chosen.location, found)
        context["ti"].xcom_push(key="savepoint_location", value=chosen.location)
        return chosen.to_dict()


class LakeSailTriggerSavepointOperator(_LakeSailOperator):
    """Trigger a savepoint of a session job; optionally wait until it completed.

    The POST is made once, in the worker (never in the triggerer), and the savepoint's nonce is
    pushed under the XCom key ``trigger_nonce`` at once. Returns the triggered savepoint's dict, or
    with ``wait_for_completion`` the completed savepoint's dict; the wait follows the sensor's rules.

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param job_id: the session job ID (templated)
    :param wait_for_completion: wait until the savepoint completed (fail if it failed)
    :param poll_interval: seconds between two checks while waiting
    :param timeout: how long to wait for completion (timedelta or seconds)
    :param nonce_grace_period: how long the new savepoint may be missing from both lists
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``)
    :param lakesail_conn_id: the Airflow connection (templated)
    :param api_retry_limit: attempts per API call (default: the connection's extra, else 3; a POST is
        repeated only where the server cannot have acted on it)
    :param api_retry_delay: first backoff in seconds (default: the connection's extra, else 1.0)
    :param request_timeout: seconds per API request (default: the connection's extra, else 30)
    """

    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        poll_interval: timedelta | float = 10.0,
        timeout: timedelta | float = timedelta(hours=1),
        nonce_grace_period: timedelta | float = timedelta(minutes=2),
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.poll_interval = as_seconds(poll_interval, "poll_interval")
        self.timeout = as_seconds(timeout, "timeout")
        self.nonce_grace_period = as_seconds(nonce_grace_period, "nonce_grace_period")
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    def execute(self, context: Context) -> dict[str, Any] | None:
        """POST once, push the nonce, then return or wait."""
        from airflow_provider_flinksp.waiting import WaitTarget

        triggered = self.hook.trigger_session_job_savepoint(self.workspace_id, self.session_id, self.job_id)
        started = time.time()
        context["ti"].xcom_push(key="trigger_nonce", value=triggered.trigger_nonce)
        self.log.info("Triggered a savepoint of job %s: %s", self._job, triggered.describe())
        if not self.wait_for_completion:
            return triggered.to_dict()
        if not triggered.trigger_nonce:
            raise LakeSailResponseError(
                f"The trigger response for job {self._job} has no triggerNonce to wait for"
            )
        target = WaitTarget(
            self.workspace_id,
            self.session_id,
            self.job_id,
            triggered.trigger_nonce,
            started + self.nonce_grace_period,
        )
        deadline = started + self.timeout
        if self.deferrable:
            self._defer_until_done(target, deadline=deadline, poll_interval=self.poll_interval)
        return self._poll(target, deadline)

    def _poll(self, target: WaitTarget, deadline: float) -> dict[str, Any] | None:
        from airflow_provider_flinksp.waiting import check

        message = "no answer yet"
        while True:
            verdict = check(self.hook, target)
            if verdict.status == "success":
                self.log.info("%s", verdict.message)
                return verdict.savepoint
            if verdict.status == "failed":
                raise LakeSailSavepointFailedError(verdict.message)
            if verdict.transient_error is not None:
                self.log.warning("%s", verdict.message)
            elif verdict.message != message:
                self.log.info("%s", verdict.message)
            message = verdict.message
            remaining = deadline - time.time()
            if remaining <= 0:
                raise LakeSailError(
                    f"Timed out after {self.timeout:.0f} s waiting for the savepoint: {message}"
                )
            time.sleep(min(self.poll_interval, remaining))

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger fired: check its event and return the savepoint or fail."""
        from airflow_provider_flinksp.triggers import result_of_event

        return result_of_event(event, self.log, timeout_is_sensor_timeout=False)
