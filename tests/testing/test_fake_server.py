"""Tests for the embedded fake LakeSail API (airflow_provider_flinksp.testing), over real HTTP."""

from __future__ import annotations

import http.client
import json
import re
import shlex
import socket
import struct
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from airflow_provider_flinksp.testing import (
    FakeClock,
    FakeJob,
    FakeLakeSail,
    FakeLakeSailError,
    Fault,
    format_timestamp,
)
from airflow_provider_flinksp.testing.__main__ import main as cli_main

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = 1_795_760_145.123  # 2026-11-27T06:15:45.123Z
TS0 = "2026-11-27T06:15:45.123Z"
WS = "/api/flink/v1/workspaces/WS1"
JOBS = WS + "/sessions/SESS1/jobs"
SPEC = {
    "name": "upgraded",
    "flinkConfiguration": {"execution.savepoint.path": "s3://b/sp-1"},
    "job": {"args": []},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeLakeSail]:
    with FakeLakeSail(token=TOKEN, clock=clock, savepoint_duration=1.0, job_start_delay=2.0) as server:
        yield server


@pytest.fixture
def job(srv: FakeLakeSail) -> FakeJob:
    return srv.add_job("WS1", "SESS1", "JOB1")


class Api(requests.Session):
    def __init__(self, root: str) -> None:
        super().__init__()
        self.root = root
        self.headers.update(AUTH)

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, self.root + url, *args, **kwargs)


@pytest.fixture
def session(srv: FakeLakeSail) -> Iterator[Api]:
    with Api(srv.url) as api:
        yield api


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


def test_me_and_describe(srv: FakeLakeSail, job: FakeJob, session: Api, clock: FakeClock) -> None:
    assert (format_timestamp(START), format_timestamp(0.5)) == (TS0, "1970-01-01T00:00:00.500Z")
    resp = session.get("/api/org/v1/me")
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.json() == {"type": "serviceAccount", "id": "SA1", "name": "fake-service-account"}
    body = session.get(job.path).json()
    assert set(body) == {"id", "name", "flinkConfiguration", "job", "state", "createdAt", "updatedAt"}
    assert (body["id"], body["state"]) == ("JOB1", "RUNNING")
    assert body["job"] == {"id": job.flink_job_id, "name": "job1-job", "args": []}
    assert body["createdAt"] == body["updatedAt"] == TS0
    clock.advance(5)
    job.state = "FAILED"
    body = session.get(job.path).json()
    assert (body["state"], body["updatedAt"]) == ("FAILED", "2026-11-27T06:15:50.123Z")


def test_auth(srv: FakeLakeSail, job: FakeJob, clock: FakeClock) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        resp = requests.get(srv.url + job.savepoints_path, headers=headers)
        assert (resp.status_code, resp.headers["WWW-Authenticate"]) == (401, "Bearer")
        assert isinstance(resp.json()["message"], str)
    assert requests.get(srv.url + "/nope").status_code == 401  # before routing
    srv.token = "rotated"
    assert requests.get(srv.url + job.path, headers={"Authorization": "Bearer rotated"}).status_code == 200
    with FakeLakeSail(token=None, clock=clock) as server:
        assert requests.get(server.url + "/api/org/v1/me").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", WS.lower() + "/sessions/SESS1/jobs/JOB1/savepoints", 400),
        ("GET", JOBS.replace("SESS1", "S-1") + "/JOB1", 400),
        ("GET", JOBS + "/" + "J" * 21, 400),
        ("GET", "/api/flink/v1/workspaces//sessions/SESS1/jobs/JOB1/savepoints", 400),
        ("POST", JOBS.replace("SESS1", "s1"), 400),
        ("GET", JOBS.replace("WS1", "WS2") + "/JOB1/savepoints", 404),
        ("GET", JOBS.replace("SESS1", "SESS2") + "/JOB1/savepoints", 404),
        ("GET", JOBS + "/JOB2", 404),
        ("GET", JOBS + "/JOB1/savepoints/extra", 404),
        ("GET", "/api/flink/v2/workspaces/WS1", 404),
        ("GET", "/", 404),
        ("GET", JOBS.replace("SESS1", "SESS2"), 404),
        ("POST", JOBS.replace("WS1", "WS2"), 404),
        ("DELETE", JOBS + "/JOB1/savepoints", 405),
        ("POST", JOBS + "/JOB1", 405),
        ("PUT", "/api/org/v1/me", 405),
        ("PATCH", JOBS, 405),
    ],
)
def test_error_statuses(session: Api, job: FakeJob, method: str, path: str, status: int) -> None:
    resp = session.request(method, path, json=SPEC if method == "POST" else None)
    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert isinstance(resp.json()["message"], str)
    if status == 405:
        assert method in resp.json()["message"]
        assert resp.headers["Allow"] in ("GET", "POST", "GET, POST")
    if status == 400:
        assert "ResourceId" in resp.json()["message"]  # the package's own ID rule


