"""LakeSailHook on both wires (``sync``: requests, ``async``: aiohttp) over real HTTP: FakeLakeSail, or a
raw socket server for framings the fake does not make. Every failure is the contract's typed error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.utils import format_datetime
from json import JSONDecodeError
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from airflow_provider_flinksp._compat import AIRFLOW_V3, BaseHook
from airflow_provider_flinksp.core import hook as base_hook
from airflow_provider_flinksp.core.models import SavepointList
from airflow_provider_flinksp.core.transport import policy
from airflow_provider_flinksp.core.transport.policy import MAX_BODY_BYTES
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.hooks import LakeSailHook, aclose_async_clients
from airflow_provider_flinksp.lakesail.ids import RESOURCE_ID_RULE
from airflow_provider_flinksp.testing import FakeLakeSail
from tests.conftest import point_at, set_body_cap

IDS = ("WS1", "SESS1", "JOB1")
JOB_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1"
LIST_PATH = f"{JOB_PATH}/savepoints"
ME_PATH = "/api/org/v1/me"
CAP = policy.BACKOFF_CAP
NOW = 1_795_760_145.0  # the clock of the retry policy in these tests
EMPTY_LIST = {"pending": [], "completed": []}
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
LIST = "list_session_job_savepoints"
TRIGGER = "trigger_session_job_savepoint"
DESCRIBE = "describe_session_job"
OPS = {LIST: ("GET", LIST_PATH), TRIGGER: ("POST", LIST_PATH), DESCRIBE: ("GET", JOB_PATH)}
TRANSIENT = [429, 500, 502, 503, 504]
PERMANENT = [400, 401, 403, 404, 405, 409, 410, 422]
#: Exceptions that must never reach a user, raw or as the visible cause of what does.
RAW = (KeyError, TypeError, AttributeError, IndexError, JSONDecodeError, UnicodeDecodeError, RecursionError)

pytestmark = pytest.mark.parametrize("wire", ["sync", "async"])


def call(wire: str, operation: str, *ids: Any, hook: LakeSailHook | None = None, times: int = 1) -> Any:
    """Call one hook operation (``list_session_job_savepoints`` etc.) ``times`` times through one wire."""
    hook = hook or LakeSailHook()
    ids = () if operation == "test_connection" else ids or IDS
    if wire == "sync":
        return [getattr(hook, operation)(*ids) for _ in range(times)][-1]

    async def go() -> Any:
        try:
            return [await getattr(hook, f"a_{operation}")(*ids) for _ in range(times)][-1]
        finally:
            await aclose_async_clients()

    return asyncio.run(go())


def raises(wire: str, operation: str, expected: type[LakeSailError], hook: LakeSailHook | None = None) -> Any:
    """Call and return the provider error it raised, checking its visible chain has no raw error."""
    with pytest.raises(expected) as caught:
        call(wire, operation, hook=hook)
    seen: BaseException | None = caught.value
    while seen is not None:
        assert not isinstance(seen, RAW), f"{type(seen).__name__} in the chain of {caught.value!r}"
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return caught.value


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts on either wire, recorded instead of slept; the policy's clock is NOW."""
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(base_hook, "time", SimpleNamespace(sleep=recorded.append, time=lambda: NOW))
    monkeypatch.setattr(
        base_hook, "asyncio", SimpleNamespace(sleep=sleep, get_running_loop=asyncio.get_running_loop)
    )
    monkeypatch.setattr(policy, "time", SimpleNamespace(time=lambda: NOW))
    return recorded


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The jitter ranges the policy draws from; each draw returns the range's top."""
    drawn: list[tuple[float, float]] = []
    monkeypatch.setattr(policy, "random", SimpleNamespace(uniform=lambda a, b: drawn.append((a, b)) or b))
    return drawn


@pytest.fixture
def conn(fake: FakeLakeSail, lakesail_conn: str, waits: list[float]) -> FakeLakeSail:
    return fake


class Raw(socketserver.ThreadingTCPServer):
    """A raw keep-alive HTTP/1.1 server on 127.0.0.1 answering every request with ``answer``."""

    daemon_threads = True
    answer = b"HTTP/1.1 500 Unset\r\nContent-Length: 0\r\n\r\n"
    token = "test-token-s3cr3t"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RawHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []


