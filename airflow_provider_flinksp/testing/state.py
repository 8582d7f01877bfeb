"""The fake LakeSail service's state: workspaces, sessions and their jobs, the clock and the defaults.

One re-entrant lock guards it all (each :class:`~airflow_provider_flinksp.testing.job.FakeJob` shares
it). The HTTP server and :class:`~airflow_provider_flinksp.testing.FakeLakeSail` call only the public
methods here.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_flinksp.lakesail.ids import validate_resource_id
from airflow_provider_flinksp.testing.job import FakeJob, FakeLakeSailError

#: What a manual trigger gets while a savepoint is pending: a 409 or 400 refusal, or queued (202).
PENDING_POLICIES = ("409", "400", "queue")
#: The API's cap on ``limit`` for list operations.
MAX_PAGE = 100


class FakeClock:
    """A manual clock for deterministic tests: call it for the time, :meth:`advance` to move it.

    :param start: the initial time, in epoch seconds (default 2026-11-27T06:15:45.123Z)
    """

    def __init__(self, start: float = 1_795_760_145.123) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time.

        :param seconds: how far to move (must not be negative)
        """
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, epoch_seconds: float) -> None:
        """Set the clock to an absolute time.

        :param epoch_seconds: the new time
        """
        with self._lock:
            self._now = epoch_seconds


