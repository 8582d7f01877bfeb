"""Upgrade a LakeSail Flink session job from a fresh savepoint: trigger it, wait for it, take its
location, and create the upgraded session job restored from it, then wait until that job runs.

The IDs and the new job's jar are DAG params, rendered through Jinja when the tasks run: parsing
this file looks nothing up (no connection, no Variable, no HTTP request).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.models.param import Param

from airflow_provider_flinksp.assets import lakesail_savepoint_asset
from airflow_provider_flinksp.operators import (
    LakeSailCreateSessionJobOperator,
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor, LakeSailSessionJobSensor

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
LOCATION = "{{ ti.xcom_pull(task_ids='push_latest', key='savepoint_location') }}"
NEW_JOB_ID = "{{ ti.xcom_pull(task_ids='restore_from_savepoint', key='job_id') }}"
#: The savepoints of the default job as an asset: push_latest records each one it takes, and
#: lakesail_restore_on_new_savepoint.py runs on it. (Outlets are fixed when the file is parsed:
#: a run for other IDs records an event without a savepoint, and the provider logs a warning.)
SAVEPOINTS = lakesail_savepoint_asset("WS1", "SESS1", "JOB1")

DOC = """
### Savepoint, then upgrade a LakeSail Flink session job

1. **trigger_savepoint** POSTs one savepoint and pushes its `trigger_nonce`.
2. **wait_for_savepoint** waits (deferred, in the triggerer) until *that* savepoint completed; it
   fails if the savepoint failed, vanished or the job stopped.
3. **push_latest** pushes that savepoint's dict and its `savepoint_location`, and records it as an
   event of the job's savepoint asset (`lakesail://WS1/SESS1/JOB1`).
4. **restore_from_savepoint** creates the upgraded session job (`CreateFlinkSessionJob`, documented
   by LakeSail) with Flink's option `execution.savepoint.path` set to that location (Flink's own
   restore option: LakeSail documents no restore field of its own), and pushes the new `job_id`.
5. **wait_until_running** waits (deferred) until the new job is `RUNNING`; it fails, without retry,
   if the job is `FAILED` or `DELETING`.

Stopping the old job is not shown: do it once the new one runs, the way your deployment does.

Connection: `lakesail_default` (host = the LakeSail root URL, password = the API key).
Params: `workspace_id`, `session_id`, `job_id` (LakeSail resource IDs: 1-20 of `A-Z0-9`), and the
upgraded job's `job_name`, `jar_uri` and `entry_class`. To take them from Variables instead,
template them, e.g. `"{{ var.value.lakesail_job_id }}"`: templates are rendered when the task runs,
not when the file is parsed.
"""

with DAG(
    dag_id="lakesail_savepoint_upgrade",
    description="Trigger a savepoint, wait for it, create the upgraded job from it, wait until it runs",
    doc_md=DOC,
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["lakesail", "flink"],
    params={
        "workspace_id": Param("WS1", type="string", pattern=RESOURCE_ID, description="workspace ID"),
        "session_id": Param("SESS1", type="string", pattern=RESOURCE_ID, description="Flink session ID"),
        "job_id": Param("JOB1", type="string", pattern=RESOURCE_ID, description="session job ID"),
        "job_name": Param("orders-v2", type="string", minLength=1, description="the upgraded job's name"),
        "jar_uri": Param("s3://bucket/jars/orders-2.0.jar", type="string", description="the upgraded jar"),
        "entry_class": Param("com.example.Orders", type="string", description="its entry class"),
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

    push_latest = LakeSailLatestSavepointOperator(
        task_id="push_latest", trigger_nonce=NONCE, outlets=[SAVEPOINTS], **JOB
    )

    restore_from_savepoint = LakeSailCreateSessionJobOperator(
        task_id="restore_from_savepoint",
        workspace_id="{{ params.workspace_id }}",
        session_id="{{ params.session_id }}",
        name="{{ params.job_name }}",
        job={"jarUri": "{{ params.jar_uri }}", "entryClass": "{{ params.entry_class }}", "args": []},
        savepoint_location=LOCATION,  # sets Flink's execution.savepoint.path
        wait_for_running=False,  # the sensor below waits, deferred
    )

    wait_until_running = LakeSailSessionJobSensor(
        task_id="wait_until_running",
        workspace_id="{{ params.workspace_id }}",
        session_id="{{ params.session_id }}",
        job_id=NEW_JOB_ID,
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(minutes=30).total_seconds(),
    )

    trigger_savepoint >> wait_for_savepoint >> push_latest >> restore_from_savepoint >> wait_until_running