def test_life_cycle(srv: FakeLakeSail, job: FakeJob, session: Api, clock: FakeClock) -> None:
    url = job.savepoints_path
    assert session.get(url).json() == {"pending": [], "completed": []}
    resp = session.post(url)
    created = resp.json()
    assert resp.status_code == 202
    assert (created["location"], created["triggerType"], created["triggeredAt"]) == (None, "MANUAL", TS0)
    nonce = created["triggerNonce"]
    clock.advance(0.5)
    assert session.get(url).json() == {
        "pending": [{"triggerType": "MANUAL", "triggerNonce": nonce, "triggeredAt": TS0}],
        "completed": [],
    }
    clock.advance(0.5)
    listing = session.get(url).json()
    [done] = listing["completed"]
    assert listing["pending"] == []
    assert (done["triggerNonce"], done["triggerType"]) == (nonce, "MANUAL")
    assert re.fullmatch(r"s3://bucket/flink-savepoints/savepoint-[0-9a-f]+", done["location"])
    clock.advance(10)
    second = session.post(url).json()
    assert (second["triggerNonce"] != nonce, second["triggeredAt"]) == (True, "2026-11-27T06:15:56.123Z")
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 2


def test_failures_vanish_and_appear_delay(srv: FakeLakeSail, job: FakeJob, clock: FakeClock) -> None:
    job.fail_next(2)
    for _ in range(3):
        srv.trigger("WS1", "SESS1", "JOB1")
        assert len(job.savepoints()["pending"]) == 1
        clock.advance(1)
    assert len(job.savepoints()["completed"]) == 1
    srv.trigger("WS1", "SESS1", "JOB1")
    clock.advance(5)
    job.state = "FAILED"  # the savepoint finished before the change, so it completed
    assert len(job.savepoints()["completed"]) == 2
    srv.appear_delay = 0.5
    srv.add_job("WS1", "SESS1", "SLOW", savepoint_duration=30.0)
    srv.trigger("WS1", "SESS1", "SLOW")
    assert srv.savepoints("WS1", "SESS1", "SLOW")["pending"] == []
    with pytest.raises(FakeLakeSailError, match="already pending"):  # accepted, just not listed yet
        srv.trigger("WS1", "SESS1", "SLOW")
    clock.advance(30.4)
    assert len(srv.savepoints("WS1", "SESS1", "SLOW")["pending"]) == 1
    clock.advance(0.1)
    assert len(srv.savepoints("WS1", "SESS1", "SLOW")["completed"]) == 1