class RawHandler(socketserver.StreamRequestHandler):
    server: Raw

    def handle(self) -> None:
        while line := self.rfile.readline():
            method, target, _ = line.decode("latin-1").split(" ")
            headers = {}
            while header := self.rfile.readline().decode("latin-1").strip():
                name, _, value = header.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self.rfile.read(int(headers.get("content-length", "0")))
            self.server.seen.append((method, target, headers, body))
            with contextlib.suppress(OSError):
                self.wfile.write(self.server.answer)
            if b"connection: close" in self.server.answer.lower():
                return


@pytest.fixture
def raw(monkeypatch: pytest.MonkeyPatch) -> Iterator[Raw]:
    with Raw() as server:
        point_at(monkeypatch, server)  # type: ignore[arg-type]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server
        server.shutdown()
        thread.join(timeout=5)


def respond(status: int, body: bytes = b"", **headers: str) -> bytes:
    """A whole HTTP/1.1 response, with a Content-Length unless ``headers`` frame the body otherwise."""
    lines = [f"HTTP/1.1 {status} X"] + [
        f"{name.replace('_', '-')}: {value}" for name, value in headers.items()
    ]
    if not headers.keys() & {"Transfer_Encoding", "Content_Length", "Connection"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def test_requests_carry_the_bearer_and_no_body(wire: str, raw: Raw) -> None:
    raw.answer = respond(200, json.dumps(EMPTY_LIST).encode(), Content_Type="application/json")
    assert call(wire, LIST) == SavepointList()
    triggered = {
        "location": None,
        "triggerType": "MANUAL",
        "triggerNonce": "n1",
        "triggeredAt": "2026-11-27T06:15:45.123Z",
    }
    raw.answer = respond(202, json.dumps(triggered).encode())
    assert call(wire, TRIGGER).to_dict() == triggered
    for (method, target, headers, body), expected in zip(raw.seen, ["GET", "POST"], strict=True):
        assert (method, target, body) == (expected, LIST_PATH, b"")
        assert headers["host"] == raw.url.removeprefix("http://")
        assert headers["authorization"] == "Bearer test-token-s3cr3t"
        assert headers["accept"] == "application/json"
        assert headers["user-agent"].startswith("airflow-provider-flinksp/")
    assert "content-length" not in raw.seen[0][2]  # a GET carries no body


def test_same_results_on_both_wires(wire: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLakeSail(token="twin-token", account_name="ci-bot") as srv:
        srv.add_job(*IDS, completed=[{"triggerType": "PERIODIC", "location": "s3://b/p1"}])
        point_at(monkeypatch, srv, verify=True)  # the default CA store
        sync = LakeSailHook()
        nonce = call(wire, TRIGGER).trigger_nonce
        listing = call(wire, LIST)
        assert listing == sync.list_session_job_savepoints(*IDS)
        assert [savepoint.location for savepoint in listing.completed] == ["s3://b/p1"]
        assert listing.find(nonce) == ("pending", listing.pending[0])
        job = call(wire, DESCRIBE)
        assert job == requests.get(srv.url + JOB_PATH, headers={"Authorization": "Bearer twin-token"}).json()
        assert job["state"] == "RUNNING"
        me = call(wire, "test_connection")
        assert me == sync.test_connection()
        assert me[0] is True
        assert "ci-bot" in me[1]
        assert srv.count("GET", ME_PATH) == 2  # test_connection calls exactly that path


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda s: s.add_fault("status", status=401, body=b'{"message": "invalid bearer token"}', times=None),
         "HTTP 401: invalid bearer token"),
        (lambda s: s.add_fault("status", status=403, body=b'{"message": "no access"}', times=None),
         "HTTP 403: no access"),
        (lambda s: s.add_fault("body", body=b"<html>login</html>", content_type="text/html", times=None),
         "HTML"),
        (lambda s: s.add_fault("body", body=b'["not", "an", "object"]', times=None), "identity"),
    ],
)  # fmt: skip
def test_test_connection_false(wire: str, conn: FakeLakeSail, setup: Callable[..., Any], needle: str) -> None:
    setup(conn)
    ok, message = call(wire, "test_connection")
    assert ok is False
    assert needle in message
    assert f"GET {ME_PATH}" in message
    assert conn.token not in message
    assert {r.path for r in conn.requests} == {ME_PATH}


