"""Run maintenance on a LakeSail Flink session job only while no savepoint is in flight and a
recent periodic savepoint is there to fall back to.

The job takes periodic savepoints by itself (``kubernetes.operator.periodic.savepoint.interval``).
The gate waits, deferred, until no savepoint is pending; then the latest periodic savepoint must be
younger than ``MAX_AGE``, or the run fails before the maintenance starts. The IDs are DAG params,
rendered when the tasks run: parsing this file looks nothing up.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Any

try:  # Airflow 3
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from airflow_provider_flinksp.operators import LakeSailLatestSavepointOperator
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

log = logging.getLogger(__name__)

#: Seconds between two checks of the savepoint list (the demo and tests make it short).
POLL_SECONDS = float(os.environ.get("LAKESAIL_EXAMPLE_POLL_SECONDS", "30"))
#: The newest periodic savepoint must be at most this old.
MAX_AGE = timedelta(hours=2)
RESOURCE_ID = "^[A-Z0-9]{1,20}$"

JOB = {
    "workspace_id": "{{ params.workspace_id }}",
    "session_id": "{{ params.session_id }}",
    "job_id": "{{ params.job_id }}",
}

DOC = f"""
### Gate maintenance of a LakeSail Flink session job on periodic savepoints

1. **wait_until_no_savepoint_pending** waits in the triggerer (no worker slot) until the job's
   pending list is empty; it fails if the job is `FAILED` or `DELETING`.
2. **latest_periodic_savepoint** pushes the newest `PERIODIC` savepoint (and its
   `savepoint_location`); it fails when there is none younger than {MAX_AGE}.
3. **maintenance** runs with that savepoint as the recovery point.

Connection: `lakesail_default`. Params: `workspace_id`, `session_id`, `job_id`.
"""

with DAG(
    dag_id="lakesail_periodic_gate",
    description="Wait until no savepoint is pending and a recent periodic one exists, then maintain",
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
    gate = LakeSailSavepointSensor(
        task_id="wait_until_no_savepoint_pending",
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=1).total_seconds(),
        **JOB,
    )

    latest_periodic = LakeSailLatestSavepointOperator(
        task_id="latest_periodic_savepoint",
        trigger_types=["PERIODIC"],
        max_age=MAX_AGE,
        **JOB,
    )

    @task
    def maintenance(savepoint: dict[str, Any]) -> str:
        """Stand-in for the real work (compaction, schema change, ...); returns the recovery point."""
        log.info(
            "No savepoint pending; recovery point %s (%s, triggered %s). Maintenance would run here.",
            savepoint["location"],
            savepoint["triggerType"],
            savepoint["triggeredAt"],
        )
        return str(savepoint["location"])

    gate >> latest_periodic
    maintenance(latest_periodic.output)
