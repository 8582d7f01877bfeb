"""Gate a DAG on savepoints: :class:`LakeSailSavepointSensor`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp._compat import BaseSensorOperator, first_poke_time
from airflow_provider_flinksp.core.checks import as_seconds
from airflow_provider_flinksp.core.tasks import SensorTask
from airflow_provider_flinksp.lakesail.task import LakeSailSavepointTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.lakesail.waiting import WaitTarget


class LakeSailSavepointSensor(LakeSailSavepointTask, SensorTask, BaseSensorOperator):
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
    :param kwargs: ``api_retry_limit``, ``api_retry_delay``, ``request_timeout`` (see
        :class:`~airflow_provider_flinksp.core.tasks.ApiTask`) and the sensor's usual arguments
    """

    template_fields = ("workspace_id", "session_id", "job_id", "trigger_nonce", "lakesail_conn_id")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        trigger_nonce: str | None = None,
        nonce_grace_period: timedelta | float = timedelta(minutes=2),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trigger_nonce = trigger_nonce
        self.nonce_grace_period = as_seconds(nonce_grace_period, "nonce_grace_period")
        self._grace_deadline: float | None = None

    def _target(self, context: Context) -> WaitTarget:
        from airflow_provider_flinksp.lakesail.waiting import WaitTarget

        if self.trigger_nonce and self._grace_deadline is None:
            started = first_poke_time(context, reschedule=self.reschedule).timestamp()
            self._grace_deadline = started + self.nonce_grace_period
        return WaitTarget(
            self.workspace_id, self.session_id, self.job_id, self.trigger_nonce or None, self._grace_deadline
        )

    def _nonce(self) -> str | None:
        return self.trigger_nonce or None
