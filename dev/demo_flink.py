"""``make demo-flink`` (``python -m dev.demo_flink``): the Flink example DAG run by Airflow against a
real local Flink cluster.

Starts a Flink 2.3 session cluster (JobManager and TaskManager, from ``make flink-setup``'s
``build/flink``), uploads the test suite's counter job and starts it with the hook, then runs
``dags_examples/flink_savepoint_upgrade.py`` twice with ``dag.test()``: a savepoint and a restore,
then a stop-with-savepoint and a restore. It prints what each task did and the savepoints on disk
(with the job each one was restored into, from Flink's ``latest.restored``), cancels the jobs and
stops the cluster, also on failure. Airflow runs in a throwaway ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dev.demo import Console, configure_airflow, quiet, read_xcoms
from tests.flink.cluster import DEFAULT_BUILD, FlinkCluster

REPO = Path(__file__).resolve().parent.parent

EXAMPLE = REPO / "dags_examples" / "flink_savepoint_upgrade.py"
BUILD = Path(os.environ.get("FLINKSP_FLINK_BUILD", DEFAULT_BUILD))
ENDED = ("FINISHED", "CANCELED", "FAILED")


def table(say: Console, rows: list[tuple[str, ...]]) -> None:
    """Print rows as a table, the first as its header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        cells = [f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:-1])] + [row[-1]]
        say("   " + "  ".join(cells))
        if index == 0:
            say("   " + "  ".join(["-" * w for w in widths] + ["-" * len(row[-1])]))


def wait_running(hook: Any, job_id: str) -> float:
    """Wait with the provider's own waiting rule until the job and its tasks run; seconds taken."""
    from airflow_provider_flinksp.flink.waiting import RUNNING, WaitTarget, check

    began = time.monotonic()
    while True:
        verdict = check(hook, WaitTarget(job_id, kind=RUNNING))
        if verdict.status == "success":
            return time.monotonic() - began
        if verdict.status == "failed" or time.monotonic() - began > 60:
            raise RuntimeError(verdict.message)
        time.sleep(0.2)


def describe(task_id: str, xcoms: dict[tuple[str, str], Any]) -> str:
    """What one task of the example did, from its XComs."""
    result = xcoms.get((task_id, "return_value"))
    if task_id == "savepoint":
        return f"trigger ID {xcoms.get((task_id, 'trigger_id'))}"
    if task_id == "wait_for_savepoint" and isinstance(result, dict):
        return f"completed at {result.get('location')}"
    if task_id == "push_latest":
        return f"savepoint_location {xcoms.get((task_id, 'savepoint_location'))}"
    if task_id == "restore":
        return f"new job {result} RUNNING"
    return "-"


def run_example(say: Console, hook: Any, job_id: str, jar_id: str, stop: bool) -> str:
    """Run the example DAG once; print its tasks; return the restored job's ID."""
    spec = importlib.util.spec_from_file_location("flink_savepoint_upgrade", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    began = time.monotonic()
    dag_run = module.dag.test(
        run_conf={"job_id": job_id, "jar_id": jar_id, "entry_class": "Counter", "stop": stop}
    )
    took = time.monotonic() - began
    xcoms = read_xcoms(dag_run)
    instances = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date))
    rows = [("task", "state", "what it did")]
    for ti in instances:
        state = str(getattr(ti.state, "value", ti.state))
        rows.append((ti.task_id, state, describe(ti.task_id, xcoms) if state == "success" else "-"))
    table(say, rows)
    state = str(getattr(dag_run.state, "value", dag_run.state))
    old_state = hook.describe_job(job_id)["state"]
    if stop:  # GET /jobs/{job} is cached for web.refresh-interval (3 s): wait for FINISHED to show
        began = time.monotonic()
        while old_state not in ENDED and time.monotonic() - began < 15:
            time.sleep(0.2)
            old_state = hook.describe_job(job_id)["state"]
    say(f"   DAG run {state} in {took:.1f} s; job {job_id} is now {old_state}")
    new_job = xcoms.get(("restore", "return_value"))
    if state != "success" or not isinstance(new_job, str):
        raise RuntimeError(f"the example DAG run ended {state}")
    return new_job


