"""The sync transport and the retry policy: requests-mock for what requests does (timeouts, its
exception types), FakeLakeSail where the TCP connection matters; what both wires share is in
tests/lakesail/test_hook.py."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from airflow_provider_flinksp.core.transport import policy
from airflow_provider_flinksp.exceptions import LakeSailApiError, LakeSailConnectionError
from airflow_provider_flinksp.hooks import LakeSailHook
from airflow_provider_flinksp.testing import FakeLakeSail

TOKEN = "mock-token-s3cr3t-Q9"
API = "https://lakesail.test"
LIST = f"{API}/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints"
IDS = ("WS1", "SESS1", "JOB1")
EMPTY_LIST = {"pending": [], "completed": []}


@pytest.fixture
def conns(monkeypatch: pytest.MonkeyPatch) -> None:
    """``lakesail_mock`` (no extras) and ``lakesail_extra`` (every extra set) at the mocked API."""
    for conn_id, extra in (("MOCK", {}), ("EXTRA", {"retry_limit": 4, "retry_delay": 5.0, "timeout": 20})):
        value = {"conn_type": "lakesail", "host": API, "password": TOKEN, "extra": extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_LAKESAIL_{conn_id}", json.dumps(value))


@pytest.fixture
def hook(conns: None, waits: list[float]) -> LakeSailHook:
    return LakeSailHook("lakesail_mock")


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


@pytest.mark.parametrize(
    ("kwargs", "conn_id", "expected"),
    [
        ({}, "lakesail_mock", (10.0, 30.0)),  # finite defaults
        ({}, "lakesail_extra", (10.0, 20.0)),  # extra timeout 20
        ({"timeout": 7}, "lakesail_extra", (6.3, 7.0)),  # the task's setting wins; connecting gets 90 % of it
        ({"timeout": 90}, "lakesail_mock", (10.0, 90.0)),  # connecting never gets more than 10 s
        ({"timeout": 0.5}, "lakesail_mock", (0.45, 0.5)),
    ],
)
def test_timeout_precedence(
    conns: None, requests_mock: Any, kwargs: dict[str, Any], conn_id: str, expected: tuple[float, float]
) -> None:
    requests_mock.get(LIST, json=EMPTY_LIST)
    LakeSailHook(conn_id, **kwargs).list_session_job_savepoints(*IDS)
    assert requests_mock.request_history[0].timeout == pytest.approx(expected)


def _refused(with_pool: bool) -> requests.exceptions.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    if with_pool:
        return requests.exceptions.ConnectionError(MaxRetryError(None, "/x", reason=reason))  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(reason)


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: _refused(True),
        lambda: _refused(False),
        lambda: requests.exceptions.ConnectTimeout("timed out"),
    ],
    ids=["refused", "refused-bare", "connect-timeout"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_not_sent_failures_are_retried_for_get_and_post(
    hook: LakeSailHook, requests_mock: Any, waits: list[float], make_error: Any, method: str
) -> None:
    requests_mock.register_uri(method, LIST, exc=make_error())
    call = hook.list_session_job_savepoints if method == "GET" else hook.trigger_session_job_savepoint
    with pytest.raises(LakeSailConnectionError) as info:
        call(*IDS)
    assert requests_mock.call_count == 3
    assert len(waits) == 2
    assert info.value.transient is True
    assert method in str(info.value)


def test_tls_errors_are_not_retried(hook: LakeSailHook, requests_mock: Any, waits: list[float]) -> None:
    requests_mock.get(LIST, exc=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(LakeSailConnectionError, match="TLS"):
        hook.list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    ("kwargs", "conn_id", "attempts", "first_range"),
    [
        ({}, "lakesail_mock", 3, (0.5, 1.0)),  # defaults: 3 attempts, 1 s
        ({}, "lakesail_extra", 4, (2.5, 5.0)),  # the connection's extra: 4 attempts, 5 s
        ({"retry_limit": 2, "retry_delay": 0.0}, "lakesail_extra", 2, (0.0, 0.0)),  # the task's, 0 kept
        ({"retry_limit": 1}, "lakesail_extra", 1, None),
        ({"retry_delay": 0.2}, "lakesail_mock", 3, (0.1, 0.2)),
    ],
)
def test_task_setting_wins_over_extra_wins_over_default(
    conns: None,
    requests_mock: Any,
    waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
    kwargs: dict[str, Any],
    conn_id: str,
    attempts: int,
    first_range: tuple[float, float] | None,
) -> None:
    drawn: list[tuple[float, float]] = []
    monkeypatch.setattr(policy, "random", SimpleNamespace(uniform=lambda a, b: drawn.append((a, b)) or b))
    requests_mock.get(LIST, status_code=503)
    with pytest.raises(LakeSailApiError):
        LakeSailHook(conn_id, **kwargs).list_session_job_savepoints(*IDS)
    assert requests_mock.call_count == attempts
    assert (drawn[0] if drawn else None) == first_range


BAD_SETTINGS = [("retry_limit", v) for v in (0, -1, 1.5, True, "3")]
BAD_SETTINGS += [("retry_delay", v) for v in (-0.1, "1", float("nan"))]
BAD_SETTINGS += [("timeout", v) for v in (0, -5, False)]


@pytest.mark.parametrize(("kwargs", "name"), [({name: value}, name) for name, value in BAD_SETTINGS])
def test_bad_task_settings_rejected_at_construction(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        LakeSailHook("lakesail_default", **kwargs)


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
    assert TOKEN not in logs + str(info.value) + repr(info.value)
    assert TOKEN not in repr(hook) + repr(hook.settings) + repr(hook.get_conn().auth)
    assert "lakesail_mock" in repr(hook)
    assert hook.settings.base_url in repr(hook.settings)


def test_one_session_and_tcp_connection_until_closed(fake: FakeLakeSail, lakesail_conn: str) -> None:
    hook = LakeSailHook(lakesail_conn)
    session = hook.get_conn()
    nonce = hook.trigger_session_job_savepoint(*IDS).trigger_nonce
    for _ in range(4):
        listing = hook.list_session_job_savepoints(*IDS)
    assert hook.describe_session_job(*IDS)["state"] == "RUNNING"
    assert hook.test_connection()[0] is True
    assert listing.find(nonce or "") is not None
    assert fake.count() == 7
    assert fake.connection_count == 1
    assert hook.get_conn() is session
    hook.close()
    assert hook.get_conn() is not session
    hook.list_session_job_savepoints(*IDS)
    assert fake.connection_count == 2
