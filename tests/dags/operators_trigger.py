"""DAGs of one ``LakeSailTriggerSavepointOperator`` each: no wait, poll, deferrable, and both waits
on a savepoint that fails.

``tests/lakesail/test_operators.py`` runs them with ``dag.test()`` against FakeLakeSail's job
WS1/SESS1/JOB1; failures are appended to the file named by ``FLINKSP_TEST_OUTCOMES``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

try:
    from airflow.sdk import task
except ImportError:
    from airflow.decorators import task

from airflow_provider_flinksp.operators import LakeSailTriggerSavepointOperator

OUTCOMES_ENV = "FLINKSP_TEST_OUTCOMES"
IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
#: dag_id -> the operator's waiting arguments.
VARIANTS: dict[str, dict[str, Any]] = {
    "operators_trigger_nowait": {},
    "operators_trigger_poll": {"wait_for_completion": True, "deferrable": False},
    "operators_trigger_defer": {"wait_for_completion": True, "deferrable": True},
    "operators_trigger_fail_poll": {"wait_for_completion": True, "deferrable": False},
    "operators_trigger_fail_defer": {"wait_for_completion": True, "deferrable": True},
}
#: dag_id -> the operator's arguments, for DAGs whose first task starts another savepoint.
PENDING_VARIANTS: dict[str, dict[str, Any]] = {
    "operators_trigger_pending_poll": {"wait_for_completion": True, "deferrable": False},
    "operators_trigger_pending_defer": {"wait_for_completion": True, "deferrable": True},
    "operators_trigger_pending_fail": {"if_pending": "fail"},
}


def record_outcome(context: Any) -> None:
    """Append the task id and the exception's type and text to the outcomes file."""
    path = os.environ.get(OUTCOMES_ENV)
    if not path:
        return
    exc = context.get("exception")
    line = {"task_id": context["ti"].task_id, "exception": type(exc).__name__, "message": str(exc)}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


for dag_id, waiting in VARIANTS.items():
    with DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, catchup=False, tags=["test"]) as dag:
        LakeSailTriggerSavepointOperator(
            task_id="trigger",
            poll_interval=0.1,
            timeout=30,
            nonce_grace_period=1.0,
            on_failure_callback=record_outcome,
            **IDS,
            **waiting,
        )
    globals()[dag_id] = dag  # a top-level name, as a DagBag looks for


@task
def start_other() -> str | None:
    """Someone else's savepoint (a periodic one, say), started just before the operator runs."""
    from airflow_provider_flinksp.hooks import LakeSailHook

    return LakeSailHook().trigger_session_job_savepoint(**IDS).trigger_nonce


for dag_id, arguments in PENDING_VARIANTS.items():
    with DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, catchup=False, tags=["test"]) as dag:
        start_other() >> LakeSailTriggerSavepointOperator(
            task_id="trigger",
            poll_interval=0.1,
            timeout=60,
            nonce_grace_period=12.0,  # a queued savepoint is listed only once the other finished
            on_failure_callback=record_outcome,
            **IDS,
            **arguments,
        )
    globals()[dag_id] = dag
