"""A private, throw-away PostgreSQL cluster for the deployment's metadata database.

SQLite cannot take 30 concurrent runs (the scheduler died of "database is locked"), so the suite
starts its own cluster from the distribution's PostgreSQL binaries (``make test-e2e`` apt-installs
them): data in a directory of its own, a free port on 127.0.0.1, trust authentication, no fsync. As
root it runs as the ``postgres`` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.e2e import processes
from tests.e2e.deployment import DeploymentError, free_port


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise DeploymentError("no PostgreSQL under /usr/lib/postgresql: apt-get install postgresql")
    return found[-1].parent


class PostgresCluster:
    """A PostgreSQL cluster of one database, ``airflow``; :meth:`start` it, :meth:`stop` it.

    :param data: a directory for the cluster (made, and removed by :meth:`stop`)
    :param log: where the server writes its log
    """

    def __init__(self, data: Path, log: Path) -> None:
        self.bindir = _bindir()
        self.port = free_port()
        self.data = data
        self.log = log
        self._as_user: list[str] = []
        self._started = False
        data.mkdir(parents=True)
        log.touch()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (data, log):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``airflow`` database."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"

    def _run(self, program: str, *args: str) -> None:
        argv = [*self._as_user, str(self.bindir / program), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise DeploymentError(
                f"{program} {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}"
            )

    def start(self) -> None:
        """Create the cluster, start the server and create the ``airflow`` database."""
        pgdata = str(self.data / "pgdata")
        self._run("initdb", "-D", pgdata, "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._started = True
        self._run("pg_ctl", "-D", pgdata, "-l", str(self.log), "-o", options, "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "airflow")

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Run one query on the ``airflow`` database and return its rows.

        :param sql: the statement, with ``%s`` placeholders
        :param params: its parameters
        """
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="airflow")
        try:
            connection.set_session(readonly=True, autocommit=True)
            with connection.cursor() as cursor:
                cursor.execute(sql, tuple(params))
                return list(cursor.fetchall())
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away) and remove the data directory."""
        if self._started:
            self._started = False
            stop_server(self.data / "pgdata")
        shutil.rmtree(self.data, ignore_errors=True)


def stop_server(pgdata: Path) -> None:
    """Stop the server of a cluster directory, if one runs (also one left by a killed earlier session).

    :param pgdata: the cluster's data directory
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        postmaster = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if str(pgdata) not in processes.title_of(postmaster):
        return  # a stale pid file: that PID is not this cluster's server
    family = [postmaster, *processes.descendants(postmaster)]
    processes.kill(family, 3)  # SIGQUIT: PostgreSQL's immediate shutdown
    for _ in range(100):
        if not processes.alive(family):
            return
        time.sleep(0.1)
    processes.kill(family)
    with contextlib.suppress(OSError):
        pid_file.unlink()
