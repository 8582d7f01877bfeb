"""Upgrade a Flink job through a savepoint, on any Flink cluster's REST API.

Take a savepoint (or stop the job with one), wait until exactly that savepoint completed, push its
location into XCom, and start the new version of the job from it. The job, the jar and the mode are
DAG params, rendered through Jinja when the tasks run: parsing this file looks nothing up (no
connection, no Variable, no HTTP request).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG, Param
    from airflow.sdk.bases.operator import chain
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.models.baseoperator import chain
    from airflow.models.param import Param

from airflow_provider_flinksp.operators import (
    FlinkLatestSavepointOperator,
    FlinkRunJarOperator,
    FlinkTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import FlinkSavepointSensor

#: Seconds between two checks (the demo and tests make it short).
POLL_SECONDS = float(os.environ.get("FLINK_EXAMPLE_POLL_SECONDS", "10"))
HEX32 = "^[0-9a-fA-F]{32}$"
JOB = "{{ params.job_id }}"
TRIGGER_ID = "{{ ti.xcom_pull(task_ids='savepoint', key='trigger_id') }}"

DOC = """
### Savepoint, then upgrade a Flink job

1. **savepoint** POSTs one savepoint (with `stop: true`, stops the job with it) and pushes its
   `trigger_id` at once. The request carries a client-chosen trigger ID, so a retried POST takes
   no second savepoint.
2. **wait_for_savepoint** waits (deferred, in the triggerer) until *that* savepoint completed; it
   fails with Flink's reason if the savepoint failed, or if the job ended first.
3. **push_latest** pushes that savepoint's dict and its `savepoint_location`.
4. **restore** starts the jar (the upgraded job) from `savepoint_location` and waits until it runs.

Connection: `flink_default` (host = the REST URL, e.g. `http://jobmanager:8081`; login + password
for basic auth, or a password alone for a bearer token; extra `savepoint_dir` for the target).
Params: `job_id` (32 hex digits), `jar_id` (from `POST /jars/upload`), `entry_class`, `stop`.
"""

with DAG(
    dag_id="flink_savepoint_upgrade",
    description="Savepoint (or stop with one), wait for it, restore the upgraded job from it",
    doc_md=DOC,
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["flink"],
    params={
        "job_id": Param("0" * 32, type="string", pattern=HEX32, description="the running job's ID"),
        "jar_id": Param("upgraded_job.jar", type="string", description="the new version's uploaded jar ID"),
        "entry_class": Param("", type="string", description="its main class (empty: the manifest's)"),
        "stop": Param(False, type="boolean", description="stop the old job with the savepoint"),
    },
) as dag:
    savepoint = FlinkTriggerSavepointOperator(task_id="savepoint", job_id=JOB, stop="{{ params.stop }}")

    wait_for_savepoint = FlinkSavepointSensor(
        task_id="wait_for_savepoint",
        job_id=JOB,
        trigger_id=TRIGGER_ID,
        deferrable=True,  # or mode="reschedule" where no triggerer runs
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=1).total_seconds(),
    )

    push_latest = FlinkLatestSavepointOperator(task_id="push_latest", job_id=JOB, trigger_id=TRIGGER_ID)

    restore = FlinkRunJarOperator(
        task_id="restore",
        jar_id="{{ params.jar_id }}",
        entry_class="{{ params.entry_class }}",
        savepoint_path="{{ ti.xcom_pull(task_ids='push_latest', key='savepoint_location') }}",
        deferrable=True,
        poll_interval=POLL_SECONDS,
    )

    chain(savepoint, wait_for_savepoint, push_latest, restore)
