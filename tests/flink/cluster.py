"""A real local Flink 2.3 session cluster (one JobManager, one TaskManager) for the tests.

Started from the jars of the ``apache-flink-libraries`` wheel (``make flink-setup`` unpacks them to
``build/flink/lib``) as two plain ``java`` processes, on free ports, with every file it writes kept
under one temporary directory. Each JVM runs in its own process group and dies with the Python
process that started it (``PR_SET_PDEATHSIG``); ``stop()`` runs from the context manager, from
``atexit`` and from the pytest fixture's finalizer, so no JVM outlives the test run.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BUILD = REPO / "build" / "flink"

# Java 17 needs these for Flink's serializers, or job submission fails with InaccessibleObjectException.
_OPENS = [
    "java.util",
    "java.lang",
    "java.lang.reflect",
    "java.io",
    "java.net",
    "java.nio",
    "sun.nio.ch",
    "java.text",
    "java.time",
    "java.util.concurrent",
    "java.util.concurrent.atomic",
    "java.util.concurrent.locks",
]
JVM_FLAGS = [f"--add-opens=java.base/{pkg}=ALL-UNNAMED" for pkg in _OPENS]

# What the start scripts would compute for the TaskManager; without them it refuses to start.
TASKMANAGER_DYNAMIC = {
    "taskmanager.cpu.cores": "2",
    "taskmanager.memory.framework.heap.size": "128m",
    "taskmanager.memory.framework.off-heap.size": "128m",
    "taskmanager.memory.task.heap.size": "256m",
    "taskmanager.memory.task.off-heap.size": "0m",
    "taskmanager.memory.network.min": "64m",
    "taskmanager.memory.network.max": "64m",
    "taskmanager.memory.managed.size": "128m",
    "taskmanager.memory.jvm-metaspace.size": "256m",
    "taskmanager.memory.jvm-overhead.min": "192m",
    "taskmanager.memory.jvm-overhead.max": "192m",
}

_LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = false
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.netty.name = org.apache.flink.shaded.netty4
logger.netty.level = WARN
"""

_PR_SET_PDEATHSIG = 1
_PREFIX = "flinksp-flink-"
_LIVE: set[FlinkCluster] = set()


