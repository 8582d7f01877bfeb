"""LakeSailHook, synchronous wire: requests-mock for the unit rows, FakeLakeSail where real sockets matter."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from airflow_provider_flinksp.core import hook as base_hook
from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.core.transport import policy
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.lakesail.ids import RESOURCE_ID_RULE
from airflow_provider_flinksp.testing import FakeLakeSail
from tests.conftest import set_body_cap

TOKEN = "mock-token-s3cr3t-Q9"
API = "https://lakesail.test"
JOB_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1"
SP_PATH = f"{JOB_PATH}/savepoints"
JOB = API + JOB_PATH
LIST = API + SP_PATH
ME = f"{API}/api/org/v1/me"
IDS = ("WS1", "SESS1", "JOB1")
NOW = 1_795_760_145.0  # the hooks module's clock in these tests
EMPTY_LIST = {"pending": [], "completed": []}
TRIGGERED = {
    "location": None,
    "triggerType": "MANUAL",
    "triggerNonce": "0c5a9f4e-7d1b-4a8e-b3c2-9f8e7d6c5b4a",
    "triggeredAt": "2026-11-27T06:15:45.123Z",
}
TRANSIENT = [429, 500, 502, 503, 504]
PERMANENT = [400, 401, 403, 404, 405, 409, 410, 422]


# ---------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def conn(monkeypatch: pytest.MonkeyPatch) -> str:
    """``lakesail_mock``: the mocked API at https://lakesail.test, no extras."""
    value = json.dumps({"conn_type": "lakesail", "host": API, "password": TOKEN})
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_MOCK", value)
    return "lakesail_mock"


@pytest.fixture
def conn_with_extra(monkeypatch: pytest.MonkeyPatch) -> str:
    """``lakesail_extra``: the mocked API with every extra set."""
    extra = {"retry_limit": 4, "retry_delay": 5.0, "timeout": 20}
    value = json.dumps({"conn_type": "lakesail", "host": API, "password": TOKEN, "extra": extra})
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_EXTRA", value)
    return "lakesail_extra"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts, recorded instead of slept; the hooks module's clock reads NOW."""
    recorded: list[float] = []
    monkeypatch.setattr(base_hook, "time", SimpleNamespace(sleep=recorded.append, time=lambda: NOW))
    monkeypatch.setattr(policy, "time", SimpleNamespace(time=lambda: NOW))
    return recorded


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The jitter ranges the hook draws from; each draw returns the range's top."""
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    monkeypatch.setattr(policy, "random", SimpleNamespace(uniform=uniform))
    return drawn


@pytest.fixture
def hook(conn: str, waits: list[float]) -> LakeSailHook:
    return LakeSailHook(conn)


def refused(with_pool: bool = True) -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens on the port."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    if with_pool:
        return requests.exceptions.ConnectionError(MaxRetryError(None, "/x", reason=reason))  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(reason)


def reset() -> requests.exceptions.ConnectionError:
    """What requests raises when the server resets the connection before answering."""
    error = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    return requests.exceptions.ConnectionError(error)


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def truncating_server() -> Iterator[tuple[str, list[str]]]:
    """A raw HTTP server that promises 100 bytes of body, sends 14 and closes: every response is cut short.

    Yields its URL and the methods of the requests it received.
    """
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


def assert_no_token(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text)
        assert TOKEN not in repr(text)


CALLS = {
    "list": ("GET", LIST, lambda h: h.list_session_job_savepoints(*IDS)),
    "trigger": ("POST", LIST, lambda h: h.trigger_session_job_savepoint(*IDS)),
    "describe": ("GET", JOB, lambda h: h.describe_session_job(*IDS)),
}


# ---------------------------------------------------------------------------- success and what is sent


def test_list_sends_bearer_and_parses(hook: LakeSailHook, requests_mock: Any) -> None:
    requests_mock.get(
        LIST, json={"pending": [TRIGGERED], "completed": [{**TRIGGERED, "location": "s3://b/sp"}]}
    )
    result = hook.list_session_job_savepoints(*IDS)
    assert isinstance(result, SavepointList)
    assert result.pending[0].trigger_nonce == TRIGGERED["triggerNonce"]
    assert result.completed[0].location == "s3://b/sp"
    sent = requests_mock.request_history[0]
    assert sent.method == "GET"
    assert sent.url == LIST
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"].startswith("airflow-provider-flinksp/")
    assert not sent.body


