"""One DAG of independent ``LakeSailLatestSavepointOperator`` tasks, one per filter case.

``tests/lakesail/test_operators.py`` runs it with ``dag.test()`` against a FakeLakeSail job
WS1/SESS1/JOB2 preloaded with completed savepoints, and reads each task's outcome from the metadata
DB (XCom, states) and from the file the operators below append the exceptions they raise to (a skip
reason is otherwise only in the task log, and Airflow passes no exception to ``on_skipped_callback``).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_flinksp.operators import LakeSailLatestSavepointOperator

#: Env var naming a file that gets one JSON line per exception a task raised.
OUTCOMES_ENV = "FLINKSP_TEST_OUTCOMES"
IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB2"}


class RecordingLatestOperator(LakeSailLatestSavepointOperator):
    """The operator as it is, but what it raises is also written to the outcomes file."""

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            return super().execute(context)
        except Exception as exc:
            path = os.environ.get(OUTCOMES_ENV)
            if path:
                line = {"task_id": self.task_id, "exception": type(exc).__name__, "message": str(exc)}
                with open(path, "a", encoding="utf-8") as out:
                    out.write(json.dumps(line) + "\n")
            raise


with DAG(
    "operators_latest",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    params={"nonce": "n-old"},
    tags=["test"],
) as dag:
    RecordingLatestOperator(task_id="any", **IDS)
    RecordingLatestOperator(task_id="by_nonce", trigger_nonce="{{ params.nonce }}", **IDS)
    RecordingLatestOperator(task_id="manual_only", trigger_types=["manual"], **IDS)
    RecordingLatestOperator(task_id="periodic_or_upgrade", trigger_types=["PERIODIC", "UPGRADE"], **IDS)
    RecordingLatestOperator(task_id="recent", max_age=timedelta(minutes=30), **IDS)
    RecordingLatestOperator(
        task_id="recent_manual", trigger_types=["MANUAL"], max_age=timedelta(minutes=30), **IDS
    )
    RecordingLatestOperator(
        task_id="none_fails", trigger_nonce="no-such-nonce", trigger_types=["MANUAL"], **IDS
    )
    RecordingLatestOperator(task_id="none_skips", trigger_types=["UNKNOWN"], if_none="skip", **IDS)
