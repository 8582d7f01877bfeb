"""Run a standalone fake LakeSail API with a demo job: ``python -m airflow_provider_flinksp.testing``."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from airflow_provider_flinksp.testing.fake import FakeLakeSail
from airflow_provider_flinksp.testing.state import PENDING_POLICIES

DEMO_IDS = ("WS1", "SESS1", "JOB1")
#: The numeric options: flags, destination, type, default, help.
NUMERIC_OPTIONS: tuple[tuple[tuple[str, ...], str, type[float] | type[int], float | None, str], ...] = (
    (("--savepoint-duration", "--duration"), "duration", float, 5.0, "seconds a savepoint stays pending"),
    (("--periodic",), "periodic", float, None, "seconds between periodic savepoints"),
    (("--job-start-delay",), "job_start_delay", float, 0.5, "seconds a created session job is PENDING"),
    (("--history",), "history", int, None, "keep only the newest N completed"),
    (("--appear-delay",), "appear_delay", float, 0.0, "seconds before a trigger is listed"),
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_flinksp.testing",
        description="Serve a fake LakeSail managed-Flink API on 127.0.0.1 with a RUNNING demo job.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--token", default="test-token", help="bearer token clients must send")
    parser.add_argument(
        "--pending-policy",
        choices=PENDING_POLICIES,
        default="409",
        help="a manual savepoint while one is pending: refused with 409 or 400, or queued (202)",
    )
    for flags, dest, kind, default, meaning in NUMERIC_OPTIONS:
        metavar = "N" if kind is int else "SECONDS"
        parser.add_argument(*flags, dest=dest, metavar=metavar, type=kind, default=default, help=meaning)
    return parser


def main(argv: Sequence[str] | None = None, *, stop_event: threading.Event | None = None) -> int:
    """Start the server, print how to reach it, and serve until interrupted.

    :param argv: command-line arguments (default: ``sys.argv[1:]``)
    :param stop_event: when set, the server stops (for running it in-process); Ctrl-C always works
    :return: the process exit status
    """
    stop = stop_event if stop_event is not None else threading.Event()
    options = build_parser().parse_args(argv)
    server = FakeLakeSail(
        token=options.token,
        savepoint_duration=options.duration,
        appear_delay=options.appear_delay,
        port=options.port,
        pending_policy=options.pending_policy,
        job_start_delay=options.job_start_delay,
    )
    try:
        server.start()
    except OSError as exc:
        print(f"cannot listen on port {options.port}: {exc}", file=sys.stderr)
        return 1
    job = server.add_job(*DEMO_IDS, periodic_interval=options.periodic, history_max_count=options.history)
    connection = json.dumps({"conn_type": "lakesail", "host": server.url, "password": server.token})
    lines = [
        f"Fake LakeSail API listening on {server.url}",
        f"token: {server.token}",
        f"demo job (RUNNING): {job.path}",
        f"savepoints: {server.url}{job.savepoints_path}",
        f"session jobs: {server.url}{job.path.rsplit('/', 1)[0]}",
        f"periodic savepoints: every {options.periodic} s"
        if options.periodic
        else "periodic savepoints: off",
        f"a manual savepoint while one is pending: {options.pending_policy}",
        f"export AIRFLOW_CONN_LAKESAIL_DEFAULT={shlex.quote(connection)}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
