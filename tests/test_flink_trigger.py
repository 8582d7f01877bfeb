"""FlinkSavepointTrigger in the event loop, and the Flink sensor's poke, against a loopback server
that plays back the responses recorded from Flink 2.3 (in progress, then completed or failed)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flinksp.flink.waiting import RUNNING, WaitTarget, check
from airflow_provider_flinksp.hooks import FlinkRestHook
from airflow_provider_flinksp.triggers import FlinkSavepointTrigger

RESPONSES = Path(__file__).resolve().parent / "flink" / "responses"
JOB = "b37ae5e926a0538d3e66035faac91c07"
TRIGGER = "0123456789abcdef0123456789abcdef"
STATUS = f"/jobs/{JOB}/savepoints/{TRIGGER}"


def recorded(name: str) -> tuple[int, Any]:
    data = json.loads((RESPONSES / f"{name}.json").read_text(encoding="utf-8"))
    return int(data["status"]), data["body"]


class Playback:
    """Answers each path with its queued recorded responses in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, Any]]] = {}
        self.seen: list[str] = []
        playback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                playback.seen.append(self.path)
                queue = playback.answers.get(self.path) or [(404, {"errors": ["Not found: " + self.path]})]
                status, body = queue.pop(0) if len(queue) > 1 else queue[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def flink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Playback]:
    server = Playback()
    value = {"conn_type": "flink", "host": server.url, "extra": {"retry_delay": 0.01}}
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", json.dumps(value))
    yield server
    server.close()


def run_trigger(trigger: FlinkSavepointTrigger) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_serializes_to_plain_values_and_back() -> None:
    trigger = FlinkSavepointTrigger(job_id=JOB, trigger_id=TRIGGER, deadline=123.0, poll_interval=2.0)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_flinksp.flink.triggers.FlinkSavepointTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert FlinkSavepointTrigger(**kwargs).serialize() == (path, kwargs)


def test_waits_while_in_progress_then_yields_the_savepoint(flink: Playback) -> None:
    completed = recorded("savepoint_status_completed")
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress")] * 2 + [completed]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    trigger = FlinkSavepointTrigger(
        job_id=JOB, trigger_id=TRIGGER, deadline=time.time() + 30, poll_interval=0.05
    )
    (event,) = run_trigger(trigger)
    assert event["status"] == "success"
    assert event["savepoint"] == {
        "location": completed[1]["operation"]["location"],
        "triggerType": "MANUAL",
        "triggerNonce": TRIGGER,
        "triggeredAt": None,
    }
    assert flink.seen.count(STATUS) == 3
    assert flink.seen.count(f"/jobs/{JOB}") == 2  # the job's state is read only while in progress


def test_failed_savepoint_yields_flinks_reason(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress"), recorded("savepoint_status_failed")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    trigger = FlinkSavepointTrigger(
        job_id=JOB, trigger_id=TRIGGER, deadline=time.time() + 30, poll_interval=0.05
    )
    (event,) = run_trigger(trigger)
    assert event["status"] == "failed"
    assert event["reason"] == "savepoint"
    assert "IOException: Failed to create savepoint directory" in event["message"]


def test_job_ended_while_in_progress_fails(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_finished")]
    verdict = check(FlinkRestHook(), WaitTarget(JOB, TRIGGER))
    assert verdict.status == "failed"
    assert verdict.message.startswith(f"The job is FINISHED and savepoint {TRIGGER} did not complete")
    assert flink.seen.count(STATUS) == 2  # read again after the job's state: it may have completed


def test_unknown_trigger_is_an_api_failure(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("error_unknown_trigger")]
    trigger = FlinkSavepointTrigger(
        job_id=JOB, trigger_id=TRIGGER, deadline=time.time() + 30, poll_interval=0.05
    )
    (event,) = run_trigger(trigger)
    assert event["status"] == "failed"
    assert event["reason"] == "api"
    assert "HTTP 404" in event["message"]
    assert "There is no savepoint operation" in event["message"]


def test_times_out_with_the_last_news(flink: Playback) -> None:
    flink.answers[STATUS] = [recorded("savepoint_status_in_progress")]
    flink.answers[f"/jobs/{JOB}"] = [recorded("job_running")]
    trigger = FlinkSavepointTrigger(
        job_id=JOB, trigger_id=TRIGGER, deadline=time.time() + 0.3, poll_interval=0.05
    )
    (event,) = run_trigger(trigger)
    assert event["status"] == "timeout"
    assert "is in progress (job RUNNING)" in event["message"]


def test_waits_for_a_new_job_to_run(flink: Playback) -> None:
    starting = recorded("job_running")
    starting[1]["state"] = "CREATED"
    flink.answers[f"/jobs/{JOB}"] = [starting, recorded("job_running")]
    trigger = FlinkSavepointTrigger(
        job_id=JOB, wait_for=RUNNING, deadline=time.time() + 30, poll_interval=0.05
    )
    (event,) = run_trigger(trigger)
    assert event["status"] == "success"
    assert event["value"]["job_id"] == JOB
    assert event["value"]["state"] == "RUNNING"