def test_trigger_posts_without_body_and_returns_the_nonce(hook: LakeSailHook, requests_mock: Any) -> None:
    requests_mock.post(LIST, status_code=202, json=TRIGGERED)
    result = hook.trigger_session_job_savepoint(*IDS)
    assert isinstance(result, Savepoint)
    assert result.trigger_nonce == TRIGGERED["triggerNonce"]
    assert result.to_dict() == TRIGGERED
    sent = requests_mock.request_history[0]
    assert (sent.method, sent.url) == ("POST", LIST)
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert not sent.body
    assert requests_mock.call_count == 1


def test_describe_returns_the_job(hook: LakeSailHook, requests_mock: Any) -> None:
    job = {"id": "JOB1", "name": "j", "state": "RUNNING", "flinkConfiguration": {}}
    requests_mock.get(JOB, json=job)
    assert hook.describe_session_job(*IDS) == job
    assert requests_mock.request_history[0].url == JOB


def test_bearer_is_not_replaced_by_netrc(
    hook: LakeSailHook, requests_mock: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine lakesail.test login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    requests_mock.get(LIST, json=EMPTY_LIST)
    hook.list_session_job_savepoints(*IDS)
    assert requests_mock.request_history[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_test_connection_true_on_me(hook: LakeSailHook, requests_mock: Any) -> None:
    requests_mock.get(ME, json={"type": "serviceAccount", "id": "SA1", "name": "ci-bot"})
    ok, message = hook.test_connection()
    assert ok is True
    assert "ci-bot" in message
    assert [(r.method, r.path) for r in requests_mock.request_history] == [("GET", "/api/org/v1/me")]
    assert requests_mock.request_history[0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        ({"status_code": 401, "json": {"message": "invalid bearer token"}}, "HTTP 401: invalid bearer token"),
        ({"status_code": 403, "json": {"message": "forbidden"}}, "HTTP 403"),
        ({"status_code": 200, "text": "<html>login</html>"}, "HTML"),
        ({"status_code": 200, "json": ["not", "an", "object"]}, "identity"),
        ({"exc": refused()}, "could not connect"),
    ],
)
def test_test_connection_false(
    hook: LakeSailHook, requests_mock: Any, response: dict[str, Any], needle: str
) -> None:
    requests_mock.get(ME, [response] * 3)
    ok, message = hook.test_connection()
    assert ok is False
    assert needle in message
    assert "/api/org/v1/me" in message
    assert_no_token(message)
    assert {r.path for r in requests_mock.request_history} == {"/api/org/v1/me"}


# ---------------------------------------------------------------------------- session and timeouts


def test_one_session_for_every_call(
    hook: LakeSailHook, requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[requests.Session] = []
    original = requests.Session

    class CountingSession(original):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(requests, "Session", CountingSession)
    requests_mock.get(LIST, json=EMPTY_LIST)
    requests_mock.post(LIST, status_code=202, json=TRIGGERED)
    requests_mock.get(JOB, json={"state": "RUNNING"})
    requests_mock.get(ME, json={"type": "user", "name": "me"})
    hook.list_session_job_savepoints(*IDS)
    hook.trigger_session_job_savepoint(*IDS)
    hook.describe_session_job(*IDS)
    hook.test_connection()
    assert hook.get_conn() is hook.get_conn()
    assert len(made) == 1
    assert hook.get_conn() is made[0]
    assert requests_mock.call_count == 4


def test_close_drops_the_session(hook: LakeSailHook) -> None:
    first = hook.get_conn()
    hook.close()
    assert hook.get_conn() is not first


def test_default_timeouts_are_finite(hook: LakeSailHook, requests_mock: Any) -> None:
    requests_mock.get(LIST, json=EMPTY_LIST)
    hook.list_session_job_savepoints(*IDS)
    connect, read = requests_mock.request_history[0].timeout
    assert connect <= 10
    assert read == 30


@pytest.mark.parametrize(
    ("kwargs", "use_extra", "expected"),
    [
        ({}, False, (10.0, 30.0)),
        ({}, True, (10.0, 20.0)),  # extra timeout 20
        ({"timeout": 7}, True, (6.3, 7.0)),  # the task's setting wins; connecting gets 90 % of it
        ({"timeout": 90}, False, (10.0, 90.0)),  # connecting never gets more than 10 s
        ({"timeout": 0.5}, False, (0.45, 0.5)),
    ],
)
def test_timeout_precedence(
    request: pytest.FixtureRequest,
    requests_mock: Any,
    waits: list[float],
    kwargs: dict[str, Any],
    use_extra: bool,
    expected: tuple[float, float],
) -> None:
    conn_id = request.getfixturevalue("conn_with_extra" if use_extra else "conn")
    requests_mock.get(LIST, json=EMPTY_LIST)
    LakeSailHook(conn_id, **kwargs).list_session_job_savepoints(*IDS)
    assert requests_mock.request_history[0].timeout == pytest.approx(expected)


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", TRANSIENT)
def test_get_retries_transient_statuses_then_raises(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], status: int
) -> None:
    requests_mock.get(LIST, status_code=status, json={"message": f"busy {status}"})
    with pytest.raises(LakeSailApiError) as info:
        hook.list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == 3
    assert len(waits) == 2
    assert info.value.status_code == status
    assert info.value.api_message == f"busy {status}"
    assert info.value.transient is True


@pytest.mark.parametrize("status", TRANSIENT)
def test_get_transient_then_success(hook: LakeSailHook, requests_mock: Any, status: int) -> None:
    requests_mock.get(LIST, [{"status_code": status, "json": {"message": "x"}}, {"json": EMPTY_LIST}])
    assert hook.list_session_job_savepoints(*IDS) == SavepointList()
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_retry_limit_is_attempts_in_all(
    conn: str, requests_mock: Any, waits: list[float], limit: int
) -> None:
    requests_mock.get(LIST, status_code=503, json={"message": "down"})
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn, retry_limit=limit).list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == limit
    assert len(waits) == limit - 1


