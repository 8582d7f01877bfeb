"""Create a session job from a savepoint and wait for it, for tests/lakesail/test_restore_dags.py.

Shaped at import time by environment variables (each has a default, so the file also parses when
another test's ``dag.test()`` walks the DAGs folder):

- ``RESTORE_DAG_MODE``: ``poke`` (default) or ``deferrable``
- ``RESTORE_DAG_WAIT``: ``operator`` (default: the create operator waits for RUNNING) or ``sensor``
  (the operator returns at once and a LakeSailSessionJobSensor waits)
- ``RESTORE_DAG_SAVEPOINT``: the savepoint location to restore from (empty: none)
- ``RESTORE_DAG_TIMEOUT``: seconds to wait for RUNNING
- ``FLINKSP_TEST_OUTCOMES``: a file the failure callbacks append one JSON line to
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,assignment]

from airflow_provider_flinksp.operators import LakeSailCreateSessionJobOperator
from airflow_provider_flinksp.sensors import LakeSailSessionJobSensor

MODE = os.environ.get("RESTORE_DAG_MODE", "poke")
WAIT = os.environ.get("RESTORE_DAG_WAIT", "operator")
SAVEPOINT = os.environ.get("RESTORE_DAG_SAVEPOINT", "")
TIMEOUT = float(os.environ.get("RESTORE_DAG_TIMEOUT", "20"))
OUT = os.environ.get("FLINKSP_TEST_OUTCOMES", "")


def _on_failure(context: Any) -> None:
    exc = context.get("exception")
    if OUT:
        record = {"task_id": context["ti"].task_id, "error_type": type(exc).__name__, "error": str(exc)}
        with open(OUT, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


FAILING = {"retries": 1, "retry_delay": timedelta(seconds=0.1), "on_failure_callback": _on_failure}

with DAG(
    "restore_jobs",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    params={"savepoint": SAVEPOINT},
) as dag:
    create = LakeSailCreateSessionJobOperator(
        task_id="create",
        workspace_id="WS1",
        session_id="SESS1",
        name="orders-{{ params.savepoint and 'restored' or 'fresh' }}",
        job={
            "jarUri": "s3://bucket/jars/orders-2.jar",
            "entryClass": "com.example.Orders",
            "args": ["--v", "2"],
        },
        flink_configuration={"parallelism.default": "2"},
        savepoint_location=SAVEPOINT or None,
        allow_non_restored_state=bool(SAVEPOINT),
        wait_for_running=WAIT == "operator",
        poll_interval=0.1,
        timeout=TIMEOUT,
        deferrable=MODE == "deferrable",
        **FAILING,
    )
    if WAIT == "sensor":
        watch = LakeSailSessionJobSensor(
            task_id="watch",
            workspace_id="WS1",
            session_id="SESS1",
            job_id="{{ ti.xcom_pull(task_ids='create', key='job_id') }}",
            deferrable=MODE == "deferrable",
            poke_interval=0.1,
            timeout=TIMEOUT,
            **FAILING,
        )
        create >> watch
