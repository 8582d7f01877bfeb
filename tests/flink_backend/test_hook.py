"""FlinkRestHook on the wire: requests-mock for what is sent, loopback servers answering as Flink 2.3
did (tests/flink/responses) where real sockets matter: resets, the async twins."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_flinksp.core.models import Savepoint
from airflow_provider_flinksp.exceptions import (
    FlinkApiError,
    FlinkConnectionError,
    FlinkError,
    FlinkSavepointFailedError,
)
from airflow_provider_flinksp.hooks import FlinkRestHook, aclose_async_clients
from tests.flink_backend.playback import JOB, STATUS, TRIGGER, Playback, recorded

API = "http://flink.test:8081"
TOKEN = "flink-gateway-token-Zq81"
HEX32 = re.compile(r"[0-9a-f]{32}")


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, host: str, **fields: Any) -> str:
    value = {"conn_type": "flink", "host": host, **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    return conn_id


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> FlinkRestHook:
    set_conn(monkeypatch, "flink_mock", API, extra={"savepoint_dir": "s3://bucket/savepoints"})
    return FlinkRestHook("flink_mock")


def test_trigger_and_stop_send_a_client_trigger_id_and_the_connection_directory(
    hook: FlinkRestHook, requests_mock: Any
) -> None:
    def answer(request: Any, context: Any) -> dict[str, str]:
        context.status_code = 202
        return {"request-id": request.json()["triggerId"]}

    requests_mock.post(f"{API}/jobs/{JOB}/savepoints", json=answer)
    first = hook.trigger_savepoint(JOB)
    second = hook.trigger_savepoint(JOB, target_directory="file:///elsewhere")
    assert HEX32.fullmatch(first)
    assert first != second
    bodies = [call.json() for call in requests_mock.request_history]
    assert bodies == [
        {"cancel-job": False, "triggerId": first, "target-directory": "s3://bucket/savepoints"},
        {"cancel-job": False, "triggerId": second, "target-directory": "file:///elsewhere"},
    ]
    assert hook.trigger_savepoint(JOB, trigger_id=TRIGGER) == TRIGGER
    requests_mock.post(f"{API}/jobs/{JOB}/stop", status_code=202, json={"request-id": TRIGGER})
    assert hook.trigger_savepoint(JOB, stop=True, drain=True, trigger_id=TRIGGER) == TRIGGER
    stop_body = {"drain": True, "triggerId": TRIGGER, "targetDirectory": "s3://bucket/savepoints"}
    assert requests_mock.last_request.json() == stop_body


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda h: h.trigger_savepoint("JOB1"), "job_id must be a Flink job ID (32 hexadecimal digits)"),
        (lambda h: h.trigger_savepoint(JOB, trigger_id="x"), "trigger_id must be a Flink trigger ID"),
        (lambda h: h.trigger_savepoint(JOB, drain=True), "drain=True needs stop=True"),
        (lambda h: h.get_savepoint(JOB, "../x"), "trigger_id must be a Flink trigger ID"),
        (lambda h: h.describe_job(JOB.upper() + "/"), "job_id must be a Flink job ID"),
        (lambda h: h.run_jar("../x.jar"), "jar_id must be a Flink jar ID"),
        (lambda h: h.run_jar("a.jar", args="--x"), "args must be a list of strings"),
        (lambda h: h.run_jar("a.jar", parallelism=0), "parallelism must be a whole number >= 1"),
        (lambda h: h.upload_jar("/no/such.jar"), "jar_path must be an existing .jar file"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    hook: FlinkRestHook, requests_mock: Any, call: Callable[[FlinkRestHook], Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call(hook)
    assert requests_mock.call_count == 0


def test_run_jar_body(hook: FlinkRestHook, requests_mock: Any) -> None:
    status, body = recorded("jar_run_restore")
    requests_mock.post(f"{API}/jars/abc_counter.jar/run", status_code=status, json=body)
    job = hook.run_jar(
        "abc_counter.jar",
        entry_class="Counter",
        args=["--sleep-ms", "10"],
        parallelism=2,
        savepoint_path="file:/sp/savepoint-1",
        allow_non_restored_state=True,
    )
    assert job == body["jobid"]
    assert requests_mock.last_request.json() == {
        "programArgsList": ["--sleep-ms", "10"],
        "entryClass": "Counter",
        "parallelism": 2,
        "savepointPath": "file:/sp/savepoint-1",
        "allowNonRestoredState": True,
    }


def test_upload_jar_sends_the_file_as_jarfile(
    hook: FlinkRestHook, requests_mock: Any, tmp_path: Path
) -> None:
    jar = tmp_path / "counter.jar"
    jar.write_bytes(b"PK\x03\x04 not really a jar")
    status, body = recorded("jar_upload")
    requests_mock.post(f"{API}/jars/upload", status_code=status, json=body)
    assert hook.upload_jar(jar) == body["filename"].rsplit("/", 1)[-1]
    sent = requests_mock.last_request
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="jarfile"; filename="counter.jar"' in sent.body
    assert b"not really a jar" in sent.body


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        ({"login": "ops", "password": TOKEN}, "Basic b3BzOmZsaW5rLWdhdGV3YXktdG9rZW4tWnE4MQ=="),
        ({"password": TOKEN}, f"Bearer {TOKEN}"),
        ({}, None),
    ],
    ids=["basic", "bearer", "none"],
)
def test_credentials(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any, fields: dict[str, str], header: str | None
) -> None:
    status, body = recorded("job_running")
    requests_mock.get(f"{API}/jobs/{JOB}", status_code=status, json=body)
    hook = FlinkRestHook(set_conn(monkeypatch, "flink_auth", API, **fields))
    assert hook.describe_job(JOB)["state"] == "RUNNING"
    assert requests_mock.last_request.headers.get("Authorization") == header
    assert TOKEN not in repr(hook) + repr(hook.settings)


def test_bad_savepoint_dir_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = FlinkRestHook(set_conn(monkeypatch, "flink_bad", API, extra={"savepoint_dir": 3}))
    with pytest.raises(FlinkError, match="extra 'savepoint_dir' must be a path"):
        hook.trigger_savepoint(JOB)


@pytest.mark.parametrize("wire", ["sync", "async"])
def test_get_savepoint(flink: Playback, wire: str) -> None:
    completed = recorded("savepoint_status_completed")
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress"), completed]
    hook = FlinkRestHook()

    async def twice() -> list[Any]:
        try:
            return [await hook.a_get_savepoint(JOB, TRIGGER) for _ in range(2)]
        finally:
            await aclose_async_clients()

    got = [hook.get_savepoint(JOB, TRIGGER) for _ in range(2)] if wire == "sync" else asyncio.run(twice())
    location = completed[1]["operation"]["location"]
    assert got == [None, Savepoint("MANUAL", location=location, trigger_nonce=TRIGGER)]


def test_failed_savepoint_raises_with_flinks_reason_and_no_token(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any
) -> None:
    status, body = recorded("savepoint_status_failed")
    cause = body["operation"]["failure-cause"]
    cause["stack-trace"] = cause["stack-trace"].replace(
        "Failed to create", f"token {TOKEN} echoed; Failed to create"
    )
    requests_mock.get(f"{API}/jobs/{JOB}/savepoints/{TRIGGER}", status_code=status, json=body)
    hook = FlinkRestHook(set_conn(monkeypatch, "flink_tok", API, password=TOKEN))
    with pytest.raises(FlinkSavepointFailedError) as info:
        hook.get_savepoint(JOB, TRIGGER)
    message = str(info.value)
    assert message.startswith(f"Savepoint {TRIGGER} of job {JOB} failed: CheckpointException:")
    assert "IOException: token *** echoed; Failed to create savepoint directory" in message
    assert TOKEN not in message
    assert TOKEN[:8] not in message


def test_test_connection(hook: FlinkRestHook, requests_mock: Any) -> None:
    overview = {"taskmanagers": 1, "slots-total": 4, "slots-available": 3, "flink-version": "2.3.0"}
    requests_mock.get(f"{API}/overview", json=overview)
    assert hook.test_connection() == (True, "Connected to Flink 2.3.0: 1 TaskManager(s), 3 of 4 slots free")
    requests_mock.get(f"{API}/overview", status_code=401, json={"errors": ["Unauthorized"]})
    ok, message = hook.test_connection()
    assert not ok
    assert "HTTP 401: Unauthorized" in message


def test_500_retries_the_trigger_post_with_its_id_not_the_run_jar_post(
    hook: FlinkRestHook, requests_mock: Any, waits: list[float]
) -> None:
    status, body = recorded("error_unknown_jar")
    requests_mock.post(f"{API}/jars/no-such.jar/run", status_code=status, json=body)
    with pytest.raises(FlinkApiError, match=r"Jar file .* does not exist"):
        hook.run_jar("no-such.jar")
    assert requests_mock.call_count == 1
    assert waits == []
    error = {"status_code": 500, "json": {"errors": ["Internal server error."]}}
    accepted = {"status_code": 202, "json": {"request-id": TRIGGER}}
    requests_mock.post(f"{API}/jobs/{JOB}/savepoints", [error, accepted])
    assert hook.trigger_savepoint(JOB, trigger_id=TRIGGER) == TRIGGER
    ids = [call.json()["triggerId"] for call in requests_mock.request_history[1:]]
    assert ids == [TRIGGER, TRIGGER]
    assert len(waits) == 1


@pytest.fixture
def resetting() -> Iterator[SimpleNamespace]:
    """Resets the connection on the first POST to each path (acted on, answer lost), then answers."""
    seen = SimpleNamespace(requests=[], operations={})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.requests.append(("POST", self.path))
            trigger = payload.get("triggerId", "")
            seen.operations[trigger] = seen.operations.get(trigger, 0) + 1
            if seen.requests.count(("POST", self.path)) == 1:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            data = json.dumps({"request-id": trigger}).encode()
            self.send_response(202)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_reset_retries_the_trigger_post_taking_one_savepoint_not_the_run_jar_post(
    resetting: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> None:
    hook = FlinkRestHook(set_conn(monkeypatch, "flink_reset", resetting.url))
    with pytest.raises(FlinkConnectionError, match="connection broken"):
        hook.run_jar("abc_counter.jar")
    assert len(resetting.requests) == 1
    assert waits == []
    trigger = hook.trigger_savepoint(JOB, target_directory="file:///sp")
    assert resetting.requests[1:] == [("POST", f"/jobs/{JOB}/savepoints")] * 2
    assert resetting.operations == {"": 1, trigger: 2}  # one operation key, sent twice: one savepoint
    assert len(waits) == 1
