"""Retry settings and the request budget, counted on the wire (FakeLakeSail sees every request).

* Retry settings come from the connection's extra (``retry_limit``, ``retry_delay``, ``timeout``) or
  from the task (sensor and operators: ``api_retry_limit``, ``api_retry_delay``, ``request_timeout``;
  the trigger: ``retry_limit``, ``retry_delay``, ``request_timeout``; the hook: ``retry_limit``,
  ``retry_delay``, ``timeout``), and the task's setting wins. Each is checked on all five.
* The tasks' names leave Airflow's own ``retry_delay`` (between task retries) alone.
* Under a persistent error of any retried class (429, 500, 502, 503, 504, reset, stall beyond the
  timeout) a waiting sensor and the trigger send exactly ``retry_limit`` requests per poll, and poll
  no more often than their interval. Under 401 they stop at once, after one request.
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

from airflow_provider_flinksp.exceptions import LakeSailApiError, LakeSailConnectionError, LakeSailError
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
#: The per-task keywords of the sensor and the operators (``retry_delay`` is Airflow's own, between
#: task retries; see the tests at the end of the retry-settings section).
TASK_KWARGS = {"retry_limit": "api_retry_limit", "backoff": "api_retry_delay", "timeout": "request_timeout"}
#: The trigger's and the hook's keywords.
TRIGGER_KWARGS = {"retry_limit": "retry_limit", "backoff": "retry_delay", "timeout": "request_timeout"}
HOOK_KWARGS = {"retry_limit": "retry_limit", "backoff": "retry_delay", "timeout": "timeout"}
#: Error classes the hook retries; "stall" is a response slower than the request timeout.
RETRIED = ("429", "500", "502", "503", "504", "reset", "stall")
STALL = 1.0


# -- helpers -------------------------------------------------------------------------------------


class Arrivals:
    """Every request FakeLakeSail receives, timed on arrival (stalls included, before they stall)."""

    def __init__(self, fake: FakeLakeSail) -> None:
        self.fake = fake

    def count(self, method: str | None = None) -> int:
        """Requests so far (of one method)."""
        return sum(1 for arrival in self.fake.arrivals if method is None or arrival.method == method)

    def gaps(self, method: str) -> list[float]:
        """Seconds between consecutive requests of one method."""
        times = [arrival.at for arrival in self.fake.arrivals if arrival.method == method]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
def arrivals(fake: FakeLakeSail) -> Arrivals:
    """Counts the requests ``fake`` receives."""
    return Arrivals(fake)


@pytest.fixture
def connect(fake: FakeLakeSail, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point ``lakesail_default`` at the fake with the given extra (and optionally a wrong token)."""

    def point(*, password: str | None = None, **extra: Any) -> None:
        value = {
            "conn_type": "lakesail",
            "host": fake.url,
            "password": password or fake.token,
            "extra": extra,
        }
        monkeypatch.setenv("AIRFLOW_CONN_LAKESAIL_DEFAULT", json.dumps(value))

    return point


def install(fake: FakeLakeSail, error: str, method: str = "GET") -> None:
    """Make every request of ``method`` fail with ``error`` until the test ends."""
    if error.isdigit():
        fake.add_fault("status", status=int(error), times=None, method=method)
    elif error == "reset":
        fake.add_fault("reset", times=None, method=method)
    else:
        fake.add_fault("stall", seconds=STALL, times=None, method=method)


async def _trigger_events(trigger: LakeSailSavepointTrigger) -> list[dict[str, Any]]:
    try:
        return [event.payload async for event in trigger.run()]
    finally:
        await aclose_async_clients()


def trigger_events(trigger: LakeSailSavepointTrigger) -> list[dict[str, Any]]:
    """Run a trigger to its event, as the triggerer would."""
    return asyncio.run(_trigger_events(trigger))


@dataclass
class Outcome:
    """What one unit of work of a target did."""

    result: Any
    error: BaseException | None
    elapsed: float


def run_target(
    target: str, *, retry_limit: int | None = None, backoff: float | None = None, timeout: float | None = None
) -> Outcome:
    """One unit of work: a hook call, one poke, one execute(), or one poll of the trigger.

    :param target: one of :data:`TARGETS`
    :param retry_limit: the task's (hook's) retry_limit, or None to leave it to the connection
    :param backoff: the task's first backoff, or None
    :param timeout: the task's request timeout, or None
    """
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


@pytest.mark.parametrize("target", TARGETS)
def test_retry_limit_from_connection(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals
) -> None:
    """The connection's extra ``retry_limit`` (4) is the number of attempts in all."""
    connect(retry_limit=4, retry_delay=0.01)
    install(fake, "503", method_of(target))
    run_target(target)
    assert arrivals.count(method_of(target)) == 4


@pytest.mark.parametrize("target", TARGETS)
def test_retry_limit_task_wins(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals
) -> None:
    """The task's ``retry_limit`` (2) wins over the connection's (5)."""
    connect(retry_limit=5, retry_delay=0.01)
    install(fake, "503", method_of(target))
    run_target(target, retry_limit=2)
    assert arrivals.count(method_of(target)) == 2


