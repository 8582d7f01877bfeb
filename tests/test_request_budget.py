"""Retry settings and the request budget, counted on the wire (FakeLakeSail sees every request).

Each retry setting (attempts, first backoff, request timeout) comes from the connection's extra or
from the task, and the task's wins, on all five targets; the tasks' names leave Airflow's own
``retry_delay`` alone. Under a persistent retried error a waiting sensor and the trigger send exactly
``retry_limit`` requests per poll and poll no more often than their interval; under 401, one request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_flinksp.exceptions import LakeSailConnectionError, LakeSailError
from airflow_provider_flinksp.hooks import LakeSailHook, aclose_async_clients
from airflow_provider_flinksp.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.sensors import LakeSailSavepointSensor
from airflow_provider_flinksp.testing import FakeLakeSail
from airflow_provider_flinksp.triggers import LakeSailSavepointTrigger
from tests.dag_runs import load_module

IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
TARGETS = ("hook", "sensor", "latest", "trigger_operator", "trigger")
TASKS = ("sensor", "latest", "trigger_operator")
#: The keywords of the sensor and the operators (``retry_delay`` is Airflow's, between task retries),
#: of the trigger and of the hook.
TASK_KWARGS = {"retry_limit": "api_retry_limit", "backoff": "api_retry_delay", "timeout": "request_timeout"}
TRIGGER_KWARGS = {"retry_limit": "retry_limit", "backoff": "retry_delay", "timeout": "request_timeout"}
HOOK_KWARGS = {"retry_limit": "retry_limit", "backoff": "retry_delay", "timeout": "timeout"}
#: Error classes the hook retries; "stall" is a response slower than the request timeout.
RETRIED = ("429", "500", "502", "503", "504", "reset", "stall")
STALL = 1.0


# -- helpers -------------------------------------------------------------------------------------


def arrived(fake: FakeLakeSail, method: str | None = None) -> list[float]:
    """When each request (of one method) arrived, stalled ones included."""
    return [arrival.at for arrival in fake.arrivals if method is None or arrival.method == method]


def gaps(fake: FakeLakeSail, method: str) -> list[float]:
    """Seconds between consecutive requests of one method."""
    return [later - earlier for earlier, later in itertools.pairwise(arrived(fake, method))]


@pytest.fixture
def connect(fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point ``lakesail_default`` at the fake with the given extra (and optionally a wrong token)."""

    def point(*, password: str | None = None, **extra: Any) -> None:
        value = {"conn_type": "lakesail", "host": fake.url, "password": password or fake.token}
        monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", json.dumps({**value, "extra": extra}))

    return point


def install(fake: FakeLakeSail, error: str, method: str = "GET") -> None:
    """Make every request of ``method`` fail with ``error`` until the test ends."""
    if error.isdigit():
        fake.add_fault("status", status=int(error), times=None, method=method)
    elif error == "reset":
        fake.add_fault("reset", times=None, method=method)
    else:
        fake.add_fault("stall", seconds=STALL, times=None, method=method)


def trigger_events(trigger: LakeSailSavepointTrigger) -> list[dict[str, Any]]:
    """Run a trigger to its event, as the triggerer would."""

    async def run() -> list[dict[str, Any]]:
        try:
            return [event.payload async for event in trigger.run()]
        finally:
            await aclose_async_clients()

    return asyncio.run(run())


@dataclass
class Outcome:
    """What one unit of work of a target did."""

    result: Any
    error: BaseException | None
    elapsed: float


def run_target(
    target: str, *, retry_limit: int | None = None, backoff: float | None = None, timeout: float | None = None
) -> Outcome:
    """One unit of work of ``target`` (a hook call, a poke, an execute(), a poll of the trigger) with
    the task's settings (None: left to the connection)."""
    names = HOOK_KWARGS if target == "hook" else TASK_KWARGS if target in TASKS else TRIGGER_KWARGS
    given = {"retry_limit": retry_limit, "backoff": backoff, "timeout": timeout}
    task_settings = {names[key]: value for key, value in given.items() if value is not None}
    started = time.monotonic()
    result: Any = None
    error: BaseException | None = None
    try:
        if target == "hook":
            result = LakeSailHook(**task_settings).list_session_job_savepoints(*IDS.values())
        elif target == "sensor":
            result = LakeSailSavepointSensor(task_id="gate", **IDS, **task_settings).poke({})
        elif target == "latest":
            result = LakeSailLatestSavepointOperator(task_id="latest", **IDS, **task_settings).execute({})
        elif target == "trigger_operator":
            result = LakeSailTriggerSavepointOperator(task_id="trigger", **IDS, **task_settings).execute({})
        else:
            # A deadline already near: one poll, then the timeout event (or the poll's own outcome).
            trigger = LakeSailSavepointTrigger(**IDS, deadline=time.time() + 0.05, **task_settings)
            result = trigger_events(trigger)
    except LakeSailError as exc:
        error = exc
    return Outcome(result, error, time.monotonic() - started)