def test_in_process_helpers_history_and_preload(srv: FakeLakeSail, job: FakeJob, clock: FakeClock) -> None:
    created = srv.trigger("WS1", "SESS1", "JOB1")
    assert srv.savepoints("WS1", "SESS1", "JOB1")["pending"][0]["triggerNonce"] == created["triggerNonce"]
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0  # counts HTTP POSTs only
    assert srv.get_job("WS1", "SESS1", "JOB1") is job
    assert srv.jobs == [job]
    with pytest.raises(FakeLakeSailError) as info:
        srv.savepoints("WS1", "SESS1", "NOPE")
    assert info.value.status == 404
    with pytest.raises(ValueError, match="already exists"):
        srv.add_job("WS1", "SESS1", "JOB1")
    with pytest.raises(ValueError, match="ID must be a LakeSail ResourceId"):
        srv.add_job("ws1", "SESS1", "JOB1")
    with pytest.raises(ValueError, match="unknown job state"):
        srv.add_job("WS1", "SESS1", "JOB2", state="STOPPED")
    old = {"location": "s3://b/old", "triggerType": "UPGRADE", "triggerNonce": None, "triggeredAt": TS0}
    job = srv.add_job("WS1", "SESS1", "HIST", completed=[old], history_max_count=2)
    assert job.savepoints()["completed"] == [{k: v for k, v in old.items() if v is not None}]
    nonces = []
    for _ in range(3):
        nonces.append(srv.trigger("WS1", "SESS1", "HIST")["triggerNonce"])
        clock.advance(1)
    assert [sp["triggerNonce"] for sp in job.savepoints()["completed"]] == nonces[-2:]


def test_one_pending_at_a_time_409(srv: FakeLakeSail, job: FakeJob) -> None:
    url = srv.url + job.savepoints_path
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: requests.post(url, headers=AUTH).status_code, range(8)))
    assert sorted(statuses) == [202] + [409] * 7
    assert requests.post(url, headers=AUTH).json() == {"message": "a savepoint is already pending"}
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 1


def test_periodic_refuses_manual(clock: FakeClock) -> None:  # pending_policy="400": test_cli
    with FakeLakeSail(clock=clock) as server:
        job = server.add_job("WS1", "SESS1", "PER", periodic_interval=10.0)
        clock.advance(10)
        assert [sp["triggerType"] for sp in job.savepoints()["pending"]] == ["PERIODIC"]
        resp = requests.post(server.url + job.savepoints_path, headers=AUTH)
        assert (resp.status_code, resp.json()) == (409, {"message": "a savepoint is already pending"})
        clock.advance(1)
        assert requests.post(server.url + job.savepoints_path, headers=AUTH).status_code == 202


def test_queue_policy(srv: FakeLakeSail, clock: FakeClock, session: Api) -> None:
    srv.pending_policy = "queue"
    job = srv.add_job("WS1", "SESS1", "PER", periodic_interval=10.0, savepoint_duration=2.0)
    clock.advance(10.5)  # the periodic one runs from 10 to 12
    first, second = (session.post(job.savepoints_path) for _ in range(2))
    assert (first.status_code, second.status_code) == (202, 202)
    nonces = [first.json()["triggerNonce"], second.json()["triggerNonce"]]
    assert first.json()["triggeredAt"] == "2026-11-27T06:15:55.623Z"
    listing = session.get(job.savepoints_path).json()
    assert [sp["triggerType"] for sp in listing["pending"]] == ["PERIODIC"]  # queued ones are not listed
    clock.advance(2)  # t = 12.5: the first queued one started at 12
    assert [sp.get("triggerNonce") for sp in job.savepoints()["pending"]] == nonces[:1]
    clock.advance(4)  # t = 16.5: both done (12-14, 14-16); the periodic tick at 20 has not come yet
    listing = job.savepoints()
    assert [sp.get("triggerNonce") for sp in listing["completed"]] == [None, *nonces]
    assert listing["pending"] == []
    assert srv.triggered_count("WS1", "SESS1", "PER") == 2
    with pytest.raises(ValueError, match="pending_policy"):
        srv.pending_policy = "wait"
    job = srv.add_job("WS1", "SESS1", "JOB1")
    srv.trigger("WS1", "SESS1", "JOB1")
    srv.trigger("WS1", "SESS1", "JOB1")
    job.state = "FAILED"
    clock.advance(5)
    assert len(job.savepoints()["completed"]) == 1  # the running one finished; the queued one vanished