class FakeState:
    """Workspaces, sessions and their jobs: what the fake LakeSail service holds.

    :param clock: the time source (epoch seconds); may be replaced later by assigning ``clock``
    :param savepoint_duration: seconds a savepoint stays pending before it finishes
    :param appear_delay: seconds after a trigger before the savepoint shows in ``pending``
    :param savepoint_base: where completed savepoints are "stored"; locations are ``<base>/savepoint-<hex>``
    :param pending_policy: a manual trigger while a savepoint is pending gets ``"409"`` or ``"400"``
        (``{"message": "a savepoint is already pending"}``), or with ``"queue"`` a 202, and the savepoint
        starts when the pending one finishes
    :param job_start_delay: seconds a job created over the API stays ``PENDING`` before it is ``RUNNING``
    :param page_size: the most items one list page holds, whatever the ``limit`` (1 to 100)
    :param account_id: the ``id`` of the identity behind the token
    :param account_name: its ``name``
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        savepoint_duration: float = 1.0,
        appear_delay: float = 0.0,
        savepoint_base: str = "s3://bucket/flink-savepoints",
        pending_policy: str = "409",
        job_start_delay: float = 0.5,
        page_size: int = MAX_PAGE,
        account_id: str = "SA1",
        account_name: str = "fake-service-account",
    ) -> None:
        if pending_policy not in PENDING_POLICIES:
            raise ValueError(f"pending_policy must be one of {PENDING_POLICIES}, got {pending_policy!r}")
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE}, got {page_size!r}")
        if not job_start_delay >= 0:
            raise ValueError("job_start_delay must not be negative")
        self.lock = threading.RLock()
        self.clock = clock
        self.savepoint_duration = savepoint_duration
        self.appear_delay = appear_delay
        self.savepoint_base = savepoint_base.rstrip("/")
        self.pending_policy = pending_policy
        self.job_start_delay = job_start_delay
        self.page_size = page_size
        self.account = {"type": "serviceAccount", "id": account_id, "name": account_name}
        self._sessions: set[tuple[str, str]] = set()
        self._jobs: dict[tuple[str, str, str], FakeJob] = {}

    def add_session(self, workspace: str, session: str) -> None:
        """Make a session (and its workspace) known, so jobs can be created and listed in it.

        :param workspace: workspace ID
        :param session: session ID
        :raises ValueError: for a bad ID
        """
        validate_resource_id("workspace ID", workspace)
        validate_resource_id("session ID", session)
        with self.lock:
            self._sessions.add((workspace, session))

    def add_job(self, workspace: str, session: str, job: str, **options: Any) -> FakeJob:
        """Register a session job; its workspace and session come into being with it.

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        :param options: the keywords of :class:`~airflow_provider_flinksp.testing.job.FakeJob`
        :raises ValueError: for a bad ID or option, or a job that already exists
        """
        validate_resource_id("job ID", job)
        with self.lock:
            self.add_session(workspace, session)
            if (workspace, session, job) in self._jobs:
                raise ValueError(f"job {workspace}/{session}/{job} already exists")
            created = self._jobs[workspace, session, job] = FakeJob(self, workspace, session, job, **options)
            return created

    def get_job(self, workspace: str, session: str, job: str) -> FakeJob:
        """Look a job up.

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        :raises FakeLakeSailError: 404 naming what is unknown
        """
        with self.lock:
            self._check_session(workspace, session)
            found = self._jobs.get((workspace, session, job))
            if found is None:
                raise FakeLakeSailError(404, f"job {job} not found in session {session}")
            return found

    @property
    def jobs(self) -> list[FakeJob]:
        """All jobs, in the order they were added or created."""
        with self.lock:
            return list(self._jobs.values())

    def create_job(self, workspace: str, session: str, spec: object) -> dict[str, Any]:
        """Create a session job from a ``FlinkSessionJobSpec``; it is ``PENDING`` for ``job_start_delay``.

        :param workspace: workspace ID
        :param session: session ID
        :param spec: the decoded request body
        :return: the new job's ``FlinkSessionJobSummary``
        :raises FakeLakeSailError: 404 for an unknown workspace or session, 400 naming what is wrong
        """
        name, configuration, job = _check_spec(spec)
        with self.lock:
            self._check_session(workspace, session)
            job_id = "SJ" + secrets.token_hex(6).upper()
            while (workspace, session, job_id) in self._jobs:  # pragma: no cover - 1 in 2**48
                job_id = "SJ" + secrets.token_hex(6).upper()
            created = FakeJob(
                self,
                workspace,
                session,
                job_id,
                name=name,
                flink_configuration=configuration,
                args=job["args"],
                jar_uri=job.get("jarUri"),
                entry_class=job.get("entryClass"),
                state="PENDING",
                start_at=self.clock() + self.job_start_delay,
            )
            self._jobs[workspace, session, job_id] = created
            return created.summary()

    def list_jobs(
        self, workspace: str, session: str, limit: int | None, marker: str | None
    ) -> dict[str, Any]:
        """One page of a session's jobs, as ``GET .../jobs`` answers it.

        :param workspace: workspace ID
        :param session: session ID
        :param limit: the most items wanted (1 to 100), or None
        :param marker: the previous page's ``marker``, or None for the first page
        :raises FakeLakeSailError: 404 for an unknown workspace or session, 400 for a bad limit or marker
        """
        if limit is not None and not 1 <= limit <= MAX_PAGE:
            raise FakeLakeSailError(400, f"limit must be an integer from 1 to {MAX_PAGE}, got {limit}")
        with self.lock:
            self._check_session(workspace, session)
            jobs = [job for key, job in self._jobs.items() if key[:2] == (workspace, session)]
            start = 0
            if marker is not None:
                ids = [job.id for job in jobs]
                after = _read_marker(marker)
                if after not in ids:
                    raise FakeLakeSailError(400, f"invalid marker {marker!r}")
                start = ids.index(after) + 1
            page = jobs[start : start + min(limit or self.page_size, self.page_size)]
            body: dict[str, Any] = {"items": [job.summary() for job in page]}
            if page and page[-1] is not jobs[-1]:
                body["marker"] = base64.urlsafe_b64encode(f"after:{page[-1].id}".encode()).decode()
            return body

    def _check_session(self, workspace: str, session: str) -> None:
        if not any(known == workspace for known, _ in self._sessions):
            raise FakeLakeSailError(404, f"workspace {workspace} not found")
        if (workspace, session) not in self._sessions:
            raise FakeLakeSailError(404, f"session {session} not found in workspace {workspace}")


def _read_marker(marker: str) -> str | None:
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error):
        return None
    return text[len("after:") :] if text.startswith("after:") else None


def _check_spec(spec: object) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Check a ``FlinkSessionJobSpec``: (name, flinkConfiguration, job), or a 400 naming the problem."""

    def bad(message: str) -> FakeLakeSailError:
        return FakeLakeSailError(400, f"invalid FlinkSessionJobSpec: {message}")

    if not isinstance(spec, dict):
        raise bad(f"the body must be a JSON object, got {type(spec).__name__}")
    name, configuration, job = spec.get("name"), spec.get("flinkConfiguration"), spec.get("job")
    if not isinstance(name, str) or not name:
        raise bad("name is required and must be a non-empty string")
    if not isinstance(configuration, dict):
        raise bad("flinkConfiguration is required and must be an object of strings")
    for key, value in configuration.items():
        if not isinstance(value, str):
            raise bad(f"flinkConfiguration[{key!r}] must be a string, got {type(value).__name__}")
    if not isinstance(job, dict):
        raise bad("job is required and must be an object (jarUri?, entryClass?, args)")
    for key in ("jarUri", "entryClass"):
        if job.get(key) is not None and not isinstance(job[key], str):
            raise bad(f"job.{key} must be a string, got {type(job[key]).__name__}")
    args = job.get("args")
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise bad("job.args is required and must be a list of strings")
    return name, dict(configuration), job