def method_of(target: str) -> str:
    """The HTTP method the target's unit of work uses."""
    return "POST" if target == "trigger_operator" else "GET"


# -- retry settings: from the connection, and the task's winning -----------------------------------


@pytest.mark.parametrize(("extra", "task", "attempts"), [(4, None, 4), (5, 2, 2)], ids=["connection", "task"])
@pytest.mark.parametrize("target", TARGETS)
def test_retry_limit(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], extra: int, task: int | None, attempts: int
) -> None:
    connect(retry_limit=extra, retry_delay=0.01)
    install(fake, "503", method_of(target))
    run_target(target, retry_limit=task)
    assert len(arrived(fake, method_of(target))) == attempts


@pytest.mark.parametrize(
    ("extra", "task", "bounds"),
    [(0.2, None, [(0.1, 0.45), (0.2, 0.65)]), (1.0, 0.01, [(0.0, 0.45)] * 2)],
    ids=["connection", "task"],
)
@pytest.mark.parametrize("target", TARGETS)
def test_retry_delay(
    target: str,
    fake: FakeLakeSail,
    connect: Callable[..., None],
    extra: float,
    task: float | None,
    bounds: list[tuple[float, float]],
) -> None:
    """The n-th wait lies in [d * 2**(n-1) / 2, d * 2**(n-1)] (plus 0.25 s of slack); the task's
    0.01 s wins over the connection's 1 s (waits >= 0.5 s)."""
    connect(retry_limit=3, retry_delay=extra)
    install(fake, "503", method_of(target))
    outcome = run_target(target, backoff=task)
    spaced = gaps(fake, method_of(target))
    assert len(spaced) == 2, outcome
    for gap, (low, high) in zip(spaced, bounds, strict=True):
        assert low <= gap <= high, spaced


def _is_timeout(target: str, outcome: Outcome) -> bool:
    """Whether the unit of work ended in a request timeout (and not in the stalled answer)."""
    if target == "sensor":
        return outcome.error is None and outcome.result.is_done is False
    if target == "trigger":
        (event,) = outcome.result
        return event["status"] == "timeout" and "timed out waiting for the response" in event["message"]
    return isinstance(outcome.error, LakeSailConnectionError) and "timed out" in str(outcome.error)


@pytest.mark.parametrize(("extra", "task"), [(0.2, None), (5, 0.2)], ids=["connection", "task"])
@pytest.mark.parametrize("target", TARGETS)
def test_timeout(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], extra: float, task: float | None
) -> None:
    """A 0.2 s timeout (the connection's, or the task's over the connection's 5 s) cuts a 1 s stall short."""
    connect(retry_limit=1, timeout=extra)
    install(fake, "stall", method_of(target))
    outcome = run_target(target, timeout=task)
    assert _is_timeout(target, outcome), outcome
    assert outcome.elapsed < STALL, outcome
    assert len(arrived(fake, method_of(target))) == 1


def test_stall_within_timeout_is_waited_out(fake: FakeLakeSail, connect: Callable[..., None]) -> None:
    """The control of test_timeout: with the connection's 5 s timeout the stalled read succeeds."""
    connect(retry_limit=1, timeout=5)
    install(fake, "stall")
    outcome = run_target("hook")
    assert outcome.error is None
    assert outcome.elapsed >= STALL


# Airflow's BaseOperator has its own ``retry_delay`` (between task retries, a timedelta, often set in
# default_args). The tasks' API backoff must not take it over, nor blank it.


def _task(cls: type, **kwargs: Any) -> Any:
    return cls(task_id="t", **IDS, **kwargs)


TASK_CLASSES = (LakeSailSavepointSensor, LakeSailLatestSavepointOperator, LakeSailTriggerSavepointOperator)


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_airflow_retry_delay_is_not_the_http_backoff(cls: type, lakesail_conn: str) -> None:
    """The task keeps Airflow's task retry delay (a timedelta, not None); the usual
    ``default_args={"retry_delay": timedelta(minutes=5)}`` sets it and leaves the hook working."""
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2.11
        from airflow import DAG

    assert isinstance(_task(cls).retry_delay, timedelta)
    with DAG("budget_default_args", schedule=None, default_args={"retry_delay": timedelta(minutes=5)}):
        task = _task(cls)
    assert task.retry_delay == timedelta(minutes=5)
    assert task.hook.list_session_job_savepoints(*IDS.values()).pending == []


