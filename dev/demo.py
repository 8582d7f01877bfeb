"""The demo behind ``make demo``: a fake LakeSail server, the hook at work, then the example DAGs
``lakesail_savepoint_upgrade`` (savepoint, then the upgraded job restored from it) and
``lakesail_restore_on_new_savepoint`` (run for the savepoint asset event the first one recorded),
each run by Airflow's ``dag.test()`` and summed up task by task.

Run ``python -m dev.demo`` (from the repository root, or point ``--dags-folder``
or ``FLINKSP_DEMO_DAGS_FOLDER`` at ``dags_examples/``). It sets Airflow up in a throwaway
``AIRFLOW_HOME`` (a SQLite file) before Airflow is imported, ignoring any ``AIRFLOW__*``,
``AIRFLOW_CONN_*`` and ``AIRFLOW_VAR_*`` settings of the calling shell, and removes it afterwards
(``--keep`` keeps it). Airflow's own log lines go to a file there; its last lines are shown if
something fails. The exit status is 0 only when every task of the DAG run succeeded.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TextIO

from airflow_provider_flinksp.testing import FakeLakeSail, format_timestamp

DEMO_IDS = ("WS1", "SESS1", "JOB1")
EXAMPLE_FILE = "lakesail_savepoint_upgrade.py"
EXAMPLE_DAG_ID = "lakesail_savepoint_upgrade"
CONSUMER_FILE = "lakesail_restore_on_new_savepoint.py"
CONSUMER_DAG_ID = "lakesail_restore_on_new_savepoint"
ASSET_URI = "lakesail://WS1/SESS1/JOB1"
DAGS_FOLDER_ENV = "FLINKSP_DEMO_DAGS_FOLDER"
SAVEPOINT_SECONDS = 1.5
#: The example DAG reads its polling interval from this at parse time.
POLL_ENV = "LAKESAIL_EXAMPLE_POLL_SECONDS"


class Console:
    """Prints to the terminal the demo started with, even while Airflow's output is redirected."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out: TextIO = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")

    def __call__(self, text: str = "") -> None:
        self._out.write(text + "\n")

    def close(self) -> None:
        self._out.close()


