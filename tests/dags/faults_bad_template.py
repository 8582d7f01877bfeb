"""A DAG whose IDs are templates, which tests/lakesail/test_ids.py renders to bad values through
``run_conf``: every task must fail with a ValueError naming the bad parameter, before any request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

#: (task_id, exception) for every task that failed, in the order the callbacks ran.
FAILURES: list[tuple[str, BaseException | None]] = []


def _record_failure(context: Any) -> None:
    FAILURES.append((context["ti"].task_id, context.get("exception")))


IDS = {name: "{{ params." + name + " }}" for name in ("workspace_id", "session_id", "job_id")}

with DAG(
    "faults_bad_template",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    params={"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"},
    default_args={"on_failure_callback": _record_failure, "retries": 0},
) as dag:
    LakeSailSavepointSensor(task_id="sensor_poke", **IDS, poke_interval=0.1, timeout=5, deferrable=False)
    LakeSailSavepointSensor(task_id="sensor_deferrable", **IDS, poke_interval=0.1, timeout=5, deferrable=True)
    LakeSailLatestSavepointOperator(task_id="latest", **IDS, if_none="skip")
    LakeSailTriggerSavepointOperator(task_id="trigger", **IDS)
