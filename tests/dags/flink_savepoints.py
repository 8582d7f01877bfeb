"""DAGs for the real-Flink tests (``tests/flink/test_flink_dags.py``): the job, the jar and a target
directory come in as params (rendered when the tasks run), so parsing looks nothing up.

- ``flink_restore_defer`` / ``flink_restore_poke``: trigger, gate, latest, run the jar from the
  savepoint and wait until it runs (waits deferred to the trigger, or polled in the worker).
- ``flink_failing_defer`` / ``flink_failing_poke``: a savepoint to an unwritable directory; the gate fails.
- ``flink_stop_restore``: stop the job with a savepoint, then run the jar from it.
- ``flink_latest_idle``: the gate and the latest savepoint without a trigger ID.
- ``flink_slow_reschedule`` / ``flink_slow_defer``: trigger and gate on a job whose savepoints take
  6 s (it sleeps while snapshotting), so the gate really waits (rescheduled, or in the trigger).

Failures go to the outcomes file (tests.dag_runs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_flinksp.operators import (
    FlinkLatestSavepointOperator,
    FlinkRunJarOperator,
    FlinkTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import FlinkSavepointSensor
from tests.dag_runs import record_failure

JOB = "{{ params.job_id }}"
TRIGGER_ID = "{{ ti.xcom_pull(task_ids='trigger', key='trigger_id') }}"
PARAMS = {"job_id": "", "jar_id": "", "target_directory": ""}
RUN_JAR = {
    "jar_id": "{{ params.jar_id }}",
    "entry_class": "Counter",
    "args": ["--sleep-ms", "10", "--name", "restored-{{ dag.dag_id }}"],
    "poll_interval": 0.3,
    "timeout": 60,
}


def new_dag(dag_id: str) -> DAG:
    default_args = {"on_failure_callback": record_failure}
    tags = ["test", "flink"]
    return DAG(
        dag_id,
        start_date=datetime(2026, 1, 1),
        schedule=None,
        tags=tags,
        params=PARAMS,
        default_args=default_args,
    )


def gate(**kwargs: Any) -> FlinkSavepointSensor:
    """The sensor ``gate`` on the job, by default on the trigger task's savepoint."""
    return FlinkSavepointSensor(
        task_id="gate", job_id=JOB, **{"trigger_id": TRIGGER_ID, "timeout": 60, **kwargs}
    )


def restore(after: str, deferrable: bool) -> FlinkRunJarOperator:
    """Run the jar from the savepoint task ``after`` pushed."""
    path = f"{{{{ ti.xcom_pull(task_ids='{after}', key='savepoint_location') }}}}"
    return FlinkRunJarOperator(task_id="restore", savepoint_path=path, deferrable=deferrable, **RUN_JAR)


for mode, deferrable in (("defer", True), ("poke", False)):
    with new_dag(f"flink_restore_{mode}") as dag:
        trigger = FlinkTriggerSavepointOperator(task_id="trigger", job_id=JOB)
        latest = FlinkLatestSavepointOperator(task_id="latest", job_id=JOB, trigger_id=TRIGGER_ID)
        trigger >> gate(deferrable=deferrable, poke_interval=0.2) >> latest >> restore("latest", deferrable)
    globals()[dag.dag_id] = dag

    with new_dag(f"flink_failing_{mode}") as dag:
        directory = "{{ params.target_directory }}"
        trigger = FlinkTriggerSavepointOperator(task_id="trigger", job_id=JOB, target_directory=directory)
        trigger >> gate(deferrable=deferrable, poke_interval=0.2)
    globals()[dag.dag_id] = dag

with new_dag("flink_stop_restore") as dag:
    stop = FlinkTriggerSavepointOperator(
        task_id="stop",
        job_id=JOB,
        stop=True,
        wait_for_completion=True,
        deferrable=True,  # resumes in execute_complete, which checks the event names this trigger ID
        poll_interval=0.2,
        timeout=60,
    )
    stop >> restore("stop", True)
globals()[dag.dag_id] = dag

with new_dag("flink_latest_idle") as dag:
    gate(trigger_id=None, poke_interval=0.2, timeout=30) >> FlinkLatestSavepointOperator(
        task_id="latest", job_id=JOB, max_age=600
    )
globals()[dag.dag_id] = dag

for mode in ("reschedule", "defer"):
    with new_dag(f"flink_slow_{mode}") as dag:
        trigger = FlinkTriggerSavepointOperator(task_id="trigger", job_id=JOB)
        poke_mode = "reschedule" if mode == "reschedule" else "poke"
        trigger >> gate(mode=poke_mode, deferrable=mode == "defer", poke_interval=0.3)
    globals()[dag.dag_id] = dag
