"""E2E-only DAGs: the shipped examples' waits in reschedule mode (the mode for deployments with no
triggerer).

The example DAGs hard-code ``deferrable=True`` and offer no param or setting to choose the mode, so
these twins keep the examples' task IDs, params and order with ``mode="reschedule"``:

- ``e2e_upgrade_reschedule``: trigger_savepoint >> wait_for_savepoint >> push_latest
- ``e2e_gate_reschedule``: wait_until_no_savepoint_pending >> latest_periodic_savepoint
- ``e2e_failover_reschedule``: like the upgrade, with one retry of the wait (the worker-kill test)
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.models.param import Param

from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

POLL_SECONDS = float(os.environ.get("LAKESAIL_EXAMPLE_POLL_SECONDS", "30"))
RESOURCE_ID = "^[A-Z0-9]{1,20}$"
JOB = {
    "workspace_id": "{{ params.workspace_id }}",
    "session_id": "{{ params.session_id }}",
    "job_id": "{{ params.job_id }}",
}
NONCE = "{{ ti.xcom_pull(task_ids='trigger_savepoint', key='trigger_nonce') }}"


def _params() -> dict[str, Param]:
    return {
        name: Param(default, type="string", pattern=RESOURCE_ID)
        for name, default in (("workspace_id", "WS1"), ("session_id", "SESS1"), ("job_id", "JOB1"))
    }


COMMON = {
    "schedule": None,
    "start_date": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "catchup": False,
    "tags": ["lakesail", "e2e"],
}


def _wait(task_id: str, *, nonce: str | None, retries: int = 0) -> LakeSailSavepointSensor:
    return LakeSailSavepointSensor(
        task_id=task_id,
        trigger_nonce=nonce,
        deferrable=False,
        mode="reschedule",
        poke_interval=POLL_SECONDS,
        timeout=timedelta(minutes=15).total_seconds(),
        retries=retries,
        retry_delay=timedelta(seconds=2),
        **JOB,
    )


for dag_id, wait_retries in (("e2e_upgrade_reschedule", 0), ("e2e_failover_reschedule", 1)):
    with DAG(dag_id=dag_id, params=_params(), **COMMON) as upgrade:
        (
            LakeSailTriggerSavepointOperator(task_id="trigger_savepoint", **JOB)
            >> _wait("wait_for_savepoint", nonce=NONCE, retries=wait_retries)
            >> LakeSailLatestSavepointOperator(task_id="push_latest", trigger_nonce=NONCE, **JOB)
        )
    globals()[dag_id] = upgrade

with DAG(dag_id="e2e_gate_reschedule", params=_params(), **COMMON) as gate:
    _wait("wait_until_no_savepoint_pending", nonce=None) >> LakeSailLatestSavepointOperator(
        task_id="latest_periodic_savepoint", trigger_types=["PERIODIC"], max_age=timedelta(hours=2), **JOB
    )