@pytest.mark.parametrize("target", TARGETS)
def test_retry_delay_from_connection(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals
) -> None:
    """The connection's extra ``retry_delay`` (0.2 s) spaces the attempts: the n-th wait lies in
    [d * 2**(n-1) / 2, d * 2**(n-1)] (jittered exponential backoff)."""
    connect(retry_limit=3, retry_delay=0.2)
    install(fake, "503", method_of(target))
    run_target(target)
    gaps = arrivals.gaps(method_of(target))
    assert len(gaps) == 2
    assert 0.1 <= gaps[0] <= 0.2 + 0.25, gaps
    assert 0.2 <= gaps[1] <= 0.4 + 0.25, gaps


@pytest.mark.parametrize("target", TARGETS)
def test_retry_delay_task_wins(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals
) -> None:
    """The task's backoff (0.01 s) wins over the connection's ``retry_delay`` (1 s: waits >= 0.5 s)."""
    connect(retry_limit=3, retry_delay=1.0)
    install(fake, "503", method_of(target))
    outcome = run_target(target, backoff=0.01)
    gaps = arrivals.gaps(method_of(target))
    assert len(gaps) == 2, outcome
    assert max(gaps) < 0.45, gaps


def _is_timeout(target: str, outcome: Outcome) -> bool:
    """Whether the unit of work ended in a request timeout (and not in the stalled answer)."""
    if target == "sensor":
        return outcome.error is None and outcome.result.is_done is False
    if target == "trigger":
        (event,) = outcome.result
        return event["status"] == "timeout" and "timed out waiting for the response" in event["message"]
    return isinstance(outcome.error, LakeSailConnectionError) and "timed out" in str(outcome.error)


@pytest.mark.parametrize("target", TARGETS)
def test_timeout_from_connection(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals
) -> None:
    """The connection's extra ``timeout`` (0.2 s) cuts a 1 s stall short."""
    connect(retry_limit=1, timeout=0.2)
    install(fake, "stall", method_of(target))
    outcome = run_target(target)
    assert _is_timeout(target, outcome), outcome
    assert outcome.elapsed < STALL, outcome
    assert arrivals.count(method_of(target)) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_timeout_task_wins(
    target: str, fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals
) -> None:
    """The task's request timeout (0.2 s) wins over the connection's (5 s, which would wait out the
    stall and succeed)."""
    connect(retry_limit=1, timeout=5)
    install(fake, "stall", method_of(target))
    outcome = run_target(target, timeout=0.2)
    assert _is_timeout(target, outcome), outcome
    assert outcome.elapsed < STALL, outcome
    assert arrivals.count(method_of(target)) == 1


def test_stall_within_timeout_is_waited_out(fake: FakeLakeSail, connect: Callable[..., None]) -> None:
    """The control for the two tests above: with the connection's 5 s timeout the stalled read
    simply succeeds, so it is the timeout setting that cut them short."""
    connect(retry_limit=1, timeout=5)
    install(fake, "stall")
    outcome = run_target("hook")
    assert outcome.error is None
    assert outcome.elapsed >= STALL


def test_hook_arguments_win(fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals) -> None:
    """A hook built with all three settings uses them, not the connection's."""
    connect(retry_limit=5, retry_delay=1.0, timeout=5)
    install(fake, "stall")
    outcome = run_target("hook", retry_limit=2, backoff=0.01, timeout=0.15)
    assert isinstance(outcome.error, LakeSailConnectionError)
    assert arrivals.count() == 2
    assert outcome.elapsed < 2 * 0.15 + 0.3


# Airflow's BaseOperator has its own ``retry_delay`` (between task retries, a timedelta, often set
# in default_args). The tasks' API backoff must not take it over, nor blank it.


def _task(cls: type, **kwargs: Any) -> Any:
    return cls(task_id="t", **IDS, **kwargs)


TASK_CLASSES = (LakeSailSavepointSensor, LakeSailLatestSavepointOperator, LakeSailTriggerSavepointOperator)


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_airflow_retry_delay_keeps_its_default(cls: type) -> None:
    """Without arguments, the task keeps Airflow's task retry delay (a timedelta), not None."""
    assert isinstance(_task(cls).retry_delay, timedelta)


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.__name__)
def test_default_args_retry_delay_is_not_the_http_backoff(
    cls: type, fake: FakeLakeSail, connect: Callable[..., None]
) -> None:
    """``default_args={"retry_delay": timedelta(minutes=5)}`` (the usual Airflow idiom) sets the task
    retry delay and leaves the hook working."""
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2.11
        from airflow import DAG

    connect(retry_delay=0.01)
    with DAG("budget_default_args", schedule=None, default_args={"retry_delay": timedelta(minutes=5)}):
        task = _task(cls)
    assert task.retry_delay == timedelta(minutes=5)
    assert task.hook.list_session_job_savepoints(*IDS.values()).pending == []


