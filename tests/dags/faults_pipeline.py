"""DAGs of tests/test_faults.py, ``faults_<profile>_<poke|deferrable>``: trigger a savepoint, gate on its
nonce, take exactly that savepoint. The tests point ``lakesail_default`` at a FakeLakeSail."""

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

IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
NONCE = "{{ ti.xcom_pull(task_ids='trigger', key='trigger_nonce') }}"

#: Per-task API retry settings of each profile (the task's settings win over the connection's).
PROFILES: dict[str, dict[str, Any]] = {
    # Random faults: 10 attempts per call (0.35**10 < 3e-5), stalls of 2 s cut at 1 s and retried.
    "pipeline": {"api_retry_limit": 10, "api_retry_delay": 0.01, "request_timeout": 1.0},
    # Outage: 2 quick attempts per call, so the hook gives up long before the outage ends.
    "outage": {"api_retry_limit": 2, "api_retry_delay": 0.01, "request_timeout": 1.0},
}


def build(profile: str, deferrable: bool) -> DAG:
    """The three-task DAG ``faults_<profile>_<poke|deferrable>``."""
    retry = PROFILES[profile]
    dag_id = f"faults_{profile}_{'deferrable' if deferrable else 'poke'}"
    with DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
        trigger = LakeSailTriggerSavepointOperator(task_id="trigger", **IDS, **retry)
        gate = LakeSailSavepointSensor(
            task_id="gate",
            **IDS,
            **retry,
            trigger_nonce=NONCE,
            poke_interval=0.2,
            timeout=60.0,
            mode="poke",
            deferrable=deferrable,
        )
        latest = LakeSailLatestSavepointOperator(task_id="latest", **IDS, **retry, trigger_nonce=NONCE)
        trigger >> gate >> latest
    return dag


DAGS = {
    f"faults_{profile}_{mode}": build(profile, mode == "deferrable")
    for profile in PROFILES
    for mode in ("poke", "deferrable")
}
globals().update(DAGS)
