"""Retry settings (the connection's, the task's winning) on all five targets, and the request budget
under persistent errors (retry_limit requests per poll, polls an interval apart; 401: one request)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
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
from tests.conftest import point_at
from tests.dag_runs import load_module

IDS = {"workspace_id": "WS1", "session_id": "SESS1", "job_id": "JOB1"}
TARGETS = ("hook", "sensor", "latest", "trigger_operator", "trigger")
TASKS = ("sensor", "latest", "trigger_operator")
#: The keywords of the tasks (``retry_delay`` is Airflow's, between task retries), the trigger, the hook.
TASK_KWARGS = {"retry_limit": "api_retry_limit", "backoff": "api_retry_delay", "timeout": "request_timeout"}
TRIGGER_KWARGS = {"retry_limit": "retry_limit", "backoff": "retry_delay", "timeout": "request_timeout"}
HOOK_KWARGS = {"retry_limit": "retry_limit", "backoff": "retry_delay", "timeout": "timeout"}
#: Error classes the hook retries; "stall" is a response slower than the request timeout.
RETRIED = ("429", "500", "502", "503", "504", "reset", "stall")
STALL = 1.0


def arrived(fake: FakeLakeSail, method: str) -> list[float]:
    """When each request of ``method`` arrived, stalled ones included."""
    return [arrival.at for arrival in fake.arrivals if arrival.method == method]


def install(fake: FakeLakeSail, error: str, method: str = "GET") -> None:
    fields = {"status": int(error)} if error.isdigit() else {"seconds": STALL} if error == "stall" else {}
    fake.add_fault("status" if error.isdigit() else error, times=None, method=method, **fields)


def trigger_events(trigger: LakeSailSavepointTrigger) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        try:
            return [event.payload async for event in trigger.run()]
        finally:
            await aclose_async_clients()

    return asyncio.run(run())


@dataclass
class Outcome:
    result: Any
    error: BaseException | None
    elapsed: float


def run_target(target: str, **given: float | None) -> Outcome:
    """One unit of work of ``target`` (a hook call, a poke, an execute(), a poll of the trigger) with
    the task's settings ``retry_limit``, ``backoff``, ``timeout`` (None: left to the connection)."""
    names = HOOK_KWARGS if target == "hook" else TASK_KWARGS if target in TASKS else TRIGGER_KWARGS
    task_settings = {names[key]: value for key, value in given.items() if value is not None}
    started = time.monotonic()
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
        return Outcome(None, exc, time.monotonic() - started)
    return Outcome(result, None, time.monotonic() - started)


def method_of(target: str) -> str:
    return "POST" if target == "trigger_operator" else "GET"


@pytest.mark.parametrize(
    ("extra", "task", "bounds"),
    [
        ({"retry_limit": 4, "retry_delay": 0.2}, {}, [(0.1, 0.45), (0.2, 0.65), (0.4, 1.05)]),
        ({"retry_limit": 5, "retry_delay": 1.0}, {"retry_limit": 2, "backoff": 0.01}, [(0.0, 0.45)]),
    ],
    ids=["connection", "task"],
)
@pytest.mark.parametrize("target", TARGETS)
def test_retry_limit_and_delay(
    target: str,
    fake: FakeLakeSail,
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, float],
    task: dict[str, float],
    bounds: list[tuple[float, float]],
) -> None:
    """retry_limit requests (gaps + 1); the n-th wait lies in [d * 2**(n-1) / 2, d * 2**(n-1)] (plus
    0.25 s of slack); the task's 0.01 s wins over the connection's 1 s (waits >= 0.5 s)."""
    point_at(monkeypatch, fake, **extra)
    install(fake, "503", method_of(target))
    outcome = run_target(target, **task)
    spaced = [later - earlier for earlier, later in itertools.pairwise(arrived(fake, method_of(target)))]
    assert len(spaced) == len(bounds), outcome
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
    target: str, fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch, extra: float, task: float | None
) -> None:
    """A 0.2 s timeout (the connection's, or the task's over the connection's 5 s) cuts a 1 s stall short."""
    point_at(monkeypatch, fake, retry_limit=1, timeout=extra)
    install(fake, "stall", method_of(target))
    outcome = run_target(target, timeout=task)
    assert _is_timeout(target, outcome), outcome
    assert outcome.elapsed < STALL, outcome
    assert len(arrived(fake, method_of(target))) == 1