def test_airflow_task_retry_works(
    budget_dags: ModuleType, airflow_db: str, fake: FakeLakeSail, connect: Callable[..., None]
) -> None:
    """An operator with ``retries=1, retry_delay=timedelta(0)`` (Airflow's arguments) fails its first
    try on a 404 and succeeds on the second. (When the tasks' API backoff was called ``retry_delay``,
    the timedelta reached the hook, a ValueError on every try; and without it the task's retry delay
    was None, which Airflow 2.11 cannot add to a date when it schedules the retry.)"""
    connect(retry_delay=0.01)
    fake.add_fault("status", status=404, times=1)
    run = budget_dags.DAGS["faults_budget_task_retry"].test()
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == ("skipped", 2)
    assert [r.status for r in fake.requests] == [404, 200]


# -- the request budget under persistent errors ---------------------------------------------------


@pytest.fixture
def budget_conn(connect: Callable[..., None]) -> None:
    """The connection for the budget tests: backoff 0.01 s (the tasks set retry_limit and timeout)."""
    connect(retry_delay=0.01)


@pytest.mark.parametrize("error", RETRIED)
def test_sensor_poke_budget(error: str, fake: FakeLakeSail, budget_conn: None, arrivals: Arrivals) -> None:
    """Each poke of a waiting sensor sends exactly retry_limit (3) requests, then reports "not yet"."""
    install(fake, error)
    sensor = LakeSailSavepointSensor(task_id="gate", **IDS, api_retry_limit=3, request_timeout=0.15)
    per_poke = []
    for _ in range(3):
        before = arrivals.count()
        assert sensor.poke({}).is_done is False
        per_poke.append(arrivals.count() - before)
    assert per_poke == [3, 3, 3]


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch, arrivals: Arrivals) -> list[tuple[float, int]]:
    """(start time, requests sent) of every check the trigger and the sensor make in this process."""
    import airflow_provider_flinksp.lakesail.waiting as waiting

    seen: list[tuple[float, int]] = []
    sync, asynchronous = waiting.check, waiting.acheck

    def check(*args: Any, **kwargs: Any) -> Any:
        started, before = time.monotonic(), arrivals.count()
        try:
            return sync(*args, **kwargs)
        finally:
            seen.append((started, arrivals.count() - before))

    async def acheck(*args: Any, **kwargs: Any) -> Any:
        started, before = time.monotonic(), arrivals.count()
        try:
            return await asynchronous(*args, **kwargs)
        finally:
            seen.append((started, arrivals.count() - before))

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
    error: str, fake: FakeLakeSail, budget_conn: None, arrivals: Arrivals, polls: list[tuple[float, int]]
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
    assert arrivals.count() == 3 * len(polls)


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
    budget_conn: None,
    arrivals: Arrivals,
    polls: list[tuple[float, int]],
) -> None:
    """A whole poke-mode gate under a persistent error, run by Airflow: retry_limit requests per
    poke, pokes a poke interval apart, and a sensor timeout in the end (the task fails)."""
    install(fake, error)
    run = budget_dags.DAGS["faults_budget_poke"].test()
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {"gate": "failed"}
    assert_budget(polls, budget_dags.RETRY_LIMIT, budget_dags.POKE_INTERVAL)
    assert arrivals.count() == budget_dags.RETRY_LIMIT * len(polls)


# -- 401: stop at once ---------------------------------------------------------------------------


def test_sensor_poke_401(fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals) -> None:
    """A wrong API key: the poke raises a 401 API error after exactly one request."""
    connect(password="wrong-token", retry_delay=0.01)
    sensor = LakeSailSavepointSensor(task_id="gate", **IDS, api_retry_limit=5)
    with pytest.raises(LakeSailApiError) as caught:
        sensor.poke({})
    assert caught.value.status_code == 401
    assert caught.value.transient is False
    assert arrivals.count() == 1


def test_trigger_401(fake: FakeLakeSail, connect: Callable[..., None], arrivals: Arrivals) -> None:
    """A wrong API key: the trigger yields one failed event after exactly one request."""
    connect(password="wrong-token", retry_delay=0.01)
    trigger = LakeSailSavepointTrigger(**IDS, deadline=time.time() + 5, poll_interval=0.1, retry_limit=5)
    events = trigger_events(trigger)
    assert [event["status"] for event in events] == ["failed"]
    assert "HTTP 401" in events[0]["message"]
    assert arrivals.count() == 1


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_sensor_dag_run_401(
    mode: str,
    budget_dags: ModuleType,
    airflow_db: str,
    fake: FakeLakeSail,
    connect: Callable[..., None],
    arrivals: Arrivals,
) -> None:
    """A wrong API key in a DAG run: the gate fails after exactly one request, in either mode."""
    connect(password="wrong-token", retry_delay=0.01)
    run = budget_dags.DAGS[f"faults_budget_{mode}"].test()
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {"gate": "failed"}
    assert arrivals.count() == 1
    assert [record.status for record in fake.requests] == [401]
