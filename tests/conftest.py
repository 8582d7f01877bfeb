"""Test set-up: a throwaway AIRFLOW_HOME with a SQLite file, made before anything imports Airflow."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_HOME = tempfile.mkdtemp(prefix="flinksp-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
# dag.test() needs the DAG file inside the dags folder; tests/dags/examples links to dags_examples/.
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "tests" / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
if version("apache-airflow").startswith("2."):
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")

import pytest  # noqa: E402

from airflow_provider_flinksp.testing import FakeLakeSail  # noqa: E402
from tests.dag_runs import OUTCOMES_ENV, SETTINGS_ENV, Run, load_dag, run_once  # noqa: E402
from tests.flink_backend.playback import Playback  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated SQLite metadata DB for dag.test(), made once per test session."""
    from airflow.utils import db

    db.initdb()
    return _HOME


@pytest.fixture
def fake() -> FakeLakeSail:
    """A fake LakeSail server on 127.0.0.1 with one RUNNING job WS1/SESS1/JOB1."""
    server = FakeLakeSail(token="test-token-s3cr3t", savepoint_duration=0.3).start()
    server.add_job("WS1", "SESS1", "JOB1", state="RUNNING")
    yield server
    server.stop()


@pytest.fixture
def lakesail_conn(fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> str:
    return point_at(monkeypatch, fake)


def point_at(monkeypatch: pytest.MonkeyPatch, server: FakeLakeSail, **extra: object) -> str:
    """Point ``lakesail_default`` at ``server`` through AIRFLOW_CONN_ (JSON), 0.01 s between retries."""
    value = {"conn_type": "lakesail", "host": server.url, "password": server.token}
    value["extra"] = {"retry_delay": 0.01, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", json.dumps(value))
    return "lakesail_default"


@pytest.fixture
def run_dag(airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """``run_dag(file, dag_id="dag", settings={...}, **conf)``: import a DAG file of tests/dags with
    these settings, ``dag.test()`` it with ``conf`` and read the run back (states, XComs, records)."""
    outcomes = tmp_path / "outcomes.jsonl"
    monkeypatch.setenv(OUTCOMES_ENV, str(outcomes))

    def run(
        file_name: str, dag_id: str = "dag", *, settings: dict[str, Any] | None = None, **conf: Any
    ) -> Run:
        monkeypatch.setenv(SETTINGS_ENV, json.dumps(settings or {}))
        return run_once(load_dag(file_name, dag_id), outcomes, **conf)

    return run


def jump_once(seen: Callable[[], object]) -> Callable[[], float]:
    """A clock for a fake: real time until ``seen()``, then an hour later, so that what a wait has seen
    unfinished (a long savepoint, a job not started) is done at its next look, however slow the machine."""
    offset = 0.0

    def now() -> float:
        nonlocal offset
        if not offset and seen():
            offset = 3600.0
        return time.time() + offset

    return now


def set_body_cap(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Lower the response body cap (both transports read it from the policy)."""
    from airflow_provider_flinksp.core.transport import policy

    monkeypatch.setattr(policy, "MAX_BODY_BYTES", size)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sync hook's waits between attempts, recorded instead of slept."""
    from types import SimpleNamespace

    from airflow_provider_flinksp.core import hook as base_hook

    recorded: list[float] = []
    monkeypatch.setattr(base_hook, "time", SimpleNamespace(sleep=recorded.append))
    return recorded


def bearer(token: str) -> dict[str, object]:
    """The ConnectionSettings fields of a bearer-token connection."""
    return {"authorization": f"Bearer {token}", "secrets": (token,)}


@pytest.fixture
def flink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Playback]:
    """A playback of Flink's recorded responses on 127.0.0.1; ``flink_default`` points at it."""
    server = Playback()
    value = {"conn_type": "flink", "host": server.url, "extra": {"retry_delay": 0.01}}
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", json.dumps(value))
    yield server
    server.close()
