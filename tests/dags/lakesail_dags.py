"""The LakeSail test DAGs of tests/lakesail, run by dag.test() against a FakeLakeSail.

``sensor_gate`` and ``restore_jobs`` are shaped by the settings a test gives (``run_dag(settings=)``),
with defaults so that the file also parses on its own. Failures and reports go to the outcomes file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,assignment]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

from airflow_provider_flinksp.assets import lakesail_savepoint_asset
from airflow_provider_flinksp.operators import (
    LakeSailCreateSessionJobOperator,
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor, LakeSailSessionJobSensor
from tests.dag_runs import record, record_failure, settings

JOB1 = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
JOB2 = {**JOB1, "job_id": "JOB2"}
NONCE = "{{ ti.xcom_pull(task_ids='trigger', key='trigger_nonce') }}"
SETTINGS = settings()
MODE = SETTINGS.get("mode", "poke")
RETRIED = {"retries": 1, "retry_delay": timedelta(seconds=0.1), "on_failure_callback": record_failure}


def new_dag(dag_id: str, **kwargs: Any) -> DAG:
    return DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, catchup=False, **kwargs)


class RecordingLatestOperator(LakeSailLatestSavepointOperator):
    """The operator, recording what it raises too (a skip reason reaches no callback)."""

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            return super().execute(context)
        except Exception as exc:
            record(task_id=self.task_id, exception=type(exc).__name__, message=str(exc))
            raise


# One independent latest-savepoint task per filter case, on JOB2.
with new_dag("operators_latest", params={"nonce": "n-old"}) as operators_latest:
    RecordingLatestOperator(task_id="any", **JOB2)
    RecordingLatestOperator(task_id="by_nonce", trigger_nonce="{{ params.nonce }}", **JOB2)
    RecordingLatestOperator(task_id="manual_only", trigger_types=["manual"], **JOB2)
    RecordingLatestOperator(task_id="periodic_or_upgrade", trigger_types=["PERIODIC", "UPGRADE"], **JOB2)
    RecordingLatestOperator(task_id="recent", max_age=timedelta(minutes=30), **JOB2)
    RecordingLatestOperator(
        task_id="recent_manual", trigger_types=["MANUAL"], max_age=timedelta(minutes=30), **JOB2
    )
    RecordingLatestOperator(
        task_id="none_fails", trigger_nonce="no-such-nonce", trigger_types=["MANUAL"], **JOB2
    )
    RecordingLatestOperator(task_id="none_skips", trigger_types=["UNKNOWN"], if_none="skip", **JOB2)


@task
def start_other() -> str | None:
    """Someone else's savepoint (a periodic one, say), started just before the operator runs."""
    from airflow_provider_flinksp.hooks import LakeSailHook

    return LakeSailHook().trigger_session_job_savepoint(**JOB1).trigger_nonce


POLL = {"wait_for_completion": True, "deferrable": False}
DEFER = {"wait_for_completion": True, "deferrable": True}
# operators_trigger_<variant>: one trigger operator; the pending_ ones start another savepoint first.
for variant, waiting in {
    "nowait": {},
    "poll": POLL,
    "defer": DEFER,
    "pending_poll": POLL,
    "pending_defer": DEFER,
    "pending_fail": {"if_pending": "fail"},
}.items():
    pending = variant.startswith("pending")
    with new_dag(f"operators_trigger_{variant}") as dag:
        trigger = LakeSailTriggerSavepointOperator(
            task_id="trigger",
            poll_interval=0.1,
            timeout=60 if pending else 30,
            nonce_grace_period=12.0 if pending else 1.0,  # a queued one is listed once the other ends
            on_failure_callback=record_failure,
            **JOB1,
            **waiting,
        )
        if pending:
            start_other() >> trigger
    globals()[dag.dag_id] = dag  # a top-level name, as a DagBag looks for

# The three savepoint tasks with the job's savepoint asset in outlets; other_job has another job's.
SAVEPOINTS = [lakesail_savepoint_asset("WS1", "SESS1", "JOB1")]
with new_dag("asset_producers") as asset_producers:
    (
        LakeSailTriggerSavepointOperator(
            task_id="trigger", wait_for_completion=True, poll_interval=0.1, outlets=SAVEPOINTS, **JOB1
        )
        >> LakeSailSavepointSensor(
            task_id="gate",
            trigger_nonce=NONCE,
            deferrable=True,
            poke_interval=0.1,
            outlets=SAVEPOINTS,
            **JOB1,
        )
        >> LakeSailLatestSavepointOperator(task_id="latest", outlets=SAVEPOINTS, **JOB1)
        >> LakeSailLatestSavepointOperator(
            task_id="other_job", outlets=[lakesail_savepoint_asset("WS1", "SESS1", "JOB9")], **JOB1
        )
    )

# trigger (unless settings trigger=False) >> gate on a savepoint in settings' mode >> report its XCom.
with new_dag("sensor_gate") as sensor_gate:
    gate = LakeSailSavepointSensor(
        task_id="gate",
        trigger_nonce=SETTINGS.get("nonce", NONCE),
        nonce_grace_period=SETTINGS.get("grace", 120),
        mode="reschedule" if MODE == "reschedule" else "poke",
        deferrable=MODE == "deferrable",
        poke_interval=0.2,
        timeout=SETTINGS.get("timeout", 10),
        **RETRIED,  # a failure that must not be retried would show as a second try
        **JOB1,
    )

    @task(task_id="report")
    def report(**context: Any) -> None:
        """Record the gate's XCom and the trigger's nonce, pulled through Airflow."""
        ti = context["ti"]
        nonce = ti.xcom_pull(task_ids="trigger", key="trigger_nonce") if SETTINGS.get("trigger", 1) else None
        record(event="report", gate=ti.xcom_pull(task_ids="gate"), nonce=nonce)

    if SETTINGS.get("trigger", 1):
        LakeSailTriggerSavepointOperator(task_id="trigger", **JOB1) >> gate
    gate >> report()

# Create a session job (from settings' savepoint) and wait until it runs: the operator, or a sensor.
SAVEPOINT = SETTINGS.get("savepoint", "")
TIMEOUT = SETTINGS.get("timeout", 20)
with new_dag("restore_jobs", params={"savepoint": SAVEPOINT}) as restore_jobs:
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
        wait_for_running=SETTINGS.get("wait") != "sensor",
        poll_interval=0.1,
        timeout=TIMEOUT,
        deferrable=MODE == "deferrable",
        **RETRIED,
    )
    if SETTINGS.get("wait") == "sensor":
        create >> LakeSailSessionJobSensor(
            task_id="watch",
            workspace_id="WS1",
            session_id="SESS1",
            job_id="{{ ti.xcom_pull(task_ids='create', key='job_id') }}",
            deferrable=MODE == "deferrable",
            poke_interval=0.1,
            timeout=TIMEOUT,
            **RETRIED,
        )
