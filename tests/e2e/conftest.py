"""Fixtures of the end-to-end suite: the fake LakeSail server in this process and a real Airflow
deployment around it, both made once per session and always stopped.

Settings (environment): ``E2E_RUNS_PER_DAG`` runs of each DAG variant (default 6 on Airflow 3, 2 on
Airflow 2.11), ``E2E_DEADLINE`` seconds to wait for a batch of runs (900), ``E2E_PERIODIC`` seconds
between a job's periodic savepoints (4), ``E2E_SAVEPOINT_SECONDS`` seconds a savepoint takes (1.5),
``E2E_POLL_SECONDS`` the DAGs' poll interval (unset: the examples' 30 s; much shorter ones meet
Airflow's own race between a task's exit and its next try, in reschedule mode too, since the
scheduler took up to 16 s to see a task's exit here), ``E2E_PARALLELISM`` (8),
``E2E_PENDING_POLICY`` the fake's answer to a POST while a savepoint is pending (the fake's default
when unset). Everything the deployment writes stays in ``build/e2e/airflow-<version>/`` for reading
after a failure; its PostgreSQL data goes away with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail, format_timestamp
from tests.conftest import REPO
from tests.e2e import processes
from tests.e2e.deployment import AIRFLOW_3, AIRFLOW_VERSION, Deployment
from tests.e2e.postgres import PostgresCluster, stop_server
from tests.e2e.runs import SESSION, WORKSPACE

E2E_DAGS = Path(__file__).resolve().parent / "dags"
BUILD = REPO / "build" / "e2e" / f"airflow-{AIRFLOW_VERSION}"


def setting(name: str, default: float) -> float:
    """A number from the environment.

    :param name: the variable
    :param default: its value when unset
    """
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@pytest.fixture(scope="session")
def api_key() -> str:
    """The LakeSail API key of this session: random, so that finding it in a log means a leak."""
    return f"e2e-key-{secrets.token_hex(20)}"


@pytest.fixture(scope="session")
def lakesail(api_key: str) -> Iterator[FakeLakeSail]:
    """The fake LakeSail server, with fast savepoints (jobs are added per run)."""
    options: dict[str, Any] = {}
    if os.environ.get("E2E_PENDING_POLICY"):
        options["pending_policy"] = os.environ["E2E_PENDING_POLICY"]
    server = FakeLakeSail(
        token=api_key, savepoint_duration=setting("E2E_SAVEPOINT_SECONDS", 1.5), **options
    ).start()
    yield server
    server.stop()


def add_job(
    server: FakeLakeSail, job_id: str, *, periodic: float | None, savepoint_seconds: float | None = None
) -> None:
    """Add a RUNNING job with one completed periodic savepoint a minute old (for the gate and restore).

    :param server: the fake
    :param job_id: the job ID
    :param periodic: seconds between periodic savepoints, or None for none
    :param savepoint_seconds: this job's savepoint duration (default: the server's)
    """
    seed = {
        "location": f"s3://bucket/flink-savepoints/savepoint-seed-{job_id.lower()}",
        "triggerType": "PERIODIC",
        "triggeredAt": format_timestamp(time.time() - 60),
    }
    server.add_job(
        WORKSPACE,
        SESSION,
        job_id,
        periodic_interval=periodic,
        savepoint_duration=savepoint_seconds,
        completed=[seed],
    )


@contextlib.contextmanager
def started_deployment(build: Path, env: dict[str, str]) -> Iterator[Deployment]:
    """Airflow on its own PostgreSQL, started from scratch in ``build`` with the example DAGs; stopped
    (and checked for leftover processes) on the way out, even on failure.

    :param build: the folder for everything it writes (emptied first)
    :param env: extra environment for every component (connections, settings)
    """
    # What an earlier session killed too hard to clean up (SIGKILL, power cut) left running there.
    processes.kill(processes.with_env("AIRFLOW_HOME", str(build / "airflow-home")))
    stop_server(build / "postgres" / "pgdata")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    database = PostgresCluster(build / "postgres", build / "postgres.log")
    env = dict(env)
    if os.environ.get("E2E_POLL_SECONDS"):
        env["LAKESAIL_EXAMPLE_POLL_SECONDS"] = os.environ["E2E_POLL_SECONDS"]
    dag_files = sorted((REPO / "dags_examples").glob("*.py")) + sorted(E2E_DAGS.glob("*.py"))
    airflow = Deployment(
        build,
        dag_files=dag_files,
        env=env,
        database_url=database.url,
        query=database.query,
        parallelism=int(setting("E2E_PARALLELISM", 8)),
    )
    try:
        started = time.monotonic()
        database.start()
        airflow.start()
        print(f"\nAirflow {AIRFLOW_VERSION} started in {time.monotonic() - started:.0f}s under {build}")
        yield airflow
    finally:
        airflow.stop()
        database.stop()
        left = airflow.leftovers() + processes.with_title(str(build / "postgres"))
        assert not left, f"processes left behind: {left}"


@pytest.fixture(scope="session")
def deployment(lakesail: FakeLakeSail, api_key: str) -> Iterator[Deployment]:
    """Airflow on its own PostgreSQL, started from scratch in ``build/e2e/airflow-<version>/`` with the
    example DAGs and the ``lakesail_default`` connection (an environment variable)."""
    connection = {"conn_type": "lakesail", "host": lakesail.url, "password": api_key}
    with started_deployment(BUILD, {"AIRFLOW_CONN_LAKESAIL_DEFAULT": json.dumps(connection)}) as airflow:
        yield airflow


@pytest.fixture(scope="session")
def runs_per_dag() -> int:
    """How many runs of each DAG variant the batch triggers."""
    return int(setting("E2E_RUNS_PER_DAG", 6 if AIRFLOW_3 else 2))