def test_periodic(srv: FakeLakeSail, clock: FakeClock) -> None:
    job = srv.add_job("WS1", "SESS1", "PER", periodic_interval=10.0)
    clock.advance(9.9)
    assert job.savepoints() == {"pending": [], "completed": []}
    clock.advance(0.1)
    assert job.savepoints()["pending"] == [
        {"triggerType": "PERIODIC", "triggeredAt": "2026-11-27T06:15:55.123Z"}
    ]
    clock.advance(1.0)
    [done] = job.savepoints()["completed"]
    assert (done["triggerType"], "triggerNonce" in done, bool(done["location"])) == ("PERIODIC", False, True)
    clock.advance(39.5)  # t = 11 -> 50.5 catches up every period at once: ticks at 20, 30, 40 and 50
    listing = job.savepoints()
    assert [sp["triggeredAt"][14:19] for sp in listing["completed"]] == ["15:55", "16:05", "16:15", "16:25"]
    assert [sp["triggeredAt"][14:19] for sp in listing["pending"]] == ["16:35"]


def test_periodic_skips_while_busy_or_stopped(srv: FakeLakeSail, clock: FakeClock) -> None:
    job = srv.add_job("WS1", "SESS1", "PER", periodic_interval=10.0, savepoint_duration=1.0)
    clock.advance(9.5)
    srv.trigger("WS1", "SESS1", "PER")  # pending from 9.5 to 10.5: the tick at 10 is skipped
    clock.advance(11.0)  # t = 20.5: the tick at 20 fires
    listing = job.savepoints()
    assert [sp["triggerType"] for sp in listing["completed"] + listing["pending"]] == ["MANUAL", "PERIODIC"]
    clock.advance(1)
    job.state = "FAILED"
    clock.advance(100)
    assert len(job.savepoints()["completed"]) == 2
    job.state = "RUNNING"
    clock.advance(8.5)  # t = 130: the tick at 130 fires
    assert len(job.savepoints()["pending"]) == 1


def test_create_session_job(srv: FakeLakeSail, session: Api, clock: FakeClock) -> None:
    srv.add_session("WS1", "SESS1")
    spec = {
        **SPEC,
        "job": {"jarUri": "s3://b/app.jar", "entryClass": "com.example.App", "args": ["--x", "1"]},
    }
    resp = session.post(JOBS, json=spec)
    summary = resp.json()
    assert resp.status_code == 201
    assert set(summary) == {"id", "name", "state", "createdAt", "updatedAt"}
    assert (summary["name"], summary["state"], summary["createdAt"]) == ("upgraded", "PENDING", TS0)
    job_id = summary["id"]
    assert re.fullmatch(r"[A-Z0-9]{1,20}", job_id)
    assert srv.job_spec("WS1", "SESS1", job_id) == spec
    described = session.get(f"{JOBS}/{job_id}").json()
    assert (described["flinkConfiguration"], described["state"]) == (spec["flinkConfiguration"], "PENDING")
    assert described["job"] == {"id": described["job"]["id"], "name": "upgraded", **spec["job"]}
    resp = session.post(f"{JOBS}/{job_id}/savepoints")  # not running yet
    assert (resp.status_code, "PENDING" in resp.json()["message"]) == (409, True)
    clock.advance(2.0)  # job_start_delay
    described = session.get(f"{JOBS}/{job_id}").json()
    assert (described["state"], described["updatedAt"]) == ("RUNNING", "2026-11-27T06:15:47.123Z")
    assert session.post(f"{JOBS}/{job_id}/savepoints").status_code == 202
    srv.fail_job("WS1", "SESS1", job_id)
    assert session.get(f"{JOBS}/{job_id}").json()["state"] == "FAILED"
    for state in ("FAILED", "DELETING"):
        srv.get_job("WS1", "SESS1", job_id).state = state
        resp = session.post(f"{JOBS}/{job_id}/savepoints")
        assert (resp.status_code, state in resp.json()["message"]) == (409, True)
    never = session.post(JOBS, json=SPEC).json()["id"]
    srv.fail_job("WS1", "SESS1", never)  # before it started: it never starts
    clock.advance(10)
    assert srv.get_job("WS1", "SESS1", never).state == "FAILED"


