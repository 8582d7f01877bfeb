"""LakeSailHook, asynchronous twins: real HTTP against FakeLakeSail, and a raw HTTP server for odd faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

from airflow_provider_flinksp import hooks
from airflow_provider_flinksp._compat import AIRFLOW_V3, BaseHook
from airflow_provider_flinksp.core import hook as base_hook
from airflow_provider_flinksp.core.models import SavepointList
from airflow_provider_flinksp.core.transport import policy
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.lakesail.ids import RESOURCE_ID_RULE
from airflow_provider_flinksp.testing import FakeClock, FakeLakeSail
from tests.conftest import set_body_cap

T = TypeVar("T")

TOKEN = "async-token-s3cr3t-K7"
IDS = ("WS1", "SESS1", "JOB1")
JOB_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1"
SP_PATH = f"{JOB_PATH}/savepoints"
EMPTY_LIST = {"pending": [], "completed": []}


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine in a fresh event loop, closing the hook's shared clients before the loop ends."""

    async def main() -> T:
        try:
            return await make()
        finally:
            await hooks.aclose_async_clients()

    return asyncio.run(main())


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, host: str, **extra: Any) -> str:
    """A connection through AIRFLOW_CONN_ (verify false: plain http needs no CA store, and it is cheaper)."""
    value = {
        "conn_type": "lakesail",
        "host": host,
        "password": TOKEN,
        "extra": {"retry_delay": 0.01, "verify": False, **extra},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    return conn_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeLakeSail]:
    """A fake server on a manual clock (savepoints finish only when the test moves the clock)."""
    with FakeLakeSail(token=TOKEN, clock=clock, savepoint_duration=5.0) as server:
        server.add_job(
            "WS1", "SESS1", "JOB1", completed=[{"triggerType": "PERIODIC", "location": "s3://b/p1"}]
        )
        yield server


