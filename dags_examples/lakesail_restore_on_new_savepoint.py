"""Keep a standby copy of a LakeSail Flink session job: each time a new savepoint of the job is
recorded as an Airflow asset event, create a standby session job restored from it.

The DAG is scheduled on the job's savepoint asset (``lakesail://WS1/SESS1/JOB1``); any of the
provider's savepoint tasks with that asset in ``outlets`` records an event whose ``extra`` is the
savepoint (``location``, ``triggerType``, ``triggerNonce``, ``triggeredAt``), e.g. ``push_latest``
in ``lakesail_savepoint_upgrade.py``. Parsing this file looks nothing up.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

try:  # Airflow 3
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from airflow_provider_flinksp.assets import lakesail_savepoint_asset, savepoint_from_events
from airflow_provider_flinksp.operators import LakeSailCreateSessionJobOperator

#: Seconds between two checks of the new job's state (the demo and tests make it short).
POLL_SECONDS = float(os.environ.get("LAKESAIL_EXAMPLE_POLL_SECONDS", "30"))
RESOURCE_ID = "^[A-Z0-9]{1,20}$"
#: The production job whose savepoints this DAG follows.
SAVEPOINTS = lakesail_savepoint_asset("WS1", "SESS1", "JOB1")

DOC = """
### Restore a standby job from each new savepoint

Runs when an event of the asset `lakesail://WS1/SESS1/JOB1` (the savepoints of LakeSail session
job WS1/SESS1/JOB1) is recorded.

1. **savepoint_from_event** reads the savepoint from the triggering event's `extra` (the newest
   one, if several events triggered the run) and returns its `location`; it fails, saying why,
   when the event carries none.
2. **restore_from_savepoint** creates the standby session job (LakeSail's `CreateFlinkSessionJob`)
   with Flink's option `execution.savepoint.path` set to that location, and waits (deferred) until
   it is `RUNNING`; `FAILED` or `DELETING` fail the task without retry.

Connection: `lakesail_default`. Params: where the standby runs (`workspace_id`, `session_id`) and
what it runs (`job_name`, `jar_uri`, `entry_class`).
"""

with DAG(
    dag_id="lakesail_restore_on_new_savepoint",
    description="On each new savepoint of a job, create a standby job restored from it",
    doc_md=DOC,
    schedule=[SAVEPOINTS],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["lakesail", "flink"],
    params={
        "workspace_id": Param("WS1", type="string", pattern=RESOURCE_ID, description="standby workspace"),
        "session_id": Param("SESS1", type="string", pattern=RESOURCE_ID, description="standby session"),
        "job_name": Param("orders-standby", type="string", minLength=1, description="standby job name"),
        "jar_uri": Param("s3://bucket/jars/orders-2.0.jar", type="string", description="the job's jar"),
        "entry_class": Param("com.example.Orders", type="string", description="its entry class"),
    },
) as dag:

    @task
    def savepoint_from_event(**context: Any) -> str:
        """The location of the savepoint whose event triggered this run."""
        return str(savepoint_from_events(context, SAVEPOINTS)["location"])

    restore_from_savepoint = LakeSailCreateSessionJobOperator(
        task_id="restore_from_savepoint",
        workspace_id="{{ params.workspace_id }}",
        session_id="{{ params.session_id }}",
        name="{{ params.job_name }}",
        job={"jarUri": "{{ params.jar_uri }}", "entryClass": "{{ params.entry_class }}", "args": []},
        savepoint_location=savepoint_from_event(),
        wait_for_running=True,
        deferrable=True,
        poll_interval=POLL_SECONDS,
        timeout=timedelta(minutes=30),
    )