@pytest.mark.parametrize("status", PERMANENT)
@pytest.mark.parametrize("call", ["list", "trigger", "describe"])
def test_client_errors_are_not_retried(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], status: int, call: str
) -> None:
    method, url, invoke = CALLS[call]
    requests_mock.register_uri(method, url, status_code=status, json={"message": f"nope {status}"})
    with pytest.raises(LakeSailApiError) as info:
        invoke(hook)
    assert requests_mock.call_count == 1
    assert waits == []
    assert info.value.status_code == status
    assert info.value.api_message == f"nope {status}"
    assert info.value.transient is False


@pytest.mark.parametrize("status", [429, 503])
def test_post_retried_where_the_server_did_not_act(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], status: int
) -> None:
    requests_mock.post(LIST, status_code=status, json={"message": "later"})
    with pytest.raises(LakeSailApiError) as info:
        hook.trigger_session_job_savepoint(*IDS)
    assert requests_mock.call_count == 3
    assert info.value.status_code == status


@pytest.mark.parametrize("status", [429, 503])
def test_post_retried_then_succeeds(hook: LakeSailHook, requests_mock: Any, status: int) -> None:
    requests_mock.post(
        LIST, [{"status_code": status, "json": {"message": "later"}}, {"status_code": 202, "json": TRIGGERED}]
    )
    assert hook.trigger_session_job_savepoint(*IDS).trigger_nonce == TRIGGERED["triggerNonce"]
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_not_retried_where_the_server_may_have_acted(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], status: int
) -> None:
    requests_mock.post(LIST, status_code=status, json={"message": "maybe"})
    with pytest.raises(LakeSailApiError) as info:
        hook.trigger_session_job_savepoint(*IDS)
    assert requests_mock.call_count == 1
    assert waits == []
    assert info.value.status_code == status


@pytest.mark.parametrize(
    "make_error",
    [
        refused,
        lambda: refused(with_pool=False),
        lambda: requests.exceptions.ConnectTimeout("connect timed out"),
    ],
    ids=["refused", "refused-bare", "connect-timeout"],
)
@pytest.mark.parametrize("call", ["list", "trigger"])
def test_not_sent_failures_are_retried_for_get_and_post(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], make_error: Any, call: str
) -> None:
    method, url, invoke = CALLS[call]
    requests_mock.register_uri(method, url, exc=make_error())
    with pytest.raises(LakeSailConnectionError) as info:
        invoke(hook)
    assert requests_mock.call_count == 3
    assert len(waits) == 2
    assert info.value.transient is True
    assert method in str(info.value)


@pytest.mark.parametrize(
    "make_error",
    [lambda: requests.exceptions.ReadTimeout("read timed out"), reset],
    ids=["read-timeout", "reset"],
)
def test_maybe_sent_failures_retried_for_get_only(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], make_error: Any
) -> None:
    requests_mock.post(LIST, exc=make_error())
    with pytest.raises(LakeSailConnectionError):
        hook.trigger_session_job_savepoint(*IDS)
    assert requests_mock.call_count == 1
    assert waits == []

    requests_mock.reset_mock()
    requests_mock.get(LIST, [{"exc": make_error()}, {"json": EMPTY_LIST}])
    assert hook.list_session_job_savepoints(*IDS) == SavepointList()
    assert requests_mock.call_count == 2


