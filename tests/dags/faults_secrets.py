"""DAGs for the secrets tests: the usual trigger, gate and latest tasks, plus a control task.

The control task deliberately logs the connection's password behind the marker ``CONTROL:``. It
shows that the captured output really contains task logs and that nothing masked them, so the
absence of the token everywhere else means the provider never logged it.
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
NONCE = "{{ ti.xcom_pull(task_ids='trigger', key='trigger_nonce') }}"
CONTROL_MARKER = "CONTROL:"


@task
def control() -> None:
    """Log the password on purpose (the positive control of the log capture)."""
    import logging

    from airflow_provider_flinksp.hooks import LakeSailHook

    password = LakeSailHook.get_connection("lakesail_default").password
    logging.getLogger("airflow.task").warning("%s", CONTROL_MARKER + password)


def build(deferrable: bool) -> DAG:
    """``faults_secrets_<poke|deferrable>``: control >> trigger >> gate >> latest.

    :param deferrable: whether the gate waits in the triggerer
    """
    dag_id = f"faults_secrets_{'deferrable' if deferrable else 'poke'}"
    with DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
        trigger = LakeSailTriggerSavepointOperator(task_id="trigger", **IDS, api_retry_limit=5)
        gate = LakeSailSavepointSensor(
            task_id="gate",
            **IDS,
            trigger_nonce=NONCE,
            poke_interval=0.2,
            timeout=30,
            deferrable=deferrable,
            api_retry_limit=5,
        )
        latest = LakeSailLatestSavepointOperator(
            task_id="latest", **IDS, trigger_nonce=NONCE, api_retry_limit=5
        )
        control() >> trigger >> gate >> latest
    return dag


DAGS = {dag.dag_id: dag for dag in (build(False), build(True))}
globals().update(DAGS)
