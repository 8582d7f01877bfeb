"""Bad input, case by case: what goes in (IDs, templates) and what comes back (bodies, statuses,
redirects, sizes). Each case yields the typed error the contract names, with a message that says
what was wrong; no ``KeyError``, ``TypeError``, ``AttributeError`` or ``JSONDecodeError`` escapes.

Responses come from a real FakeLakeSail over HTTP, through both wires: the sync hook (requests) and
its async twin (the HTTP/1.1 client of _http11, as the trigger uses it).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_flinksp import hooks
from airflow_provider_flinksp.core.transport.policy import MAX_BODY_BYTES
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings
from airflow_provider_flinksp.exceptions import LakeSailApiError, LakeSailError, LakeSailResponseError
from airflow_provider_flinksp.hooks import LakeSailHook, aclose_async_clients
from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor
from airflow_provider_flinksp.testing import FakeLakeSail
from tests.conftest import bearer, set_body_cap
from tests.dag_runs import load_module

IDS = ("WS1", "SESS1", "JOB1")
ID_NAMES = ("workspace_id", "session_id", "job_id")
LIST_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints"
JOB_PATH = "/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1"
WIRES = ("sync", "async")
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
#: Exceptions that must never reach a user, raw or as the visible cause of what does.
RAW = (
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    RecursionError,
)


def assert_clean(exc: BaseException) -> None:
    """A provider error whose visible chain (cause, or context unless suppressed) has no raw error."""
    assert isinstance(exc, LakeSailError)
    seen: BaseException | None = exc
    while seen is not None:
        assert not isinstance(seen, RAW), f"{type(seen).__name__} in the chain of {exc!r}"
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


def call(wire: str, operation: str, *ids: Any, hook: LakeSailHook | None = None) -> Any:
    """Call one hook operation (``list_session_job_savepoints`` etc.) through the sync or async wire."""
    hook = hook or LakeSailHook(retry_limit=2)
    if wire == "sync":
        return getattr(hook, operation)(*ids)

    async def go() -> Any:
        try:
            return await getattr(hook, f"a_{operation}")(*ids)
        finally:
            await aclose_async_clients()

    return asyncio.run(go())


def raises(wire: str, operation: str, expected: type[LakeSailError] = LakeSailError) -> LakeSailError:
    """Call and return the provider error it raised (any other exception fails the test)."""
    with pytest.raises(expected) as caught:
        call(wire, operation, *IDS)
    assert_clean(caught.value)
    return caught.value


# -- malformed IDs: ValueError naming the parameter, and no request --------------------------------

BAD_IDS = {
    "empty": "",
    "21-chars": "A" * 21,
    "lowercase": "ws1",
    "dash": "WS-1",
    "slash": "WS/1",
    "dot-dot": "..",
    "space": "WS 1",
    "trailing-newline": "WS1\n",
    "unicode-letter": "WSÄ1",
    "fullwidth-digit": "WS\uff11",
    "percent-encoded": "WS%2F1",
    "None": None,
    "int": 1,
    "bytes": b"WS1",
}


@pytest.mark.parametrize("value", BAD_IDS.values(), ids=BAD_IDS.keys())
@pytest.mark.parametrize("position", range(3), ids=ID_NAMES)
def test_bad_id_rejected_before_any_request(
    position: int, value: Any, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """Each bad ID in each position: ValueError naming that parameter and the rule; nothing sent."""
    ids = list(IDS)
    ids[position] = value
    with pytest.raises(ValueError, match=rf"^{ID_NAMES[position]} must be a LakeSail ResourceId \(1 to 20"):
        LakeSailHook().list_session_job_savepoints(*ids)
    assert fake.requests == []


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(
    "operation", ["list_session_job_savepoints", "trigger_session_job_savepoint", "describe_session_job"]
)
def test_bad_id_rejected_by_every_operation(
    operation: str, wire: str, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """Every operation, sync and async, checks IDs first."""
    with pytest.raises(ValueError, match=r"^job_id must be a LakeSail ResourceId"):
        call(wire, operation, "WS1", "SESS1", "job-1")
    assert fake.requests == []


TASK_CLASSES = (LakeSailSavepointSensor, LakeSailLatestSavepointOperator, LakeSailTriggerSavepointOperator)


@pytest.mark.parametrize("value", ["ws-1", "", "A" * 21, "WS/1"], ids=["dash", "empty", "21-chars", "slash"])
@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_bad_literal_id_rejected_at_dag_parse(cls: type, value: str) -> None:
    """A literal bad ID fails when the task is built, i.e. when the DAG file is parsed."""
    with pytest.raises(ValueError, match=r"^session_id must be a LakeSail ResourceId"):
        cls(task_id="t", workspace_id="WS1", session_id=value, job_id="JOB1")


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_templated_ids_pass_dag_parse(cls: type) -> None:
    """Templates are not judged at parse time (they are checked after rendering, below)."""
    task = cls(task_id="t", workspace_id="{{ params.ws }}", session_id="{% if 1 %}S{% endif %}", job_id="J")
    assert task.workspace_id == "{{ params.ws }}"


@pytest.fixture(scope="module")
def template_dag() -> ModuleType:
    """tests/dags/faults_bad_template.py, parsed once."""
    return load_module("faults_bad_template.py")


@pytest.mark.parametrize(
    ("name", "rendered"),
    [("workspace_id", "ws-1"), ("session_id", ""), ("job_id", "A" * 21), ("job_id", "None")],
    ids=["workspace-dash", "session-empty", "job-21-chars", "job-None"],
)
def test_template_rendering_to_bad_id_fails_the_run(
    name: str,
    rendered: str,
    template_dag: ModuleType,
    airflow_db: str,
    fake: FakeLakeSail,
    lakesail_conn: str,
) -> None:
    """A template that renders to a bad ID: every task (sensor in both modes, both operators) fails
    with a ValueError naming the parameter, and nothing reaches the server."""
    template_dag.FAILURES.clear()
    conf = {**dict(zip(ID_NAMES, IDS, strict=True)), name: rendered}
    run = template_dag.dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == dict.fromkeys(("sensor_poke", "sensor_deferrable", "latest", "trigger"), "failed")
    assert sorted(task for task, _ in template_dag.FAILURES) == sorted(states)
    for task, exc in template_dag.FAILURES:
        assert type(exc) is ValueError, (task, exc)
        assert str(exc).startswith(f"{name} must be a LakeSail ResourceId"), (task, exc)
        assert repr(rendered) in str(exc)
    assert fake.requests == []


# -- success responses whose body is not the documented shape --------------------------------------


def _sp(**fields: Any) -> dict[str, Any]:
    return {
        "triggerType": "MANUAL",
        "location": "s3://b/sp-1",
        "triggeredAt": "2026-01-01T00:00:00.000Z",
        **fields,
    }


def _listing(*completed: Any, pending: Any = ()) -> bytes:
    return json.dumps({"pending": list(pending), "completed": list(completed)}).encode()


def _without(key: str) -> dict[str, Any]:
    data = _sp()
    del data[key]
    return data


#: id -> (body, content type, what the message must say)
LIST_BODIES: dict[str, tuple[bytes, str | None, str]] = {
    "not-json": (b"hello", None, "a body that is not JSON: 'hello'"),
    "html": (HTML, "text/html", "an HTML page: '<!DOCTYPE html>"),
    "empty": (b"", None, "an empty body"),
    "whitespace": (b" \r\n\t", None, "an empty body"),
    "truncated-json": (b'{"pending": [{"triggerTy', None, "a body that is not JSON"),
    "invalid-utf8": (b"\xff\xfe\xfa\x00", None, "a body that is not JSON"),
    "top-array": (b"[]", None, "savepoint list should be a JSON object, got an array"),
    "top-string": (b'"ok"', None, "savepoint list should be a JSON object, got a string"),
    "top-number": (b"42", None, "savepoint list should be a JSON object, got a number"),
    "top-null": (b"null", None, "savepoint list should be a JSON object, got null"),
    "top-bool": (b"true", None, "savepoint list should be a JSON object, got a boolean"),
    "pending-missing": (b'{"completed": []}', None, "'pending' as a JSON array, got nothing (key missing)"),
    "pending-object": (b'{"pending": {}, "completed": []}', None, "'pending' as a JSON array, got an object"),
    "completed-null": (b'{"pending": [], "completed": null}', None, "'completed' as a JSON array, got null"),
    "completed-string": (
        b'{"pending": [], "completed": "x"}',
        None,
        "'completed' as a JSON array, got a string",
    ),
    "pending-item-number": (_listing(pending=[7]), None, "pending[0] should be a JSON object, got a number"),
    "completed-item-array": (_listing([]), None, "completed[0] should be a JSON object, got an array"),
    "location-number": (_listing(_sp(location=5)), None, "completed[0].location should be a string, got int"),
    "location-object": (
        _listing(_sp(location={})),
        None,
        "completed[0].location should be a string, got dict",
    ),
    "nonce-array": (
        _listing(_sp(triggerNonce=[])),
        None,
        "completed[0].triggerNonce should be a string, got list",
    ),
    "nonce-bool": (
        _listing(_sp(triggerNonce=True)),
        None,
        "completed[0].triggerNonce should be a string, got bool",
    ),
    "triggeredAt-number": (
        _listing(_sp(triggeredAt=1767225600)),
        None,
        "completed[0].triggeredAt should be a string, got int",
    ),
    "triggeredAt-NaN": (
        b'{"pending": [], "completed": [{"triggerType": "MANUAL", "triggeredAt": NaN}]}',
        None,
        "completed[0].triggeredAt should be a string, got float",
    ),
    "triggerType-missing": (_listing(_without("triggerType")), None, "completed[0].triggerType is required"),
    "triggerType-null": (_listing(_sp(triggerType=None)), None, "completed[0].triggerType is required"),
    "triggerType-number": (_listing(_sp(triggerType=3)), None, "completed[0].triggerType is required"),
    "pending-triggerType-missing": (
        _listing(pending=[{"triggerNonce": "n"}]),
        None,
        "pending[0].triggerType is required",
    ),
    "timestamp-words": (
        _listing(_sp(triggeredAt="yesterday")),
        None,
        "completed[0].triggeredAt is not an ISO-8601 date-time: 'yesterday'",
    ),
    "timestamp-month-13": (
        _listing(_sp(triggeredAt="2026-13-01T00:00:00.000Z")),
        None,
        "completed[0].triggeredAt is not an ISO-8601 date-time",
    ),
    "timestamp-empty": (_listing(_sp(triggeredAt="")), None, "completed[0].triggeredAt is not an ISO-8601"),
    "timestamp-only-Z": (_listing(_sp(triggeredAt="Z")), None, "completed[0].triggeredAt is not an ISO-8601"),
}


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("case", LIST_BODIES.keys())
def test_bad_savepoint_list_body(case: str, wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """A 200 whose body is not a FlinkSavepointList: LakeSailResponseError saying what was wrong,
    naming the call; one request (a bad body is not retried)."""
    body, content_type, message = LIST_BODIES[case]
    fake.add_fault("body", status=200, body=body, content_type=content_type, times=None)
    exc = raises(wire, "list_session_job_savepoints", LakeSailResponseError)
    assert type(exc) is LakeSailResponseError
    assert str(exc).startswith(f"LakeSail API GET {LIST_PATH} returned HTTP 200 with ")
    assert message in str(exc)
    assert len(fake.requests) == 1


JOB_BODIES = {
    "html": (HTML, "an HTML page"),
    "array": (b"[]", "session job should be a JSON object, got an array"),
    "state-missing": (b'{"id": "JOB1"}', "session job has no 'state' string"),
    "state-number": (b'{"id": "JOB1", "state": 3}', "session job has no 'state' string"),
}


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("case", JOB_BODIES.keys())
def test_bad_session_job_body(case: str, wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """A 200 on DescribeFlinkSessionJob that has no usable ``state``: LakeSailResponseError."""
    body, message = JOB_BODIES[case]
    fake.add_fault("body", status=200, body=body, times=None)
    exc = raises(wire, "describe_session_job", LakeSailResponseError)
    assert str(exc).startswith(f"LakeSail API GET {JOB_PATH} returned HTTP 200 with ")
    assert message in str(exc)


TRIGGER_BODIES = {
    "html": (HTML, "an HTML page"),
    "empty": (b"", "an empty body"),
    "array": (b"[]", "savepoint should be a JSON object, got an array"),
    "triggerType-number": (b'{"triggerType": 5}', "savepoint.triggerType is required"),
    "nonce-number": (
        b'{"triggerType": "MANUAL", "triggerNonce": 5}',
        "savepoint.triggerNonce should be a string",
    ),
}


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("case", TRIGGER_BODIES.keys())
def test_bad_trigger_body(case: str, wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """A 202 on the trigger POST whose body is not a FlinkSavepoint: LakeSailResponseError, and
    the POST is not repeated."""
    body, message = TRIGGER_BODIES[case]
    fake.add_fault("body", status=202, body=body, method="POST", times=None)
    exc = raises(wire, "trigger_session_job_savepoint", LakeSailResponseError)
    assert str(exc).startswith(f"LakeSail API POST {LIST_PATH} returned HTTP 202 with ")
    assert message in str(exc)
    assert [r.method for r in fake.requests] == ["POST"]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("trigger_type", ["SCHEDULED", "manual", "", "\u00dcBER"])
def test_unknown_trigger_type_is_kept(
    trigger_type: str, wire: str, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """A triggerType outside the documented four is data, not an error: parsed and given back."""
    fake.add_fault("body", status=200, body=_listing(_sp(triggerType=trigger_type)), times=None)
    savepoints = call(wire, "list_session_job_savepoints", *IDS)
    (savepoint,) = savepoints.completed
    assert savepoint.trigger_type == trigger_type
    assert savepoint.to_dict() == {
        "location": "s3://b/sp-1",
        "triggerType": trigger_type,
        "triggerNonce": None,
        "triggeredAt": "2026-01-01T00:00:00.000Z",
    }


# -- error statuses: LakeSailApiError with the status and the server's message; one request -----------

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 422)
ERROR_BODIES = {
    "json-message": (b'{"message": "the server says no"}', None, "the server says no"),
    "json-without-message": (b'{"error": "nope"}', None, None),
    "json-message-not-text": (b'{"message": {"code": 7}}', None, None),
    "html": (HTML, "text/html; charset=utf-8", None),
}


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("variant", ERROR_BODIES.keys())
@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_client_error_status(
    status: int, variant: str, wire: str, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """Each 4xx, with and without a JSON message and as an HTML page: a LakeSailApiError that names
    method, path, status and message (or says there was none); not transient; exactly one request."""
    body, content_type, message = ERROR_BODIES[variant]
    fake.add_fault("status", status=status, body=body, content_type=content_type, times=None)
    exc = raises(wire, "list_session_job_savepoints", LakeSailApiError)
    assert isinstance(exc, LakeSailApiError)
    assert exc.status_code == status
    assert exc.api_message == message
    assert exc.transient is False
    detail = message if message is not None else "no message in the response body"
    assert str(exc) == f"LakeSail API GET {LIST_PATH} failed with HTTP {status}: {detail}"
    assert len(fake.requests) == 1


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_client_error_on_trigger_post(status: int, wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """A 4xx on the trigger POST: LakeSailApiError after exactly one POST."""
    fake.add_fault("status", status=status, method="POST", times=None)
    exc = raises(wire, "trigger_session_job_savepoint", LakeSailApiError)
    assert isinstance(exc, LakeSailApiError)
    assert exc.status_code == status
    assert (
        str(exc) == f"LakeSail API POST {LIST_PATH} failed with HTTP {status}: injected fault: HTTP {status}"
    )
    assert [r.method for r in fake.requests] == ["POST"]


# -- redirects to another host: not followed, the token never goes there -------------------------------


@pytest.fixture
def elsewhere(fake: FakeLakeSail) -> Iterator[FakeLakeSail]:
    """A second server that would accept the same token: it must receive nothing."""
    with FakeLakeSail(token=fake.token) as other:
        other.add_job(*IDS)
        yield other


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_host_not_followed(
    status: int, wire: str, fake: FakeLakeSail, elsewhere: FakeLakeSail, lakesail_conn: str
) -> None:
    """A redirect to another host: LakeSailApiError naming the target; the other host gets no
    connection at all (so never the token), and the message does not carry the token."""
    target = elsewhere.url + LIST_PATH
    fake.add_fault("redirect", status=status, body=target, times=None)
    exc = raises(wire, "list_session_job_savepoints", LakeSailApiError)
    assert isinstance(exc, LakeSailApiError)
    assert exc.status_code == status
    assert f"redirect to {target} not followed" in str(exc)
    assert fake.token not in str(exc)
    assert len(fake.requests) == 1
    assert elsewhere.requests == []
    assert elsewhere.connection_count == 0


# -- oversized bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_oversized_body_refused(wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """A body over 8 MiB (announced by Content-Length) is refused without being read."""
    fake.add_fault("body", status=200, body=b" " * (MAX_BODY_BYTES + 1), times=None)
    exc = raises(wire, "list_session_job_savepoints", LakeSailResponseError)
    assert f"a body over {MAX_BODY_BYTES} bytes" in str(exc)


def _offline_hook() -> LakeSailHook:
    hook = LakeSailHook(retry_limit=1)
    hook._settings = ConnectionSettings(base_url="https://lakesail.test", **bearer("offline-token"))
    return hook


def test_oversized_streamed_body_refused_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body without Content-Length is cut off once it passes the limit (sync wire)."""
    import requests_mock

    set_body_cap(monkeypatch, 1024)
    with requests_mock.Mocker() as mock:
        mock.get(f"https://lakesail.test{LIST_PATH}", body=io.BytesIO(b"[" + b" " * 4096 + b"]"))
        with pytest.raises(LakeSailResponseError, match="a body over 1024 bytes") as caught:
            _offline_hook().list_session_job_savepoints(*IDS)
        assert "Content-Length" not in mock.last_request.headers
    assert_clean(caught.value)