def test_tls_errors_are_not_retried(hook: LakeSailHook, requests_mock: Any, waits: list[float]) -> None:
    requests_mock.get(LIST, exc=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(LakeSailConnectionError, match="TLS"):
        hook.list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == 1


def test_post_retried_on_a_real_refused_port(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> None:
    port = free_port()
    value = json.dumps({"conn_type": "lakesail", "host": f"http://127.0.0.1:{port}", "password": TOKEN})
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_REFUSED", value)
    with pytest.raises(LakeSailConnectionError, match="could not connect") as info:
        LakeSailHook("lakesail_refused").trigger_session_job_savepoint(*IDS)
    assert len(waits) == 2  # three attempts
    assert_no_token(info.value)


def test_real_get_retried_when_the_body_is_cut_short(
    truncating_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> None:
    url, seen = truncating_server
    value = json.dumps({"conn_type": "lakesail", "host": url, "password": TOKEN})
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_TRUNCATED", value)
    with pytest.raises(LakeSailConnectionError, match="connection broken"):
        LakeSailHook("lakesail_truncated").list_session_job_savepoints(*IDS)
    assert seen == ["GET"] * 3


def test_real_post_not_retried_when_the_body_is_cut_short(
    truncating_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> None:
    url, seen = truncating_server
    value = json.dumps({"conn_type": "lakesail", "host": url, "password": TOKEN})
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_TRUNCATED", value)
    with pytest.raises(LakeSailConnectionError):
        LakeSailHook("lakesail_truncated").trigger_session_job_savepoint(*IDS)
    assert seen == ["POST"]
    assert waits == []


# ---------------------------------------------------------------------------- Retry-After and backoff


def test_retry_after_seconds_honoured(conn: str, requests_mock: Any, waits: list[float]) -> None:
    requests_mock.get(LIST, status_code=503, headers={"Retry-After": "7"}, json={"message": "busy"})
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn, retry_delay=0.01).list_session_job_savepoints(*IDS)
    assert waits == [7.0, 7.0]


def test_retry_after_http_date_honoured(conn: str, requests_mock: Any, waits: list[float]) -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 12, timezone.utc), usegmt=True)
    requests_mock.get(LIST, [{"status_code": 429, "headers": {"Retry-After": when}}, {"json": EMPTY_LIST}])
    LakeSailHook(conn, retry_delay=0.01).list_session_job_savepoints(*IDS)
    assert waits == [12.0]


def test_retry_after_on_post_429_honoured(conn: str, requests_mock: Any, waits: list[float]) -> None:
    requests_mock.post(
        LIST,
        [{"status_code": 429, "headers": {"Retry-After": "3"}}, {"status_code": 202, "json": TRIGGERED}],
    )
    LakeSailHook(conn, retry_delay=0.01).trigger_session_job_savepoint(*IDS)
    assert waits == [3.0]


@pytest.mark.parametrize("header", ["3600", "86400"])
def test_retry_after_capped(conn: str, requests_mock: Any, waits: list[float], header: str) -> None:
    requests_mock.get(LIST, [{"status_code": 503, "headers": {"Retry-After": header}}, {"json": EMPTY_LIST}])
    LakeSailHook(conn, retry_delay=0.01).list_session_job_savepoints(*IDS)
    assert waits == [policy.RETRY_AFTER_CAP]


def test_retry_after_cap_is_the_constant(
    conn: str, requests_mock: Any, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy, "RETRY_AFTER_CAP", 4.0)
    when = format_datetime(datetime.fromtimestamp(NOW + 500, timezone.utc), usegmt=True)
    requests_mock.get(LIST, [{"status_code": 503, "headers": {"Retry-After": when}}, {"json": EMPTY_LIST}])
    LakeSailHook(conn, retry_delay=0.01).list_session_job_savepoints(*IDS)
    assert waits == [4.0]


@pytest.mark.parametrize(
    "header",
    ["soon", "-5", "1.5e3", format_datetime(datetime.fromtimestamp(NOW - 60, timezone.utc), usegmt=True)],
    ids=["words", "negative", "float", "past-date"],
)
def test_unusable_retry_after_falls_back_to_backoff(
    conn: str, requests_mock: Any, waits: list[float], header: str
) -> None:
    requests_mock.get(LIST, [{"status_code": 503, "headers": {"Retry-After": header}}, {"json": EMPTY_LIST}])
    LakeSailHook(conn, retry_delay=0.2).list_session_job_savepoints(*IDS)
    assert len(waits) == 1
    assert 0.1 <= waits[0] <= 0.2


def test_retry_after_does_not_make_a_post_500_retried(
    conn: str, requests_mock: Any, waits: list[float]
) -> None:
    requests_mock.post(LIST, status_code=500, headers={"Retry-After": "1"}, json={"message": "x"})
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn).trigger_session_job_savepoint(*IDS)
    assert requests_mock.call_count == 1
    assert waits == []


