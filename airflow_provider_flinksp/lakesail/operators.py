"""LakeSail operators: push the latest completed savepoint into XCom; trigger a savepoint."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.checks import as_seconds
from airflow_provider_flinksp.core.latest import LatestSavepointTask
from airflow_provider_flinksp.core.tasks import WaitingOperator
from airflow_provider_flinksp.exceptions import LakeSailApiError, LakeSailError, LakeSailResponseError
from airflow_provider_flinksp.lakesail.task import LakeSailSavepointTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.models import Savepoint

#: What the trigger operator does when a savepoint is already pending.
IF_PENDING = ("wait", "fail")
#: Statuses with which a server may refuse a savepoint while another one is pending.
PENDING_REFUSALS = frozenset({400, 409})
#: After such a refusal with nothing listed as pending, look for it this long before giving up.
REFUSAL_RECHECK_SECONDS = 5.0


class LakeSailLatestSavepointOperator(LakeSailSavepointTask, LatestSavepointTask):
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
    :param kwargs: the API settings of :class:`~airflow_provider_flinksp.core.tasks.ApiTask`
    """

    template_fields = ("workspace_id", "session_id", "job_id", "trigger_nonce", "lakesail_conn_id")
    ui_color = "#dff5e1"

    def __init__(
        self, *, trigger_nonce: str | None = None, trigger_types: Collection[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(trigger_types, str) or (
            trigger_types is not None and not all(isinstance(t, str) for t in trigger_types)
        ):
            raise ValueError(
                f"trigger_types must be a list of strings such as ['MANUAL'], got {trigger_types!r}"
            )
        self.trigger_nonce = trigger_nonce
        self.trigger_types = None if trigger_types is None else [t.upper() for t in trigger_types]

    def _choose(self) -> tuple[Savepoint | None, str]:
        from airflow_provider_flinksp.core.selection import choose_latest

        savepoints = self.hook.list_session_job_savepoints(self.workspace_id, self.session_id, self.job_id)
        return choose_latest(
            savepoints.completed,
            trigger_nonce=self.trigger_nonce or None,
            trigger_types=self.trigger_types,
            max_age=self.max_age,
            now=datetime.now(timezone.utc),
        )


class LakeSailTriggerSavepointOperator(LakeSailSavepointTask, WaitingOperator):
    """Trigger a savepoint of a session job; optionally wait until it completed.

    The POST is made in the worker (never in the triggerer), and the savepoint's nonce is pushed
    under the XCom key ``trigger_nonce`` at once. A job takes one savepoint at a time, and a
    periodic one may be in flight: when the list shows a pending savepoint before the POST, or the
    POST is refused (400 or 409) while one is pending, ``if_pending="wait"`` waits until nothing is
    pending (in the triggerer when deferrable) and POSTs then; ``"fail"`` fails at once, naming
    the pending savepoint. Either way exactly one savepoint of this task's is triggered. Returns
    the triggered savepoint's dict, or with ``wait_for_completion`` the completed savepoint's dict;
    that wait follows the sensor's rules.

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param job_id: the session job ID (templated)
    :param wait_for_completion: wait until the savepoint completed (fail if it failed)
    :param if_pending: ``"wait"`` (default) or ``"fail"`` when another savepoint is pending
    :param poll_interval: seconds between two checks while waiting
    :param timeout: how long the task may wait in all, for a pending savepoint and for its own
        (timedelta or seconds)
    :param nonce_grace_period: how long the new savepoint may be missing from both lists
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``)
    :param lakesail_conn_id: the Airflow connection (templated)
    :param kwargs: the API settings of :class:`~airflow_provider_flinksp.core.tasks.ApiTask` (a POST
        is repeated only where the server cannot have acted on it)
    """

    template_fields: Sequence[str] = ("workspace_id", "session_id", "job_id", "lakesail_conn_id")
    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        if_pending: str = "wait",
        nonce_grace_period: timedelta | float = timedelta(minutes=2),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_pending not in IF_PENDING:
            raise ValueError(f'if_pending must be "wait" or "fail", got {if_pending!r}')
        self.wait_for_completion = wait_for_completion
        self.if_pending = if_pending
        self.nonce_grace_period = as_seconds(nonce_grace_period, "nonce_grace_period")

    def execute(self, context: Context) -> dict[str, Any] | None:
        """Wait out a pending savepoint if need be, POST once, push the nonce, then return or wait."""
        return self._trigger(context, deadline=time.time() + self.timeout)

    def execute_after_pending(
        self, context: Context, event: dict[str, Any] | None = None, deadline: float | None = None
    ) -> dict[str, Any] | None:
        """Resume once the pending savepoint has finished: POST now.

        :param context: the task's context
        :param event: what the trigger sent
        :param deadline: the task's deadline, epoch seconds
        """
        self._read_event(event, sensor=False)
        return self._trigger(context, deadline=deadline or time.time() + self.timeout)

    def _trigger(self, context: Context, *, deadline: float) -> dict[str, Any] | None:
        from airflow_provider_flinksp.lakesail.waiting import WaitTarget

        ids = (self.workspace_id, self.session_id, self.job_id)
        while True:
            if time.time() >= deadline:
                raise LakeSailError(
                    f"Timed out after {self.timeout:.0f} s waiting for job {self._job}'s pending savepoint"
                )
            pending = self._pending(ids)
            if not pending:
                try:
                    triggered = self.hook.trigger_session_job_savepoint(*ids)
                    break
                except LakeSailApiError as exc:
                    if exc.status_code not in PENDING_REFUSALS:
                        raise
                    pending = self._pending_after_refusal(ids)
                    if not pending:
                        raise
                    self.log.info("The savepoint was refused while another is pending: %s", exc)
            self._on_pending(pending[0])
            self._wait(
                WaitTarget(*ids),
                deadline=deadline,
                method_name="execute_after_pending",
                kwargs={"deadline": deadline},
            )
        return self._after_trigger(context, triggered, deadline)

    def _pending(self, ids: tuple[str, str, str]) -> list[Savepoint]:
        """The pending savepoint, if any; a transient error says nothing (the POST then decides)."""
        try:
            return self.hook.list_session_job_savepoints(*ids).pending
        except LakeSailError as exc:
            if not exc.transient:
                raise
            self.log.warning("Could not see whether a savepoint is pending (%s); triggering anyway", exc)
            return []

    def _pending_after_refusal(self, ids: tuple[str, str, str]) -> list[Savepoint]:
        """After a 400/409: the pending savepoint, looked for a few seconds (one may be listed a
        moment after it started); empty when none shows, and the refusal stands."""
        until = time.monotonic() + REFUSAL_RECHECK_SECONDS
        while True:
            pending = self._pending(ids)
            if pending or time.monotonic() >= until:
                return pending
            time.sleep(min(self.poll_interval, REFUSAL_RECHECK_SECONDS))

    def _on_pending(self, pending: Savepoint) -> None:
        message = f"Job {self._job} has a savepoint pending ({pending.describe()})"
        if self.if_pending == "fail":
            raise LakeSailError(f"{message}, and if_pending='fail': not triggering another")
        self.log.info("%s: waiting until it finishes before triggering (if_pending='wait')", message)

    def _after_trigger(
        self, context: Context, triggered: Savepoint, deadline: float
    ) -> dict[str, Any] | None:
        from airflow_provider_flinksp.lakesail.waiting import WaitTarget

        started = time.time()
        context["ti"].xcom_push(key="trigger_nonce", value=triggered.trigger_nonce)
        self.log.info("Triggered a savepoint of job %s: %s", self._job, triggered.describe())
        if not self.wait_for_completion:
            self._publish(context, triggered.to_dict())
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
        savepoint = self._wait(target, deadline=deadline, kwargs={"nonce": triggered.trigger_nonce}).savepoint
        self._publish(context, savepoint)
        return savepoint

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, nonce: str | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger fired: check its event and return the savepoint or fail.

        :param context: the task's context
        :param event: what the trigger sent
        :param nonce: the savepoint awaited
        """
        savepoint = self._read_event(event, sensor=False, nonce=nonce).savepoint
        self._publish(context, savepoint)
        return savepoint
