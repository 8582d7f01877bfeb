"""Restore a LakeSail Flink session job from its latest completed savepoint, if there is one.

The smallest useful DAG: push the latest restorable savepoint's location into XCom and hand it to
a restore task. With no savepoint to restore from, both tasks are skipped instead of failing. The
IDs are DAG params, rendered when the tasks run: parsing this file looks nothing up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

try:  # Airflow 3
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from airflow_provider_flinksp.operators import LakeSailLatestSavepointOperator

log = logging.getLogger(__name__)
RESOURCE_ID = "^[A-Z0-9]{1,20}$"

DOC = """
### Restore from the latest savepoint

1. **push_latest** pushes the latest restorable completed savepoint (greatest `triggeredAt`,
   savepoints without a location passed over) and its `savepoint_location`; with none it skips
   (`if_none="skip"`), and so does the restore.
2. **restore_from_savepoint** reads `savepoint_location` from XCom.

LakeSail documents no restore field of its own; Flink reads the savepoint's path from its option
`execution.savepoint.path`, which the restore task returns here. To create the job from it, use
`LakeSailCreateSessionJobOperator(savepoint_location=...)`, as `lakesail_savepoint_upgrade.py` does.

Connection: `lakesail_default`. Params: `workspace_id`, `session_id`, `job_id`.
"""

with DAG(
    dag_id="lakesail_latest_for_restore",
    description="Push the latest savepoint's location and restore from it (skip when there is none)",
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
    push_latest = LakeSailLatestSavepointOperator(
        task_id="push_latest",
        workspace_id="{{ params.workspace_id }}",
        session_id="{{ params.session_id }}",
        job_id="{{ params.job_id }}",
        if_none="skip",
    )

    @task
    def restore_from_savepoint(location: str) -> dict[str, str]:
        """Where the location goes: LakeSail documents no restore field; Flink reads
        ``execution.savepoint.path``."""
        log.info(
            "LakeSail does not document a restore field; a Flink job restores from the configuration "
            "option execution.savepoint.path. Restore would set execution.savepoint.path=%s",
            location,
        )
        return {"execution.savepoint.path": location}

    restore_from_savepoint(push_latest.output["savepoint_location"])