def test_oversized_streamed_body_refused_async(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body without Content-Length is cut off once it passes the limit (async wire)."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")  # no length: read to close
        with contextlib.suppress(ConnectionError):
            for _ in range(8):
                writer.write(b" " * 512)
                await writer.drain()
        writer.close()

    async def go() -> Any:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        try:
            hook = _offline_hook()
            port = server.sockets[0].getsockname()[1]
            hook._settings = ConnectionSettings(
                base_url=f"http://127.0.0.1:{port}", **bearer("offline-token")
            )
            return await hook.a_list_session_job_savepoints(*IDS)
        finally:
            await hooks.aclose_async_clients()
            server.close()

    set_body_cap(monkeypatch, 1024)
    with pytest.raises(LakeSailResponseError, match="a body over 1024 bytes") as caught:
        asyncio.run(go())
    assert len(heads) == 1
    assert_clean(caught.value)


# -- headers and bodies that trip the parser itself ---------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("value", ["soon", "-1", "1.5", "Wed, 32 Foo 2026 99:99:99 GMT"])
def test_unusable_retry_after_is_ignored(
    value: str, wire: str, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """A Retry-After that is not seconds or an HTTP date is ignored: the usual backoff applies."""
    fake.add_fault("status", status=503, retry_after=value, times=None)
    exc = raises(wire, "list_session_job_savepoints", LakeSailApiError)
    assert isinstance(exc, LakeSailApiError)
    assert exc.status_code == 503
    assert len(fake.requests) == 2


@pytest.mark.parametrize("wire", WIRES)
def test_retry_after_superscript_digit(wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """``Retry-After: \u00b2`` (a latin-1 header byte Python calls a digit) is ignored like any junk."""
    fake.add_fault("status", status=503, retry_after="\u00b2", times=None)
    exc = raises(wire, "list_session_job_savepoints", LakeSailApiError)
    assert isinstance(exc, LakeSailApiError)
    assert exc.status_code == 503


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("status", [200, 503])
def test_deeply_nested_json(status: int, wire: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """100 000 nested arrays, as a success body or an error body: the typed error, not a
    RecursionError from the JSON parser."""
    fake.add_fault("body", status=status, body=b"[" * 100_000 + b"]" * 100_000, times=None)
    if status == 200:
        exc = raises(wire, "list_session_job_savepoints", LakeSailResponseError)
        assert "a body that is not JSON: '[[[[" in str(exc)
    else:
        exc = raises(wire, "list_session_job_savepoints", LakeSailApiError)
        assert isinstance(exc, LakeSailApiError)
        assert (exc.status_code, exc.api_message) == (503, None)
