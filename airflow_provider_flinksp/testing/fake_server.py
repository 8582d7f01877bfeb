"""An embedded fake of the LakeSail managed-Flink HTTP API, for tests, demos and offline DAG runs.

It serves real HTTP/1.1 (keep-alive) on ``127.0.0.1`` from a daemon thread, evaluates the savepoint
life cycle lazily from an injectable clock on every request, and can inject faults (error statuses,
connection resets, stalls, odd bodies, redirects), either explicitly or at random from a seed.

Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import secrets
import socket
import socketserver
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, cast
from urllib.parse import unquote

__all__ = [
    "FAULT_KINDS",
    "JOB_STATES",
    "FakeClock",
    "FakeJob",
    "FakeLakeSail",
    "FakeLakeSailError",
    "RecordedRequest",
    "format_timestamp",
]

#: Job states the fake knows about; only ``RUNNING`` accepts savepoints.
JOB_STATES = frozenset({"PENDING", "RUNNING", "DELETING", "FAILED"})
#: Kinds accepted by :meth:`FakeLakeSail.add_fault`.
FAULT_KINDS = frozenset({"status", "reset", "stall", "body", "redirect"})

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
FLINK_PREFIX = "/api/flink/v1"
ME_PATH = "/api/org/v1/me"

_ID_RE = re.compile(r"[A-Z0-9]{1,20}")
_MAX_LINE = 65536
_MAX_HEADERS = 100
_LINGER_ZERO = struct.pack("ii", 1, 0)
_CHALLENGE = (("WWW-Authenticate", "Bearer"),)


def format_timestamp(epoch_seconds: float) -> str:
    """Format epoch seconds the API's way: ``YYYY-MM-DDTHH:mm:ss.sssZ`` in UTC.

    :param epoch_seconds: seconds since the Unix epoch
    """
    millis = math.floor(epoch_seconds * 1000 + 1e-4)  # absorb float error: .123 may be .12299999
    seconds, ms = divmod(millis, 1000)
    stamp = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms:03d}Z"


def _drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


class FakeLakeSailError(Exception):
    """An API error raised by the in-process helpers (:meth:`FakeLakeSail.trigger` and friends).

    :param status: the HTTP status the same request would have got
    :param message: the ``message`` the error body would have carried
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


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


class RecordedRequest(NamedTuple):
    """One request the server received.

    :param method: the HTTP method
    :param path: the request target as sent (path and query)
    :param status: the status answered, or ``"reset"`` when the connection was reset instead
    """

    method: str
    path: str
    status: int | str


@dataclass
class _Pending:
    trigger_type: str
    nonce: str | None
    triggered_at: float
    visible_at: float
    done_at: float

    def to_json(self, *, keep_none: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "location": None,
            "triggerType": self.trigger_type,
            "triggerNonce": self.nonce,
            "triggeredAt": format_timestamp(self.triggered_at),
        }
        return data if keep_none else _drop_none(data)


@dataclass
class _Fault:
    kind: str
    status: int | None
    retry_after: str | None
    body: bytes | None
    content_type: str | None
    seconds: float
    remaining: int | None
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path_contains is None or self.path_contains in path


@dataclass
class _RandomFaults:
    rate: float
    rng: random.Random
    kinds: tuple[str, ...]
    stall_seconds: float
    retry_after: str | None
    methods: frozenset[str] | None
    path_contains: str | None


