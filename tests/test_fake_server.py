"""Tests for the embedded fake LakeSail API (airflow_provider_flinksp.testing)."""

from __future__ import annotations

import http.client
import json
import re
import shlex
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_flinksp.testing import FakeClock, FakeJob, FakeLakeSail, FakeLakeSailError
from airflow_provider_flinksp.testing.__main__ import main as cli_main
from airflow_provider_flinksp.testing import format_timestamp

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
START = 1_795_760_145.123  # 2026-11-27T06:15:45.123Z


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeLakeSail]:
    with FakeLakeSail(token=TOKEN, clock=clock, savepoint_duration=1.0) as server:
        yield server


@pytest.fixture
def job(srv: FakeLakeSail) -> FakeJob:
    return srv.add_job("WS1", "SESS1", "JOB1")


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as sess:
        sess.headers.update(AUTH)
        yield sess


def sp_url(srv: FakeLakeSail, job: FakeJob) -> str:
    return srv.url + job.savepoints_path


def raw_request(srv: FakeLakeSail, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    """One request on a fresh http.client connection: (status, headers, body) or "reset"."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request(method, path, headers=AUTH if headers is None else headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    except (ConnectionResetError, http.client.RemoteDisconnected):
        return "reset"
    finally:
        conn.close()


# ---------------------------------------------------------------------------- basics


def test_start_url_and_context_manager(clock: FakeClock) -> None:
    server = FakeLakeSail(clock=clock)
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.start() is server
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.token == "test-token"
        assert server.running
    finally:
        server.stop()
    assert not server.running
    server.stop()  # idempotent


def test_timestamp_format() -> None:
    assert format_timestamp(START) == "2026-11-27T06:15:45.123Z"
    assert format_timestamp(0.5) == "1970-01-01T00:00:00.500Z"


def test_me(srv: FakeLakeSail, session: requests.Session) -> None:
    resp = session.get(srv.url + "/api/org/v1/me")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert body["type"] == "serviceAccount"
    assert body["id"]
    assert body["name"]


def test_get_job(srv: FakeLakeSail, job: FakeJob, session: requests.Session, clock: FakeClock) -> None:
    body = session.get(srv.url + job.path).json()
    assert body["id"] == "JOB1"
    assert body["state"] == "RUNNING"
    assert set(body) == {"id", "name", "flinkConfiguration", "job", "state", "createdAt", "updatedAt"}
    assert set(body["job"]) == {"id", "name", "args"}
    assert body["job"]["args"] == []
    assert body["createdAt"] == body["updatedAt"] == "2026-11-27T06:15:45.123Z"
    clock.advance(5)
    job.state = "FAILED"
    body = session.get(srv.url + job.path).json()
    assert body["state"] == "FAILED"
    assert body["updatedAt"] == "2026-11-27T06:15:50.123Z"


def test_auth_required(srv: FakeLakeSail, job: FakeJob) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        resp = requests.get(sp_url(srv, job), headers=headers)
        assert resp.status_code == 401
        assert isinstance(resp.json()["message"], str)
    assert requests.get(srv.url + "/nope", headers={}).status_code == 401
    assert requests.get(sp_url(srv, job), headers=AUTH).status_code == 200


def test_auth_can_be_disabled(clock: FakeClock) -> None:
    with FakeLakeSail(token=None, clock=clock) as server:
        assert requests.get(server.url + "/api/org/v1/me").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/flink/v1/workspaces/ws1/sessions/SESS1/jobs/JOB1/savepoints",
        "/api/flink/v1/workspaces/WS1/sessions/S-1/jobs/JOB1",
        "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/" + "J" * 21,
        "/api/flink/v1/workspaces//sessions/SESS1/jobs/JOB1/savepoints",
    ],
)
def test_bad_ids_400(srv: FakeLakeSail, job: FakeJob, session: requests.Session, path: str) -> None:
    resp = session.get(srv.url + path)
    assert resp.status_code == 400
    assert "message" in resp.json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/flink/v1/workspaces/WS2/sessions/SESS1/jobs/JOB1/savepoints",
        "/api/flink/v1/workspaces/WS1/sessions/SESS2/jobs/JOB1/savepoints",
        "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB2/savepoints",
        "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB2",
        "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints/extra",
        "/api/flink/v2/workspaces/WS1",
        "/",
    ],
)
def test_not_found_404(srv: FakeLakeSail, job: FakeJob, session: requests.Session, path: str) -> None:
    resp = session.get(srv.url + path)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert isinstance(resp.json()["message"], str)


def test_wrong_method_405(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    for method, url in (
        ("DELETE", sp_url(srv, job)),
        ("POST", srv.url + job.path),
        ("PUT", srv.url + "/api/org/v1/me"),
    ):
        resp = session.request(method, url)
        assert resp.status_code == 405
        assert method in resp.json()["message"]
        assert "Allow" in resp.headers


# ---------------------------------------------------------------------------- life cycle


def test_life_cycle(srv: FakeLakeSail, job: FakeJob, session: requests.Session, clock: FakeClock) -> None:
    url = sp_url(srv, job)
    assert session.get(url).json() == {"pending": [], "completed": []}
    resp = session.post(url)
    assert resp.status_code == 202
    created = resp.json()
    assert created["location"] is None
    assert created["triggerType"] == "MANUAL"
    assert created["triggeredAt"] == "2026-11-27T06:15:45.123Z"
    nonce = created["triggerNonce"]
    assert isinstance(nonce, str)
    assert nonce

    clock.advance(0.5)
    listing = session.get(url).json()
    assert listing["completed"] == []
    assert listing["pending"] == [{"triggerType": "MANUAL", "triggerNonce": nonce, "triggeredAt": TS0}]

    clock.advance(0.5)
    listing = session.get(url).json()
    assert listing["pending"] == []
    [done] = listing["completed"]
    assert done["triggerNonce"] == nonce
    assert done["triggerType"] == "MANUAL"
    assert re.fullmatch(r"s3://bucket/flink-savepoints/savepoint-[0-9a-f]+", done["location"])
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 1

    # a second one gets a fresh nonce and a later timestamp
    clock.advance(10)
    second = session.post(url).json()
    assert second["triggerNonce"] != nonce
    assert second["triggeredAt"] == "2026-11-27T06:15:56.123Z"
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 2


TS0 = "2026-11-27T06:15:45.123Z"


def test_appear_delay(clock: FakeClock, session: requests.Session) -> None:
    with FakeLakeSail(clock=clock, savepoint_duration=2.0, appear_delay=0.5) as server:
        job = server.add_job("WS1", "SESS1", "JOB1")
        url = sp_url(server, job)
        assert session.post(url).status_code == 202
        assert session.get(url).json()["pending"] == []
        assert session.post(url).status_code == 409  # already accepted, just not listed yet
        clock.advance(0.5)
        assert len(session.get(url).json()["pending"]) == 1
        clock.advance(2.0)
        listing = session.get(url).json()
        assert listing["pending"] == []
        assert len(listing["completed"]) == 1


def test_per_job_duration(srv: FakeLakeSail, clock: FakeClock) -> None:
    srv.add_job("WS1", "SESS1", "SLOW", savepoint_duration=30.0)
    srv.trigger("WS1", "SESS1", "SLOW")
    clock.advance(29.9)
    assert len(srv.savepoints("WS1", "SESS1", "SLOW")["pending"]) == 1
    clock.advance(0.1)
    assert len(srv.savepoints("WS1", "SESS1", "SLOW")["completed"]) == 1


def test_failure_vanishes(
    srv: FakeLakeSail, job: FakeJob, session: requests.Session, clock: FakeClock
) -> None:
    url = sp_url(srv, job)
    job.fail_next()
    session.post(url)
    assert len(session.get(url).json()["pending"]) == 1
    clock.advance(1)
    assert session.get(url).json() == {"pending": [], "completed": []}
    # only the next one failed
    session.post(url)
    clock.advance(1)
    assert len(session.get(url).json()["completed"]) == 1


def test_fail_next_many(srv: FakeLakeSail, job: FakeJob, clock: FakeClock) -> None:
    job.fail_next(2)
    for _ in range(3):
        srv.trigger("WS1", "SESS1", "JOB1")
        clock.advance(1)
    assert len(srv.savepoints("WS1", "SESS1", "JOB1")["completed"]) == 1


def test_one_pending_at_a_time(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    assert session.post(url).status_code == 202
    resp = session.post(url)
    assert resp.status_code == 409
    assert resp.json() == {"message": "a savepoint is already pending"}
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 1


def test_concurrent_posts_only_one_wins(srv: FakeLakeSail, job: FakeJob) -> None:
    url = sp_url(srv, job)
    results: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        status = requests.post(url, headers=AUTH).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [202] + [409] * 7


@pytest.mark.parametrize("state", ["PENDING", "FAILED", "DELETING"])
def test_not_running_409(
    srv: FakeLakeSail, job: FakeJob, session: requests.Session, clock: FakeClock, state: str
) -> None:
    job.state = state
    resp = session.post(sp_url(srv, job))
    assert resp.status_code == 409
    assert state in resp.json()["message"]
    with pytest.raises(FakeLakeSailError) as info:
        srv.trigger("WS1", "SESS1", "JOB1")
    assert info.value.status == 409


def test_pending_savepoint_survives_state_change(srv: FakeLakeSail, job: FakeJob, clock: FakeClock) -> None:
    srv.trigger("WS1", "SESS1", "JOB1")
    clock.advance(5)
    job.state = "FAILED"  # the savepoint finished before the change, so it completed
    assert len(srv.savepoints("WS1", "SESS1", "JOB1")["completed"]) == 1


def test_in_process_helpers(srv: FakeLakeSail, job: FakeJob, clock: FakeClock) -> None:
    created = srv.trigger("WS1", "SESS1", "JOB1")
    assert created["location"] is None
    assert created["triggerType"] == "MANUAL"
    assert srv.savepoints("WS1", "SESS1", "JOB1")["pending"][0]["triggerNonce"] == created["triggerNonce"]
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0  # counts HTTP POSTs only
    assert srv.get_job("WS1", "SESS1", "JOB1") is job
    with pytest.raises(FakeLakeSailError) as info:
        srv.savepoints("WS1", "SESS1", "NOPE")
    assert info.value.status == 404
    with pytest.raises(ValueError, match="already exists"):
        srv.add_job("WS1", "SESS1", "JOB1")
    with pytest.raises(ValueError, match="ID"):
        srv.add_job("ws1", "SESS1", "JOB1")


# ---------------------------------------------------------------------------- periodic and history


def test_periodic(srv: FakeLakeSail, session: requests.Session, clock: FakeClock) -> None:
    job = srv.add_job("WS1", "SESS1", "PER", periodic_interval=10.0)
    url = sp_url(srv, job)
    clock.advance(9.9)
    assert session.get(url).json() == {"pending": [], "completed": []}
    clock.advance(0.1)
    [pending] = session.get(url).json()["pending"]
    assert pending == {"triggerType": "PERIODIC", "triggeredAt": "2026-11-27T06:15:55.123Z"}
    assert session.post(url).status_code == 409  # the periodic one is pending
    clock.advance(1.0)
    listing = session.get(url).json()
    assert listing["pending"] == []
    [done] = listing["completed"]
    assert done["triggerType"] == "PERIODIC"
    assert "triggerNonce" not in done
    assert done["location"]

    # a long jump (t = 11 -> 50.5) catches up every period at once: ticks at 20, 30, 40 and 50
    clock.advance(39.5)
    listing = session.get(url).json()
    assert [sp["triggeredAt"][14:19] for sp in listing["completed"]] == [
        "15:55",
        "16:05",
        "16:15",
        "16:25",
    ]
    assert [sp["triggeredAt"][14:19] for sp in listing["pending"]] == ["16:35"]


def test_periodic_skips_while_pending(srv: FakeLakeSail, clock: FakeClock) -> None:
    srv.add_job("WS1", "SESS1", "PER", periodic_interval=10.0, savepoint_duration=1.0)
    clock.advance(9.5)
    srv.trigger("WS1", "SESS1", "PER")  # pending from 9.5 to 10.5: the tick at 10 is skipped
    clock.advance(11.0)  # t = 20.5: the tick at 20 fires
    listing = srv.savepoints("WS1", "SESS1", "PER")
    assert [sp["triggerType"] for sp in listing["completed"]] == ["MANUAL"]
    assert [sp["triggerType"] for sp in listing["pending"]] == ["PERIODIC"]


def test_periodic_paused_when_not_running(srv: FakeLakeSail, clock: FakeClock) -> None:
    job = srv.add_job("WS1", "SESS1", "PER", periodic_interval=10.0)
    clock.advance(15)  # one at 10, done at 11
    job.state = "FAILED"
    clock.advance(100)
    assert len(srv.savepoints("WS1", "SESS1", "PER")["completed"]) == 1
    job.state = "RUNNING"
    clock.advance(5)  # t = 120: the tick at 120 fires
    assert len(srv.savepoints("WS1", "SESS1", "PER")["pending"]) == 1


def test_history_clean_up(srv: FakeLakeSail, session: requests.Session, clock: FakeClock) -> None:
    job = srv.add_job("WS1", "SESS1", "HIST", history_max_count=2)
    url = sp_url(srv, job)
    nonces = []
    for _ in range(4):
        nonces.append(session.post(url).json()["triggerNonce"])
        clock.advance(1)
    completed = session.get(url).json()["completed"]
    assert [sp["triggerNonce"] for sp in completed] == nonces[-2:]


def test_preloaded_history(srv: FakeLakeSail, session: requests.Session, clock: FakeClock) -> None:
    old = {
        "location": "s3://bucket/flink-savepoints/savepoint-old",
        "triggerType": "UPGRADE",
        "triggerNonce": None,
        "triggeredAt": "2026-11-01T00:00:00.000Z",
    }
    job = srv.add_job("WS1", "SESS1", "PRE", completed=[old], history_max_count=1)
    url = sp_url(srv, job)
    [listed] = session.get(url).json()["completed"]
    assert listed == {k: v for k, v in old.items() if v is not None}
    session.post(url)
    clock.advance(1)
    [newest] = session.get(url).json()["completed"]
    assert newest["triggerType"] == "MANUAL"


# ---------------------------------------------------------------------------- faults


def test_fault_status(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    srv.add_fault("status", status=503, retry_after=2, times=2)
    for _ in range(2):
        resp = session.get(url)
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "2"
        assert "message" in resp.json()
    assert session.get(url).status_code == 200


def test_fault_applies_before_auth(srv: FakeLakeSail, job: FakeJob) -> None:
    srv.add_fault("status", status=429)
    assert requests.get(sp_url(srv, job)).status_code == 429  # no token at all
    assert requests.get(sp_url(srv, job)).status_code == 401


def test_fault_status_raw_body(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    srv.add_fault("status", status=500, body=b"oops", content_type="text/plain")
    resp = session.get(sp_url(srv, job))
    assert (resp.status_code, resp.content, resp.headers["Content-Type"]) == (500, b"oops", "text/plain")


def test_fault_matching(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    srv.add_fault("status", status=500, method="POST", path_contains="/savepoints", times=None)
    assert session.get(url).status_code == 200
    assert session.get(srv.url + job.path).status_code == 200
    assert session.post(url).status_code == 500
    assert session.post(url).status_code == 500  # forever
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0
    srv.clear_faults()
    assert session.post(url).status_code == 202


def test_fault_reset(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    srv.add_fault("reset", method="POST")
    with pytest.raises(requests.ConnectionError):
        session.post(url)
    assert srv.requests[-1] == ("POST", job.savepoints_path, "reset")
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0
    # http.client sees a reset too; then the session recovers on a new connection
    srv.add_fault("reset")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("GET", job.savepoints_path, headers=AUTH)
    with pytest.raises(ConnectionResetError):
        conn.getresponse()
    conn.close()
    assert session.get(url).status_code == 200


def test_fault_stall(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    srv.add_fault("stall", seconds=0.3)
    started = time.perf_counter()
    assert session.get(url).status_code == 200
    assert time.perf_counter() - started >= 0.3
    srv.add_fault("stall", seconds=0.5)
    with pytest.raises(requests.Timeout):
        session.get(url, timeout=0.1)


def test_fault_body(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    html = "<html><body>Bad gateway</body></html>"
    srv.add_fault("body", body=html, content_type="text/html; charset=utf-8")
    resp = session.get(url)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.text == html
    srv.add_fault("body", body=b'{"pending": [')
    resp = session.get(url)
    assert resp.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        resp.json()
    assert session.get(url).json() == {"pending": [], "completed": []}


def test_fault_redirect(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    srv.add_fault("redirect", body="https://login.example.invalid/")
    resp = session.get(sp_url(srv, job), allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "https://login.example.invalid/"


def test_fault_validation(srv: FakeLakeSail) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        srv.add_fault("nope")
    with pytest.raises(ValueError, match="needs status"):
        srv.add_fault("status")
    with pytest.raises(ValueError, match="unknown random fault kind"):
        srv.set_random_faults(kinds=("boom",))


def _statuses_with_random_faults(seed: int, clock: FakeClock) -> list[Any]:
    with FakeLakeSail(clock=clock) as server:
        job = server.add_job("WS1", "SESS1", "JOB1")
        server.set_random_faults(rate=0.35, seed=seed, stall_seconds=0.0)
        out = [raw_request(server, "GET", job.savepoints_path) for _ in range(40)]
        statuses = [item if item == "reset" else item[0] for item in out]
        assert [r.status for r in server.requests] == statuses
        # POSTs are not in methods=("GET",): never faulted
        assert raw_request(server, "POST", job.savepoints_path)[0] == 202
        return statuses


def test_random_faults_reproducible(clock: FakeClock) -> None:
    first = _statuses_with_random_faults(123, clock)
    assert first == _statuses_with_random_faults(123, clock)
    assert {200, 503, 429, "reset"} <= set(first)
    assert first != _statuses_with_random_faults(7, clock)


def test_random_faults_retry_after(srv: FakeLakeSail, job: FakeJob) -> None:
    srv.set_random_faults(rate=1.0, seed=1, kinds=("429",), retry_after=3)
    status, headers, body = raw_request(srv, "GET", job.savepoints_path)
    assert (status, headers["Retry-After"]) == (429, "3")
    assert "message" in json.loads(body)
    srv.clear_faults()
    assert raw_request(srv, "GET", job.savepoints_path)[0] == 200


# ---------------------------------------------------------------------------- HTTP behaviour


def test_keep_alive_reuse_is_fast(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    session.get(url)
    started = time.perf_counter()
    for _ in range(200):
        assert session.get(url).status_code == 200
    assert time.perf_counter() - started < 1.0
    assert srv.connection_count == 1


def test_http_client_keep_alive(srv: FakeLakeSail, job: FakeJob) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    started = time.perf_counter()
    try:
        for i in range(100):
            method = "POST" if i == 50 else "GET"
            conn.request(method, job.savepoints_path, body=b"{}" if method == "POST" else None, headers=AUTH)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == (202 if method == "POST" else 200)
            assert resp.getheader("Content-Length") == str(len(body))
            assert resp.getheader("Content-Type") == "application/json; charset=utf-8"
            json.loads(body)
    finally:
        conn.close()
    assert time.perf_counter() - started < 1.0
    assert srv.connection_count == 1


def test_connection_close_honoured(srv: FakeLakeSail, job: FakeJob) -> None:
    status, headers, _ = raw_request(srv, "GET", job.savepoints_path, {**AUTH, "Connection": "close"})
    assert status == 200
    assert headers["Connection"] == "close"


def test_stop_drops_keep_alive_connections(clock: FakeClock) -> None:
    server = FakeLakeSail(clock=clock).start()
    with requests.Session() as sess:
        sess.headers.update(AUTH)
        url = server.url + "/api/org/v1/me"
        assert sess.get(url).status_code == 200
        server.stop()
        with pytest.raises(requests.ConnectionError):
            sess.get(url, timeout=2)


def test_request_counting(srv: FakeLakeSail, job: FakeJob, session: requests.Session) -> None:
    url = sp_url(srv, job)
    session.get(url)
    session.get(url + "?x=1")
    session.post(url)
    session.get(srv.url + job.path)
    assert srv.count() == 4
    assert srv.count(method="GET") == 3
    assert srv.count(method="post") == 1
    assert srv.count(path_contains="/savepoints") == 3
    assert srv.count(method="GET", path_contains="/savepoints") == 2
    assert srv.requests[0] == ("GET", job.savepoints_path, 200)
    assert srv.requests[2].status == 202
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 1
    srv.reset_counters()
    assert srv.count() == 0
    assert srv.requests == []
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0
    assert len(srv.savepoints("WS1", "SESS1", "JOB1")["pending"]) == 1  # state is kept


# ---------------------------------------------------------------------------- command line


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(cli_main(["--token", "T0K"], stop_event=stop)))
    thread.start()
    try:
        output = ""
        deadline = time.monotonic() + 5
        while "export AIRFLOW_CONN_LAKESAIL_DEFAULT=" not in output and time.monotonic() < deadline:
            time.sleep(0.01)
            output += capsys.readouterr().out
        url = re.search(r"http://127\.0\.0\.1:\d+", output)
        assert url is not None
        assert "T0K" in output
        assert "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1" in output
        prefix = "export AIRFLOW_CONN_LAKESAIL_DEFAULT="
        line = next(ln for ln in output.splitlines() if ln.startswith(prefix))
        conn = json.loads(shlex.split(line[len(prefix) :])[0])
        assert conn == {"conn_type": "lakesail", "host": url.group(0), "password": "T0K"}
        resp = requests.post(
            url.group(0) + "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints",
            headers={"Authorization": "Bearer T0K"},
        )
        assert resp.status_code == 202
    finally:
        stop.set()
        thread.join(5)
    assert codes == [0]