def test_list_session_jobs_pages_and_bad_queries(srv: FakeLakeSail, job: FakeJob, session: Api) -> None:
    ids = ["JOB1"] + [session.post(JOBS, json={**SPEC, "name": f"j{i}"}).json()["id"] for i in range(6)]
    srv.add_job("WS1", "SESS2", "OTHER")  # another session's job is not listed
    pages, marker = [], None
    while True:
        body = session.get(JOBS, params={"limit": 3, **({"marker": marker} if marker else {})}).json()
        pages.append([item["id"] for item in body["items"]])
        marker = body.get("marker")
        if marker is None:
            break
        assert isinstance(marker, str)
    assert pages == [ids[:3], ids[3:6], ids[6:]]
    assert set(body["items"][0]) == {"id", "name", "state", "createdAt", "updatedAt"}
    everything = {"items": [srv.get_job("WS1", "SESS1", i).summary() for i in ids]}
    assert session.get(JOBS, params={"limit": 7}).json() == everything
    assert "marker" not in session.get(JOBS).json()
    srv.state.page_size = 2  # the server's own cap, whatever the limit
    assert len(session.get(JOBS, params={"limit": 100}).json()["items"]) == 2
    srv.add_session("WS1", "EMPTY")
    assert session.get(f"{WS}/sessions/EMPTY/jobs").json() == {"items": []}
    for query in ("limit=101", "limit=0", "limit=-1", "limit=ten", "limit=", "marker=bm9wZQ", "marker=%%%"):
        resp = session.get(f"{JOBS}?{query}")
        assert resp.status_code == 400, query
        assert query.partition("=")[0] in resp.json()["message"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "JSON object"),
        ({"flinkConfiguration": {}, "job": {"args": []}}, "name"),
        ({**SPEC, "name": 7}, "name"),
        ({"name": "x", "job": {"args": []}}, "flinkConfiguration"),
        ({**SPEC, "flinkConfiguration": ["a"]}, "flinkConfiguration"),
        ({**SPEC, "flinkConfiguration": {"p.d": 2}}, "flinkConfiguration['p.d']"),
        ({"name": "x", "flinkConfiguration": {}}, "job is required"),
        ({**SPEC, "job": {}}, "job.args"),
        ({**SPEC, "job": {"args": ["--x", 1]}}, "job.args"),
        ({**SPEC, "job": {"args": [], "jarUri": 3}}, "job.jarUri"),
    ],
)
def test_create_bad_spec_400(srv: FakeLakeSail, job: FakeJob, session: Api, body: Any, problem: str) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = session.post(JOBS, data=data, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert problem in resp.json()["message"]
    assert srv.jobs == [job]  # nothing was created


def test_fault_status_and_matching(srv: FakeLakeSail, job: FakeJob, session: Api) -> None:
    fault = srv.add_fault("status", status=503, retry_after=2, times=2)
    assert isinstance(fault, Fault)
    for left in (1, 0):
        resp = session.get(job.savepoints_path)
        assert (resp.status_code, resp.headers["Retry-After"], fault.times) == (503, "2", left)
        assert "message" in resp.json()
    assert session.get(job.savepoints_path).status_code == 200
    srv.add_fault("status", status=429)
    assert requests.get(srv.url + job.savepoints_path).status_code == 429  # before authentication
    with pytest.raises(TypeError, match="count"):
        srv.add_fault("status", status=503, count=2)  # keyword fields, checked
    with pytest.raises(ValueError, match="unknown fault kind"):
        srv.add_fault("nope")
    with pytest.raises(ValueError, match="needs status"):
        srv.add_fault("status")
    with pytest.raises(ValueError, match="target URL"):
        srv.add_fault("redirect")
    with pytest.raises(ValueError, match="unknown random fault kind"):
        srv.set_random_faults(kinds=("boom",))
    with pytest.raises(ValueError, match="rate"):
        srv.set_random_faults(rate=2)
    srv.add_fault("status", status=500, body=b"oops", content_type="text/plain")
    resp = session.get(job.savepoints_path)
    assert (resp.status_code, resp.content, resp.headers["Content-Type"]) == (500, b"oops", "text/plain")
    srv.add_fault("status", status=500, method="post", path_contains="/savepoints", times=None)
    assert session.get(job.savepoints_path).status_code == 200
    assert session.post(JOBS, json=SPEC).status_code == 201
    assert [session.post(job.savepoints_path).status_code for _ in range(3)] == [500] * 3  # until cleared
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0
    srv.clear_faults()
    assert session.post(job.savepoints_path).status_code == 202


def test_fault_reset_stall_body_and_redirect(srv: FakeLakeSail, job: FakeJob, session: Api) -> None:
    srv.add_fault("reset", method="POST")
    with pytest.raises(requests.ConnectionError):
        session.post(job.savepoints_path)
    assert srv.requests[-1] == ("POST", job.savepoints_path, "reset")
    assert srv.triggered_count("WS1", "SESS1", "JOB1") == 0
    srv.add_fault("reset")
    assert raw_request(srv, "GET", job.savepoints_path) == "reset"
    assert session.get(job.savepoints_path).status_code == 200  # recovers on a new connection
    srv.reset_counters()
    srv.add_fault("stall", seconds=0.3)
    started = time.perf_counter()
    assert session.get(job.savepoints_path).status_code == 200
    assert time.perf_counter() - started >= 0.3
    srv.add_fault("stall", seconds=0.5)
    with pytest.raises(requests.Timeout):
        session.get(job.savepoints_path, timeout=0.1)
    assert [a.fault for a in srv.arrivals] == ["stall", "stall"]  # recorded on arrival
    html = "<html><body>Bad gateway</body></html>"
    srv.add_fault("body", body=html, content_type="text/html; charset=utf-8")
    srv.add_fault("body", body=b'{"pending": [')
    srv.add_fault("redirect", body="https://login.example.invalid/")
    resp = session.get(job.savepoints_path)
    assert (resp.status_code, resp.text) == (200, html)
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(requests.JSONDecodeError):
        session.get(job.savepoints_path).json()
    resp = session.get(job.savepoints_path, allow_redirects=False)
    assert (resp.status_code, resp.headers["Location"]) == (302, "https://login.example.invalid/")
    assert session.get(job.savepoints_path).json() == {"pending": [], "completed": []}


def test_client_gone_before_the_answer(
    srv: FakeLakeSail, job: FakeJob, capfd: pytest.CaptureFixture[str]
) -> None:
    srv.add_fault("stall", seconds=0.3, times=2)
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.sendall(f"GET {job.savepoints_path} HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, before the fake answers
    time.sleep(0.5)
    assert [r.status for r in srv.requests] == [200, 200]
    assert "Traceback" not in capfd.readouterr().err  # the server shrugs it off


def _statuses_with_random_faults(seed: int, clock: FakeClock) -> list[Any]:
    with FakeLakeSail(clock=clock) as server:
        job = server.add_job("WS1", "SESS1", "JOB1")
        server.set_random_faults(rate=0.35, seed=seed, stall_seconds=0.0)
        out = [raw_request(server, "GET", job.savepoints_path) for _ in range(40)]
        statuses = [item if item == "reset" else item[0] for item in out]
        assert [r.status for r in server.requests] == statuses
        assert raw_request(server, "POST", job.savepoints_path)[0] == 202  # methods=("GET",): never faulted
        return statuses


def test_random_faults(clock: FakeClock, srv: FakeLakeSail, job: FakeJob) -> None:
    first = _statuses_with_random_faults(123, clock)
    assert first == _statuses_with_random_faults(123, clock)
    assert {200, 503, 429, "reset"} <= set(first)
    assert first != _statuses_with_random_faults(7, clock)
    srv.set_random_faults(rate=1.0, seed=1, kinds=("429",), retry_after=3)
    status, headers, body = raw_request(srv, "GET", job.savepoints_path)
    assert (status, headers["Retry-After"], "message" in json.loads(body)) == (429, "3", True)
    srv.set_random_faults(rate=1.0, kinds=("html",))
    assert raw_request(srv, "GET", job.savepoints_path)[1]["Content-Type"].startswith("text/html")
    srv.clear_faults()
    assert raw_request(srv, "GET", job.savepoints_path)[0] == 200


def test_keep_alive_and_request_records(
    srv: FakeLakeSail, job: FakeJob, session: Api, clock: FakeClock
) -> None:
    session.get(job.savepoints_path)
    started = time.perf_counter()
    for _ in range(200):
        assert session.get(job.savepoints_path).status_code == 200
    # Nagle's algorithm against delayed ACKs would cost ~40 ms a request (8 s); allow for a loaded machine.
    assert time.perf_counter() - started < 3.0
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for method in ("GET", "POST", "GET"):
        conn.request(method, job.savepoints_path, body=b"{}" if method == "POST" else None, headers=AUTH)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == (202 if method == "POST" else 200)
        assert resp.getheader("Content-Length") == str(len(body))
    conn.close()
    assert srv.connection_count == 2
    clock.advance(1)  # the savepoint finishes
    srv.reset_counters()
    session.get(job.savepoints_path)
    session.get(job.savepoints_path + "?x=1")
    session.post(job.savepoints_path)
    session.post(JOBS, json=SPEC)
    assert srv.count() == 4
    assert (srv.count(method="GET"), srv.count(method="post")) == (2, 2)
    assert srv.count(method="POST", path_contains="/savepoints") == 1
    assert srv.requests[0] == ("GET", job.savepoints_path, 200)
    assert [r.status for r in srv.requests[2:]] == [202, 201]
    assert [(a.method, a.fault) for a in srv.arrivals] == [(r.method, None) for r in srv.requests]
    srv.reset_counters()
    assert (srv.count(), srv.arrivals, srv.triggered_count("WS1", "SESS1", "JOB1")) == (0, [], 0)
    assert len(job.savepoints()["pending"]) == 1  # state is kept


def test_start_stop_and_connection_close(clock: FakeClock) -> None:
    server = FakeLakeSail(clock=clock)
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.start() is server
    assert (server.token, server.running) == ("test-token", True)
    assert server.url == f"http://127.0.0.1:{server.port}"
    status, headers, _ = raw_request(server, "GET", "/api/org/v1/me", {**AUTH, "Connection": "close"})
    assert (status, headers["Connection"]) == (200, "close")
    with Api(server.url) as session:
        assert session.get("/api/org/v1/me").status_code == 200
        server.stop()  # drops the kept-alive connection
        with pytest.raises(requests.ConnectionError):
            session.get("/api/org/v1/me", timeout=2)
    assert not server.running
    server.stop()  # idempotent


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    codes: list[int] = []
    argv = ["--token", "T0K", "--periodic", "0.2", "--savepoint-duration", "60", "--pending-policy", "400"]
    thread = threading.Thread(target=lambda: codes.append(cli_main(argv, stop_event=stop)))
    thread.start()
    try:
        prefix, output, deadline = "export AIRFLOW_CONN_LAKESAIL_DEFAULT=", "", time.monotonic() + 5
        while prefix not in output and time.monotonic() < deadline:
            time.sleep(0.01)
            output += capsys.readouterr().out
        [line] = [ln for ln in output.splitlines() if ln.startswith(prefix)]
        conn = json.loads(shlex.split(line.removeprefix(prefix))[0])
        assert conn == {"conn_type": "lakesail", "host": conn["host"], "password": "T0K"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", conn["host"])
        assert JOBS + "/JOB1" in output
        url = conn["host"] + JOBS + "/JOB1/savepoints"
        deadline = time.monotonic() + 5  # a periodic savepoint starts after 0.2 s and lasts 60 s
        while not requests.get(url, headers={"Authorization": "Bearer T0K"}).json()["pending"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        resp = requests.post(url, headers={"Authorization": "Bearer T0K"})
        assert (resp.status_code, resp.json()) == (400, {"message": "a savepoint is already pending"})
    finally:
        stop.set()
        thread.join(5)
    assert codes == [0]