ERROR_BODIES = {
    "json-message": (b'{"message": "the server says no"}', None, "the server says no"),
    "json-without-message": (b'{"error": "nope"}', None, None),
    "json-message-not-text": (b'{"message": {"code": 7}}', None, None),
    "json-message-number": (b'{"message": 42}', None, None),
    "json-array": (b'["message"]', None, None),
    "empty": (b"", None, None),
    "html": (HTML, "text/html; charset=utf-8", None),
    "nested-100000": (b"[" * 100_000 + b"]" * 100_000, None, None),
}


@pytest.mark.parametrize("operation", OPS)
@pytest.mark.parametrize("status", TRANSIENT + PERMANENT)
def test_error_statuses(
    wire: str, conn: FakeLakeSail, waits: list[float], status: int, operation: str
) -> None:
    """Retried (3 attempts) if transient and a GET, or a 429/503 the server did not act on; a
    Retry-After does not make a POST's 500 retried."""
    method, path = OPS[operation]
    body = json.dumps({"message": f"nope {status}"})
    conn.add_fault("status", status=status, body=body, retry_after=1, times=None)
    exc = raises(wire, operation, LakeSailApiError)
    assert (exc.status_code, exc.api_message) == (status, f"nope {status}")
    assert exc.transient is (status in TRANSIENT)
    assert str(exc) == f"LakeSail API {method} {path} failed with HTTP {status}: nope {status}"
    assert (exc.method, exc.path) == (method, path)
    assert conn.url not in str(exc)
    assert conn.token not in str(exc) + repr(exc.args)
    attempts = 3 if status in (429, 503) or (status in TRANSIENT and method == "GET") else 1
    assert conn.count() == attempts
    assert waits == [1.0] * (attempts - 1)


@pytest.mark.parametrize("variant", ERROR_BODIES)
@pytest.mark.parametrize("status", [404, 409])
def test_client_error_bodies(wire: str, conn: FakeLakeSail, status: int, variant: str) -> None:
    body, content_type, message = ERROR_BODIES[variant]
    conn.add_fault("status", status=status, body=body, content_type=content_type, times=None)
    exc = raises(wire, LIST, LakeSailApiError)
    assert exc.api_message == message
    detail = message if message is not None else "no message in the response body"
    assert str(exc) == f"LakeSail API GET {LIST_PATH} failed with HTTP {status}: {detail}"


@pytest.mark.parametrize("status", TRANSIENT)
def test_retried_then_answered(wire: str, conn: FakeLakeSail, waits: list[float], status: int) -> None:
    conn.add_fault("status", status=status, retry_after="3")
    assert call(wire, LIST) == SavepointList()
    assert [r.status for r in conn.requests] == [status, 200]
    if status in (429, 503):  # the server did not act: a POST is retried too
        conn.add_fault("status", status=status, method="POST", retry_after="3")
        assert call(wire, TRIGGER).trigger_nonce
        assert conn.count("POST") == 2
        assert conn.triggered_count(*IDS) == 1
    assert waits == [3.0] * (1 + (status in (429, 503)))  # the Retry-After


@pytest.mark.parametrize("operation", [LIST, TRIGGER])
def test_refused_port_is_retried_for_get_and_post(
    wire: str, monkeypatch: pytest.MonkeyPatch, waits: list[float], operation: str
) -> None:
    with Raw() as closed:  # a port that refuses: the server is closed
        point_at(monkeypatch, closed)  # type: ignore[arg-type]
    exc = raises(wire, operation, LakeSailConnectionError)
    assert "could not connect" in str(exc)
    assert OPS[operation][0] in str(exc)
    assert exc.transient is True
    assert len(waits) == 2  # three attempts
    assert Raw.token not in str(exc)
    ok, message = call(wire, "test_connection")
    assert ok is False
    assert "could not connect" in message
    assert ME_PATH in message