@pytest.fixture
def conn(srv: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> str:
    return set_conn(monkeypatch, "lakesail_async", srv.url)


@pytest.fixture
def mock_conn(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> str:
    return set_conn(monkeypatch, "lakesail_async_mock", wire.url)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The hook's async waits between attempts, recorded and not slept."""
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    namespace = SimpleNamespace(sleep=sleep, get_running_loop=asyncio.get_running_loop)
    monkeypatch.setattr(base_hook, "asyncio", namespace)
    return recorded


@pytest.fixture
def truncating_server() -> Iterator[tuple[str, list[str]]]:
    """A raw HTTP server that promises 100 bytes of body, sends 14 and closes: every response is cut short."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                seen.append(conn.recv(65536).split(b" ", 1)[0].decode())
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                    b'{"pending": []'
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(timeout=5)


@dataclass
class RawRequest:
    """One request as the raw server read it (header names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


#: What a handler may answer instead of bytes: say nothing (until the client goes), or reset.
SILENT = b"<silent>"
RESET = b"<reset>"
Handler = Callable[[RawRequest], bytes]


@dataclass
class Wire:
    """A raw keep-alive HTTP/1.1 server on 127.0.0.1 answering with ``handler``; records requests.

    It closes the connection after a response with ``Connection: close``.
    """

    url: str
    handler: Handler = lambda request: b"HTTP/1.1 500 Unset\r\nContent-Length: 0\r\n\r\n"
    seen: list[RawRequest] = field(default_factory=list)

    def install(self, handler: Handler) -> list[RawRequest]:
        self.handler = handler
        return self.seen


def respond(status: int, body: bytes = b"", **headers: str) -> bytes:
    """A whole HTTP/1.1 response with Content-Length (unless a header says otherwise)."""
    lines = [f"HTTP/1.1 {status} X"] + [
        f"{name.replace('_', '-')}: {value}" for name, value in headers.items()
    ]
    if "Transfer_Encoding" not in headers and "Content_Length" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, data: Any) -> bytes:
    return respond(status, json.dumps(data).encode(), Content_Type="application/json")


def _serve_connection(conn: socket.socket, wire: Wire) -> None:
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            first, *lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
            length = int(headers.get("content-length", "0"))
            while len(buffer) < length:
                buffer += conn.recv(65536)
            body, buffer = buffer[:length], buffer[length:]
            method, target, _version = first.split(" ")
            request = RawRequest(method, target, headers, body)
            wire.seen.append(request)
            answer = wire.handler(request)
            if answer == SILENT:
                while conn.recv(65536):
                    pass
                return
            if answer == RESET:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return
            conn.sendall(answer)
            if b"\r\nconnection: close\r\n" in answer.partition(b"\r\n\r\n")[0].lower() + b"\r\n":
                return


@pytest.fixture
def wire() -> Iterator[Wire]:
    """A raw HTTP server for what FakeLakeSail does not do; install a handler with ``wire.install``."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = Wire(f"http://127.0.0.1:{listener.getsockname()[1]}")

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve_connection, args=(conn, server), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(timeout=5)


@pytest.fixture
def sync_lookups(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each sync ``BaseHook.get_connection`` call, as "inside a running event loop?"; inside one it raises."""
    calls: list[bool] = []
    original = BaseHook.get_connection

    def guarded(cls: type, conn_id: str) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            calls.append(False)
            return original(conn_id)
        calls.append(True)
        raise AssertionError("BaseHook.get_connection called inside the event loop")

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(guarded))
    return calls


# ---------------------------------------------------------------------------- same results as sync


def test_async_twins_give_the_same_results_as_sync(
    srv: FakeLakeSail, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = set_conn(monkeypatch, "lakesail_async_twins", srv.url, verify=True)  # the default CA store
    sync_hook = LakeSailHook(conn)

    async def calls() -> tuple[Any, ...]:
        hook = LakeSailHook(conn)
        before = await hook.a_list_session_job_savepoints(*IDS)
        triggered = await hook.a_trigger_session_job_savepoint(*IDS)
        pending = await hook.a_list_session_job_savepoints(*IDS)
        job = await hook.a_describe_session_job(*IDS)
        me = await hook.a_test_connection()
        return before, triggered, pending, job, me

    before, triggered, pending, job, me = run(calls)
    assert before == SavepointList.from_api(
        {"pending": [], "completed": [{"triggerType": "PERIODIC", "location": "s3://b/p1"}]}
    )
    assert triggered.trigger_nonce
    assert pending == sync_hook.list_session_job_savepoints(*IDS)
    assert pending.find(triggered.trigger_nonce) == ("pending", pending.pending[0])
    assert job == sync_hook.describe_session_job(*IDS)
    assert job["state"] == "RUNNING"
    assert me == sync_hook.test_connection()
    assert me[0] is True

    clock.advance(6)
    done = run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert done == sync_hook.list_session_job_savepoints(*IDS)
    found = done.find(triggered.trigger_nonce)
    assert found is not None
    assert found[0] == "completed"
    assert found[1].location
    assert srv.count("GET", "/api/org/v1/me") == 2  # test_connection calls exactly that path


def test_async_sends_bearer_accept_and_user_agent(mock_conn: str, wire: Wire) -> None:
    seen = wire.install(lambda request: json_response(200, EMPTY_LIST))
    run(lambda: LakeSailHook(mock_conn).a_list_session_job_savepoints(*IDS))
    (request,) = seen
    assert request.method == "GET"
    assert request.target == SP_PATH
    assert request.headers["host"] == wire.url.removeprefix("http://")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("airflow-provider-flinksp/")
    assert request.body == b""
    assert "content-length" not in request.headers  # a GET carries no body


def test_async_wrong_token_is_a_single_401(srv: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"conn_type": "lakesail", "host": srv.url, "password": "not-the-right-token"}
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_BAD_TOKEN", json.dumps(value))
    with pytest.raises(LakeSailApiError) as info:
        run(lambda: LakeSailHook("lakesail_bad_token").a_list_session_job_savepoints(*IDS))
    assert info.value.status_code == 401
    assert srv.count() == 1
    assert "not-the-right-token" not in str(info.value)


def test_async_test_connection_false(srv: FakeLakeSail, conn: str) -> None:
    srv.add_fault("status", status=403, body='{"message": "no access"}', times=None)
    ok, message = run(lambda: LakeSailHook(conn).a_test_connection())
    assert ok is False
    assert "GET /api/org/v1/me" in message
    assert "HTTP 403: no access" in message
    assert TOKEN not in message
    assert [r.path for r in srv.requests] == ["/api/org/v1/me"]


# ---------------------------------------------------------------------------- retries


def test_async_503_then_success(srv: FakeLakeSail, conn: str) -> None:
    srv.add_fault("status", status=503)
    result = run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert len(result.completed) == 1
    assert [r.status for r in srv.requests] == [503, 200]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_async_get_transient_then_error_after_limit(
    srv: FakeLakeSail, conn: str, waits: list[float], status: int
) -> None:
    srv.add_fault("status", status=status, times=None)
    with pytest.raises(LakeSailApiError) as info:
        run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert info.value.status_code == status
    assert info.value.api_message == f"injected fault: HTTP {status}"
    assert srv.count("GET") == 3
    assert len(waits) == 2


@pytest.mark.parametrize("limit", [1, 4])
def test_async_retry_limit_is_attempts_in_all(
    srv: FakeLakeSail, conn: str, waits: list[float], limit: int
) -> None:
    srv.add_fault("status", status=502, times=None)
    with pytest.raises(LakeSailApiError):
        run(lambda: LakeSailHook(conn, retry_limit=limit).a_list_session_job_savepoints(*IDS))
    assert srv.count() == limit


@pytest.mark.parametrize("status", [500, 502, 504])
def test_async_post_not_retried_on_5xx_where_the_server_may_have_acted(
    srv: FakeLakeSail, conn: str, waits: list[float], status: int
) -> None:
    srv.add_fault("status", status=status, method="POST", times=None)
    with pytest.raises(LakeSailApiError) as info:
        run(lambda: LakeSailHook(conn).a_trigger_session_job_savepoint(*IDS))
    assert info.value.status_code == status
    assert srv.count("POST") == 1
    assert waits == []


@pytest.mark.parametrize("status", [429, 503])
def test_async_post_retried_on_429_and_503(srv: FakeLakeSail, conn: str, status: int) -> None:
    srv.add_fault("status", status=status, method="POST")
    savepoint = run(lambda: LakeSailHook(conn).a_trigger_session_job_savepoint(*IDS))
    assert savepoint.trigger_nonce
    assert srv.count("POST") == 2
    assert srv.triggered_count(*IDS) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_async_client_errors_are_single_requests(
    srv: FakeLakeSail, conn: str, waits: list[float], status: int, method: str
) -> None:
    srv.add_fault("status", status=status, body=json.dumps({"message": f"nope {status}"}), times=None)
    hook = LakeSailHook(conn)
    call = hook.a_list_session_job_savepoints if method == "GET" else hook.a_trigger_session_job_savepoint
    with pytest.raises(LakeSailApiError) as info:
        run(lambda: call(*IDS))
    assert info.value.status_code == status
    assert info.value.api_message == f"nope {status}"
    text = str(info.value)
    assert f"{method} {SP_PATH}" in text
    assert f"HTTP {status}: nope {status}" in text
    assert TOKEN not in text
    assert srv.count() == 1
    assert waits == []


def test_async_post_retried_on_a_refused_port(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    conn_id = set_conn(monkeypatch, "lakesail_async_refused", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(LakeSailConnectionError, match="could not connect") as info:
        run(lambda: LakeSailHook(conn_id).a_trigger_session_job_savepoint(*IDS))
    assert len(waits) == 2  # three attempts
    assert "POST" in str(info.value)


def test_async_post_not_retried_on_reset(srv: FakeLakeSail, conn: str, waits: list[float]) -> None:
    srv.add_fault("reset", method="POST")
    with pytest.raises(LakeSailConnectionError):
        run(lambda: LakeSailHook(conn).a_trigger_session_job_savepoint(*IDS))
    assert srv.count("POST") == 1
    assert srv.triggered_count(*IDS) == 0
    assert waits == []


def test_async_get_retried_on_reset(srv: FakeLakeSail, conn: str) -> None:
    srv.add_fault("reset", method="GET")
    run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert [r.status for r in srv.requests] == ["reset", 200]


def test_async_body_cut_short_retried_for_get_only(
    truncating_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> None:
    url, seen = truncating_server
    conn_id = set_conn(monkeypatch, "lakesail_async_truncated", url)
    with pytest.raises(LakeSailConnectionError, match="connection broken"):
        run(lambda: LakeSailHook(conn_id).a_list_session_job_savepoints(*IDS))
    assert seen == ["GET"] * 3
    seen.clear()
    with pytest.raises(LakeSailConnectionError):
        run(lambda: LakeSailHook(conn_id).a_trigger_session_job_savepoint(*IDS))
    assert seen == ["POST"]


def test_async_retry_after_honoured_and_capped(srv: FakeLakeSail, conn: str, waits: list[float]) -> None:
    srv.add_fault("status", status=429, retry_after=7)
    srv.add_fault("status", status=503, retry_after=3600)
    run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert waits == [7.0, policy.RETRY_AFTER_CAP]


def test_async_backoff_grows(
    mock_conn: str, wire: Wire, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[tuple[float, float]] = []
    monkeypatch.setattr(policy, "random", SimpleNamespace(uniform=lambda a, b: drawn.append((a, b)) or b))
    wire.install(lambda request: json_response(503, {"message": "busy"}))
    hook = LakeSailHook(mock_conn, retry_limit=4, retry_delay=2.0)
    with pytest.raises(LakeSailApiError):
        run(lambda: hook.a_list_session_job_savepoints(*IDS))
    assert drawn == [(1.0, 2.0), (2.0, 4.0), (4.0, 8.0)]
    assert waits == [2.0, 4.0, 8.0]


# ---------------------------------------------------------------------------- bodies, redirects, IDs


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        ("<html><body>Bad gateway</body></html>", "text/html", "HTML"),
        ("", None, "empty body"),
        ('{"pending": [{"triggerTy', None, "not JSON"),
        ("[]", None, "JSON object"),
        ('{"pending": []}', None, "completed"),
        ('{"pending": [], "completed": [{"triggerType": 7}]}', None, "triggerType"),
        (
            '{"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": "x"}]}',
            None,
            "triggeredAt",
        ),
    ],
)
def test_async_malformed_bodies(
    srv: FakeLakeSail, conn: str, body: str, content_type: str | None, needle: str
) -> None:
    srv.add_fault("body", status=200, body=body, content_type=content_type)
    with pytest.raises(LakeSailResponseError) as info:
        run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert needle in str(info.value)
    assert f"GET {SP_PATH}" in str(info.value)
    assert srv.count() == 1


def test_async_malformed_trigger_body(srv: FakeLakeSail, conn: str) -> None:
    srv.add_fault("body", status=202, body="{}", method="POST")
    with pytest.raises(LakeSailResponseError, match="triggerType"):
        run(lambda: LakeSailHook(conn).a_trigger_session_job_savepoint(*IDS))


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_async_redirect_is_an_error_and_not_followed(srv: FakeLakeSail, conn: str, status: int) -> None:
    srv.add_fault("redirect", status=status, body=f"{srv.url}/api/org/v1/me?redirected=1")
    with pytest.raises(LakeSailApiError) as info:
        run(lambda: LakeSailHook(conn).a_list_session_job_savepoints(*IDS))
    assert info.value.status_code == status
    assert "redirected=1" in str(info.value)
    assert srv.count(path_contains="redirected") == 0
    assert srv.count() == 1


def test_async_oversized_body_with_length(
    srv: FakeLakeSail, conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_body_cap(monkeypatch, 4096)
    srv.add_fault("body", status=200, body=json.dumps(EMPTY_LIST) + " " * 10_000)

    async def calls() -> SavepointList:
        hook = LakeSailHook(conn)
        with pytest.raises(LakeSailResponseError, match="over 4096 bytes"):
            await hook.a_list_session_job_savepoints(*IDS)
        return await hook.a_list_session_job_savepoints(*IDS)  # the hook still works afterwards

    assert len(run(calls).completed) == 1


@pytest.mark.parametrize("framing", ["chunked", "read to close"])
def test_async_oversized_streamed_body(
    mock_conn: str, wire: Wire, monkeypatch: pytest.MonkeyPatch, framing: str
) -> None:
    set_body_cap(monkeypatch, 1000)
    parts = [json.dumps(EMPTY_LIST).encode()] + [b" " * 200] * 10
    if framing == "chunked":
        body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
        answer = respond(200, body, Transfer_Encoding="chunked")
    else:
        answer = respond(200, b"".join(parts), Connection="close", Content_Length="")
        answer = answer.replace(b"Content-Length: \r\n", b"")
    assert b"Content-Length" not in answer
    wire.install(lambda request: answer)
    with pytest.raises(LakeSailResponseError, match="over 1000 bytes"):
        run(lambda: LakeSailHook(mock_conn).a_list_session_job_savepoints(*IDS))


def test_async_declared_length_over_the_limit_is_refused_before_reading(
    mock_conn: str, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 50 MB never come (the server sends 35 bytes and waits): reading them would time out instead."""
    set_body_cap(monkeypatch, 1000)
    body = json.dumps(EMPTY_LIST).encode()
    wire.install(lambda request: respond(200, body, Content_Length="50000000"))
    with pytest.raises(LakeSailResponseError, match="over 1000 bytes"):
        run(lambda: LakeSailHook(mock_conn).a_list_session_job_savepoints(*IDS))


@pytest.mark.parametrize(("position", "name"), [(0, "workspace_id"), (1, "session_id"), (2, "job_id")])
@pytest.mark.parametrize(
    "method", ["a_list_session_job_savepoints", "a_trigger_session_job_savepoint", "a_describe_session_job"]
)
def test_async_bad_ids_send_nothing(
    srv: FakeLakeSail, conn: str, monkeypatch: pytest.MonkeyPatch, position: int, name: str, method: str
) -> None:
    looked_up: list[str] = []

    async def no_lookup(conn_id: str) -> Any:
        looked_up.append(conn_id)
        raise AssertionError("looked up")

    monkeypatch.setattr(base_hook, "aget_connection", no_lookup)
    ids = list(IDS)
    ids[position] = "bad id"
    with pytest.raises(ValueError, match=name) as info:
        run(lambda: getattr(LakeSailHook(conn), method)(*ids))
    assert RESOURCE_ID_RULE in str(info.value)
    assert srv.count() == 0
    assert looked_up == []


# ---------------------------------------------------------------------------- look-up and client sharing


def test_async_looks_the_connection_up_without_blocking_the_loop(
    srv: FakeLakeSail, conn: str, sync_lookups: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    async_lookups: list[str] = []
    original = base_hook.aget_connection

    async def counting(conn_id: str) -> Any:
        async_lookups.append(conn_id)
        return await original(conn_id)

    monkeypatch.setattr(base_hook, "aget_connection", counting)

    async def calls() -> None:
        hook = LakeSailHook(conn)
        await hook.a_list_session_job_savepoints(*IDS)
        await hook.a_describe_session_job(*IDS)
        await hook.a_test_connection()

    run(calls)
    assert async_lookups == [conn]  # once per hook
    assert True not in sync_lookups  # never the blocking look-up inside the loop
    if AIRFLOW_V3:
        assert sync_lookups == []  # Airflow 3 has a native async look-up
    assert srv.count() == 3


def test_async_and_sync_share_the_looked_up_settings(
    srv: FakeLakeSail, conn: str, sync_lookups: list[bool]
) -> None:
    hook = LakeSailHook(conn)
    hook.list_session_job_savepoints(*IDS)
    assert sync_lookups == [False]
    run(lambda: hook.a_list_session_job_savepoints(*IDS))
    assert sync_lookups == [False]


def test_async_repr_has_no_token(srv: FakeLakeSail, conn: str) -> None:
    hook = LakeSailHook(conn)
    settings = run(hook.aget_settings)
    assert settings.authorization == f"Bearer {TOKEN}"
    assert TOKEN not in repr(hook)
    assert TOKEN not in repr(settings)
