"""Fixtures for the real-Flink tests: one local cluster per test session, the counter job's jar.

Every test under ``tests/flink`` is marked ``flink`` (``make test-flink``; ``make test`` leaves them
out) and gets a longer timeout, since the first one waits for the cluster to start.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
import requests

from tests.flink.cluster import DEFAULT_BUILD, FlinkCluster
from tests.flink.recorded import check_or_record
from tests.flink.support import TIMINGS, FlinkRest, record_timing

HERE = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("FLINKSP_FLINK_BUILD", DEFAULT_BUILD))
TIMEOUT = 300


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.flink)
            item.add_marker(pytest.mark.timeout(TIMEOUT))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("flink timings")
    for name, values in TIMINGS.items():
        figures = ", ".join(f"{value:.3f}" for value in values)
        terminalreporter.write_line(f"{name}: {figures} s")


@pytest.fixture(scope="session")
def flink_cluster() -> Iterator[FlinkCluster]:
    """A local Flink 2.3 cluster (JobManager + TaskManager) on free ports, stopped at the end.

    Stopped at teardown even when a test fails or the run is interrupted (Ctrl-C or SIGTERM); an
    ``atexit`` hook and the JVMs' parent-death signal cover the rest, and a later run removes the
    temp directory a SIGKILLed run left behind.
    """
    # SIGTERM (e.g. a CI job's cancel) interrupts the run like Ctrl-C, so finalizers still run.
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    cluster = FlinkCluster(build_dir=BUILD)
    try:
        cluster.start()
        assert cluster.startup_seconds is not None
        record_timing("cluster start", cluster.startup_seconds)
        yield cluster
    finally:
        cluster.stop()
        if previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def counter_jar_id(flink_cluster: FlinkCluster) -> str:
    """Upload ``counter.jar`` (built by ``make flink-setup``) and return the jar ID Flink gave it."""
    jar = BUILD / "counter.jar"
    if not jar.is_file():
        pytest.fail(f"{jar} is missing: run `make flink-setup` first")
    with jar.open("rb") as handle:
        resp = requests.post(
            f"{flink_cluster.url}/jars/upload",
            files={"jarfile": ("counter.jar", handle, "application/x-java-archive")},
            timeout=30,
        )
    check_or_record("jar_upload", "POST /jars/upload", resp.status_code, resp.json())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "success"
    jar_id = str(body["filename"]).rsplit("/", 1)[-1]
    listing = requests.get(f"{flink_cluster.url}/jars", timeout=10).json()
    check_or_record("jars_list", "GET /jars", 200, listing)
    assert jar_id in [entry["id"] for entry in listing["files"]]
    return jar_id


@pytest.fixture
def rest(flink_cluster: FlinkCluster) -> FlinkRest:
    """A plain ``requests`` client of the cluster's REST API."""
    return FlinkRest(flink_cluster.url)


@pytest.fixture
def started_jobs(rest: FlinkRest) -> Iterator[list[str]]:
    """A list to put the IDs of started jobs in; each still running is cancelled at teardown."""
    jobs: list[str] = []
    yield jobs
    for job_id in jobs:
        rest.cancel(job_id)


@pytest.fixture
def counter_job(rest: FlinkRest, counter_jar_id: str, started_jobs: list[str]) -> str:
    """A running counter job (all tasks RUNNING), cancelled at teardown."""
    job_id = rest.run_jar(counter_jar_id, entryClass="Counter", programArgsList=["--sleep-ms", "10"])
    started_jobs.append(job_id)
    record_timing("job start to RUNNING", rest.wait_running(job_id))
    return job_id
