"""``python -m dev.demo`` (what ``make demo`` runs), in a subprocess with this
Python and a clean environment, plus its small helpers in-process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from dev import demo
from tests.conftest import REPO

TASKS = [
    "trigger_savepoint",
    "wait_for_savepoint",
    "push_latest",
    "restore_from_savepoint",
    "wait_until_running",
]
JOB_ID = r"SJ[0-9A-F]+"
LOCATION = r"s3://bucket/flink-savepoints/savepoint-[0-9a-f]+"


@pytest.fixture(scope="module")
def demo_run() -> tuple[subprocess.CompletedProcess[str], float]:
    # What a fresh shell has: none of the test session's Airflow settings or connections.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.pop(demo.DAGS_FOLDER_ENV, None)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "dev.demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    return result, time.monotonic() - started


def test_demo_succeeds(demo_run: tuple[subprocess.CompletedProcess[str], float]) -> None:
    result, _ = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("Demo succeeded.")
    assert result.stderr == ""  # Airflow's noise went to the log file


def test_demo_shows_each_task_succeeding_and_the_location(
    demo_run: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo_run[0].stdout
    for task_id in TASKS:
        assert re.search(rf"^\s+{task_id}\s+success\s+\S", out, re.MULTILINE), task_id
    received = re.search(rf"The upgraded job ({JOB_ID}) was restored from ({LOCATION})$", out, re.MULTILINE)
    assert received, out
    job_id, location = received.groups()
    # The same savepoint all the way: the sensor saw it complete, push_latest chose it, the new job
    # was created from it (as the fake server recorded), and it runs.
    assert re.search(rf"wait_for_savepoint\s+success\s+waited \d+\.\d s; completed at {location}$", out, re.M)
    assert re.search(rf"push_latest\s+success\s+latest {location}$", out, re.MULTILINE)
    assert re.search(
        rf"restore_from_savepoint\s+success\s+created job {job_id} \(PENDING\) from {location}$", out, re.M
    )
    assert re.search(rf"wait_until_running\s+success\s+job {job_id} RUNNING$", out, re.MULTILINE)
    assert re.search(r"trigger_savepoint\s+success\s+triggered savepoint nonce [0-9a-f-]{36}$", out, re.M)


def test_demo_shows_the_asset_triggered_restore(
    demo_run: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo_run[0].stdout
    location = re.search(rf"The upgraded job {JOB_ID} was restored from ({LOCATION})$", out, re.M)
    assert location, out
    assert re.search(rf"savepoint_from_event\s+success\s+the event carried {location.group(1)}$", out, re.M)
    standby = re.search(rf"The standby job ({JOB_ID}) was restored from {location.group(1)}$", out, re.M)
    assert standby, out
    assert re.search(rf"restore_from_savepoint\s+success\s+created job {standby.group(1)} \(RUNNING\)", out)


def test_demo_shows_the_hook_at_work(demo_run: tuple[subprocess.CompletedProcess[str], float]) -> None:
    out = demo_run[0].stdout
    assert re.search(r"POST \.\.\./savepoints -> 202, triggerNonce [0-9a-f-]{36}", out)
    assert re.search(r"^\s+\d+\.\d s  pending$", out, re.MULTILINE)
    assert re.search(r"^\s+\d+\.\d s  completed$", out, re.MULTILINE)
    assert re.search(rf"latest restorable savepoint: {LOCATION}$", out, re.MULTILINE)
    assert "3 completed savepoint(s), 3 with a location" in out  # two preloaded, one new


def test_demo_is_quick_tidy_and_keeps_the_token_out(
    demo_run: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    result, seconds = demo_run
    dag_run = re.search(r"DAG run success in (\d+\.\d) s", result.stdout)
    assert dag_run
    assert float(dag_run.group(1)) < 60
    assert seconds < 150
    home = re.search(r"Setting up Airflow \S+ in (\S+) \(SQLite\)", result.stdout)
    assert home
    assert not Path(home.group(1)).exists()
    assert "demo-token-not-a-secret" not in result.stdout + result.stderr


# --------------------------------------------------------------------------- helpers, in-process


def test_find_dags_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(demo.DAGS_FOLDER_ENV, raising=False)
    assert demo.find_dags_folder(None) == REPO / "dags_examples"
    (tmp_path / demo.EXAMPLE_FILE).write_text("", encoding="utf-8")
    assert demo.find_dags_folder(str(tmp_path)) == tmp_path.resolve()
    monkeypatch.setenv(demo.DAGS_FOLDER_ENV, str(tmp_path))
    assert demo.find_dags_folder(None) == tmp_path.resolve()


def test_find_dags_folder_says_how_to_fix_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "__file__", str(tmp_path / "pkg" / "demo.py"))
    monkeypatch.delenv(demo.DAGS_FOLDER_ENV, raising=False)
    with pytest.raises(SystemExit, match=f"--dags-folder or set {demo.DAGS_FOLDER_ENV}"):
        demo.find_dags_folder(str(tmp_path / "nowhere"))


def test_configure_refuses_once_airflow_is_imported(tmp_path: Path) -> None:
    import airflow  # noqa: F401  (conftest has set Airflow up already)

    with mock.patch.dict(os.environ), pytest.raises(RuntimeError, match="before it is imported"):
        demo.configure_airflow(tmp_path, tmp_path)


@pytest.mark.parametrize(
    ("task_id", "state", "xcoms", "waited", "expected"),
    [
        ("trigger_savepoint", "success", {("trigger_savepoint", "return_value"): {"triggerNonce": "n1"}},
         None, "triggered savepoint nonce n1"),
        ("wait_for_savepoint", "success", {("wait_for_savepoint", "return_value"): {"location": "s3://x"}},
         1.64, "waited 1.6 s; completed at s3://x"),
        ("push_latest", "success", {("push_latest", "savepoint_location"): "s3://x"}, None, "latest s3://x"),
        ("restore_from_savepoint", "success",
         {("restore_from_savepoint", "return_value"): {"id": "SJ1", "state": "PENDING"}},
         None, "created job SJ1 (PENDING) from s3://x"),
        ("wait_until_running", "success",
         {("wait_until_running", "return_value"): {"id": "SJ1", "state": "RUNNING"}},
         None, "job SJ1 RUNNING"),
        ("savepoint_from_event", "success",
         {("savepoint_from_event", "return_value"): "s3://x"}, None, "the event carried s3://x"),
        ("push_latest", "failed", {}, None, "see Airflow's output below"),
        ("restore_from_savepoint", "skipped", {}, None, "-"),
    ],
)  # fmt: skip
def test_describe(
    task_id: str, state: str, xcoms: dict[tuple[str, str], object], waited: float | None, expected: str
) -> None:
    assert demo.describe(task_id, state, xcoms, waited, "s3://x") == expected