def test_stall_within_timeout_is_waited_out(fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control of test_timeout: with the connection's 5 s timeout the stalled read succeeds."""
    point_at(monkeypatch, fake, retry_limit=1, timeout=5)
    install(fake, "stall")
    outcome = run_target("hook")
    assert outcome.error is None
    assert outcome.elapsed >= STALL


@pytest.mark.parametrize(
    "cls",
    [LakeSailSavepointSensor, LakeSailLatestSavepointOperator, LakeSailTriggerSavepointOperator],
    ids=lambda c: c.__name__,
)
def test_airflow_retry_delay_is_not_the_http_backoff(cls: type, lakesail_conn: str) -> None:
    """The task keeps Airflow's retry_delay (a timedelta); default_args set it and leave the hook working."""
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2.11
        from airflow import DAG

    assert isinstance(cls(task_id="t", **IDS).retry_delay, timedelta)
    with DAG("budget_default_args", schedule=None, default_args={"retry_delay": timedelta(minutes=5)}):
        task = cls(task_id="t", **IDS)
    assert task.retry_delay == timedelta(minutes=5)
    assert task.hook.list_session_job_savepoints(*IDS.values()).pending == []


def test_airflow_task_retry_works(
    budget_dags: ModuleType, airflow_db: str, fake: FakeLakeSail, lakesail_conn: str
) -> None:
    """With Airflow's ``retries=1, retry_delay=timedelta(0)`` a 404 fails the first try, the second passes."""
    fake.add_fault("status", status=404, times=1)
    run = budget_dags.DAGS["faults_budget_task_retry"].test()
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == ("skipped", 2)
    assert [r.status for r in fake.requests] == [404, 200]


@pytest.mark.parametrize("error", RETRIED)
def test_sensor_poke_budget(error: str, fake: FakeLakeSail, lakesail_conn: str) -> None:
    """Each poke of a waiting sensor sends exactly retry_limit (3) requests, then reports "not yet"."""
    install(fake, error)
    sensor = LakeSailSavepointSensor(task_id="gate", **IDS, api_retry_limit=3, request_timeout=0.15)
    for poke in range(1, 4):
        assert sensor.poke({}).is_done is False
        assert len(fake.arrivals) == 3 * poke


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


def assert_budget(
    fake: FakeLakeSail, polls: list[tuple[float, int]], retry_limit: int, interval: float
) -> None:
    """Several polls, each with exactly retry_limit requests (and none outside), ``interval`` apart."""
    assert len(polls) >= 2, polls
    assert [sent for _, sent in polls] == [retry_limit] * len(polls)
    assert len(fake.arrivals) == retry_limit * len(polls)
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
    assert_budget(fake, polls, 3, 0.3)


@pytest.fixture(scope="module")
def budget_dags() -> Iterator[ModuleType]:
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
    assert_budget(fake, polls, budget_dags.RETRY_LIMIT, budget_dags.POKE_INTERVAL)


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_sensor_dag_run_401(
    mode: str, budget_dags: ModuleType, airflow_db: str, fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong API key in a DAG run: the gate fails after exactly one request, in either mode."""
    value = {"conn_type": "lakesail", "host": fake.url, "password": "wrong-token"}
    monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", json.dumps(value))
    run = budget_dags.DAGS[f"faults_budget_{mode}"].test()
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {"gate": "failed"}
    assert len(fake.arrivals) == 1
    assert [record.status for record in fake.requests] == [401]
