"""Plain-``requests`` helpers for the real-Flink infrastructure tests (not the provider's code)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.flink.recorded import check_or_record

# Figures for the terminal summary of a run (cluster start, savepoint durations).
TIMINGS: dict[str, list[float]] = {}


def record_timing(name: str, seconds: float) -> None:
    """Note a duration for the summary printed at the end of the run.

    :param name: what was timed.
    :param seconds: how long it took.
    """
    TIMINGS.setdefault(name, []).append(seconds)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll ``predicate()`` until it is truthy; return the seconds it took, or fail naming ``what``.

    :param predicate: a callable without arguments.
    :param timeout: seconds.
    :param what: the awaited condition, for the failure message.
    :param interval: seconds between polls.
    """
    began = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def new_trigger_id() -> str:
    """A client-chosen trigger ID in Flink's format (32 hex digits)."""
    return uuid.uuid4().hex


class FlinkRest:
    """Just enough of Flink's REST API for the tests, with optional recording of each answer.

    :param url: the REST root URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        template: str | None = None,
        record: str | None = None,
        expect: int | None = 200,
        **kwargs: Any,
    ) -> Any:
        """Send one request and return its decoded JSON body.

        :param method: HTTP method.
        :param path: the real path.
        :param template: the path with placeholders, for the recorded file (default: ``path``).
        :param record: a responses/ file stem to record or check this answer against.
        :param expect: the status that must come back (None: any).
        :param kwargs: passed to ``requests``.
        """
        resp = self.session.request(method, self.url + path, timeout=30, **kwargs)
        body = resp.json()
        if record:
            check_or_record(record, f"{method} {template or path}", resp.status_code, body)
        if expect is not None:
            assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text[:2000]}"
        return body

    def run_jar(self, jar_id: str, *, record: str | None = None, **body: Any) -> str:
        """Start the jar's job; return its ID.

        :param jar_id: the uploaded jar's ID.
        :param record: a responses/ file stem.
        :param body: the run request (``entryClass``, ``programArgsList``, ``savepointPath``...).
        """
        answer = self.call(
            "POST", f"/jars/{jar_id}/run", template="/jars/{jar}/run", record=record, json=body
        )
        return str(answer["jobid"])

    def job(self, job_id: str, *, record: str | None = None) -> dict[str, Any]:
        """``GET /jobs/{job}``.

        :param job_id: the job.
        :param record: a responses/ file stem.
        """
        return dict(self.call("GET", f"/jobs/{job_id}", template="/jobs/{job}", record=record))

    def wait_running(self, job_id: str, timeout: float = 60) -> float:
        """Wait until the job and all its tasks run (a savepoint needs running tasks).

        :param job_id: the job.
        :param timeout: seconds.
        """

        def running() -> bool:
            detail = self.job(job_id)
            assert detail["state"] not in ("FAILED", "CANCELED", "FINISHED"), detail["state"]
            return detail["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in detail["vertices"])

        return wait_until(running, timeout, f"job {job_id} to run", interval=0.1)

    def wait_state(self, job_id: str, state: str, timeout: float = 30) -> float:
        """Wait until the job reaches ``state``.

        :param job_id: the job.
        :param state: e.g. ``FINISHED``.
        :param timeout: seconds.
        """
        return wait_until(lambda: self.job(job_id)["state"] == state, timeout, f"job {job_id} {state}")

    def savepoint_status(self, job_id: str, trigger_id: str, *, record: str | None = None) -> dict[str, Any]:
        """``GET /jobs/{job}/savepoints/{trigger}``.

        :param job_id: the job.
        :param trigger_id: the trigger (request) ID.
        :param record: a responses/ file stem.
        """
        path = f"/jobs/{job_id}/savepoints/{trigger_id}"
        return dict(self.call("GET", path, template="/jobs/{job}/savepoints/{trigger}", record=record))

    def wait_savepoint(self, job_id: str, trigger_id: str, timeout: float = 30) -> dict[str, Any]:
        """Poll the savepoint's status until it is no longer IN_PROGRESS; return the last answer.

        :param job_id: the job.
        :param trigger_id: the trigger ID.
        :param timeout: seconds.
        """
        last: dict[str, Any] = {}

        def done() -> bool:
            last.update(self.savepoint_status(job_id, trigger_id))
            return bool(last["status"]["id"] != "IN_PROGRESS")

        wait_until(done, timeout, f"savepoint {trigger_id} of job {job_id}", interval=0.02)
        return last

    def checkpoints(self, job_id: str, *, record: str | None = None) -> dict[str, Any]:
        """``GET /jobs/{job}/checkpoints``.

        :param job_id: the job.
        :param record: a responses/ file stem.
        """
        path = f"/jobs/{job_id}/checkpoints"
        return dict(self.call("GET", path, template="/jobs/{job}/checkpoints", record=record))

    def cancel(self, job_id: str, *, wait: bool = False) -> None:
        """Cancel the job if it still runs (``PATCH /jobs/{job}?mode=cancel``).

        :param job_id: the job.
        :param wait: also wait until the job has ended (up to 3 s more: GET /jobs/{job} is cached).
        """
        ended = ("FINISHED", "CANCELED", "FAILED")
        if self.job(job_id)["state"] in ended:
            return
        self.call("PATCH", f"/jobs/{job_id}?mode=cancel", expect=202)
        if wait:
            wait_until(lambda: self.job(job_id)["state"] in ended, 30, f"job {job_id} to end")
