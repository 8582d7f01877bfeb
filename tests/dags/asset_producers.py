"""The three savepoint tasks that record savepoint asset events, for tests/lakesail/test_assets.py:
the trigger operator (waiting, polling), the sensor (deferred) and the latest operator, each with
the job's savepoint asset in ``outlets``; ``other_job`` has another job's asset (no savepoint)."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,assignment]

from airflow_provider_flinksp.assets import lakesail_savepoint_asset
from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
SAVEPOINTS = lakesail_savepoint_asset("WS1", "SESS1", "JOB1")
OTHER = lakesail_savepoint_asset("WS1", "SESS1", "JOB9")
NONCE = "{{ ti.xcom_pull(task_ids='trigger', key='trigger_nonce') }}"

with DAG("asset_producers", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
    trigger = LakeSailTriggerSavepointOperator(
        task_id="trigger", wait_for_completion=True, poll_interval=0.1, outlets=[SAVEPOINTS], **IDS
    )
    gate = LakeSailSavepointSensor(
        task_id="gate", trigger_nonce=NONCE, deferrable=True, poke_interval=0.1, outlets=[SAVEPOINTS], **IDS
    )
    latest = LakeSailLatestSavepointOperator(task_id="latest", outlets=[SAVEPOINTS], **IDS)
    other_job = LakeSailLatestSavepointOperator(task_id="other_job", outlets=[OTHER], **IDS)
    trigger >> gate >> latest >> other_job