def test_backoff_grows_exponentially_with_jitter(
    conn: str, requests_mock: Any, waits: list[float], bounds: list[tuple[float, float]]
) -> None:
    requests_mock.get(LIST, status_code=502)
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn, retry_limit=5, retry_delay=1.0).list_session_job_savepoints(*IDS)
    assert bounds == [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0)]
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_backoff_with_real_jitter_stays_in_range(conn: str, requests_mock: Any, waits: list[float]) -> None:
    requests_mock.get(LIST, status_code=504)
    delay = 0.3
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn, retry_limit=6, retry_delay=delay).list_session_job_savepoints(*IDS)
    assert len(waits) == 5
    for n, wait in enumerate(waits, start=1):
        top = delay * 2 ** (n - 1)
        assert top / 2 <= wait <= top


def test_backoff_is_capped(
    conn: str, requests_mock: Any, waits: list[float], bounds: list[tuple[float, float]]
) -> None:
    requests_mock.get(LIST, status_code=503)
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn, retry_limit=4, retry_delay=50.0).list_session_job_savepoints(*IDS)
    cap = policy.BACKOFF_CAP
    assert bounds == [(25.0, 50.0), (cap / 2, cap), (cap / 2, cap)]


@pytest.mark.parametrize(
    ("kwargs", "use_extra", "attempts", "first_range"),
    [
        ({}, False, 3, (0.5, 1.0)),  # defaults: 3 attempts, 1 s
        ({}, True, 4, (2.5, 5.0)),  # the connection's extra: 4 attempts, 5 s
        ({"retry_limit": 2, "retry_delay": 0.0}, True, 2, (0.0, 0.0)),  # the task wins, 0 is honoured
        ({"retry_limit": 1}, True, 1, None),
        ({"retry_delay": 0.2}, False, 3, (0.1, 0.2)),
    ],
)
def test_task_setting_wins_over_extra_wins_over_default(
    request: pytest.FixtureRequest,
    requests_mock: Any,
    waits: list[float],
    bounds: list[tuple[float, float]],
    kwargs: dict[str, Any],
    use_extra: bool,
    attempts: int,
    first_range: tuple[float, float] | None,
) -> None:
    conn_id = request.getfixturevalue("conn_with_extra" if use_extra else "conn")
    requests_mock.get(LIST, status_code=503)
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn_id, **kwargs).list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == attempts
    assert (bounds[0] if bounds else None) == first_range


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"retry_limit": 0}, "retry_limit"),
        ({"retry_limit": -1}, "retry_limit"),
        ({"retry_limit": 1.5}, "retry_limit"),
        ({"retry_limit": True}, "retry_limit"),
        ({"retry_limit": "3"}, "retry_limit"),
        ({"retry_delay": -0.1}, "retry_delay"),
        ({"retry_delay": "1"}, "retry_delay"),
        ({"retry_delay": float("nan")}, "retry_delay"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -5}, "timeout"),
        ({"timeout": False}, "timeout"),
    ],
)
def test_bad_task_settings_rejected_at_construction(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        LakeSailHook("lakesail_default", **kwargs)


# ---------------------------------------------------------------------------- IDs


@pytest.mark.parametrize("call", ["list", "trigger", "describe"])
@pytest.mark.parametrize(("position", "name"), [(0, "workspace_id"), (1, "session_id"), (2, "job_id")])
@pytest.mark.parametrize("bad", ["", "lower", "A" * 21, "WS/1", "WS1?x=1", "../X", None])
def test_bad_ids_raise_before_anything_is_sent(
    requests_mock: Any,
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    position: int,
    name: str,
    bad: Any,
) -> None:
    looked_up: list[str] = []
    monkeypatch.setattr(LakeSailHook, "get_connection", classmethod(lambda cls, cid: looked_up.append(cid)))
    ids = list(IDS)
    ids[position] = bad
    method = {
        "list": LakeSailHook.list_session_job_savepoints,
        "trigger": LakeSailHook.trigger_session_job_savepoint,
        "describe": LakeSailHook.describe_session_job,
    }[call]
    with pytest.raises(ValueError, match=name) as info:
        method(LakeSailHook("lakesail_mock"), *ids)
    assert RESOURCE_ID_RULE in str(info.value)
    assert requests_mock.call_count == 0
    assert looked_up == []


# ---------------------------------------------------------------------------- error texts


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        ("list", 404, "job JOB1 not found in session SESS1"),
        ("trigger", 409, "a savepoint is already pending"),
        ("describe", 403, "identity not allowed"),
        ("list", 503, "upstream unavailable"),
    ],
)
def test_api_error_text_names_method_path_status_message(
    hook: LakeSailHook, requests_mock: Any, call: str, status: int, message: str
) -> None:
    method, url, invoke = CALLS[call]
    requests_mock.register_uri(method, url, status_code=status, json={"message": message})
    with pytest.raises(LakeSailApiError) as info:
        invoke(hook)
    text = str(info.value)
    path = url.removeprefix(API)
    assert method in text
    assert path in text
    assert str(status) in text
    assert message in text
    assert (info.value.method, info.value.path) == (method, path)
    assert API not in text  # the path only, never the host
    assert_no_token(info.value, info.value.args)


