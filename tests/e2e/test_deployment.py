"""The provider in a real Airflow deployment: many concurrent runs of every example DAG, in deferrable
and reschedule mode, a killed triggerer, a killed worker, and no API key in any log.

Run with ``make test-e2e`` (Airflow 3.3, then 2.11). The tests share one deployment and run in file
order; the last one stops the deployment before it reads the logs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail
from tests.e2e import processes
from tests.e2e.conftest import BUILD, add_job, setting
from tests.e2e.deployment import AIRFLOW_3, AIRFLOW_VERSION, Deployment
from tests.e2e.runs import Run, failure_report, table, trigger, wait, wait_for_dags

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

#: (dag_id, mode, job ID prefix, trigger tasks): the example DAGs, and the reschedule twins of the
#: two that wait (tests/e2e/dags/e2e_reschedule.py), since the examples cannot switch mode.
VARIANTS = (
    ("lakesail_savepoint_upgrade", "deferrable", "UD", 1),
    ("e2e_upgrade_reschedule", "reschedule", "UR", 1),
    ("lakesail_periodic_gate", "deferrable", "GD", 0),
    ("e2e_gate_reschedule", "reschedule", "GR", 0),
    ("lakesail_latest_for_restore", "-", "LR", 0),
)
ALL_DAGS = [variant[0] for variant in VARIANTS] + ["e2e_failover_reschedule"]


@pytest.fixture(scope="session")
def ledger(request: pytest.FixtureRequest) -> Iterator[list[Run]]:
    """Every run of the session; the whole table is printed and saved at the end."""
    runs: list[Run] = []
    yield runs
    text = f"Airflow {AIRFLOW_VERSION}: every run of the session\n{table(runs)}"
    (BUILD / "runs.txt").write_text(text + "\n")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + text, flush=True)


@pytest.fixture(scope="session")
def ready(deployment: Deployment) -> Deployment:
    """The deployment once every DAG is parsed and unpaused."""
    wait_for_dags(deployment, ALL_DAGS)
    return deployment


def show(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Print past pytest's capture, so the tables show in the make output."""
    with capsys.disabled():
        print("\n" + text, flush=True)


def finish(
    deployment: Deployment, fake: FakeLakeSail, runs: list[Run], capsys: pytest.CaptureFixture[str]
) -> None:
    """Wait for ``runs``, print their table and, for any bad run, the failure report; assert all ok."""
    waited = wait(deployment, fake, runs, timeout=setting("E2E_DEADLINE", 900))
    show(capsys, f"{table(runs)}\n(waited {waited:.0f}s)")
    bad = [run for run in runs if not run.ok]
    if bad:
        report = failure_report(deployment, runs)
        (BUILD / "failures.txt").open("a").write(report + "\n")
        show(capsys, report)
    assert not bad, f"{len(bad)} of {len(runs)} runs failed or made the wrong number of manual savepoints"


