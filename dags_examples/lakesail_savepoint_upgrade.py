"""Take a fresh savepoint of a LakeSail Flink session job and hand its location to a restore step.

The shape of a job upgrade: trigger a savepoint, wait until exactly that savepoint completed, push
its location into XCom, and restore (redeploy) the job from it. The IDs are DAG params, rendered
through Jinja when the tasks run: parsing this file looks nothing up (no connection, no Variable,
no HTTP request).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

log = logging.getLogger(__name__)

#: Seconds between two checks of the savepoint list (the demo and tests make it short).
POLL_SECONDS = float(os.environ.get("LAKESAIL_EXAMPLE_POLL_SECONDS", "30"))
RESOURCE_ID = "^[A-Z0-9]{1,20}$"

#: Templated IDs: rendered from the run's params when each task runs.
JOB = {
    "workspace_id": "{{ params.workspace_id }}",
    "session_id": "{{ params.session_id }}",
    "job_id": "{{ params.job_id }}",
}
NONCE = "{{ ti.xcom_pull(task_ids='trigger_savepoint', key='trigger_nonce') }}"

DOC = """
### Savepoint, then upgrade a LakeSail Flink session job

1. **trigger_savepoint** POSTs one savepoint and pushes its `trigger_nonce`.
2. **wait_for_savepoint** waits (deferred, in the triggerer) until *that* savepoint completed; it
   fails if the savepoint failed, vanished or the job stopped.
3. **push_latest** pushes that savepoint's dict and its `savepoint_location`.
4. **restore_from_savepoint** reads `savepoint_location` from XCom and shows where it goes.

Connection: `lakesail_default` (host = the LakeSail root URL, password = the API key).
Params: `workspace_id`, `session_id`, `job_id` (LakeSail resource IDs: 1-20 of `A-Z0-9`). To take
them from Variables instead, template them, e.g. `"{{ var.value.lakesail_job_id }}"`: templates
are rendered when the task runs, not when the file is parsed.

LakeSail does not document how to restore a session job from a savepoint. Plain Flink takes the
path in the configuration option `execution.savepoint.path`; the restore task returns that
setting for you to apply to the job's deployment.
"""

with DAG(
    dag_id="lakesail_savepoint_upgrade",
    description="Trigger a savepoint, wait for it, push its location, restore from it",
    doc_md=DOC,
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["lakesail", "flink"],
    params={
        "workspace_id": Param("WS1", type="string", pattern=RESOURCE_ID, description="workspace ID"),
        "session_id": Param("SESS1", type="string", pattern=RESOURCE_ID, description="Flink session ID"),
        "job_id": Param("JOB1", type="string", pattern=RESOURCE_ID, description="session job ID"),
    },
) as dag:
    trigger_savepoint = LakeSailTriggerSavepointOperator(task_id="trigger_savepoint", **JOB)

    wait_for_savepoint = LakeSailSavepointSensor(
        task_id="wait_for_savepoint",
        trigger_nonce=NONCE,
        deferrable=True,  # or mode="reschedule" where no triggerer runs
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=1).total_seconds(),
        **JOB,
    )

    push_latest = LakeSailLatestSavepointOperator(task_id="push_latest", trigger_nonce=NONCE, **JOB)

    @task
    def restore_from_savepoint(location: str) -> dict[str, str]:
        """Show where the savepoint's location goes when the job is restored.

        LakeSail documents no restore field for session jobs; plain Flink restores from the path in
        the configuration option ``execution.savepoint.path``. Apply that setting when you redeploy
        the job (for example, the upgraded job's Flink configuration).
        """
        log.info(
            "LakeSail does not document a restore field; a Flink job restores from the configuration "
            "option execution.savepoint.path. Restore would set execution.savepoint.path=%s",
            location,
        )
        return {"execution.savepoint.path": location}

    restore = restore_from_savepoint(push_latest.output["savepoint_location"])

    trigger_savepoint >> wait_for_savepoint >> push_latest >> restore