def test_airflow_task_retry_works(
    budget_dags: ModuleType, airflow_db: str, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """An operator with Airflow's ``retries=1, retry_delay=timedelta(0)`` fails its first try on a
    404 and succeeds on the second."""
    fake.add_fault("status", status=404, times=1)
    run = budget_dags.DAGS["faults_budget_task_retry"].test()
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == ("skipped", 2)
    assert [r.status for r in fake.requests] == [404, 200]


# -- the request budget under persistent errors ---------------------------------------------------


@pytest.mark.parametrize("error", RETRIED)
def test_sensor_poke_budget(error: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """Each poke of a waiting sensor sends exactly retry_limit (3) requests, then reports "not yet"."""
    install(fake, error)
    sensor = LakeSailSavepointSensor(task_id="gate", **IDS, api_retry_limit=3, request_timeout=0.15)
    per_poke = []
    for _ in range(3):
        before = len(fake.arrivals)
        assert sensor.poke({}).is_done is False
        per_poke.append(len(fake.arrivals) - before)
    assert per_poke == [3, 3, 3]


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch, fake: FakeLakeSail) -> list[tuple[float, int]]:
    """(start time, requests sent) of every check the trigger and the sensor make in this process."""
    import airflow_provider_flinksp.lakesail.waiting as waiting

    seen: list[tuple[float, int]] = []
    sync, asynchronous = waiting.check, waiting.acheck

    def check(*args: Any, **kwargs: Any) -> Any:
        started, before = time.monotonic(), len(fake.arrivals)
        try:
            return sync(*args, **kwargs)
        finally:
            seen.append((started, len(fake.arrivals) - before))

    async def acheck(*args: Any, **kwargs: Any) -> Any:
        started, before = time.monotonic(), len(fake.arrivals)
        try:
            return await asynchronous(*args, **kwargs)
        finally:
            seen.append((started, len(fake.arrivals) - before))

    monkeypatch.setattr(waiting, "check", check)
    monkeypatch.setattr(waiting, "acheck", acheck)
    return seen


def assert_budget(polls: list[tuple[float, int]], retry_limit: int, interval: float) -> None:
    """Several polls, each with exactly retry_limit requests, at least ``interval`` apart."""
    assert len(polls) >= 2, polls
    assert [sent for _, sent in polls] == [retry_limit] * len(polls)
    starts = [started for started, _ in polls]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= interval * 0.95, gaps


@pytest.mark.parametrize("error", RETRIED)
def test_trigger_budget(
    error: str, fake: FakeLakeSail, lakesail_conn: str, polls: list[tuple[float, int]]
) -> None:
    """The trigger under a persistent error: retry_limit (3) requests per poll, polls 0.3 s apart
    (the first one interval after the deferral), until its deadline; then one timeout event."""
    trigger = LakeSailSavepointTrigger(
        **IDS, deadline=time.time() + 1.8, poll_interval=0.3, retry_limit=3, request_timeout=0.15
    )
    install(fake, error)
    events = trigger_events(trigger)
    assert [event["status"] for event in events] == ["timeout"]
    assert_budget(polls, 3, 0.3)
    assert len(fake.arrivals) == 3 * len(polls)


@pytest.fixture(scope="module")
def budget_dags() -> Iterator[ModuleType]:
    """tests/dags/faults_budget.py, parsed once."""
    return load_module("faults_budget.py")


@pytest.mark.parametrize("error", ["503", "stall"])
def test_sensor_dag_run_budget(
    error: str,
    budget_dags: ModuleType,
    airflow_db: str,
    fake: FakeLakeSail,
    lakesail_conn: str,
    polls: list[tuple[float, int]],
) -> None:
    """A whole poke-mode gate under a persistent error, run by Airflow: retry_limit requests per
    poke, pokes a poke interval apart, and a sensor timeout in the end (the task fails)."""
    install(fake, error)
    run = budget_dags.DAGS["faults_budget_poke"].test()
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {"gate": "failed"}
    assert_budget(polls, budget_dags.RETRY_LIMIT, budget_dags.POKE_INTERVAL)
    assert len(fake.arrivals) == budget_dags.RETRY_LIMIT * len(polls)


# -- 401: stop at once ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_sensor_dag_run_401(
    mode: str, budget_dags: ModuleType, airflow_db: str, fake: FakeLakeSail, connect: Callable[..., None]
) -> None:
    """A wrong API key in a DAG run: the gate fails after exactly one request, in either mode."""
    connect(password="wrong-token", retry_delay=0.01)
    run = budget_dags.DAGS[f"faults_budget_{mode}"].test()
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {"gate": "failed"}
    assert len(fake.arrivals) == 1
    assert [record.status for record in fake.requests] == [401]
