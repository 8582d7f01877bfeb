"""A DAG that gates on a savepoint with :class:`LakeSailSavepointSensor`, for tests/lakesail/test_sensors.py.

Shaped at import time by environment variables (every one has a default, so the file also parses
when another test's ``dag.test()`` walks the DAGs folder):

- ``SENSOR_DAG_MODE``: ``poke`` (default), ``reschedule`` or ``deferrable``
- ``SENSOR_DAG_TRIGGER``: ``1`` (default) puts a ``trigger`` task before the gate
- ``SENSOR_DAG_NONCE``: ``xcom`` (default) gates on the trigger task's nonce; empty: no nonce
- ``SENSOR_DAG_TIMEOUT``, ``SENSOR_DAG_GRACE``, ``SENSOR_DAG_POKE``: seconds
- ``SENSOR_DAG_RETRIES``: the gate's task retries (default 1, with a short task ``retry_delay``, so
  that a failure that should not be retried would show quickly as a second try)
- ``FLINKSP_TEST_OUTCOMES``: a file to which the ``report`` task and the gate's failure callback append
  one JSON line each (nothing is written without it)
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,assignment]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

from airflow_provider_flinksp.operators import LakeSailTriggerSavepointOperator
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

MODE = os.environ.get("SENSOR_DAG_MODE", "poke")
WITH_TRIGGER = os.environ.get("SENSOR_DAG_TRIGGER", "1") == "1"
NONCE = os.environ.get("SENSOR_DAG_NONCE", "xcom")
TIMEOUT = float(os.environ.get("SENSOR_DAG_TIMEOUT", "10"))
GRACE = float(os.environ.get("SENSOR_DAG_GRACE", "120"))
POKE = float(os.environ.get("SENSOR_DAG_POKE", "0.2"))
RETRIES = int(os.environ.get("SENSOR_DAG_RETRIES", "1"))
OUT = os.environ.get("FLINKSP_TEST_OUTCOMES", "")

NONCE_TEMPLATE = "{{ ti.xcom_pull(task_ids='trigger', key='trigger_nonce') }}"


def _write(record: dict[str, Any]) -> None:
    if OUT:
        with open(OUT, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


def _on_gate_failure(context: Any) -> None:
    """Record why the gate failed: the exception's type and text."""
    exc = context.get("exception")
    _write({"event": "gate_failed", "error_type": type(exc).__name__, "error": str(exc)})


with DAG("sensor_gate", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
    gate = LakeSailSavepointSensor(
        task_id="gate",
        workspace_id="WS1",
        session_id="SESS1",
        job_id="JOB1",
        trigger_nonce=NONCE_TEMPLATE if NONCE == "xcom" else (NONCE or None),
        nonce_grace_period=GRACE,
        mode="reschedule" if MODE == "reschedule" else "poke",
        deferrable=MODE == "deferrable",
        poke_interval=POKE,
        timeout=TIMEOUT,
        retries=RETRIES,
        retry_delay=timedelta(seconds=0.1),
        on_failure_callback=_on_gate_failure,
    )

    @task(task_id="report")
    def report(**context: Any) -> None:
        """Pull the gate's XCom (and the trigger's nonce) and write them down for the test."""
        ti = context["ti"]
        _write(
            {
                "event": "report",
                "gate": ti.xcom_pull(task_ids="gate"),
                "nonce": ti.xcom_pull(task_ids="trigger", key="trigger_nonce") if WITH_TRIGGER else None,
            }
        )

    if WITH_TRIGGER:
        trigger = LakeSailTriggerSavepointOperator(
            task_id="trigger", workspace_id="WS1", session_id="SESS1", job_id="JOB1"
        )
        trigger >> gate
    gate >> report()
