"""FakeLakeSail: the embedded fake LakeSail API, put together from its state, faults and HTTP server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from airflow_provider_flinksp.testing.faults import Fault, FaultPlan, RandomFaults
from airflow_provider_flinksp.testing.job import FLINK_PREFIX, FakeJob
from airflow_provider_flinksp.testing.records import Arrival, RecordedRequest, RequestLog
from airflow_provider_flinksp.testing.server import ApiServer
from airflow_provider_flinksp.testing.state import PENDING_POLICIES, FakeState

T = TypeVar("T")


class _StateSetting(Generic[T]):
    """A setting the fake keeps in its :class:`FakeState`, read and set through the fake.

    :param doc: the attribute's docstring
    :param choices: the values it may take (None: any)
    """

    def __init__(self, doc: str, *, choices: Sequence[T] | None = None) -> None:
        self.__doc__ = doc
        self.choices = choices
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, fake: None, owner: type) -> _StateSetting[T]: ...
    @overload
    def __get__(self, fake: FakeLakeSail, owner: type) -> T: ...
    def __get__(self, fake: FakeLakeSail | None, owner: type) -> T | _StateSetting[T]:
        if fake is None:
            return self
        value: T = getattr(fake.state, self.name)
        return value

    def __set__(self, fake: FakeLakeSail, value: T) -> None:
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {tuple(self.choices)}, got {value!r}")
        setattr(fake.state, self.name, value)


class FakeLakeSail:
    """A fake LakeSail API server on ``127.0.0.1``; use as a context manager or :meth:`start`/:meth:`stop`.

    :param token: the bearer token clients must send; None turns authentication off
    :param clock: the time source for the life cycle and timestamps (epoch seconds); settable later
    :param savepoint_duration: seconds a savepoint stays pending before it finishes
    :param appear_delay: seconds after a trigger before the savepoint shows in ``pending``
    :param host: the address to bind
    :param port: the port to bind; 0 picks a free one
    :param savepoint_base: where completed savepoints are "stored"; locations are ``<base>/savepoint-<hex>``
    :param account_id: the ``id`` answered by ``GET /api/org/v1/me``
    :param account_name: the ``name`` answered by ``GET /api/org/v1/me``
    :param pending_policy: what a manual trigger gets while a savepoint is pending: ``"409"`` (default) or
        ``"400"`` with ``{"message": "a savepoint is already pending"}``, or ``"queue"``: 202, and the
        savepoint starts when the pending one finishes; settable later
    :param job_start_delay: seconds a job created with ``POST .../jobs`` is ``PENDING`` before ``RUNNING``
    :param page_size: the most items one ``GET .../jobs`` page holds, whatever the ``limit`` (1 to 100)
    """

    def __init__(
        self,
        token: str | None = "test-token",
        clock: Callable[[], float] = time.time,
        savepoint_duration: float = 1.0,
        appear_delay: float = 0.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        savepoint_base: str = "s3://bucket/flink-savepoints",
        account_id: str = "SA1",
        account_name: str = "fake-service-account",
        pending_policy: str = "409",
        job_start_delay: float = 0.5,
        page_size: int = 100,
    ) -> None:
        self._token = token
        self.host = host
        self.state = FakeState(
            clock=clock,
            savepoint_duration=savepoint_duration,
            appear_delay=appear_delay,
            savepoint_base=savepoint_base,
            pending_policy=pending_policy,
            job_start_delay=job_start_delay,
            page_size=page_size,
            account_id=account_id,
            account_name=account_name,
        )
        self.faults = FaultPlan()
        self.log = RequestLog()
        self._requested_port = port
        self._httpd: ApiServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the server's life

    def start(self) -> FakeLakeSail:
        """Bind and serve from a daemon thread; returns ``self``. Starting twice is a no-op."""
        if self._httpd is None:
            address = (self.host, self._requested_port)
            self._httpd = ApiServer(
                address, state=self.state, faults=self.faults, log=self.log, token=self.token
            )
            self._thread = threading.Thread(
                target=self._httpd.serve_until_stopped, name="FakeLakeSail", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and drop open keep-alive connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.stop()
        if thread is not None:
            thread.join(timeout=5)
        httpd.server_close()
        for sock in self.log.open_connections():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeLakeSail:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._httpd is None:
            raise RuntimeError("FakeLakeSail is not started")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def connection_count(self) -> int:
        """How many TCP connections have been accepted so far (to check keep-alive reuse)."""
        return self.log.connection_count

    # ------------------------------------------------------------------ settings

    @property
    def token(self) -> str | None:
        """The bearer token clients must send (None: no authentication); settable, also while serving."""
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        self._token = value
        if self._httpd is not None:
            self._httpd.token = value

    clock: _StateSetting[Callable[[], float]] = _StateSetting(
        "The time source (epoch seconds); assign another to change it."
    )
    savepoint_duration: _StateSetting[float] = _StateSetting(
        "Seconds a savepoint stays pending (jobs may override it); settable."
    )
    appear_delay: _StateSetting[float] = _StateSetting(
        "Seconds before a triggered savepoint is listed (jobs may override it); settable."
    )
    pending_policy: _StateSetting[str] = _StateSetting(
        '``"409"``, ``"400"`` or ``"queue"``: see the constructor; settable.', choices=PENDING_POLICIES
    )

    # ------------------------------------------------------------------ sessions, jobs and savepoints

    def add_session(self, workspace: str, session: str) -> None:
        """Make a session known (with its workspace), so jobs can be created in it over the API.

        :param workspace: workspace ID
        :param session: session ID
        :raises ValueError: for a bad ID
        """
        self.state.add_session(workspace, session)

    def add_job(
        self,
        workspace: str,
        session: str,
        job: str,
        *,
        state: str = "RUNNING",
        periodic_interval: float | None = None,
        history_max_count: int | None = None,
        savepoint_duration: float | None = None,
        completed: Iterable[Mapping[str, Any]] | None = None,
        appear_delay: float | None = None,
        name: str | None = None,
        flink_configuration: Mapping[str, str] | None = None,
        args: Sequence[str] | None = None,
    ) -> FakeJob:
        """Register a session job (its workspace and session come into being with it).

        :param workspace: workspace ID (1-20 of ``A-Z0-9``)
        :param session: session ID
        :param job: job ID
        :param state: initial state
        :param periodic_interval: seconds between periodic savepoints (from now), or None
        :param history_max_count: keep only the newest N completed savepoints, or None for all
        :param savepoint_duration: seconds pending for this job (default: the server's)
        :param completed: savepoint dicts in API shape to preload as completed, oldest first
        :param appear_delay: seconds before a triggered savepoint is listed (default: the server's)
        :param name: job name (default derived from the ID)
        :param flink_configuration: the job's ``flinkConfiguration``
        :param args: the job's program arguments
        :raises ValueError: for a bad ID, state or option, or a job that already exists
        """
        return self.state.add_job(
            workspace,
            session,
            job,
            state=state,
            periodic_interval=periodic_interval,
            history_max_count=history_max_count,
            savepoint_duration=savepoint_duration,
            completed=completed,
            appear_delay=appear_delay,
            name=name,
            flink_configuration=flink_configuration,
            args=args,
        )

    def get_job(self, workspace: str, session: str, job: str) -> FakeJob:
        """Look a job up (one added, or one created over the API).

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        :raises FakeLakeSailError: 404 when unknown
        """
        return self.state.get_job(workspace, session, job)

    @property
    def jobs(self) -> list[FakeJob]:
        """All jobs, in the order they were added or created."""
        return self.state.jobs

    def trigger(self, workspace: str, session: str, job: str) -> dict[str, Any]:
        """Trigger a manual savepoint in-process, as ``POST .../savepoints`` would (not counted as a POST).

        ``workspace``, ``session`` and ``job`` name the job, as for :meth:`get_job`.

        :return: the new savepoint, as the 202 body (``location`` is ``None``)
        :raises FakeLakeSailError: 404 for an unknown job; 409 when the job is not RUNNING; while one is
            pending, 409 or 400 as ``pending_policy`` says
        """
        return self.get_job(workspace, session, job).trigger()

    def savepoints(self, workspace: str, session: str, job: str) -> dict[str, list[dict[str, Any]]]:
        """The current listing ``{"pending": [...], "completed": [...]}`` of a job, in-process.

        ``workspace``, ``session`` and ``job`` name the job, as for :meth:`get_job`.

        :raises FakeLakeSailError: 404 for an unknown job
        """
        return self.get_job(workspace, session, job).savepoints()

    def fail_job(self, workspace: str, session: str, job: str) -> None:
        """Make a job ``FAILED`` now (a created job that has not started yet never will).

        ``workspace``, ``session`` and ``job`` name the job, as for :meth:`get_job`.

        :raises FakeLakeSailError: 404 for an unknown job
        """
        self.get_job(workspace, session, job).state = "FAILED"

    def job_spec(self, workspace: str, session: str, job: str) -> dict[str, Any]:
        """What a job was created with, as a ``FlinkSessionJobSpec``: ``name``, ``flinkConfiguration``
        (e.g. ``execution.savepoint.path`` for a restore) and ``job`` (``jarUri``, ``entryClass``, ``args``).

        ``workspace``, ``session`` and ``job`` name the job, as for :meth:`get_job`.

        :raises FakeLakeSailError: 404 for an unknown job
        """
        return self.get_job(workspace, session, job).spec()

    def triggered_count(self, workspace: str, session: str, job: str) -> int:
        """How many HTTP POSTs were accepted (202) for this job's savepoints since :meth:`reset_counters`.

        ``workspace``, ``session`` and ``job`` name the job, as for :meth:`get_job`.
        """
        path = f"{FLINK_PREFIX}/workspaces/{workspace}/sessions/{session}/jobs/{job}/savepoints"
        return sum(
            1
            for record in self.requests
            if record.method == "POST" and record.status == 202 and record.path.partition("?")[0] == path
        )

    # ------------------------------------------------------------------ faults

    def add_fault(self, kind: str, **fields: Any) -> Fault:
        """Inject a fault into matching requests; faults apply before authentication and routing, and the
        first matching one (in the order added) wins. E.g. ``add_fault("status", status=503, times=2,
        retry_after=1)``, ``add_fault("reset", method="POST")``, ``add_fault("stall", seconds=2)``.

        :param kind: ``"status"``, ``"reset"``, ``"stall"``, ``"body"`` or ``"redirect"``
        :param fields: the keyword fields of :class:`~airflow_provider_flinksp.testing.faults.Fault`:
            ``status``, ``retry_after``, ``body``, ``content_type``, ``seconds``, ``times`` (default 1;
            None for every request until cleared), ``method``, ``path_contains``
        :return: the fault (its ``times`` counts down as it is served)
        :raises ValueError: for an unknown kind or a missing field
        """
        fault = Fault(kind=kind, **fields)
        self.faults.add(fault)
        return fault

    def set_random_faults(self, rate: float = 0.35, seed: int = 123, **options: Any) -> None:
        """Give each matching request a fault with probability ``rate``, drawn from ``random.Random(seed)``;
        explicit faults take precedence. The same seed and sequence of requests give the same faults.

        :param rate: probability of a fault per matching request (0 to 1)
        :param seed: the random seed
        :param options: the other fields of :class:`~airflow_provider_flinksp.testing.faults.RandomFaults`:
            ``kinds`` (default ``("503", "429", "reset", "stall")``; also ``"html"`` and ``"truncated"``),
            ``stall_seconds``, ``retry_after``, ``methods`` (default ``("GET",)``), ``path_contains``
        """
        self.faults.set_random(RandomFaults(rate=rate, seed=seed, **options))

    def clear_faults(self) -> None:
        """Remove all explicit and random faults."""
        self.faults.clear()

    # ------------------------------------------------------------------ what was received

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request answered, in order: ``(method, path, status or "reset")``."""
        return self.log.snapshot()[0]

    @property
    def arrivals(self) -> list[Arrival]:
        """A snapshot of every request on arrival, before any stall: ``(at, method, path, fault)``."""
        return self.log.snapshot()[1]

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """Count answered requests, e.g. the POSTs to one path.

        :param method: only this method
        :param path_contains: only targets containing this substring
        """
        wanted = None if method is None else method.upper()
        return sum(
            1
            for record in self.requests
            if (wanted is None or record.method == wanted)
            and (path_contains is None or path_contains in record.path)
        )

    def reset_counters(self) -> None:
        """Forget recorded requests and arrivals, and so :meth:`triggered_count` (savepoints are kept)."""
        self.log.clear()