def show_savepoints(say: Console, hook: Any, cluster: FlinkCluster, jobs: list[str]) -> bool:
    """The savepoints on disk, and which job Flink says it restored from each; True when each
    savepoint restored exactly one job."""
    restored = {}
    for job in jobs:
        path = hook.get_checkpoints(job)["latest"].get("restored") or {}
        if path.get("external_path"):
            restored[path["external_path"]] = job
    rows = [("savepoint on disk", "_metadata", "restored into job")]
    for directory in sorted(cluster.savepoint_dir.glob("savepoint-*")):
        location = "file:" + str(directory)
        size = (directory / "_metadata").stat().st_size
        rows.append((str(directory), f"{size} B", restored.get(location, "-")))
    table(say, rows)
    return len(rows) == 3 and all(row[2] != "-" for row in rows[1:])


def story(say: Console, cluster: FlinkCluster, jobs: list[str], hooks: list[Any]) -> bool:
    """Start the cluster and the job, run the example twice, show the savepoints; True when all held.

    :param say: prints to the terminal
    :param cluster: the cluster to start
    :param jobs: the started jobs' IDs are appended here (to be cancelled at the end)
    :param hooks: the hook is appended here once made
    """
    say(f"Starting a Flink 2.3 cluster (JobManager + TaskManager) from {BUILD} ...")
    cluster.start()
    say(f"Flink REST API on {cluster.url}, ready in {cluster.startup_seconds:.1f} s")
    os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
        {"conn_type": "flink", "host": cluster.url, "extra": {"retry_delay": 0.2}}
    )
    from airflow.utils import db

    db.initdb()
    from airflow_provider_flinksp.hooks import FlinkRestHook

    hook = FlinkRestHook()
    hooks.append(hook)
    say(f"Airflow {version('apache-airflow')}; {hook.test_connection()[1]}")
    say()
    jar_id = hook.upload_jar(BUILD / "counter.jar")
    jobs.append(hook.run_jar(jar_id, entry_class="Counter", args=["--sleep-ms", "10"]))
    say(f"1. The hook uploaded counter.jar as {jar_id} and started job {jobs[0]}")
    say(f"   (RUNNING with all its tasks after {wait_running(hook, jobs[0]):.1f} s)")
    say()
    say("2. flink_savepoint_upgrade, stop=false: savepoint, gate, latest, restore")
    jobs.append(run_example(say, hook, jobs[0], jar_id, stop=False))
    say()
    say(f"3. flink_savepoint_upgrade, stop=true: stop job {jobs[1]} with a savepoint, restore")
    jobs.append(run_example(say, hook, jobs[1], jar_id, stop=True))
    say()
    say(f"4. Savepoints under {cluster.savepoint_dir}, and the job Flink restored from each:")
    return show_savepoints(say, hook, cluster, jobs)


def main() -> int:
    """Run the demo; 0 when both DAG runs succeeded and each savepoint restored a job."""
    home = Path(tempfile.mkdtemp(prefix="flinksp-demo-flink-home-"))
    log_path = home / "airflow-output.log"
    configure_airflow(home, EXAMPLE.parent)
    os.environ["FLINK_EXAMPLE_POLL_SECONDS"] = "0.3"
    say = Console()
    cluster = FlinkCluster(build_dir=BUILD)
    jobs: list[str] = []
    hooks: list[Any] = []
    ok = False
    try:
        with quiet(log_path):
            try:
                ok = story(say, cluster, jobs, hooks)
            finally:
                for job in jobs:
                    with contextlib.suppress(Exception):
                        if hooks and hooks[0].describe_job(job)["state"] not in ENDED:
                            hooks[0].cancel_job(job)
                cluster.stop()
    except Exception as exc:
        say(f"demo failed: {type(exc).__name__}: {exc}")
    finally:
        say()
        say("Cluster stopped.")
        if not ok:
            say(f"FAILED. The last lines of Airflow's output ({log_path}):")
            with contextlib.suppress(OSError):
                for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]:
                    say(f"   {line}")
            say(f"Airflow home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
        say("Demo succeeded." if ok else "Demo failed.")
        say.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