def test_example_dags_many_concurrent_runs(
    ready: Deployment,
    lakesail: FakeLakeSail,
    runs_per_dag: int,
    ledger: list[Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every example DAG, runs_per_dag times at once in each mode, with periodic savepoints every few
    seconds: every run succeeds with exactly one manual savepoint per trigger task."""
    periodic = setting("E2E_PERIODIC", 4)
    runs = [
        Run(dag_id, mode, f"{prefix}{number:02d}", manual)
        for dag_id, mode, prefix, manual in VARIANTS
        for number in range(1, runs_per_dag + 1)
    ]
    for index, run in enumerate(runs):
        # Intervals spread over 0.75-1.25 x periodic, so the jobs' periodic savepoints fall out of step
        # and the trigger tasks, which Airflow starts in batches, meet them at all phases.
        add_job(lakesail, run.job_id, periodic=periodic * (0.75 + 0.5 * (index * 0.618034 % 1)))
    ledger.extend(runs)
    started = time.monotonic()
    trigger(ready, runs)
    show(capsys, f"triggered {len(runs)} runs in {time.monotonic() - started:.0f}s")
    finish(ready, lakesail, runs, capsys)


def wait_until(check: Callable[[], bool], deployment: Deployment, *, timeout: float, what: str) -> None:
    """Poll ``check`` every half second until it holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        deployment.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"not seen within {timeout}s: {what}")
        time.sleep(0.5)


def task_row(deployment: Deployment, run: Run, task_id: str) -> tuple[str | None, int, str | None]:
    """(state, try number, triggerer ID of its trigger) of one task instance."""
    rows = deployment.query(
        "SELECT ti.state, ti.try_number, t.triggerer_id FROM task_instance ti "
        "LEFT JOIN trigger t ON t.id = ti.trigger_id WHERE ti.run_id = %s AND ti.task_id = %s",
        (run.run_id, task_id),
    )
    return rows[0] if rows else (None, 0, None)


def test_triggerer_killed_during_deferred_wait(
    ready: Deployment, lakesail: FakeLakeSail, ledger: list[Run], capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL the triggerer while the upgrade example's wait is deferred, start a new one: the run
    succeeds on the new triggerer, with no second savepoint."""
    run = Run("lakesail_savepoint_upgrade", "deferrable", "FT01", 1, note="triggerer SIGKILLed")
    add_job(lakesail, run.job_id, periodic=None, savepoint_seconds=45)
    ledger.append(run)
    trigger(ready, [run])
    wait_until(
        lambda: task_row(ready, run, "wait_for_savepoint")[2] is not None,
        ready,
        timeout=180,
        what="wait_for_savepoint deferred and its trigger taken by the triggerer",
    )
    killed = task_row(ready, run, "wait_for_savepoint")[2]
    ready.kill_component("triggerer")
    ready.start_component("triggerer")
    owners = {killed}
    deadline = time.monotonic() + 240
    while task_row(ready, run, "wait_for_savepoint")[0] == "deferred" and time.monotonic() < deadline:
        owners.add(task_row(ready, run, "wait_for_savepoint")[2])
        ready.check_alive()
        time.sleep(0.5)
    finish(ready, lakesail, [run], capsys)
    owners.discard(None)
    assert len(owners) == 2, f"the trigger was never seen on the new triggerer: owners {owners}"
    assert run.tasks["wait_for_savepoint"][1] == 1, "the wait needed a retry"


def worker_processes(deployment: Deployment, run: Run, task_id: str) -> list[int]:
    """The processes running one task: LocalExecutor worker and task runner (their titles name the
    task instance's UUID) on Airflow 3; on Airflow 2 the LocalExecutor's task supervisor and runner
    (their titles name the DAG, task and run)."""
    if AIRFLOW_3:
        (ti_id,) = deployment.query(
            "SELECT id FROM task_instance WHERE run_id = %s AND task_id = %s", (run.run_id, task_id)
        )[0]
        text = str(ti_id)
        if len(text) == 32:  # stored without dashes
            text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        return processes.with_title(text)
    return processes.with_title(run.run_id, task_id, run.dag_id)


def test_worker_killed_during_reschedule_poke(
    ready: Deployment, lakesail: FakeLakeSail, ledger: list[Run], capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL the worker while a reschedule-mode poke waits on a slow LakeSail answer: the wait's
    retry succeeds, with no second savepoint."""
    run = Run("e2e_failover_reschedule", "reschedule", "FW01", 1, note="worker SIGKILLed mid-poke")
    add_job(lakesail, run.job_id, periodic=None, savepoint_seconds=20)
    ledger.append(run)
    lakesail.add_fault("stall", seconds=15, times=None, method="GET", path_contains=f"/jobs/{run.job_id}/")
    try:
        trigger(ready, [run])
        wait_until(
            lambda: (
                task_row(ready, run, "wait_for_savepoint")[0] == "running"
                and bool(worker_processes(ready, run, "wait_for_savepoint"))
            ),
            ready,
            timeout=180,
            what="wait_for_savepoint running in a worker process",
        )
        connections = lakesail.connection_count
        wait_until(
            lambda: lakesail.connection_count > connections,
            ready,
            timeout=60,
            what="the poke's request at the fake server",
        )
        time.sleep(1)
        victims = worker_processes(ready, run, "wait_for_savepoint")
        scheduler = ready.components["scheduler"].proc.pid
        assert set(victims) & set(processes.descendants(scheduler)), "the worker is no child of the scheduler"
        assert task_row(ready, run, "wait_for_savepoint")[0] == "running"
        titles = [processes.title_of(pid) for pid in victims]
        processes.kill(victims)
    finally:
        lakesail.clear_faults()
    killed = "; ".join(f"{pid} {title}" for pid, title in zip(victims, titles, strict=True))
    show(capsys, f"SIGKILLed {killed}")
    finish(ready, lakesail, [run], capsys)
    assert run.tasks["wait_for_savepoint"][1] >= 2, "the wait succeeded without the retry"


def test_no_api_key_in_any_log(
    deployment: Deployment, api_key: str, ledger: list[Run], capsys: pytest.CaptureFixture[str]
) -> None:
    """Stop the deployment, then search every file it wrote for the API key or any 12-character part
    of its secret: none."""
    deployment.stop()
    assert not deployment.leftovers()
    secret = api_key.removeprefix("e2e-key-")
    needles = {api_key.encode()} | {secret[i : i + 12].encode() for i in range(len(secret) - 11)}
    files = deployment.log_files()
    hits = []
    for path in files:
        data = path.read_bytes()
        hits.extend(f"{path.relative_to(deployment.root)}: {n.decode()}" for n in needles if n in data)
    total = sum(path.stat().st_size for path in files)
    show(capsys, f"searched {len(files)} files ({total / 1e6:.1f} MB) for the API key: {len(hits)} hits")
    assert ledger, "no runs: nothing to search"
    assert len(files) > len(ALL_DAGS), "no log files"
    assert not hits, hits
