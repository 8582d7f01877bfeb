"""Gate a DAG on savepoints: :class:`LakeSailSavepointSensor`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp._compat import (
    BaseSensorOperator,
    PokeReturnValue,
    default_deferrable,
    first_poke_time,
)
from airflow_provider_flinksp.core.checks import as_seconds
from airflow_provider_flinksp.exceptions import LakeSailSavepointFailedError
from airflow_provider_flinksp.lakesail.ids import check_static_ids
from airflow_provider_flinksp.lakesail.task import LakeSailTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.lakesail.waiting import WaitTarget


class LakeSailSavepointSensor(LakeSailTask, BaseSensorOperator):
    """Wait until a session job has no pending savepoint, or until one given savepoint completed.

    Without ``trigger_nonce``: done when the pending list is empty; the XCom value is the latest
    completed savepoint's dict (None when there is none). With ``trigger_nonce``: done when a
    completed savepoint carries it; the XCom value is that savepoint's dict. The task fails without
    retrying when that savepoint is in neither list for longer than ``nonce_grace_period`` after the
    sensor started, or when the job is ``FAILED`` or ``DELETING``. Transient API errors (429, 5xx,
    the network, after the hook's retries) count as "not yet" up to the sensor's ``timeout``;
    400, 401, 403 and 404 fail at once.

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param job_id: the session job ID (templated)
    :param trigger_nonce: the nonce of the savepoint to wait for (templated), e.g. from the XCom
        ``trigger_nonce`` of :class:`~airflow_provider_flinksp.operators.LakeSailTriggerSavepointOperator`
    :param nonce_grace_period: how long a nonce may be missing from both lists before that means failure
    :param lakesail_conn_id: the Airflow connection (templated)
    :param deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``)
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
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        workspace_id: str,
        session_id: str,
        job_id: str,
        trigger_nonce: str | None = None,
        nonce_grace_period: timedelta | float = timedelta(minutes=2),
        lakesail_conn_id: str = "lakesail_default",
        deferrable: bool | None = None,
        api_retry_limit: int | None = None,
        api_retry_delay: float | None = None,
        request_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.trigger_nonce = trigger_nonce
        self.nonce_grace_period = as_seconds(nonce_grace_period, "nonce_grace_period")
        self.lakesail_conn_id = lakesail_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.api_retry_limit = api_retry_limit
        self.api_retry_delay = api_retry_delay
        self.request_timeout = request_timeout
        check_static_ids(workspace_id=workspace_id, session_id=session_id, job_id=job_id)
        self._grace_deadline: float | None = None

    def _target(self, context: Context) -> WaitTarget:
        from airflow_provider_flinksp.lakesail.waiting import WaitTarget

        if self.trigger_nonce and self._grace_deadline is None:
            started = first_poke_time(context, reschedule=self.reschedule).timestamp()
            self._grace_deadline = started + self.nonce_grace_period
        return WaitTarget(
            self.workspace_id, self.session_id, self.job_id, self.trigger_nonce or None, self._grace_deadline
        )

    def _decide(self, verdict: Verdict) -> bool:
        if verdict.status == "failed":
            raise LakeSailSavepointFailedError(verdict.message)
        self.progress.report(verdict)
        return verdict.status == "success"

    def poke(self, context: Context) -> PokeReturnValue:
        """Check once: done, not yet, or fail."""
        from airflow_provider_flinksp.lakesail.waiting import check

        verdict = check(self.hook, self._target(context))
        return PokeReturnValue(is_done=self._decide(verdict), xcom_value=verdict.savepoint)

    def execute(self, context: Context) -> Any:
        """Poke or reschedule as usual; when deferrable, check once and then defer to the trigger."""
        from airflow_provider_flinksp.lakesail.waiting import check

        if not self.deferrable:
            result = super().execute(context)
            self._publish(context, result)
            return result
        target = self._target(context)
        verdict = check(self.hook, target)
        if self._decide(verdict):
            self._publish(context, verdict.savepoint)
            return verdict.savepoint
        timeout = float(self.timeout) if self.timeout is not None else 7 * 24 * 3600.0
        self._defer_until_done(
            target, deadline=time.time() + timeout, poll_interval=float(self.poke_interval)
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger fired: check its event and return the savepoint or fail."""
        savepoint = self._read_event(event, sensor=True, nonce=self.trigger_nonce or None).savepoint
        self._publish(context, savepoint)
        return savepoint
