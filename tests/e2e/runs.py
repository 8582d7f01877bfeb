"""DAG runs in a :class:`~tests.e2e.deployment.Deployment`: trigger them, wait for them, report them.

Each run gets its own LakeSail job (``conf={"job_id": ...}``, which the example DAGs take as a param),
so the fake server's records give the manual savepoint POSTs of every run separately.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow_provider_flinksp.testing import FakeLakeSail
from tests.e2e.deployment import AIRFLOW_3, Deployment

WORKSPACE, SESSION = "WS1", "SESS1"
TERMINAL = frozenset({"success", "failed"})
#: Airflow 2 wants a distinct logical date per run of a DAG, and the CLI cuts "now" to the second,
#: so runs triggered at once get dates one second apart, a day back (future dates are refused).
_LOGICAL_DATES = (
    datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1) + timedelta(seconds=n)
    for n in itertools.count()
)
#: Task states whose logs a failure report shows.
BAD_TASK_STATES = frozenset({"failed", "up_for_retry"})


@dataclass
class Run:
    """One DAG run: what was asked for, and what came of it.

    :param dag_id: the DAG
    :param mode: how it waits: ``deferrable``, ``reschedule`` or ``-`` (no wait)
    :param job_id: the LakeSail job it works on (its own)
    :param manual_tasks: trigger tasks in the DAG: the manual savepoint POSTs it must make
    :param note: what is special about it (failover cases)
    """

    dag_id: str
    mode: str
    job_id: str
    manual_tasks: int
    note: str = ""
    state: str | None = None
    seconds: float | None = None
    accepted_posts: int = 0
    refused_posts: int = 0
    tasks: dict[str, tuple[str | None, int]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """The DAG run ID: the job ID makes it unique."""
        return f"e2e__{self.job_id}"

    @property
    def conf(self) -> dict[str, str]:
        """The DAG run conf: the params the run overrides."""
        return {"workspace_id": WORKSPACE, "session_id": SESSION, "job_id": self.job_id}

    @property
    def ok(self) -> bool:
        """Succeeded with exactly one manual savepoint per trigger task."""
        return self.state == "success" and self.accepted_posts == self.manual_tasks


def trigger(deployment: Deployment, runs: Sequence[Run], *, parallel: int = 4) -> None:
    """Create the DAG runs: through the REST API on Airflow 3, the CLI on Airflow 2.

    :param deployment: the deployment
    :param runs: the runs to create
    :param parallel: CLI commands at once (Airflow 2)
    """
    if AIRFLOW_3:
        for run in runs:
            body = {"dag_run_id": run.run_id, "logical_date": None, "conf": run.conf}
            deployment.api("POST", f"/api/v2/dags/{run.dag_id}/dagRuns", body)
        return

    def by_cli(run_and_date: tuple[Run, datetime]) -> None:
        run, logical_date = run_and_date
        conf = json.dumps(run.conf)
        deployment.airflow(
            "dags", "trigger", run.dag_id, "-r", run.run_id, "-e", logical_date.isoformat(), "-c", conf
        )

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(by_cli, [(run, next(_LOGICAL_DATES)) for run in runs]))


def wait_for_dags(deployment: Deployment, dag_ids: Iterable[str], *, timeout: float = 300) -> None:
    """Wait until every DAG is parsed, serialized and unpaused.

    :param deployment: the deployment
    :param dag_ids: the DAGs
    :param timeout: seconds
    """
    wanted = set(dag_ids)
    deadline = time.monotonic() + timeout
    while True:
        rows = deployment.query(
            "SELECT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id WHERE NOT d.is_paused"
        )
        missing = wanted - {row[0] for row in rows}
        if not missing:
            return
        deployment.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"DAGs not parsed after {timeout}s: {sorted(missing)}")
        time.sleep(1)


def refresh(deployment: Deployment, fake: FakeLakeSail, runs: Sequence[Run]) -> None:
    """Read each run's state, duration and tasks from the database, and its POSTs from the fake.

    :param deployment: the deployment
    :param fake: the fake LakeSail server
    :param runs: the runs
    """
    by_id = {run.run_id: run for run in runs}
    marks = ",".join(["%s"] * len(by_id))
    for run_id, state, queued_at, end_date in deployment.query(
        f"SELECT run_id, state, queued_at, end_date FROM dag_run WHERE run_id IN ({marks})", by_id
    ):
        run = by_id[run_id]
        run.state = state
        if state in TERMINAL and queued_at and end_date:
            run.seconds = (_utc(end_date) - _utc(queued_at)).total_seconds()
    for run_id, task_id, state, try_number in deployment.query(
        f"SELECT run_id, task_id, state, try_number FROM task_instance WHERE run_id IN ({marks})", by_id
    ):
        by_id[run_id].tasks[task_id] = (state, try_number)
    for run in runs:
        run.accepted_posts = fake.triggered_count(WORKSPACE, SESSION, run.job_id)
        posts = fake.count("POST", f"/jobs/{run.job_id}/savepoints")
        run.refused_posts = posts - run.accepted_posts


def wait(deployment: Deployment, fake: FakeLakeSail, runs: Sequence[Run], *, timeout: float) -> float:
    """Wait until every run has finished or the deadline passes; return the seconds waited.

    :param deployment: the deployment
    :param fake: the fake LakeSail server
    :param runs: the runs
    :param timeout: the deadline, in seconds from now
    """
    start = time.monotonic()
    while True:
        refresh(deployment, fake, runs)
        if all(run.state in TERMINAL for run in runs) or time.monotonic() - start > timeout:
            return time.monotonic() - start
        deployment.check_alive()
        time.sleep(2)


def _utc(value: str | datetime) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def table(runs: Sequence[Run]) -> str:
    """The per-run table: DAG, mode, job, state, seconds from trigger to end, manual savepoints.

    :param runs: the runs
    """
    header = ("dag", "mode", "job", "state", "seconds", "manual sp", "refused", "tries", "note")
    rows = [header]
    for run in runs:
        tries = max((number for _state, number in run.tasks.values()), default=0)
        rows.append(
            (
                run.dag_id,
                run.mode,
                run.job_id,
                run.state or "-",
                "-" if run.seconds is None else f"{run.seconds:.1f}",
                f"{run.accepted_posts}/{run.manual_tasks}",
                str(run.refused_posts),
                str(tries),
                run.note,
            )
        )
    widths = [max(len(row[index]) for row in rows) for index in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    good = sum(run.ok for run in runs)
    lines.append(f"{good} of {len(runs)} runs succeeded with one manual savepoint per trigger task")
    return "\n".join(line.rstrip() for line in lines)


def failure_report(deployment: Deployment, runs: Sequence[Run], *, lines: int = 25) -> str:
    """For every run that is not :attr:`Run.ok`: its bad tasks' log tails and the scheduler's lines on it.

    :param deployment: the deployment
    :param runs: the runs
    :param lines: log lines per task
    """
    parts = []
    for run in runs:
        if run.ok:
            continue
        parts.append(
            f"=== {run.dag_id} {run.run_id}: state {run.state}, manual savepoints "
            f"{run.accepted_posts} of {run.manual_tasks}, refused POSTs {run.refused_posts}"
        )
        for task_id, (state, try_number) in sorted(run.tasks.items()):
            parts.append(f"--- task {task_id}: {state} (try {try_number})")
            if state not in BAD_TASK_STATES and not (state == "success" and try_number > 1):
                continue
            for log in _task_logs(deployment, run, task_id):
                parts.append(f"    {log.relative_to(deployment.root)}:")
                parts.extend(f"      {line}" for line in _tail(log, lines))
        scheduler_lines = [
            line
            for log in sorted(deployment.component_logs.glob("scheduler-*.log"))
            for line in log.read_text(errors="replace").splitlines()
            if run.run_id in line and ("warn" in line.lower() or "error" in line.lower())
        ]
        if scheduler_lines:
            parts.append("--- scheduler warnings and errors naming the run:")
            parts.extend(f"      {line[:400]}" for line in scheduler_lines[-lines:])
    return "\n".join(parts)


def _task_logs(deployment: Deployment, run: Run, task_id: str) -> list[Path]:
    folder = deployment.home / "logs" / f"dag_id={run.dag_id}" / f"run_id={run.run_id}" / f"task_id={task_id}"
    return sorted(folder.glob("*.log"))


def _tail(log: Path, count: int) -> list[str]:
    rendered = [_render(line) for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return rendered[-count:]


def _render(line: str) -> str:
    """One log line, readable: Airflow 3 writes JSON lines, Airflow 2 plain text."""
    if not line.startswith("{"):
        return line[:400]
    try:
        record = json.loads(line)
    except ValueError:
        return line[:400]
    text = f"{record.get('timestamp', '')} {record.get('level', '')} {record.get('event', '')}"
    for detail in record.get("error_detail") or ():
        text += f" | {detail.get('exc_type')}: {detail.get('exc_value')}"
    return text[:600]