@contextlib.contextmanager
def quiet(log_path: Path) -> Iterator[None]:
    """Send everything written to stdout and stderr (Python objects and file descriptors 1 and 2) to
    a log file, for Airflow's log lines and warnings. Entered once: log handlers made inside keep
    the file, which stays open until the end."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with open(log_path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def find_dags_folder(explicit: str | None) -> Path:
    """The folder holding the example DAG: the flag, the env var, beside the package, or ./dags_examples.

    :param explicit: the ``--dags-folder`` value, if any
    """
    package_root = Path(__file__).resolve().parent.parent
    candidates = [explicit, os.environ.get(DAGS_FOLDER_ENV), package_root / "dags_examples", "dags_examples"]
    for candidate in candidates:
        if candidate and (Path(candidate) / EXAMPLE_FILE).is_file():
            return Path(candidate).resolve()
    raise SystemExit(
        f"cannot find {EXAMPLE_FILE}: run from the repository root, or pass --dags-folder or set "
        f"{DAGS_FOLDER_ENV} to the dags_examples/ folder"
    )


def configure_airflow(home: Path, dags_folder: Path) -> None:
    """Point Airflow at a throwaway home; must run before anything imports Airflow.

    :param home: the new AIRFLOW_HOME
    :param dags_folder: the folder with the example DAGs
    """
    if "airflow" in sys.modules:
        raise RuntimeError("the demo must configure Airflow before it is imported; run it as a program")
    for name in [key for key in os.environ if key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
        del os.environ[name]
    settings = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        POLL_ENV: "0.3",
    }
    if version("apache-airflow").startswith("2."):
        settings["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    os.environ.update(settings)


def start_fake() -> FakeLakeSail:
    """The fake server with the demo job RUNNING and two older completed savepoints."""
    server = FakeLakeSail(token="demo-token-not-a-secret", savepoint_duration=SAVEPOINT_SECONDS).start()
    now = time.time()
    server.add_job(
        *DEMO_IDS,
        completed=[
            {
                "triggerType": "MANUAL",
                "triggerNonce": "3f0c9a52-older-manual",
                "triggeredAt": format_timestamp(now - 2 * 86400),
                "location": "s3://bucket/flink-savepoints/savepoint-older-manual",
            },
            {
                "triggerType": "PERIODIC",
                "triggeredAt": format_timestamp(now - 3600),
                "location": "s3://bucket/flink-savepoints/savepoint-hourly-periodic",
            },
        ],
    )
    os.environ["AIRFLOW_CONN_LAKESAIL_DEFAULT"] = json.dumps(
        {"conn_type": "lakesail", "host": server.url, "password": server.token, "extra": {"retry_delay": 0.2}}
    )
    return server


def show_hook(say: Console) -> None:
    """Trigger a savepoint with the hook, watch it go from pending to completed, print the latest."""
    from airflow_provider_flinksp.core.selection import choose_latest
    from airflow_provider_flinksp.hooks import LakeSailHook

    job = "/".join(DEMO_IDS)
    say(f"1. The hook: trigger a savepoint of {job} and watch it")
    hook = LakeSailHook()
    started = time.monotonic()
    triggered = hook.trigger_session_job_savepoint(*DEMO_IDS)
    say(f"   POST .../savepoints -> 202, triggerNonce {triggered.trigger_nonce}")
    nonce = triggered.trigger_nonce or ""
    seen = None
    while True:
        listing = hook.list_session_job_savepoints(*DEMO_IDS)
        where = listing.find(nonce)
        status = where[0] if where else "not listed yet"
        if status != seen:
            say(f"   {time.monotonic() - started:4.1f} s  {status}")
            seen = status
        if status == "completed" or time.monotonic() - started > 30:
            break
        time.sleep(0.25)
    if seen != "completed":
        raise RuntimeError(f"the savepoint {nonce} did not complete within 30 s: {seen}")
    latest, found = choose_latest(listing.completed)
    say(f"   latest restorable savepoint: {latest.location if latest else None}")
    say(f"   ({found})")
    say()


def read_xcoms(dag_run: Any) -> dict[tuple[str, str], Any]:
    """Every XCom of a DAG run, from the metadata DB, keyed by (task_id, key)."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    try:
        from airflow.models.xcom import XComModel as XCom  # Airflow 3
    except ImportError:  # Airflow 2.11
        from airflow.models.xcom import XCom  # type: ignore[no-redef]

    query = select(XCom.task_id, XCom.key, XCom.value).where(
        XCom.dag_id == dag_run.dag_id, XCom.run_id == dag_run.run_id
    )
    with create_session() as session:
        return {(row.task_id, row.key): XCom.deserialize_value(row) for row in session.execute(query)}


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def describe(
    task_id: str,
    state: str,
    xcoms: dict[tuple[str, str], Any],
    waited: float | None,
    restored_from: str | None = None,
) -> str:
    """What one task of an example DAG did, in words, from its state and XComs.

    :param restored_from: for a task that created a job, the job's ``execution.savepoint.path``
        as the server recorded it
    """
    if state != "success":
        return "see Airflow's output below" if state in ("failed", "upstream_failed") else "-"
    result = xcoms.get((task_id, "return_value"))
    if task_id == "trigger_savepoint" and isinstance(result, dict):
        return f"triggered savepoint nonce {result.get('triggerNonce')}"
    if task_id == "wait_for_savepoint" and isinstance(result, dict):
        took = f"waited {waited:.1f} s; " if waited is not None else ""
        return f"{took}completed at {result.get('location')}"
    if task_id == "push_latest" and (task_id, "savepoint_location") in xcoms:
        return f"latest {xcoms[(task_id, 'savepoint_location')]}"
    if task_id == "restore_from_savepoint" and isinstance(result, dict):
        return f"created job {result.get('id')} ({result.get('state')}) from {restored_from}"
    if task_id == "wait_until_running" and isinstance(result, dict):
        return f"job {result.get('id')} {result.get('state')}"
    if task_id == "savepoint_from_event" and isinstance(result, str):
        return f"the event carried {result}"
    return "-" if result is None else json.dumps(result)