@pytest.mark.parametrize(
    ("response", "api_message"),
    [
        ({"text": "<html><h1>502 Bad Gateway</h1></html>"}, None),
        ({"text": ""}, None),
        ({"json": {"error": "no message key"}}, None),
        ({"json": {"message": 42}}, None),
        ({"json": ["message"]}, None),
    ],
)
def test_api_error_without_a_usable_message(
    hook: LakeSailHook, requests_mock: Any, response: dict[str, Any], api_message: str | None
) -> None:
    requests_mock.get(LIST, status_code=404, **response)
    with pytest.raises(LakeSailApiError) as info:
        hook.list_session_job_savepoints(*IDS)
    assert info.value.api_message is api_message
    assert "HTTP 404" in str(info.value)


def test_retry_logs_have_no_token(
    hook: LakeSailHook,
    requests_mock: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    requests_mock.get(LIST, status_code=503, json={"message": "overloaded"})
    with caplog.at_level("DEBUG"), pytest.raises(LakeSailApiError) as info:
        hook.list_session_job_savepoints(*IDS)
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err  # Airflow 3 logs through structlog to stdout
    assert "Attempt 1 of 3" in logs
    assert "Giving up after 3 attempts" in logs
    assert_no_token(info.value, logs)


def test_repr_has_no_token(hook: LakeSailHook, requests_mock: Any) -> None:
    requests_mock.get(LIST, json=EMPTY_LIST)
    hook.list_session_job_savepoints(*IDS)
    assert_no_token(hook, hook.settings, hook.get_conn().auth)
    assert "lakesail_mock" in repr(hook)
    assert hook.settings.base_url in repr(hook.settings)


# ---------------------------------------------------------------------------- malformed success bodies


MALFORMED_LIST = [
    ({"text": "<!DOCTYPE html><html><body>Sign in</body></html>"}, "HTML page"),
    ({"text": ""}, "empty body"),
    ({"text": "  \n "}, "empty body"),
    ({"text": '{"pending": [{"triggerTy'}, "not JSON"),
    ({"content": b"\xff\xfe\x00garbage"}, "not JSON"),
    ({"json": []}, "JSON object"),
    ({"text": "null"}, "JSON object"),
    ({"json": "ok"}, "JSON object"),
    ({"json": {"pending": []}}, "completed"),
    ({"json": {"completed": []}}, "pending"),
    ({"json": {"pending": {}, "completed": []}}, "pending"),
    ({"json": {"pending": [], "completed": [1]}}, "completed[0]"),
    ({"json": {"pending": [], "completed": [{"location": "s3://x"}]}}, "triggerType"),
    ({"json": {"pending": [], "completed": [{"triggerType": 1}]}}, "triggerType"),
    ({"json": {"pending": [], "completed": [{"triggerType": "MANUAL", "location": 1}]}}, "location"),
    ({"json": {"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": "x"}]}}, "triggeredAt"),
    ({"json": {"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": 5}]}}, "triggeredAt"),
]


