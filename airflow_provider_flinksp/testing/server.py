"""The fake LakeSail API over HTTP/1.1 (keep-alive), on the standard library's ``http.server``.

One table of routes (:data:`ROUTES`) maps a method and a path pattern to a handler that calls the
state; faults (:mod:`.faults`) apply first, then authentication, then routing. What arrives and what is
answered is kept in a :class:`~.records.RequestLog`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote

from airflow_provider_flinksp.lakesail.ids import validate_resource_id
from airflow_provider_flinksp.testing.faults import JSON_CONTENT_TYPE, FaultPlan
from airflow_provider_flinksp.testing.job import FakeLakeSailError
from airflow_provider_flinksp.testing.records import RequestLog
from airflow_provider_flinksp.testing.state import FakeState

ME_PATH = "/api/org/v1/me"
JOBS_PATH = "/api/flink/v1/workspaces/{workspace}/sessions/{session}/jobs"
JOB_PATH = JOBS_PATH + "/{job}"
SAVEPOINTS_PATH = JOB_PATH + "/savepoints"
MAX_BODY = 1 << 20
Headers = list[tuple[str, str]]
_CHALLENGE = [("WWW-Authenticate", "Bearer")]
_LINGER_ZERO = struct.pack("ii", 1, 0)


@dataclass(frozen=True)
class Call:
    """One routed request: the state, the IDs from the path, the query and the body."""

    state: FakeState
    ids: dict[str, str]
    query: dict[str, list[str]]
    body: bytes


#: A handler's answer: status and JSON payload.
Reply = tuple[int, Any]


def _limit(query: dict[str, list[str]]) -> int | None:
    text = query.get("limit", [None])[-1]
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()):
        raise FakeLakeSailError(400, f"limit must be an integer from 1 to 100, got {text!r}")
    return int(text)


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise FakeLakeSailError(400, f"the request body is not valid JSON: {exc}") from None


def _me(call: Call) -> Reply:
    return 200, call.state.account


def _list_jobs(call: Call) -> Reply:
    marker = call.query.get("marker", [None])[-1]
    return 200, call.state.list_jobs(call.ids["workspace"], call.ids["session"], _limit(call.query), marker)


def _create_job(call: Call) -> Reply:
    return 201, call.state.create_job(call.ids["workspace"], call.ids["session"], _json_body(call.body))


def _describe_job(call: Call) -> Reply:
    return 200, call.state.get_job(**call.ids).to_json()


def _list_savepoints(call: Call) -> Reply:
    return 200, call.state.get_job(**call.ids).savepoints()


def _trigger_savepoint(call: Call) -> Reply:
    return 202, call.state.get_job(**call.ids).trigger()


class Route(NamedTuple):
    """One entry of the table: a method, a path pattern, and its handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Call], Reply]


def route(method: str, template: str, handler: Callable[[Call], Reply]) -> Route:
    """A route; each ``{name}`` in the template matches one path segment, an ID checked before the handler.

    :param method: the HTTP method
    :param template: the path, e.g. ``/api/flink/v1/workspaces/{workspace}``
    :param handler: what answers
    """
    return Route(method, re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]*)", template)), handler)


ROUTES: tuple[Route, ...] = (
    route("GET", ME_PATH, _me),
    route("GET", JOBS_PATH, _list_jobs),
    route("POST", JOBS_PATH, _create_job),
    route("GET", JOB_PATH, _describe_job),
    route("GET", SAVEPOINTS_PATH, _list_savepoints),
    route("POST", SAVEPOINTS_PATH, _trigger_savepoint),
)


def dispatch(state: FakeState, method: str, target: str, body: bytes) -> tuple[int, Any, Headers]:
    """Route one authenticated request: (status, JSON payload, extra headers).

    :param state: the state to act on
    :param method: the HTTP method
    :param target: the request target (origin or absolute form)
    :param body: the request body
    """
    path, _sep, query = target.partition("?")
    if path.startswith(("http://", "https://")):  # absolute form
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    allowed = []
    for method_of, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method_of != method:
            allowed.append(method_of)
            continue
        ids = {name: unquote(value) for name, value in match.groupdict().items()}
        try:
            for name, value in ids.items():
                validate_resource_id(f"{name} ID", value)
        except ValueError as exc:
            return 400, {"message": str(exc)}, []
        try:
            status, payload = handler(Call(state, ids, parse_qs(query, keep_blank_values=True), body))
        except FakeLakeSailError as exc:
            return exc.status, {"message": exc.message}, []
        return status, payload, []
    if allowed:
        message = f"method {method} not allowed on {path}; allowed: {', '.join(allowed)}"
        return 405, {"message": message}, [("Allow", ", ".join(allowed))]
    return 404, {"message": f"no such resource: {path}"}, []


