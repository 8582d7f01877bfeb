"""What every LakeSail task shares: its workspace, session and connection, its hook and trigger,
its errors, and the savepoint assets its results are published to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.tasks import ApiTask
from airflow_provider_flinksp.exceptions import LakeSailError, LakeSailSavepointFailedError
from airflow_provider_flinksp.lakesail.ids import check_static_ids

if TYPE_CHECKING:
    from airflow_provider_flinksp.core.waiting import Verdict
    from airflow_provider_flinksp.lakesail.hook import LakeSailHook
    from airflow_provider_flinksp.lakesail.waiting import WaitTarget


class LakeSailTask(ApiTask):
    """Base of the LakeSail sensors and operators: waits for savepoints unless a subclass says else.

    :param workspace_id: the workspace ID (templated)
    :param session_id: the Flink session ID (templated)
    :param lakesail_conn_id: the Airflow connection (templated)
    """

    conn_id_attr = "lakesail_conn_id"
    hook_path = "airflow_provider_flinksp.lakesail.hook.LakeSailHook"
    trigger_path = "airflow_provider_flinksp.lakesail.triggers.LakeSailSavepointTrigger"
    error = LakeSailError
    failed_error = LakeSailSavepointFailedError
    hook: LakeSailHook

    def __init__(
        self, *, workspace_id: str, session_id: str, lakesail_conn_id: str = "lakesail_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.lakesail_conn_id = lakesail_conn_id
        check_static_ids(workspace_id=workspace_id, session_id=session_id)

    def _check(self, target: WaitTarget) -> Verdict:
        from airflow_provider_flinksp.lakesail.waiting import check

        return check(self.hook, target)


class LakeSailJobTask(LakeSailTask):
    """A LakeSail task about one session job.

    :param job_id: the session job ID (templated)
    """

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        check_static_ids(job_id=job_id)

    @property
    def _job(self) -> str:
        return f"{self.workspace_id}/{self.session_id}/{self.job_id}"


class LakeSailSavepointTask(LakeSailJobTask):
    """A LakeSail task about one session job's savepoints, which it publishes to assets."""

    def _publish(self, context: Any, savepoint: dict[str, Any] | None) -> None:
        """Attach the savepoint to the events of this job's savepoint assets among the outlets.

        :param context: the task's context
        :param savepoint: the savepoint's dict, or None
        """
        outlets = getattr(self, "outlets", None) or []
        if outlets:
            from airflow_provider_flinksp.assets import record_savepoint_event

            ids = (self.workspace_id, self.session_id, self.job_id)
            record_savepoint_event(context, outlets, ids, savepoint, self.log)