@pytest.mark.parametrize(("response", "needle"), MALFORMED_LIST)
def test_malformed_list_bodies(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], response: dict[str, Any], needle: str
) -> None:
    requests_mock.get(LIST, status_code=200, **response)
    with pytest.raises(LakeSailResponseError) as info:
        hook.list_session_job_savepoints(*IDS)
    text = str(info.value)
    assert needle in text
    assert f"GET {SP_PATH}" in text
    assert "HTTP 200" in text
    assert requests_mock.call_count == 1  # a bad body is not retried
    assert_no_token(info.value)


@pytest.mark.parametrize(
    ("call", "body", "needle"),
    [
        ("trigger", {}, "triggerType"),
        ("trigger", [], "JSON object"),
        ("trigger", {"triggerType": "MANUAL", "triggerNonce": 5}, "triggerNonce"),
        ("trigger", {"triggerType": "MANUAL", "triggeredAt": "27/11/2026"}, "triggeredAt"),
        ("describe", {"id": "JOB1"}, "state"),
        ("describe", {"state": ["RUNNING"]}, "state"),
        ("describe", "RUNNING", "JSON object"),
    ],
)
def test_malformed_trigger_and_describe_bodies(
    hook: LakeSailHook, requests_mock: Any, call: str, body: Any, needle: str
) -> None:
    method, url, invoke = CALLS[call]
    requests_mock.register_uri(method, url, status_code=202 if method == "POST" else 200, json=body)
    with pytest.raises(LakeSailResponseError, match=needle):
        invoke(hook)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_json_is_a_provider_error(hook: LakeSailHook, requests_mock: Any, status: int) -> None:
    requests_mock.get(LIST, status_code=status, text="[" * 100_000)
    with pytest.raises(LakeSailError):
        hook.list_session_job_savepoints(*IDS)


# ---------------------------------------------------------------------------- redirects and big bodies


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("call", ["list", "trigger"])
def test_redirects_are_errors_and_never_followed(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], status: int, call: str
) -> None:
    method, url, invoke = CALLS[call]
    target = "https://elsewhere.test/steal"
    requests_mock.register_uri(method, url, status_code=status, headers={"Location": target})
    requests_mock.register_uri(method, target, json=EMPTY_LIST)
    requests_mock.get(target, json=EMPTY_LIST)
    with pytest.raises(LakeSailApiError) as info:
        invoke(hook)
    assert info.value.status_code == status
    assert target in str(info.value)
    assert [r.url for r in requests_mock.request_history] == [url]
    assert waits == []


@pytest.mark.parametrize("with_length", [True, False])
def test_oversized_body_is_refused(
    hook: LakeSailHook, requests_mock: Any, monkeypatch: pytest.MonkeyPatch, with_length: bool
) -> None:
    set_body_cap(monkeypatch, 1000)
    body = json.dumps(EMPTY_LIST).encode() + b" " * 2000
    headers = {"Content-Length": str(len(body))} if with_length else {}
    requests_mock.get(LIST, content=body, headers=headers)
    with pytest.raises(LakeSailResponseError, match="over 1000 bytes"):
        hook.list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == 1