@pytest.mark.parametrize(
    "fault", [{"kind": "reset"}, {"kind": "stall", "seconds": 0.4}], ids=["reset", "stall"]
)
def test_maybe_sent_failures_retried_for_get_only(
    wire: str, conn: FakeLakeSail, waits: list[float], fault: dict[str, Any]
) -> None:
    conn.add_fault(method="POST", **fault)
    exc = raises(wire, TRIGGER, LakeSailConnectionError, LakeSailHook(timeout=0.15))
    assert "POST" in str(exc)
    if fault["kind"] == "stall":
        assert "timed out" in str(exc)
    else:
        assert conn.triggered_count(*IDS) == 0
        assert conn.count("POST") == 1
    assert waits == []
    conn.add_fault(method="GET", **fault)
    assert isinstance(call(wire, LIST, hook=LakeSailHook(timeout=0.15)), SavepointList)
    assert len(waits) == 1  # the GET was retried once


def test_body_cut_short_retried_for_get_only(wire: str, raw: Raw, waits: list[float]) -> None:
    raw.answer = respond(200, b'{"pending": []', Content_Length="100", Connection="close")
    assert "connection broken" in str(raises(wire, LIST, LakeSailConnectionError))
    raises(wire, TRIGGER, LakeSailConnectionError)
    assert [method for method, *_ in raw.seen] == ["GET"] * 3 + ["POST"]
    assert len(waits) == 2


def test_keep_alive_survives_retries(wire: str, conn: FakeLakeSail) -> None:
    conn.add_fault("status", status=503, retry_after=0, times=2)
    call(wire, LIST, times=2)
    assert [r.status for r in conn.requests] == [503, 503, 200, 200]
    assert conn.connection_count == 1


def http_date(offset: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + offset, timezone.utc), usegmt=True)


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (503, "7", 7.0),
        (429, http_date(12), 12.0),
        (503, "3600", policy.RETRY_AFTER_CAP),
        (429, "86400", policy.RETRY_AFTER_CAP),
        (503, http_date(86400), policy.RETRY_AFTER_CAP),
        # not seconds or a date: the backoff (0.1 to 0.2 s for a retry_delay of 0.2)
        (503, "soon", None),
        (503, "-5", None),
        (503, "1.5e3", None),
        (503, "1.5", None),
        (503, http_date(-60), None),
        (503, "Wed, 32 Foo 2026 99:99:99 GMT", None),
        (503, "\u00b2", None),  # a latin-1 header byte Python calls a digit
    ],
)
def test_retry_after(
    wire: str, conn: FakeLakeSail, waits: list[float], status: int, header: str, expected: float | None
) -> None:
    conn.add_fault("status", status=status, retry_after=header)
    assert call(wire, LIST, hook=LakeSailHook(retry_delay=0.2)) == SavepointList()
    assert len(waits) == 1
    if expected is None:
        assert 0.1 <= waits[0] <= 0.2
    else:
        assert waits == [expected]


@pytest.mark.parametrize(
    ("limit", "delay", "expected"),
    [
        (5, 1.0, [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0)]),
        (4, 50.0, [(25.0, 50.0), (CAP / 2, CAP), (CAP / 2, CAP)]),
        (1, 1.0, []),
    ],
    ids=["exponential", "capped", "one-attempt"],
)  # fmt: skip
def test_backoff_grows_exponentially_with_jitter(
    wire: str,
    conn: FakeLakeSail,
    waits: list[float],
    bounds: list[tuple[float, float]],
    limit: int,
    delay: float,
    expected: list[tuple[float, float]],
) -> None:
    conn.add_fault("status", status=503, times=None)
    raises(wire, LIST, LakeSailApiError, LakeSailHook(retry_limit=limit, retry_delay=delay))
    assert conn.count() == limit  # retry_limit counts every attempt
    assert bounds == expected
    assert waits == [top for _, top in expected]


MANUAL = {"triggerType": "MANUAL"}


def _listing(*completed: Any, pending: Any = ()) -> bytes:
    return json.dumps({"pending": list(pending), "completed": list(completed)}).encode()


