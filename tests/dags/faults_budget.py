"""DAGs for the request-budget tests.

``faults_budget_poke`` and ``faults_budget_deferrable``: a lone gate that waits for "nothing pending"
while the fake fails; at most 3 attempts per API call, 0.15 s each, every 0.3 s, giving up after 1 s.
``faults_budget_task_retry``: one operator that Airflow itself retries, to check that the provider's
operators leave Airflow's task retries working.
"""

from __future__ import annotations

from datetime import datetime, timedelta

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_flinksp.operators import LakeSailLatestSavepointOperator
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor

RETRY_LIMIT = 3
REQUEST_TIMEOUT = 0.15
POKE_INTERVAL = 0.3
SENSOR_TIMEOUT = 1.0


def build(deferrable: bool) -> DAG:
    """``faults_budget_<poke|deferrable>`` with the one task ``gate``.

    :param deferrable: whether the gate waits in the triggerer
    """
    dag_id = f"faults_budget_{'deferrable' if deferrable else 'poke'}"
    with DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
        LakeSailSavepointSensor(
            task_id="gate",
            workspace_id="WS1",
            session_id="SESS1",
            job_id="JOB1",
            api_retry_limit=RETRY_LIMIT,
            request_timeout=REQUEST_TIMEOUT,
            poke_interval=POKE_INTERVAL,
            timeout=SENSOR_TIMEOUT,
            mode="poke",
            deferrable=deferrable,
            retries=0,
        )
    return dag


def build_task_retry() -> DAG:
    """``faults_budget_task_retry``: one operator that Airflow retries at once (``retries=1``,
    Airflow's own ``retry_delay=timedelta(0)``) after its first try fails."""
    with DAG(
        "faults_budget_task_retry", start_date=datetime(2026, 1, 1), schedule=None, catchup=False
    ) as dag:
        LakeSailLatestSavepointOperator(
            task_id="latest",
            workspace_id="WS1",
            session_id="SESS1",
            job_id="JOB1",
            if_none="skip",
            retries=1,
            retry_delay=timedelta(0),
        )
    return dag


DAGS = {dag.dag_id: dag for dag in (build(False), build(True), build_task_retry())}
globals().update(DAGS)
