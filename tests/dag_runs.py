"""Load a DAG file of tests/dags (``examples/`` links to dags_examples/) and read back a dag.test() run;
the outcomes file the test DAGs append their failures and reports to, one JSON line each."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from airflow_provider_flinksp._compat import AIRFLOW_V3

DAGS = Path(__file__).resolve().parent / "dags"
OUTCOMES_ENV = "FLINKSP_TEST_OUTCOMES"
#: A JSON object of settings that shape the env-shaped test DAGs (``run_dag``'s ``settings``).
SETTINGS_ENV = "FLINKSP_TEST_DAG_SETTINGS"


def settings() -> dict[str, Any]:
    """The settings a test gave its DAG file (empty when it parses on its own)."""
    return dict(json.loads(os.environ.get(SETTINGS_ENV) or "{}"))


def record(**line: Any) -> None:
    """Append one JSON line to the outcomes file, if there is one."""
    path = os.environ.get(OUTCOMES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


def record_failure(context: Any) -> None:
    """An ``on_failure_callback`` recording the task ID and the exception's type and text."""
    exc = context.get("exception")
    record(task_id=context["ti"].task_id, exception=type(exc).__name__, message=str(exc))


@dataclass
class Run:
    """What one ``dag.test()`` left behind: states, tries, XComs, the DAG's records, reschedules."""

    state: str
    states: dict[str, str]
    tries: dict[str, int]
    xcoms: dict[tuple[str, str], Any]
    records: list[dict[str, Any]]
    reschedules: dict[str, int]
    seconds: float

    @property
    def outcomes(self) -> dict[str, dict[str, Any]]:
        """The records of failed (or skipped) tasks, by task ID."""
        return {r["task_id"]: r for r in self.records if "task_id" in r}

    def message(self, task_id: str) -> str:
        return str(self.outcomes[task_id]["message"])

    def record(self, event: str) -> dict[str, Any]:
        """The one record of this kind the DAG wrote."""
        found = [r for r in self.records if r.get("event") == event]
        assert len(found) == 1, f"expected one {event!r} record, got {self.records}"
        return found[0]


def load_module(file_name: str) -> ModuleType:
    """Import a DAG file of tests/dags (``examples/...`` for the examples) as a fresh module."""
    path = DAGS / file_name
    spec = importlib.util.spec_from_file_location(f"dag_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def load_dag(file_name: str, dag_id: str = "dag") -> Any:
    """One DAG of a DAG file: the attribute named ``dag_id``, else ``dag``."""
    module = load_module(file_name)
    return getattr(module, dag_id, None) or module.dag


def run_once(dag: Any, outcomes: Path | None = None, **conf: Any) -> Run:
    """``dag.test()`` (with ``conf`` as the run's conf) and read back what the run left."""
    started = time.monotonic()
    dag_run = dag.test(run_conf=conf) if conf else dag.test()
    seconds = time.monotonic() - started
    instances = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    lines = outcomes.read_text(encoding="utf-8").splitlines() if outcomes and outcomes.exists() else []
    return Run(
        state=str(getattr(dag_run.state, "value", dag_run.state)),
        states={task_id: str(getattr(ti.state, "value", ti.state)) for task_id, ti in instances.items()},
        tries={task_id: ti.try_number for task_id, ti in instances.items()},
        xcoms=read_xcoms(dag_run),
        records=[json.loads(line) for line in lines],
        reschedules={task_id: reschedule_count(dag_run, ti) for task_id, ti in instances.items()},
        seconds=seconds,
    )


def read_xcoms(dag_run: Any) -> dict[tuple[str, str], Any]:
    """Every XCom of a DAG run, from the metadata DB, keyed by (task_id, key)."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    try:
        from airflow.models.xcom import XComModel as XCom  # Airflow 3
    except ImportError:
        from airflow.models.xcom import XCom  # Airflow 2.11

    # Columns, not ORM objects: Airflow 2's scoped session may still hold stale XCom objects.
    query = select(XCom.task_id, XCom.key, XCom.value).where(
        XCom.dag_id == dag_run.dag_id, XCom.run_id == dag_run.run_id
    )
    with create_session() as session:
        return {(row.task_id, row.key): XCom.deserialize_value(row) for row in session.execute(query)}


def reschedule_count(dag_run: Any, ti: Any) -> int:
    """How many times the metadata DB says this task instance was rescheduled."""
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    query = select(func.count()).select_from(TaskReschedule)
    if AIRFLOW_V3:
        query = query.where(TaskReschedule.ti_id == ti.id)
    else:  # Airflow 2.11
        query = query.where(
            TaskReschedule.dag_id == dag_run.dag_id,
            TaskReschedule.run_id == dag_run.run_id,
            TaskReschedule.task_id == ti.task_id,
        )
    with create_session() as session:
        return int(session.scalar(query) or 0)