class ApiServer(ThreadingHTTPServer):
    """The listening server: one thread per connection, HTTP/1.1 keep-alive.

    :param address: (host, port) to bind; port 0 picks a free one
    :param state: the state the routes act on
    :param faults: the faults to inject
    :param log: where to record traffic
    :param token: the bearer token clients must send, or None for no authentication
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        *,
        state: FakeState,
        faults: FaultPlan,
        log: RequestLog,
        token: str | None,
    ) -> None:
        self.state, self.faults, self.log, self.token = state, faults, log, token
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer.server_bind``'s ``socket.getfqdn()``, which may wait on DNS."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def serve_until_stopped(self) -> None:
        """Accept connections until :meth:`stop`; blocks without polling."""
        while not self.stopping.is_set():
            self.handle_request()

    def stop(self) -> None:
        """Make :meth:`serve_until_stopped` return, waking it with a throw-away connection."""
        self.stopping.set()
        host = "127.0.0.1" if self.server_name in ("", "0.0.0.0") else self.server_name
        with contextlib.suppress(OSError), socket.create_connection((host, self.server_port), timeout=1):
            pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLakeSail/1.0"
    disable_nagle_algorithm = True  # TCP_NODELAY: each answer leaves at once ...
    wbufsize = 1 << 16  # ... in one write: headers and body are buffered, then flushed together
    timeout = 300.0  # idle keep-alive connections are dropped after this long
    server: ApiServer

    def setup(self) -> None:
        super().setup()
        self.server.log.opened(self.connection, counted=not self.server.stopping.is_set())

    def handle(self) -> None:
        if not self.server.stopping.is_set():  # else: the wake-up connection of ApiServer.stop()
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.log.closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep quiet: no per-request logging to stderr.

        :param format: ignored
        :param args: ignored
        """

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer http.server's own errors (bad request line, too many headers) in the API's JSON shape.

        :param code: the status
        :param message: the reason
        :param explain: ignored
        """
        self.close_connection = True
        body = json.dumps({"message": message or f"HTTP {code}"}).encode()
        self._reply(code, body, JSON_CONTENT_TYPE, [])

    def serve(self) -> None:
        """Answer any method: faults first, then authentication, then the table of routes."""
        method, target, server = self.command, self.path, self.server
        body = self._read_body()
        if body is None:
            return
        fault = server.faults.take(method, target)
        server.log.arrived(method, target, None if fault is None else fault.label)
        if fault is not None:
            time.sleep(fault.seconds)
            if fault.kind == "reset":
                server.log.answered(method, target, "reset")
                self._reset()
                return
            if fault.kind != "stall":
                status, data, content_type, headers = fault.answer()
                server.log.answered(method, target, status)
                self._reply(status, data, content_type, headers)
                return
        try:
            status, payload, headers = self._authenticate() or dispatch(server.state, method, target, body)
        except Exception as exc:  # pragma: no cover - a bug in the fake itself
            status, payload, headers = 500, {"message": f"fake server error: {exc!r}"}, []
        # Record before answering, so a client that has its answer always finds the request recorded.
        server.log.answered(method, target, status)
        self._reply(status, json.dumps(payload, separators=(",", ":")).encode(), JSON_CONTENT_TYPE, headers)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = serve

    def _authenticate(self) -> tuple[int, Any, Headers] | None:
        token = self.server.token
        if token is None:
            return None
        scheme, _sep, credentials = (self.headers.get("Authorization") or "").strip().partition(" ")
        if not scheme:
            return 401, {"message": "missing Authorization: Bearer token"}, _CHALLENGE
        if scheme.lower() != "bearer" or credentials.strip() != token:
            return 401, {"message": "invalid bearer token"}, _CHALLENGE
        return None

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.send_error(501, "chunked request bodies are not supported; send Content-Length")
            return None
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_BODY:
            self.send_error(400, f"bad Content-Length {length!r} (at most {MAX_BODY})")
            return None
        return self.rfile.read(int(length))

    def _reply(self, status: int, body: bytes, content_type: str, headers: Sequence[tuple[str, str]]) -> None:
        try:
            self.send_response_only(status)  # no Date or Server header, no per-request log line
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client has gone
            self._discard_output()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0) and no response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self.rfile.close()  # the file objects hold references that keep the descriptor open
        self._discard_output()
        self.connection.close()

    def _discard_output(self) -> None:
        """Close the connection's output, dropping anything unsent, and stop serving it."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.close()
        self.wfile = io.BytesIO()  # http.server flushes wfile after the handler returns
