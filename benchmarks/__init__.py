"""Performance benchmarks of airflow-provider-flinksp against floors and peer providers.

``python -m benchmarks`` (or ``make bench``) runs three targets against a loopback load server
(:mod:`benchmarks.loadserver`, its own process) and writes ``benchmarks/results/latest.md`` (short,
committed) and the raw ``build/bench/latest.json`` (not committed):

1. :mod:`benchmarks.parse`: what importing the sensors and operators adds to a DAG file's parse;
2. :mod:`benchmarks.per_call`: client CPU per API call of the hook, interleaved with floors and peers;
3. :mod:`benchmarks.scale`: 100 to 5,000 deferred waits in one event loop, as the triggerer runs them.

Every measurement runs in a fresh child process so that nothing one target imports or caches
changes another; this module holds what the parent and the children share.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
RAW_RESULTS = Path(__file__).resolve().parent.parent / "build" / "bench"
#: Bytecode of everything the children import, so that imports are timed from cached bytecode
#: (as from an installed wheel) without writing ``__pycache__`` into the source tree.
PYCACHE = Path(tempfile.gettempdir()) / "flinksp-bench-pycache"
#: The bearer token the benchmarks send (a dummy: the load server does not check it).
TOKEN = "bench-token-not-a-secret"
#: IDs of the job the per-call benchmark lists (it never completes).
WS, SESSION, PER_CALL_JOB = "WS1", "SESS1", "PERCALL"


def median(values: Sequence[float]) -> float:
    """The median (nan for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile, nearest rank (nan for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class LoadServer:
    """The load server in its own process; a context manager.

    :param lifetime: seconds after which the server stops by itself
    """

    def __init__(self, lifetime: float = 1800.0) -> None:
        self.lifetime = lifetime
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> LoadServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loadserver", "--lifetime", str(self.lifetime)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"the load server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.control("POST", "/_ctl/shutdown")
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One control request (``/_ctl/...``); returns the decoded JSON answer."""
        return control(self.port, method, path, body)


def control(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One control request to the load server on ``port``; returns the decoded JSON answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"control {method} {path}: HTTP {response.status} {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


def child_env(port: int, home: str) -> dict[str, str]:
    """The environment of a measuring child: a private AIRFLOW_HOME and connections to the server.

    :param port: the load server's port
    :param home: a temporary directory for AIRFLOW_HOME
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "PYTHONPYCACHEPREFIX": str(PYCACHE),
            "AIRFLOW_CONN_LAKESAIL_DEFAULT": json.dumps(
                {"conn_type": "lakesail", "host": f"http://127.0.0.1:{port}", "password": TOKEN}
            ),
            "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps(
                {"conn_type": "flink", "host": f"http://127.0.0.1:{port}/flink"}
            ),
            "AIRFLOW_CONN_HTTP_BENCH": json.dumps(
                {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http"}
            ),
            "AIRFLOW_CONN_DBT_BENCH": json.dumps(
                {"conn_type": "dbt_cloud", "host": f"127.0.0.1:{port}", "login": "70", "password": TOKEN}
            ),
        }
    )
    return env


def run_child(module: str, args: Sequence[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``python -m <module> <args> --out <file>`` and return the JSON it writes there.

    The child's stdout and stderr (its logs included) go to a file, as a worker's or the
    triggerer's logs would, and are shown only when it fails.

    :param module: e.g. ``benchmarks.scale``
    :param args: its arguments
    :param env: its environment (see :func:`child_env`)
    :param timeout: seconds before it is killed
    """
    with tempfile.TemporaryDirectory(prefix="flinksp-bench-") as tmp:
        out = Path(tmp) / "result.json"
        log_path = Path(tmp) / "output.log"
        with log_path.open("w") as log_file:
            proc = subprocess.run(
                [sys.executable, "-m", module, *args, "--out", str(out)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        if proc.returncode != 0 or not out.exists():
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{module} {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def write_result(path: str, result: dict[str, Any]) -> None:
    """What a child hands back to :func:`run_child`."""
    Path(path).write_text(json.dumps(result))


def temp_home() -> str:
    """A fresh AIRFLOW_HOME for a child (removed when this process ends)."""
    return temp_dir("flinksp-bench-home-")


def temp_dir(prefix: str) -> str:
    """A temporary directory removed when this process ends."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def machine() -> dict[str, Any]:
    """What ran the benchmark: cores, CPU model, Python and library versions, load."""
    from importlib import metadata

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in (
        "apache-airflow",
        "apache-airflow-task-sdk",
        "airflow-provider-flinksp",
        "apache-airflow-providers-http",
        "apache-airflow-providers-dbt-cloud",
        "requests",
        "httpx",
        "httpcore",
        "aiohttp",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "loadavg_start": list(os.getloadavg()),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