class FlinkClusterError(RuntimeError):
    """The cluster could not be started (the message carries the logs' tail)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: a new session, and SIGTERM when the starting thread dies."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_homes() -> list[Path]:
    """Remove the temp directories of clusters whose Python process died without cleaning up
    (SIGKILL: its JVMs died with it, by the parent-death signal, but the files stayed).

    Only directories named ``flinksp-flink-*`` holding an ``owner.pid`` of a dead process.
    """
    removed = []
    for home in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            pid = int((home / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(home, ignore_errors=True)
            removed.append(home)
    return removed


def _stop_all_live() -> None:
    for cluster in list(_LIVE):
        cluster.stop()


atexit.register(_stop_all_live)


class FlinkCluster:
    """One JobManager and one TaskManager on free ports; a context manager.

    :param build_dir: the directory holding ``lib/`` (Flink's jars), made by ``make flink-setup``.
    :param slots: task slots of the TaskManager.
    :param start_timeout: seconds to wait for the TaskManager to register.
    :param java: the ``java`` executable.
    :param extra_config: more Flink options, as flat keys (``{"web.refresh-interval": 500}``).
    """

    def __init__(
        self,
        *,
        build_dir: Path = DEFAULT_BUILD,
        slots: int = 4,
        start_timeout: float = 90.0,
        java: str = "java",
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self.build_dir = Path(build_dir).resolve()
        self.lib = self.build_dir / "lib"
        self.slots = slots
        self.start_timeout = start_timeout
        self.java = java
        self.extra_config = dict(extra_config or {})
        self.home: Path | None = None
        self.rest_port = 0
        self.rpc_port = 0
        self.startup_seconds: float | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def __repr__(self) -> str:
        return f"FlinkCluster(url={self.url!r}, home={str(self.home)!r})"

    @property
    def url(self) -> str:
        """The REST API's root URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def savepoint_dir(self) -> Path:
        """The cluster's default savepoint directory (``state.savepoints.dir``)."""
        assert self.home is not None, "cluster not started"
        return self.home / "savepoints"

    def log_path(self, role: str) -> Path:
        """The log file of ``jobmanager`` or ``taskmanager``.

        :param role: ``jobmanager`` or ``taskmanager``.
        """
        assert self.home is not None, "cluster not started"
        return self.home / "log" / f"{role}.log"

    def start(self) -> FlinkCluster:
        """Write the configuration, start both JVMs and wait until the TaskManager has registered."""
        if not list(self.lib.glob("flink-dist-*.jar")):
            raise FlinkClusterError(f"no Flink jars in {self.lib}: run `make flink-setup` first")
        began = time.monotonic()
        remove_stale_homes()
        self.home = Path(tempfile.mkdtemp(prefix=_PREFIX))
        (self.home / "owner.pid").write_text(str(os.getpid()))
        _LIVE.add(self)
        try:
            self._write_config()
            self._spawn(
                "jobmanager", "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
            )
            dynamic = [arg for key, value in TASKMANAGER_DYNAMIC.items() for arg in ("-D", f"{key}={value}")]
            self._spawn("taskmanager", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", dynamic)
            self._wait_ready(began)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _write_config(self) -> None:
        assert self.home is not None
        self.rest_port, self.rpc_port = free_port(), free_port()
        for sub in ("conf", "log", "savepoints", "checkpoints", "tmp"):
            (self.home / sub).mkdir()
        home = self.home.as_uri()
        config: dict[str, Any] = {
            "jobmanager": {
                "rpc": {"address": "127.0.0.1", "port": self.rpc_port},
                "bind-host": "127.0.0.1",
                "memory": {"process": {"size": "768m"}},
            },
            "taskmanager": {
                "bind-host": "127.0.0.1",
                "host": "127.0.0.1",
                "numberOfTaskSlots": self.slots,
                "memory": {"process": {"size": "1024m"}},
            },
            "rest": {"address": "127.0.0.1", "bind-address": "127.0.0.1", "port": self.rest_port},
            "parallelism": {"default": 1},
            "state": {"savepoints": {"dir": f"{home}/savepoints"}},
            "execution": {"checkpointing": {"dir": f"{home}/checkpoints"}},
            # Everything Flink writes (blob store, web uploads, local state) stays under self.home;
            # blob, data and TaskManager RPC ports are 0 (any free port) by default.
            "io": {"tmp": {"dirs": str(self.home / "tmp")}},
            "web": {"tmpdir": str(self.home / "tmp")},
            "blob": {"server": {"port": "0"}},
        }
        config.update(self.extra_config)  # flat keys: Flink's YAML reader takes both forms
        # JSON is YAML: Flink 2.x reads conf/config.yaml.
        (self.home / "conf" / "config.yaml").write_text(json.dumps(config, indent=2))
        (self.home / "conf" / "log4j.properties").write_text(_LOG4J)

    def _spawn(self, role: str, main_class: str, extra: list[str] | None = None) -> None:
        assert self.home is not None
        log = self.log_path(role)
        heap = "-Xmx512m" if role == "jobmanager" else "-Xmx600m"
        cmd = [
            self.java,
            *JVM_FLAGS,
            heap,
            # Quicker start and job submission on a small shared machine: C1 only, one GC thread.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            f"-Dlog.file={log}",
            f"-Dlog4j.configurationFile=file:{self.home / 'conf' / 'log4j.properties'}",
            "-cp",
            f"{self.lib}/*",
            main_class,
            "--configDir",
            str(self.home / "conf"),
            *(extra or []),
        ]
        with open(self.home / "log" / f"{role}.out", "wb") as out:
            self._procs[role] = subprocess.Popen(
                cmd,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # setsid + pdeathsig; the tests start no threads before
            )

    def get(self, path: str, timeout: float = 5.0) -> Any:
        """GET a REST path and decode its JSON body (plain urllib: no dependency).

        :param path: e.g. ``/overview``.
        :param timeout: seconds.
        """
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return json.loads(resp.read())

    def _wait_ready(self, began: float) -> None:
        deadline = began + self.start_timeout
        while time.monotonic() < deadline:
            for role, proc in self._procs.items():
                if proc.poll() is not None:
                    raise FlinkClusterError(
                        f"the {role} exited with code {proc.returncode}\n{self.logs_tail()}"
                    )
            with contextlib.suppress(OSError, ValueError):
                overview = self.get("/overview", timeout=2.0)
                if overview.get("taskmanagers") == 1 and overview.get("slots-total") == self.slots:
                    return
            time.sleep(0.25)
        raise FlinkClusterError(
            f"no TaskManager with {self.slots} slots registered within {self.start_timeout:.0f} s "
            f"at {self.url}\n{self.logs_tail()}"
        )

    def logs_tail(self, lines: int = 40) -> str:
        """The last lines of each log and stdout file, for failure messages.

        :param lines: lines per file.
        """
        if self.home is None or not (self.home / "log").is_dir():
            return "(no logs)"
        parts = []
        for path in sorted((self.home / "log").iterdir()):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} (last {len(text)} lines) ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self) -> None:
        """Kill both process groups (SIGTERM, then SIGKILL after 10 s) and remove the temp directory."""
        for proc in self._procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self._procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            # The group may hold more than the JVM if it ever forks: make sure it is gone.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self._procs.clear()
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None
        _LIVE.discard(self)

    def __enter__(self) -> FlinkCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