class FakeJob:
    """One Flink session job held by a :class:`FakeLakeSail`; get it from :meth:`FakeLakeSail.add_job`.

    Changing ``state``, ``periodic_interval`` or calling :meth:`fail_next` first brings the life cycle
    up to the current clock, so changes never apply retroactively.
    """

    def __init__(
        self,
        server: FakeLakeSail,
        workspace: str,
        session: str,
        job_id: str,
        *,
        state: str,
        periodic_interval: float | None,
        history_max_count: int | None,
        savepoint_duration: float | None,
        appear_delay: float | None,
        completed: Iterable[Mapping[str, Any]] | None,
        name: str | None,
        flink_configuration: Mapping[str, str] | None,
        args: Sequence[str] | None,
        now: float,
    ) -> None:
        """Create the job; use :meth:`FakeLakeSail.add_job` rather than this.

        :param server: the owning fake
        :param workspace: workspace ID
        :param session: session ID
        :param job_id: job ID
        :param state: initial state
        :param periodic_interval: seconds between periodic savepoints, or None for none
        :param history_max_count: keep only this many newest completed savepoints, or None for all
        :param savepoint_duration: per-job override of the server's savepoint duration
        :param appear_delay: per-job override of the server's appear delay
        :param completed: savepoint dicts (API shape) to preload as completed, oldest first
        :param name: the job's name
        :param flink_configuration: the job's Flink configuration
        :param args: the job's program arguments
        :param now: creation time, from the server's clock
        """
        self._server = server
        self.workspace = workspace
        self.session = session
        self.id = job_id
        self.name = name if name is not None else f"{job_id.lower()}-job"
        self.flink_configuration: dict[str, str] = dict(flink_configuration or {})
        self.args: list[str] = list(args or [])
        self.history_max_count = history_max_count
        self.savepoint_duration = savepoint_duration
        self.appear_delay = appear_delay
        self.created_at = now
        self.updated_at = now
        self.flink_job_id = uuid.uuid5(uuid.NAMESPACE_URL, f"lakesail:{workspace}/{session}/{job_id}").hex
        self._state = state
        self._periodic_interval = periodic_interval
        self._next_tick: float | None = None if periodic_interval is None else now + periodic_interval
        self._pending: _Pending | None = None
        self._completed: list[dict[str, Any]] = [dict(item) for item in (completed or [])]
        self._fail_remaining = 0

    @property
    def path(self) -> str:
        """The job's API path, e.g. ``/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1``."""
        return f"{FLINK_PREFIX}/workspaces/{self.workspace}/sessions/{self.session}/jobs/{self.id}"

    @property
    def savepoints_path(self) -> str:
        """The job's savepoints API path."""
        return f"{self.path}/savepoints"

    @property
    def state(self) -> str:
        """The job state: ``PENDING``, ``RUNNING``, ``DELETING`` or ``FAILED``; settable."""
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        if value not in JOB_STATES:
            raise ValueError(f"unknown job state {value!r}; use one of {sorted(JOB_STATES)}")
        with self._server._lock:
            now = self._server._advance(self)
            if value != self._state:
                self._state = value
                self.updated_at = now

    @property
    def periodic_interval(self) -> float | None:
        """Seconds between periodic savepoints, or None; setting it restarts the period from now."""
        return self._periodic_interval

    @periodic_interval.setter
    def periodic_interval(self, value: float | None) -> None:
        if value is not None and value <= 0:
            raise ValueError("periodic_interval must be positive or None")
        with self._server._lock:
            now = self._server._advance(self)
            self._periodic_interval = value
            self._next_tick = None if value is None else now + value

    def fail_next(self, n: int = 1) -> None:
        """Make the next ``n`` savepoints of this job that finish vanish instead of completing.

        :param n: how many (added to any still outstanding)
        """
        if n < 0:
            raise ValueError("n must not be negative")
        with self._server._lock:
            self._server._advance(self)
            self._fail_remaining += n

    def savepoints(self) -> dict[str, list[dict[str, Any]]]:
        """The current savepoint listing, as ``GET .../savepoints`` would return it."""
        with self._server._lock:
            now = self._server._advance(self)
            return self._listing(now)

    def to_json(self) -> dict[str, Any]:
        """The job as the API's ``FlinkSessionJob`` object."""
        return {
            "id": self.id,
            "name": self.name,
            "flinkConfiguration": dict(self.flink_configuration),
            "job": {"id": self.flink_job_id, "name": self.name, "args": list(self.args)},
            "state": self._state,
            "createdAt": format_timestamp(self.created_at),
            "updatedAt": format_timestamp(self.updated_at),
        }

    def _listing(self, now: float) -> dict[str, list[dict[str, Any]]]:
        pending = self._pending
        visible = [pending.to_json()] if pending is not None and pending.visible_at <= now else []
        return {"pending": visible, "completed": [_drop_none(item) for item in self._completed]}

    def __repr__(self) -> str:
        return f"FakeJob({self.workspace}/{self.session}/{self.id}, state={self._state})"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeLakeSail) -> None:
        self.fake = fake
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def serve_until_stopped(self) -> None:
        """Accept connections until :meth:`request_stop`; blocks without polling."""
        while not self.stopping.is_set():
            self.handle_request()

    def request_stop(self) -> None:
        """Make :meth:`serve_until_stopped` return promptly, waking it with a throw-away connection."""
        self.stopping.set()
        host = "127.0.0.1" if self.server_name in ("", "0.0.0.0") else self.server_name
        with contextlib.suppress(OSError), socket.create_connection((host, self.server_port), timeout=1):
            pass

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), which may wait on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # StreamRequestHandler.setup() sets TCP_NODELAY
    timeout = 300.0  # idle keep-alive connections are dropped after this long
    server_version = "FakeLakeSail/1.0"

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        self._fake = server.fake
        self._stopping = server.stopping
        self._fake._connection_opened(self.connection, counted=not self._stopping.is_set())

    def handle(self) -> None:
        if not self._stopping.is_set():  # else: the wake-up connection from request_stop()
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep quiet: no per-request logging to stderr.

        :param format: ignored
        :param args: ignored
        """

    def handle_one_request(self) -> None:
        """Read one request cheaply, answer it with a single write, keep the connection if allowed."""
        try:
            line = self.rfile.readline(_MAX_LINE + 1)
        except OSError:
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        if line in (b"\r\n", b"\n"):  # tolerate a stray blank line between requests
            return
        parts = line.decode("latin-1").split()
        if len(line) > _MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._send(400, _message("malformed request line"), close=True)
            return
        method, target, version = parts
        headers: dict[str, str] = {}
        try:
            for _ in range(_MAX_HEADERS + 1):
                raw = self.rfile.readline(_MAX_LINE + 1)
                if raw in (b"\r\n", b"\n", b""):
                    break
                name, _sep, value = raw.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            else:
                self._send(431, _message("too many headers"), close=True)
                return
            body_ok = self._discard_body(headers)
        except OSError:
            self.close_connection = True
            return
        if not body_ok:
            self._send(400, _message("bad Content-Length or Transfer-Encoding"), close=True)
            return

        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in connection
        else:
            self.close_connection = "close" in connection

        fake = self._fake
        fault = fake._take_fault(method, target)
        if fault is not None:
            if fault.seconds > 0:
                time.sleep(fault.seconds)
            if fault.kind == "reset":
                fake._record(method, target, "reset")
                self._reset()
                return
            if fault.kind != "stall":
                status, body, content_type, extra = _fault_response(fault)
                fake._record(method, target, status)
                self._send(status, body, content_type=content_type, extra=extra, head=method == "HEAD")
                return
        try:
            status, payload, headers_out = fake._dispatch(method, target, headers)
        except Exception as exc:  # pragma: no cover - a bug in the fake itself
            status, payload, headers_out = 500, {"message": f"fake server error: {exc!r}"}, ()
        # Record before answering, so a client that has its answer always finds the request recorded.
        fake._record(method, target, status)
        self._send(status, _json_bytes(payload), extra=headers_out, head=method == "HEAD")

    def _discard_body(self, headers: Mapping[str, str]) -> bool:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = self.rfile.readline(_MAX_LINE + 1)
                try:
                    size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
                except ValueError:
                    return False
                if size == 0:
                    while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                        pass
                    return True
                self.rfile.read(size + 2)
        length_text = headers.get("content-length")
        if length_text is None:
            return True
        try:
            length = int(length_text)
        except ValueError:
            return False
        if length < 0:
            return False
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return False
            length -= len(chunk)
        return True

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = JSON_CONTENT_TYPE,
        extra: Iterable[tuple[str, str]] = (),
        close: bool = False,
        head: bool = False,
    ) -> None:
        if close:
            self.close_connection = True
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines.extend(f"{name}: {value}" for name, value in extra)
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head:
            data += body
        try:
            self.connection.sendall(data)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0) and no response."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self.rfile.close()  # the file object holds a reference that keeps the descriptor open
        sock.close()


def _message(text: str) -> bytes:
    return _json_bytes({"message": text})


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _fault_response(fault: _Fault) -> tuple[int, bytes, str, list[tuple[str, str]]]:
    extra: list[tuple[str, str]] = []
    content_type = fault.content_type or JSON_CONTENT_TYPE
    if fault.kind == "body":
        return fault.status or 200, fault.body or b"", content_type, extra
    if fault.kind == "redirect":
        location = (fault.body or b"").decode("utf-8")
        extra.append(("Location", location))
        return fault.status or 302, _message(f"moved to {location}"), JSON_CONTENT_TYPE, extra
    status = fault.status or 500
    if fault.retry_after is not None:
        extra.append(("Retry-After", fault.retry_after))
    body = fault.body if fault.body is not None else _message(f"injected fault: HTTP {status}")
    return status, body, content_type, extra


class FakeLakeSail:
    """A fake LakeSail API server on ``127.0.0.1``; use as a context manager or :meth:`start`/:meth:`stop`.

    :param token: the bearer token clients must send; None turns authentication off
    :param clock: the time source for the savepoint life cycle and timestamps (epoch seconds)
    :param savepoint_duration: seconds a savepoint stays pending before it finishes
    :param appear_delay: seconds after a trigger before the savepoint shows in ``pending``
    :param host: the address to bind
    :param port: the port to bind; 0 picks a free one
    :param savepoint_base: where completed savepoints are "stored"; locations are ``<base>/savepoint-<hex>``
    :param account_id: the ``id`` answered by ``GET /api/org/v1/me``
    :param account_name: the ``name`` answered by ``GET /api/org/v1/me``
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
    ) -> None:
        self.token = token
        self.clock = clock
        self.savepoint_duration = savepoint_duration
        self.appear_delay = appear_delay
        self.host = host
        self.savepoint_base = savepoint_base.rstrip("/")
        self.account_id = account_id
        self.account_name = account_name
        self._requested_port = port
        self._lock = threading.RLock()
        self._jobs: dict[tuple[str, str, str], FakeJob] = {}
        self._sessions: set[tuple[str, str]] = set()
        self._workspaces: set[str] = set()
        self._faults: list[_Fault] = []
        self._random: _RandomFaults | None = None
        self._requests: list[RecordedRequest] = []
        self._triggered: dict[tuple[str, str, str], int] = {}
        self._open_sockets: set[socket.socket] = set()
        self._connections = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle of the server

    def start(self) -> FakeLakeSail:
        """Bind and serve from a daemon thread; returns ``self``. Starting twice is a no-op."""
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, self._requested_port), self)
        thread = threading.Thread(target=httpd.serve_until_stopped, name="FakeLakeSail", daemon=True)
        self._httpd = httpd
        self._thread = thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and drop open keep-alive connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = None
        self._thread = None
        httpd.request_stop()
        if thread is not None:
            thread.join(timeout=5)
        httpd.server_close()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeLakeSail:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
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
        with self._lock:
            return self._connections

    def _connection_opened(self, sock: socket.socket, *, counted: bool = True) -> None:
        with self._lock:
            if counted:
                self._connections += 1
            self._open_sockets.add(sock)

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open_sockets.discard(sock)

    # ------------------------------------------------------------------ jobs and savepoints

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
        for label, value in (("workspace", workspace), ("session", session), ("job", job)):
            if not _ID_RE.fullmatch(value):
                raise ValueError(f"{label} ID must be 1-20 characters of A-Z0-9, got {value!r}")
        if state not in JOB_STATES:
            raise ValueError(f"unknown job state {state!r}; use one of {sorted(JOB_STATES)}")
        if periodic_interval is not None and periodic_interval <= 0:
            raise ValueError("periodic_interval must be positive or None")
        if history_max_count is not None and history_max_count < 0:
            raise ValueError("history_max_count must not be negative")
        key = (workspace, session, job)
        with self._lock:
            if key in self._jobs:
                raise ValueError(f"job {workspace}/{session}/{job} already exists")
            fake_job = FakeJob(
                self,
                workspace,
                session,
                job,
                state=state,
                periodic_interval=periodic_interval,
                history_max_count=history_max_count,
                savepoint_duration=savepoint_duration,
                appear_delay=appear_delay,
                completed=completed,
                name=name,
                flink_configuration=flink_configuration,
                args=args,
                now=self.clock(),
            )
            self._jobs[key] = fake_job
            self._sessions.add((workspace, session))
            self._workspaces.add(workspace)
            self._trim_history(fake_job)
            return fake_job

    def get_job(self, workspace: str, session: str, job: str) -> FakeJob:
        """Look a job up.

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        :raises FakeLakeSailError: 404 when unknown
        """
        with self._lock:
            return self._find_job(workspace, session, job)

    @property
    def jobs(self) -> list[FakeJob]:
        """All registered jobs."""
        with self._lock:
            return list(self._jobs.values())

    def trigger(self, workspace: str, session: str, job: str) -> dict[str, Any]:
        """Trigger a manual savepoint in-process, as ``POST .../savepoints`` would.

        Not counted by :meth:`triggered_count`, which counts HTTP POSTs only.

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        :return: the new savepoint, as the 202 body (``location`` is ``None``)
        :raises FakeLakeSailError: 404 for an unknown job, 409 when one is pending or the job is not RUNNING
        """
        with self._lock:
            return self._trigger(self._find_job(workspace, session, job))

    def savepoints(self, workspace: str, session: str, job: str) -> dict[str, list[dict[str, Any]]]:
        """The current listing ``{"pending": [...], "completed": [...]}`` of a job, in-process.

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        :raises FakeLakeSailError: 404 for an unknown job
        """
        with self._lock:
            fake_job = self._find_job(workspace, session, job)
            return fake_job._listing(self._advance(fake_job))

    def triggered_count(self, workspace: str, session: str, job: str) -> int:
        """How many HTTP POSTs created a savepoint for this job (since the last :meth:`reset_counters`).

        :param workspace: workspace ID
        :param session: session ID
        :param job: job ID
        """
        with self._lock:
            return self._triggered.get((workspace, session, job), 0)

    def _find_job(self, workspace: str, session: str, job: str) -> FakeJob:
        if workspace not in self._workspaces:
            raise FakeLakeSailError(404, f"workspace {workspace} not found")
        if (workspace, session) not in self._sessions:
            raise FakeLakeSailError(404, f"session {session} not found in workspace {workspace}")
        found = self._jobs.get((workspace, session, job))
        if found is None:
            raise FakeLakeSailError(404, f"job {job} not found in session {session}")
        return found

    def _trigger(self, job: FakeJob) -> dict[str, Any]:
        now = self._advance(job)
        if job._state != "RUNNING":
            message = f"job {job.id} is {job._state}, not RUNNING; cannot trigger a savepoint"
            raise FakeLakeSailError(409, message)
        if job._pending is not None:
            raise FakeLakeSailError(409, "a savepoint is already pending")
        job._pending = self._new_savepoint(job, "MANUAL", now)
        return job._pending.to_json(keep_none=True)

    def _new_savepoint(self, job: FakeJob, trigger_type: str, at: float) -> _Pending:
        delay = job.appear_delay if job.appear_delay is not None else self.appear_delay
        duration = job.savepoint_duration if job.savepoint_duration is not None else self.savepoint_duration
        nonce = str(uuid.uuid4()) if trigger_type == "MANUAL" else None
        return _Pending(trigger_type, nonce, at, at + delay, at + delay + duration)

    def _advance(self, job: FakeJob) -> float:
        """Bring one job's savepoints up to the clock (caller holds the lock); returns the time used."""
        now = self.clock()
        while True:
            pending = job._pending
            interval = job._periodic_interval
            tick = job._next_tick if interval is not None else None
            if pending is not None and pending.done_at <= now and (tick is None or pending.done_at <= tick):
                self._finish(job, pending)
                continue
            if tick is None or interval is None or tick > now:
                return now
            if pending is None and job._state == "RUNNING":
                job._pending = self._new_savepoint(job, "PERIODIC", tick)
                job._next_tick = tick + interval
            elif pending is not None and pending.done_at <= now:
                # Busy until done_at (< now): the ticks before it are skipped.
                job._next_tick = tick + interval * math.ceil((pending.done_at - tick) / interval)
            else:
                # Busy or not running through to now: every tick up to now is skipped.
                job._next_tick = tick + interval * (math.floor((now - tick) / interval) + 1)

    def _finish(self, job: FakeJob, pending: _Pending) -> None:
        job._pending = None
        if job._fail_remaining > 0:
            job._fail_remaining -= 1
            return
        location = f"{self.savepoint_base}/savepoint-{secrets.token_hex(6)}"
        job._completed.append({**pending.to_json(keep_none=True), "location": location})
        self._trim_history(job)

    @staticmethod
    def _trim_history(job: FakeJob) -> None:
        limit = job.history_max_count
        if limit is not None and len(job._completed) > limit:
            del job._completed[: len(job._completed) - limit]

    # ------------------------------------------------------------------ HTTP routing

    def _dispatch(
        self, method: str, target: str, headers: Mapping[str, str]
    ) -> tuple[int, Any, Sequence[tuple[str, str]]]:
        """Answer one request: (status, JSON payload, extra headers)."""
        if self.token is not None:
            scheme, _sep, credentials = headers.get("authorization", "").strip().partition(" ")
            if not scheme:
                return 401, {"message": "missing Authorization: Bearer token"}, _CHALLENGE
            if scheme.lower() != "bearer" or credentials.strip() != self.token:
                return 401, {"message": "invalid bearer token"}, _CHALLENGE
        path = target.split("?", 1)[0]
        if path.startswith(("http://", "https://")):  # absolute-form request target
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        if path == ME_PATH:
            if method != "GET":
                return _not_allowed(method, path, "GET")
            return 200, {"type": "serviceAccount", "id": self.account_id, "name": self.account_name}, ()
        segments = [unquote(part) for part in path.split("/")]
        # ['', 'api', 'flink', 'v1', 'workspaces', ws, 'sessions', s, 'jobs', j, ('savepoints')]
        if (
            len(segments) not in (10, 11)
            or segments[:5] != ["", "api", "flink", "v1", "workspaces"]
            or segments[6] != "sessions"
            or segments[8] != "jobs"
            or (len(segments) == 11 and segments[10] != "savepoints")
        ):
            return 404, {"message": f"no such resource: {path}"}, ()
        is_savepoints = len(segments) == 11
        allowed = "GET, POST" if is_savepoints else "GET"
        if method not in allowed.split(", "):
            return _not_allowed(method, path, allowed)
        ids = (segments[5], segments[7], segments[9])
        for label, value in zip(("workspace", "session", "job"), ids, strict=True):
            if not _ID_RE.fullmatch(value):
                message = f"invalid {label} ID {value!r}: must be 1-20 characters of A-Z0-9"
                return 400, {"message": message}, ()
        with self._lock:
            try:
                job = self._find_job(*ids)
                if not is_savepoints:
                    self._advance(job)
                    return 200, job.to_json(), ()
                if method == "GET":
                    return 200, job._listing(self._advance(job)), ()
                created = self._trigger(job)
                self._triggered[ids] = self._triggered.get(ids, 0) + 1
                return 202, created, ()
            except FakeLakeSailError as exc:
                return exc.status, {"message": exc.message}, ()

    # ------------------------------------------------------------------ faults

    def add_fault(
        self,
        kind: str,
        *,
        status: int | None = None,
        retry_after: int | float | str | None = None,
        body: bytes | str | None = None,
        seconds: float = 0.0,
        times: int | None = 1,
        method: str | None = None,
        path_contains: str | None = None,
        content_type: str | None = None,
    ) -> None:
        """Inject a fault into matching requests; faults apply before authentication and routing.

        The first matching fault (in the order added) wins; ``seconds`` delays any kind, and is the whole
        point of ``"stall"``.

        :param kind: ``"status"`` (answer ``status`` with a ``{"message"}`` body or raw ``body``),
            ``"reset"`` (TCP reset, no response), ``"stall"`` (sleep ``seconds``, then answer normally),
            ``"body"`` (answer ``status`` or 200 with raw ``body`` and ``content_type``), ``"redirect"``
            (answer ``status`` or 302 with ``Location: body``)
        :param status: the status for ``"status"`` (required), ``"body"`` and ``"redirect"``
        :param retry_after: a ``Retry-After`` header value for ``"status"``
        :param body: raw body bytes (str is UTF-8 encoded); for ``"redirect"`` the target URL
        :param seconds: delay before acting
        :param times: how many matching requests it applies to; None for every one until cleared
        :param method: only requests with this method (e.g. ``"POST"``)
        :param path_contains: only requests whose target contains this substring
        :param content_type: Content-Type for ``"body"``/``"status"`` raw bodies (default JSON)
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        if kind == "status" and status is None:
            raise ValueError('a "status" fault needs status=')
        if kind == "redirect" and not body:
            raise ValueError('a "redirect" fault needs the target URL as body=')
        if times is not None and times <= 0:
            return
        raw = body.encode("utf-8") if isinstance(body, str) else body
        fault = _Fault(
            kind=kind,
            status=status,
            retry_after=None if retry_after is None else _retry_after_text(retry_after),
            body=raw,
            content_type=content_type,
            seconds=seconds,
            remaining=times,
            method=method.upper() if method else None,
            path_contains=path_contains,
        )
        with self._lock:
            self._faults.append(fault)

    def set_random_faults(
        self,
        rate: float = 0.35,
        seed: int = 123,
        kinds: Sequence[str] = ("503", "429", "reset", "stall"),
        stall_seconds: float = 2.0,
        retry_after: int | float | str | None = 1,
        methods: Sequence[str] | None = ("GET",),
        path_contains: str | None = None,
    ) -> None:
        """Give each matching request a fault with probability ``rate``, drawn from ``random.Random(seed)``.

        Explicit faults from :meth:`add_fault` take precedence. For the same seed and the same sequence of
        requests the faults are the same.

        :param rate: probability of a fault per matching request (0 to 1)
        :param seed: the random seed
        :param kinds: fault kinds to choose from: a status code as text (``"503"``; 429 and 503 carry
            ``Retry-After``), ``"reset"``, ``"stall"``, ``"html"`` (200 with an HTML page) or
            ``"truncated"`` (200 with cut-off JSON)
        :param stall_seconds: how long a ``"stall"`` sleeps
        :param retry_after: the ``Retry-After`` value for 429/503, or None for none
        :param methods: only requests with these methods; None for all
        :param path_contains: only requests whose target contains this substring
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not kinds:
            raise ValueError("kinds must not be empty")
        for kind in kinds:
            if not (kind.isdigit() or kind in ("reset", "stall", "html", "truncated")):
                raise ValueError(f"unknown random fault kind {kind!r}")
        with self._lock:
            self._random = _RandomFaults(
                rate=rate,
                rng=random.Random(seed),
                kinds=tuple(kinds),
                stall_seconds=stall_seconds,
                retry_after=None if retry_after is None else _retry_after_text(retry_after),
                methods=None if methods is None else frozenset(m.upper() for m in methods),
                path_contains=path_contains,
            )

    def clear_faults(self) -> None:
        """Remove all explicit and random faults."""
        with self._lock:
            self._faults.clear()
            self._random = None

    def _take_fault(self, method: str, target: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, target):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            del self._faults[index]
                    return fault
            chaos = self._random
            if chaos is None:
                return None
            if chaos.methods is not None and method not in chaos.methods:
                return None
            if chaos.path_contains is not None and chaos.path_contains not in target:
                return None
            if chaos.rng.random() >= chaos.rate:
                return None
            kind = chaos.rng.choice(chaos.kinds)
        return _random_fault(kind, chaos)

    # ------------------------------------------------------------------ request records

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in order: ``(method, path, status or "reset")``."""
        with self._lock:
            return list(self._requests)

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """Count recorded requests.

        :param method: only this method
        :param path_contains: only targets containing this substring
        """
        with self._lock:
            return sum(
                1
                for record in self._requests
                if (method is None or record.method == method.upper())
                and (path_contains is None or path_contains in record.path)
            )

    def reset_counters(self) -> None:
        """Forget recorded requests and :meth:`triggered_count` counts (savepoint state is kept)."""
        with self._lock:
            self._requests.clear()
            self._triggered.clear()

    def _record(self, method: str, path: str, status: int | str) -> None:
        with self._lock:
            self._requests.append(RecordedRequest(method, path, status))


def _retry_after_text(value: int | float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _not_allowed(method: str, path: str, allowed: str) -> tuple[int, Any, Sequence[tuple[str, str]]]:
    message = f"method {method} not allowed on {path}; allowed: {allowed}"
    return 405, {"message": message}, (("Allow", allowed),)


def _random_fault(kind: str, chaos: _RandomFaults) -> _Fault:
    if kind.isdigit():
        status = int(kind)
        retry = chaos.retry_after if status in (429, 503) else None
        return _Fault("status", status, retry, None, None, 0.0, 1, None, None)
    if kind == "html":
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return _Fault("body", 200, None, page, "text/html; charset=utf-8", 0.0, 1, None, None)
    if kind == "truncated":
        return _Fault("body", 200, None, b'{"pending": [{"triggerTy', None, 0.0, 1, None, None)
    seconds = chaos.stall_seconds if kind == "stall" else 0.0
    return _Fault(kind, None, None, None, None, seconds, 1, None, None)