#: id -> (operation, body, what the message must say); shapes in depth: tests/core/test_models.py
BAD_BODIES: dict[str, tuple[str, bytes, str]] = {
    "not-json": (LIST, b"hello", "a body that is not JSON: 'hello'"),
    "html": (LIST, HTML, "an HTML page: '<!DOCTYPE html>"),
    "empty": (LIST, b"", "an empty body"),
    "whitespace": (LIST, b" \r\n\t", "an empty body"),
    "truncated-json": (LIST, b'{"pending": [{"triggerTy', "a body that is not JSON"),
    "invalid-utf8": (LIST, b"\xff\xfe\xfa\x00", "a body that is not JSON"),
    "nested-100000": (LIST, b"[" * 100_000 + b"]" * 100_000, "a body that is not JSON: '[[[["),
    "top-array": (LIST, b"[]", "savepoint list should be a JSON object, got an array"),
    "top-bool": (LIST, b"true", "savepoint list should be a JSON object, got a boolean"),
    "location-dict": (LIST, _listing(MANUAL | {"location": {}}), "[0].location should be a string, got dict"),
    "triggeredAt-NaN": (
        LIST, b'{"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": NaN}]}',
        "completed[0].triggeredAt should be a string, got float",
    ),
    "triggerType-missing": (LIST, _listing({"location": "s3://b/x"}), "completed[0].triggerType is required"),
    "timestamp-only-Z": (
        LIST, _listing(MANUAL | {"triggeredAt": "Z"}), "completed[0].triggeredAt is not an ISO-8601"
    ),
    "job-html": (DESCRIBE, HTML, "an HTML page"),
    "job-array": (DESCRIBE, b"[]", "session job should be a JSON object, got an array"),
    "job-state-missing": (DESCRIBE, b'{"id": "JOB1"}', "session job has no 'state' string"),
    "trigger-html": (TRIGGER, HTML, "an HTML page"),
    "trigger-empty": (TRIGGER, b"", "an empty body"),
    "trigger-array": (TRIGGER, b"[]", "savepoint should be a JSON object, got an array"),
    "trigger-object-empty": (TRIGGER, b"{}", "savepoint.triggerType is required"),
    "trigger-nonce-number": (
        TRIGGER, b'{"triggerType": "MANUAL", "triggerNonce": 5}', "savepoint.triggerNonce should be a string"
    ),
    "trigger-date": (TRIGGER, b'{"triggerType": "MANUAL", "triggeredAt": "27/11"}', "savepoint.triggeredAt"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_BODIES)
def test_bad_success_body(wire: str, conn: FakeLakeSail, case: str) -> None:
    operation, body, message = BAD_BODIES[case]
    method, path = OPS[operation]
    status = 202 if method == "POST" else 200
    conn.add_fault("body", status=status, body=body, method=method, times=None)
    exc = raises(wire, operation, LakeSailResponseError)
    assert type(exc) is LakeSailResponseError
    assert str(exc).startswith(f"LakeSail API {method} {path} returned HTTP {status} with ")
    assert message in str(exc)
    assert conn.token not in str(exc)
    assert [r.method for r in conn.requests] == [method]


@pytest.mark.parametrize("spelling", ["plain", "json-escapes"])
def test_token_echoed_in_a_good_body_is_blanked(wire: str, conn: FakeLakeSail, spelling: str) -> None:
    token = conn.token
    echoed = token if spelling == "plain" else "".join(f"\\u{ord(char):04x}" for char in token)
    body = '{"pending": [], "completed": [{"triggerType": "MANUAL", "location": "s3://b/' + echoed + '"}]}'
    conn.add_fault("body", status=200, body=body.encode(), times=None)
    (savepoint,) = call(wire, LIST).completed
    assert savepoint.location == "s3://b/***"


@pytest.mark.parametrize("operation", [LIST, TRIGGER])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_an_error_and_never_followed(
    wire: str, conn: FakeLakeSail, waits: list[float], status: int, operation: str
) -> None:
    """A redirect to another host (that would take the token): an error, no connection there, no retry."""
    with FakeLakeSail(token=conn.token) as elsewhere:
        elsewhere.add_job(*IDS)
        target = elsewhere.url + LIST_PATH
        conn.add_fault("redirect", status=status, body=target, times=None)
        exc = raises(wire, operation, LakeSailApiError)
        assert exc.status_code == status
        assert f"redirect to {target} not followed" in str(exc)
        assert conn.token not in str(exc)
        assert len(conn.requests) == 1
        assert elsewhere.requests == []
        assert elsewhere.connection_count == 0
    assert waits == []


def test_oversized_body_refused_then_the_hook_works(
    wire: str, conn: FakeLakeSail, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn.add_fault("body", status=200, body=b" " * (MAX_BODY_BYTES + 1))
    assert f"a body over {MAX_BODY_BYTES} bytes" in str(raises(wire, LIST, LakeSailResponseError))
    set_body_cap(monkeypatch, 4096)
    conn.add_fault("body", status=200, body=json.dumps(EMPTY_LIST) + " " * 10_000)
    hook = LakeSailHook()
    assert "over 4096 bytes" in str(raises(wire, LIST, LakeSailResponseError, hook))
    assert call(wire, LIST, hook=hook) == SavepointList()  # the same hook still works
    # A huge 503 page from a gateway is still a 503: retried, then the success is returned.
    conn.add_fault("status", status=503, body=b"<html>" + b"x" * 5000, retry_after=0)
    assert call(wire, LIST, hook=hook) == SavepointList()
    assert [r.status for r in conn.requests][-2:] == [503, 200]
    body = json.dumps(EMPTY_LIST).encode() + b" " * 100
    set_body_cap(monkeypatch, len(body))
    conn.add_fault("body", status=200, body=body)
    assert call(wire, LIST, hook=hook) == SavepointList()  # a body at the cap is accepted


def _chunked(parts: list[bytes]) -> bytes:
    return respond(
        200,
        b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n",
        Transfer_Encoding="chunked",
    )


@pytest.mark.parametrize(
    "answer",
    [
        _chunked([json.dumps(EMPTY_LIST).encode()] + [b" " * 200] * 10),
        respond(200, b"[" + b" " * 2000 + b"]", Connection="close"),  # read to close
        # declared over the cap: refused before reading (the 50 MB never come: waiting would time out)
        respond(200, json.dumps(EMPTY_LIST).encode(), Content_Length="50000000"),
    ],
    ids=["chunked", "read-to-close", "declared-length"],
)
def test_oversized_framed_body_refused(
    wire: str, raw: Raw, monkeypatch: pytest.MonkeyPatch, answer: bytes
) -> None:
    set_body_cap(monkeypatch, 1000)
    raw.answer = answer
    assert "a body over 1000 bytes" in str(raises(wire, LIST, LakeSailResponseError, LakeSailHook(timeout=5)))
    assert len(raw.seen) == 1


def test_bad_ids_send_nothing_and_look_nothing_up(
    wire: str, fake: FakeLakeSail, lakesail_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []

    async def no_lookup(conn_id: str) -> Any:
        looked_up.append(conn_id)

    monkeypatch.setattr(LakeSailHook, "get_connection", classmethod(lambda cls, cid: looked_up.append(cid)))
    monkeypatch.setattr(base_hook, "aget_connection", no_lookup)
    for operation in OPS:
        for position, name in enumerate(("workspace_id", "session_id", "job_id")):
            ids = list(IDS)
            ids[position] = "bad id"
            with pytest.raises(ValueError, match=rf"^{name} must be a LakeSail ResourceId \(1 to 20") as info:
                call(wire, operation, *ids)
            assert RESOURCE_ID_RULE in str(info.value)
    assert fake.requests == []
    assert looked_up == []


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


def test_connection_looked_up_once_per_hook_without_blocking_the_loop(
    wire: str, conn: FakeLakeSail, sync_lookups: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    async_lookups: list[str] = []
    original = base_hook.aget_connection

    async def counting(conn_id: str) -> Any:
        async_lookups.append(conn_id)
        return await original(conn_id)

    monkeypatch.setattr(base_hook, "aget_connection", counting)
    hook = LakeSailHook()
    assert (sync_lookups, async_lookups) == ([], [])  # not at construction
    for operation in (LIST, TRIGGER, DESCRIBE, "test_connection"):
        call(wire, operation, hook=hook)
    assert conn.count() == 4
    if wire == "sync":
        hook.get_conn()
        assert (sync_lookups, async_lookups) == ([False], [])
        call("async", LIST, hook=hook)  # the async twin reuses the settings looked up
        assert (sync_lookups, async_lookups) == ([False], [])
        call("sync", LIST)  # a new hook looks up again
        assert sync_lookups == [False, False]
    else:
        assert async_lookups == ["lakesail_default"]  # once per hook
        assert True not in sync_lookups  # never the blocking look-up inside the loop
        if AIRFLOW_V3:
            assert sync_lookups == []  # Airflow 3 has a native async look-up
        assert asyncio.run(hook.aget_settings()).authorization == f"Bearer {conn.token}"
        assert conn.token not in repr(hook) + repr(hook.settings)
