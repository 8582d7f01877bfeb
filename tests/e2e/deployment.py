"""A real Airflow deployment in a temporary directory: one process per component, free ports, and
a metadata database given by the caller (a private PostgreSQL cluster: see ``postgres.py``).

Airflow 3: api-server, scheduler (LocalExecutor), dag-processor and triggerer. Airflow 2.11:
scheduler (LocalExecutor) and triggerer. Every component runs in its own
process group with its output in ``<root>/components/<name>-<n>.log``; :meth:`Deployment.stop` kills
the groups, every descendant and every process carrying this deployment's ``AIRFLOW_HOME``, and runs
from an atexit hook too.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.e2e import processes

AIRFLOW_VERSION = version("apache-airflow")
AIRFLOW_3 = not AIRFLOW_VERSION.startswith("2.")
#: The components started, in order, per major version.
COMPONENTS = (
    ("api-server", "scheduler", "dag-processor", "triggerer") if AIRFLOW_3 else ("scheduler", "triggerer")
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Component:
    """One running Airflow component.

    :param name: the CLI subcommand (``scheduler``, ``triggerer``, ...)
    :param proc: its process (the leader of its own process group)
    :param log: where its stdout and stderr go
    """

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    family: list[int] = field(default_factory=list)


class DeploymentError(RuntimeError):
    """The deployment did not come up (a component died or did not get ready in time)."""


class Deployment:
    """A temporary Airflow deployment; :meth:`start` it, :meth:`stop` it (also at interpreter exit).

    :param root: an empty directory for everything it writes (AIRFLOW_HOME, DAGs, logs)
    :param dag_files: DAG files to copy into the DAG folder
    :param env: extra environment for every component (connections, example settings)
    :param database_url: the SQLAlchemy URL of an empty metadata database
    :param query: runs a read-only SQL statement (``%s`` placeholders) on that database
    :param parallelism: ``[core] parallelism``: LocalExecutor worker processes
    """

    def __init__(
        self,
        root: Path,
        *,
        dag_files: Iterable[Path],
        env: Mapping[str, str],
        database_url: str,
        query: Callable[[str, Iterable[Any]], list[tuple[Any, ...]]],
        parallelism: int = 8,
    ) -> None:
        self.root = root
        self.home = root / "airflow-home"
        self.dags_folder = root / "dags"
        self.component_logs = root / "components"
        self.database_url = database_url
        self._query = query
        self.bin = Path(sys.executable).parent
        self.api_port = free_port()
        self.worker_log_port = free_port()
        self.trigger_log_port = free_port()
        self.components: dict[str, Component] = {}
        self._starts: dict[str, int] = {}
        self._stopped = False
        for folder in (self.home, self.dags_folder, self.component_logs):
            folder.mkdir(parents=True, exist_ok=True)
        for dag_file in dag_files:
            shutil.copy2(dag_file, self.dags_folder / dag_file.name)
        self.env = self._environment(env, parallelism)
        atexit.register(self.stop)

    # ------------------------------------------------------------------ configuration

    def _environment(self, extra: Mapping[str, str], parallelism: int) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        base["PATH"] = f"{self.bin}{os.pathsep}{base.get('PATH', '')}"
        base["PYTHONUNBUFFERED"] = "1"
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": "64",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "64",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            # A killed triggerer's triggers go to the next one after this many seconds without heartbeat.
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
        }
        if AIRFLOW_3:
            api = f"http://127.0.0.1:{self.api_port}"
            settings |= {
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
                "AIRFLOW__API__BASE_URL": f"{api}/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            }
        else:
            settings |= {
                "AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_hex(16),
                "AIRFLOW__SCHEDULER__SCHEDULER_ZOMBIE_TASK_THRESHOLD": "30",
                "AIRFLOW__SCHEDULER__ZOMBIE_DETECTION_INTERVAL": "5",
            }
        return base | settings | dict(extra)

    # ------------------------------------------------------------------ life cycle

    def airflow(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run one ``airflow`` CLI command in the deployment's environment; raise if it fails.

        :param args: the arguments after ``airflow``
        :param timeout: seconds before it is killed
        """
        result = subprocess.run(
            [str(self.bin / "airflow"), *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
        with (self.component_logs / "cli.log").open("a") as log:
            log.write(f"$ airflow {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            command = " ".join(args)
            raise DeploymentError(f"airflow {command} exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result

    def start(self, *, ready_timeout: float = 180) -> None:
        """Migrate the database and start every component; wait until the API answers (Airflow 3).

        :param ready_timeout: seconds to wait for readiness
        """
        self.airflow("db", "migrate", timeout=600)
        for name in COMPONENTS:
            self.start_component(name)
        if AIRFLOW_3:
            deadline = time.monotonic() + ready_timeout
            while not self._api_healthy():
                self.check_alive()
                if time.monotonic() > deadline:
                    raise DeploymentError(f"api-server not healthy after {ready_timeout}s")
                time.sleep(0.5)

    def start_component(self, name: str) -> Component:
        """Start (or start again) one component in its own process group.

        :param name: the ``airflow`` subcommand
        """
        count = self._starts.get(name, 0) + 1
        self._starts[name] = count
        log_path = self.component_logs / f"{name}-{count}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(self.bin / "airflow"), name],
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        component = Component(name, proc, log_path)
        self.components[name] = component
        return component

    def kill_component(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a component's process group and to all its descendants; wait for it.

        :param name: the component
        :param sig: the signal (SIGKILL: no clean-up, as in a crash)
        """
        component = self.components[name]
        family = processes.descendants(component.proc.pid)
        component.family.extend(family)
        processes.kill_group(component.proc.pid, sig)
        processes.kill(family, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            component.proc.wait(timeout=30)

    def check_alive(self) -> None:
        """Raise :class:`DeploymentError` naming any component that has exited, with its log's tail."""
        for component in self.components.values():
            code = component.proc.poll()
            if code is not None:
                tail = component.log.read_text(errors="replace")[-4000:]
                raise DeploymentError(f"{component.name} exited with {code}; its log ends:\n{tail}")

    def stop(self) -> None:
        """Stop everything: SIGTERM every group, then SIGKILL groups, descendants and stragglers."""
        if self._stopped:
            return
        self._stopped = True
        family: list[int] = []
        for component in self.components.values():
            family.extend(component.family)
            family.extend(processes.descendants(component.proc.pid))
            processes.kill_group(component.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for component in self.components.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for component in self.components.values():
            processes.kill_group(component.proc.pid, signal.SIGKILL)
        processes.kill(family)
        for _ in range(50):
            stragglers = processes.alive(family + processes.with_env("AIRFLOW_HOME", str(self.home)))
            if not stragglers:
                break
            processes.kill(stragglers)
            time.sleep(0.1)
        for component in self.components.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.proc.wait(timeout=5)

    def leftovers(self) -> list[int]:
        """Processes of this deployment still running (after :meth:`stop`: should be none)."""
        return processes.with_env("AIRFLOW_HOME", str(self.home))

    # ------------------------------------------------------------------ reading its state

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read-only query on the metadata database.

        :param sql: the statement, with ``%s`` placeholders
        :param params: its parameters
        """
        return self._query(sql, params)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the Airflow 3 REST API (all users are admins in this deployment); return its JSON.

        :param method: the HTTP method
        :param path: the path under the API root, e.g. ``/api/v2/dags``
        :param body: a JSON body, or None
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:2000]
            raise DeploymentError(f"{method} {path} answered {exc.code}: {detail}") from exc

    def _api_healthy(self) -> bool:
        try:
            self.api("GET", "/api/v2/monitor/health")
        except (OSError, DeploymentError):
            return False
        return True

    def log_files(self) -> list[Path]:
        """Every file the deployment wrote (component output, task, DAG-processor and triggerer logs)."""
        return sorted(path for path in self.root.rglob("*") if path.is_file())
