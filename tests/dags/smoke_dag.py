from __future__ import annotations

import os
from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

DEFER = os.environ.get("SMOKE_DEFER") == "1"
with DAG("smoke", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
    trig = LakeSailTriggerSavepointOperator(
        task_id="trigger", workspace_id="WS1", session_id="SESS1", job_id="JOB1"
    )
    gate = LakeSailSavepointSensor(
        task_id="gate",
        workspace_id="WS1",
        session_id="SESS1",
        job_id="JOB1",
        trigger_nonce="{{ ti.xcom_pull(task_ids='trigger', key='trigger_nonce') }}",
        poke_interval=0.2,
        timeout=30,
        deferrable=DEFER,
    )
    latest = LakeSailLatestSavepointOperator(
        task_id="latest", workspace_id="WS1", session_id="SESS1", job_id="JOB1"
    )
    trig >> gate >> latest