def run_dag(
    say: Console, path: Path, dag_id: str, server: FakeLakeSail
) -> tuple[bool, dict[tuple[str, str], Any]]:
    """Run one example DAG with dag.test() and print its table; (every task succeeded, its XComs)."""
    from airflow_provider_flinksp.testing.asset_runs import register_assets

    spec = importlib.util.spec_from_file_location(dag_id, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    started = time.monotonic()
    spec.loader.exec_module(module)
    register_assets(module.dag)
    dag_run = module.dag.test()
    instances = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date))
    xcoms = read_xcoms(dag_run)
    took = time.monotonic() - started
    ends = {ti.task_id: ti.end_date for ti in instances}
    rows = [("task", "state", "what it did")]
    for ti in instances:
        waited = (
            _seconds(ends.get("trigger_savepoint"), ti.end_date)
            if ti.task_id == "wait_for_savepoint"
            else None
        )
        state = _state(ti.state)
        rows.append(
            (ti.task_id, state, describe(ti.task_id, state, xcoms, waited, restored_from(server, xcoms)))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for index, (task_id, state, did) in enumerate(rows):
        say(f"   {task_id:<{widths[0]}}  {state:<{widths[1]}}  {did}")
        if index == 0:
            say(f"   {'-' * widths[0]}  {'-' * widths[1]}  {'-' * 11}")
    starts = [ti.start_date for ti in instances if ti.start_date]
    finishes = [ti.end_date for ti in instances if ti.end_date]
    tasks = _seconds(min(starts), max(finishes)) if starts and finishes else None
    detail = f" (first task start to last task end: {tasks:.1f} s)" if tasks is not None else ""
    say(f"   DAG run {_state(dag_run.state)} in {took:.1f} s{detail}")
    say()
    ok = _state(dag_run.state) == "success" and all(_state(ti.state) == "success" for ti in instances)
    return ok, xcoms


def restored_from(server: FakeLakeSail, xcoms: dict[tuple[str, str], Any]) -> str | None:
    """The ``execution.savepoint.path`` the server recorded for the job the restore task created."""
    job_id = xcoms.get(("restore_from_savepoint", "job_id"))
    if not job_id:
        return None
    spec = server.job_spec(DEMO_IDS[0], DEMO_IDS[1], job_id)
    path = spec["flinkConfiguration"].get("execution.savepoint.path")
    return None if path is None else str(path)


def run_example(say: Console, dags_folder: Path, server: FakeLakeSail) -> bool:
    """Run both example DAGs, print their tables; True when every task succeeded and both jobs were
    restored from the savepoint the first run took."""
    from airflow_provider_flinksp.testing.asset_runs import consuming

    say(f"2. Airflow runs the example DAG {EXAMPLE_DAG_ID} ({dags_folder / EXAMPLE_FILE})")
    ok, xcoms = run_dag(say, dags_folder / EXAMPLE_FILE, EXAMPLE_DAG_ID, server)
    pushed = xcoms.get(("push_latest", "savepoint_location"))
    nonce = xcoms.get(("trigger_savepoint", "trigger_nonce"))
    chosen = xcoms.get(("push_latest", "return_value")) or {}
    location = restored_from(server, xcoms)
    if location:
        new_job = xcoms.get(("restore_from_savepoint", "job_id"))
        say(f"   The upgraded job {new_job} was restored from {location}")
        say("   (LakeSail's CreateFlinkSessionJob with Flink's option execution.savepoint.path, as the")
        say(f"   server recorded it); push_latest recorded that savepoint as an event of {ASSET_URI}.")
    else:
        say("   The restore task created no job from a savepoint.")
    say()
    say(f"3. The savepoint asset event starts {CONSUMER_DAG_ID} ({dags_folder / CONSUMER_FILE})")
    with consuming(ASSET_URI):
        standby_ok, standby = run_dag(say, dags_folder / CONSUMER_FILE, CONSUMER_DAG_ID, server)
    standby_from = restored_from(server, standby)
    standby_job = standby.get(("restore_from_savepoint", "job_id"))
    say(f"   The standby job {standby_job} was restored from {standby_from}")
    return (
        ok
        and standby_ok
        and bool(location)
        and location == pushed == standby_from
        and chosen.get("triggerNonce") == nonce
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m dev.demo",
        description="Run the LakeSail example DAGs against a fake LakeSail server with Airflow's dag.test().",
    )
    parser.add_argument(
        "--dags-folder", help=f"the dags_examples/ folder (default: ${DAGS_FOLDER_ENV} or found)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the throwaway AIRFLOW_HOME and its log")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when the example DAG run succeeded."""
    options = build_parser().parse_args(argv)
    dags_folder = find_dags_folder(options.dags_folder)
    home = Path(tempfile.mkdtemp(prefix="flinksp-demo-airflow-home-"))
    log_path = home / "airflow-output.log"
    configure_airflow(home, dags_folder)
    say = Console()
    server: FakeLakeSail | None = None
    ok = False
    try:
        with quiet(log_path):
            say(f"Setting up Airflow {version('apache-airflow')} in {home} (SQLite) ...")
            set_up = time.monotonic()
            from airflow.utils import db

            db.initdb()
            server = start_fake()
            say(f"Fake LakeSail API on {server.url}; job {'/'.join(DEMO_IDS)} RUNNING, 2 older savepoints")
            say(f"(set-up took {time.monotonic() - set_up:.1f} s)")
            say()
            show_hook(say)
            ok = run_example(say, dags_folder, server)
    except Exception as exc:
        say(f"demo failed: {type(exc).__name__}: {exc}")
    finally:
        if server is not None:
            server.stop()
        if not ok:
            say()
            say(f"FAILED. The last lines of Airflow's output ({log_path}):")
            with contextlib.suppress(OSError):
                for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]:
                    say(f"   {line}")
        if options.keep or not ok:
            say(f"Airflow home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
        say("Demo succeeded." if ok else "Demo failed.")
        say.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