def test_declared_length_over_the_limit_is_refused_before_reading(
    hook: LakeSailHook, requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Content-Length over the limit fails at once, without waiting for (or reading) the body."""
    set_body_cap(monkeypatch, 1000)
    requests_mock.get(LIST, content=json.dumps(EMPTY_LIST).encode(), headers={"Content-Length": "50000000"})
    with pytest.raises(LakeSailResponseError, match="over 1000 bytes"):
        hook.list_session_job_savepoints(*IDS)


def test_oversized_error_page_is_judged_by_its_status(
    hook: LakeSailHook, requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A huge 503 page from a gateway is still a 503: retried, then a success is returned."""
    set_body_cap(monkeypatch, 1000)
    requests_mock.get(
        LIST,
        [{"status_code": 503, "content": b"<html>" + b"x" * 5000}, {"json": EMPTY_LIST}],
    )
    assert hook.list_session_job_savepoints(*IDS) == SavepointList()
    assert requests_mock.call_count == 2


def test_body_at_the_limit_is_accepted(
    hook: LakeSailHook, requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps(EMPTY_LIST).encode()
    body += b" " * (1000 - len(body))
    set_body_cap(monkeypatch, len(body))
    requests_mock.get(LIST, content=body)
    assert hook.list_session_job_savepoints(*IDS) == SavepointList()


# ---------------------------------------------------------------------------- real HTTP against FakeLakeSail


def test_keep_alive_one_tcp_connection_for_many_calls(
    fake: FakeLakeSail, lakesail_conn: str, waits: list[float]
) -> None:
    hook = LakeSailHook(lakesail_conn)
    nonce = hook.trigger_session_job_savepoint(*IDS).trigger_nonce
    for _ in range(4):
        listing = hook.list_session_job_savepoints(*IDS)
    assert hook.describe_session_job(*IDS)["state"] == "RUNNING"
    assert hook.test_connection()[0] is True
    assert listing.find(nonce or "") is not None
    assert fake.count() == 7
    assert fake.connection_count == 1


def test_keep_alive_survives_retries(fake: FakeLakeSail, lakesail_conn: str, waits: list[float]) -> None:
    fake.add_fault("status", status=503, retry_after=0, times=2)
    hook = LakeSailHook(lakesail_conn)
    hook.list_session_job_savepoints(*IDS)
    hook.list_session_job_savepoints(*IDS)
    assert [r.status for r in fake.requests] == [503, 503, 200, 200]
    assert fake.connection_count == 1


def test_close_then_reconnect(fake: FakeLakeSail, lakesail_conn: str) -> None:
    hook = LakeSailHook(lakesail_conn)
    hook.list_session_job_savepoints(*IDS)
    hook.close()
    hook.list_session_job_savepoints(*IDS)
    assert fake.connection_count == 2


def test_wrong_token_real_server(fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> None:
    value = json.dumps({"conn_type": "lakesail", "host": fake.url, "password": "wrong-token-value"})
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_WRONG", value)
    with pytest.raises(LakeSailApiError) as info:
        LakeSailHook("lakesail_wrong").list_session_job_savepoints(*IDS)
    assert info.value.status_code == 401
    assert fake.count() == 1
    assert "wrong-token-value" not in str(info.value)


def test_real_post_not_retried_on_reset(fake: FakeLakeSail, lakesail_conn: str, waits: list[float]) -> None:
    fake.add_fault("reset", method="POST")
    with pytest.raises(LakeSailConnectionError, match="POST"):
        LakeSailHook(lakesail_conn).trigger_session_job_savepoint(*IDS)
    assert fake.count("POST") == 1
    assert waits == []


def test_real_get_retried_on_reset(fake: FakeLakeSail, lakesail_conn: str, waits: list[float]) -> None:
    fake.add_fault("reset", method="GET")
    assert LakeSailHook(lakesail_conn).list_session_job_savepoints(*IDS) == SavepointList()
    assert [r.status for r in fake.requests] == ["reset", 200]


def test_real_post_retried_on_503_triggers_once(
    fake: FakeLakeSail, lakesail_conn: str, waits: list[float]
) -> None:
    fake.add_fault("status", status=503, method="POST")
    savepoint = LakeSailHook(lakesail_conn).trigger_session_job_savepoint(*IDS)
    assert savepoint.trigger_nonce
    assert fake.count("POST") == 2
    assert fake.triggered_count(*IDS) == 1


def test_real_post_not_retried_on_read_timeout(
    fake: FakeLakeSail, lakesail_conn: str, waits: list[float]
) -> None:
    fake.add_fault("stall", seconds=0.6, method="POST")
    with pytest.raises(LakeSailConnectionError, match="timed out"):
        LakeSailHook(lakesail_conn, timeout=0.2).trigger_session_job_savepoint(*IDS)
    assert waits == []  # one attempt


def test_real_redirect_not_followed(fake: FakeLakeSail, lakesail_conn: str) -> None:
    fake.add_fault("redirect", status=302, body=f"{fake.url}/api/org/v1/me?redirected=1")
    with pytest.raises(LakeSailApiError) as info:
        LakeSailHook(lakesail_conn).list_session_job_savepoints(*IDS)
    assert info.value.status_code == 302
    assert fake.count(path_contains="redirected") == 0
    assert fake.count() == 1


def test_real_oversized_body_then_next_call_works(
    fake: FakeLakeSail, lakesail_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_body_cap(monkeypatch, 4096)
    fake.add_fault("body", status=200, body=json.dumps(EMPTY_LIST) + " " * 10_000)
    hook = LakeSailHook(lakesail_conn)
    with pytest.raises(LakeSailResponseError, match="over 4096 bytes"):
        hook.list_session_job_savepoints(*IDS)
    assert hook.list_session_job_savepoints(*IDS) == SavepointList()


def test_real_html_from_a_proxy(fake: FakeLakeSail, lakesail_conn: str) -> None:
    fake.add_fault("body", status=200, body="<html>proxy login</html>", content_type="text/html")
    with pytest.raises(LakeSailResponseError, match="HTML"):
        LakeSailHook(lakesail_conn).list_session_job_savepoints(*IDS)
