"""Fault injection: whole DAG runs against a FakeLakeSail that fails a third of all reads.

Each run is ``trigger >> gate >> latest`` (``tests/dags/faults_pipeline.py``): trigger a savepoint,
wait for its nonce (poke mode or deferrable), then take exactly that savepoint. Reads (GET) fail at
random with 503 or 429 (``Retry-After: 1``), a TCP reset, or a 2 s stall that the tasks' 1 s request
timeout turns into a retried timeout. Every run must succeed with the location of the savepoint
whose nonce the trigger returned, and must have triggered exactly one savepoint.

``make test`` runs two seeds (one per mode); ``make test-faults`` runs all 20 seeds in both modes.
The number of seeds run and the faults served per run are printed (``pytest -s``) and recorded in
the test report (``record_property``; JUnit XML with ``--junitxml``).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_flinksp.testing import Arrival, FakeLakeSail
from tests.dag_runs import load_module, run_once

JOB = ("WS1", "SESS1", "JOB1")
RATE = 0.35
KINDS = ("503", "429", "reset", "stall")
STALL_SECONDS = 2.0
RETRY_AFTER = 1


def _first_read_faulted(seed: int) -> bool:
    # The fake draws rng.random() first for every matching request: below RATE means a fault.
    return random.Random(seed).random() < RATE


#: The first 20 seeds whose very first read is faulted, so that every run meets at least one fault.
SEEDS = [seed for seed in range(200) if _first_read_faulted(seed)][:20]
MODES = ("poke", "deferrable")
#: The quick subset for ``make test``: one seed per mode.
FAST = [(SEEDS[0], "poke"), (SEEDS[1], "deferrable")]


@pytest.fixture(scope="module")
def dags() -> ModuleType:
    """The fault DAGs, parsed once per module."""
    return load_module("faults_pipeline.py")


@dataclass
class FaultTally:
    """Counts what FakeLakeSail serves, from its arrival records: every request is recorded on arrival
    with the fault it drew, stalls too (which the request records show only as their late 200)."""

    fake: FakeLakeSail
    start: int = 0

    @classmethod
    def attach(cls, fake: FakeLakeSail) -> FaultTally:
        """Start counting on ``fake``.

        :param fake: the server
        """
        return cls(fake, len(fake.arrivals))

    @property
    def arrivals(self) -> list[Arrival]:
        """The requests since the tally started."""
        return self.fake.arrivals[self.start :]

    @property
    def faults(self) -> Counter[str]:
        """Faults served, by label."""
        return Counter(arrival.fault for arrival in self.arrivals if arrival.fault is not None)

    @property
    def served(self) -> int:
        """Faults served in all."""
        return sum(self.faults.values())


@dataclass
class SuiteLog:
    """What the runs of this module saw, for the summary."""

    runs: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def suite_log(record_testsuite_property: Callable[[str, object], None]) -> Iterator[SuiteLog]:
    """Collect per-run numbers; print and record the totals when the module is done."""
    log = SuiteLog()
    yield log
    if not log.runs:
        return
    seeds = sorted({run["seed"] for run in log.runs if run["seed"] is not None})
    kinds: Counter[str] = Counter()
    for run in log.runs:
        kinds.update(run["faults_by_kind"])
    summary = (
        f"fault suite: {len(log.runs)} DAG runs, {len(seeds)} seeds {seeds}, "
        f"{sum(kinds.values())} faults served {dict(sorted(kinds.items()))}"
    )
    print(f"\n{summary}")
    record_testsuite_property("fault_runs", len(log.runs))
    record_testsuite_property("fault_seeds_run", len(seeds))
    record_testsuite_property("faults_served_total", sum(kinds.values()))


def _run_and_check(
    dags: ModuleType,
    dag_id: str,
    fake: FakeLakeSail,
    db_dir: str,
    tally: FaultTally,
) -> dict[str, Any]:
    """Run one DAG; check it succeeded with the triggered savepoint; return the run's numbers."""
    run = run_once(dags.DAGS[dag_id])
    assert run.state == "success", f"{dag_id}: {run.states}; faults {dict(tally.faults)}"
    xcoms = run.xcoms
    nonce = xcoms[("trigger", "trigger_nonce")]
    assert nonce, "the trigger task pushed no nonce"
    completed = fake.savepoints(*JOB)["completed"]
    locations = [sp["location"] for sp in completed if sp.get("triggerNonce") == nonce]
    assert len(locations) == 1, f"the fake completed {locations} for nonce {nonce}"
    assert xcoms[("latest", "savepoint_location")] == locations[0]
    assert xcoms[("latest", "return_value")]["triggerNonce"] == nonce
    assert xcoms[("gate", "return_value")] == xcoms[("latest", "return_value")]
    assert fake.triggered_count(*JOB) == 1

    records = fake.requests
    statuses = Counter(str(record.status) for record in records)
    # The request records agree with the tally for every fault they can show (not stalls).
    for kind in ("503", "429", "reset"):
        assert statuses[kind] == tally.faults[kind], (kind, statuses, tally.faults)
    return {
        "elapsed_s": round(run.seconds, 2),
        "requests": len(tally.arrivals),
        "faults_served": tally.served,
        "faults_by_kind": dict(tally.faults),
        "non_200_records": sum(n for status, n in statuses.items() if status not in ("200", "202")),
    }


def _report(
    numbers: dict[str, Any],
    record_property: Callable[[str, object], None],
    suite_log: SuiteLog,
    *,
    seed: int | None,
    mode: str,
) -> None:
    numbers = {"seed": seed, "mode": mode, **numbers}
    suite_log.runs.append(numbers)
    for key, value in numbers.items():
        record_property(key, value)
    print(
        f"\n[faults] seed={seed} mode={mode} requests={numbers['requests']} "
        f"faults_served={numbers['faults_served']} {numbers['faults_by_kind']} "
        f"in {numbers['elapsed_s']} s"
    )


def _random_run(
    dags: ModuleType,
    fake: FakeLakeSail,
    db_dir: str,
    seed: int,
    mode: str,
    record_property: Callable[[str, object], None],
    suite_log: SuiteLog,
) -> None:
    tally = FaultTally.attach(fake)
    fake.set_random_faults(
        rate=RATE,
        seed=seed,
        kinds=KINDS,
        stall_seconds=STALL_SECONDS,
        retry_after=RETRY_AFTER,
        methods=("GET",),
    )
    numbers = _run_and_check(dags, f"faults_pipeline_{mode}", fake, db_dir, tally)
    _report(numbers, record_property, suite_log, seed=seed, mode=mode)
    assert tally.served >= 1, "this seed faults the first read, so every run meets a fault"


def test_seed_selection() -> None:
    """20 distinct seeds, each faulting the first read (so no run goes through without a fault)."""
    assert len(set(SEEDS)) == 20
    assert all(_first_read_faulted(seed) for seed in SEEDS)
    fake = FakeLakeSail(token=None)
    fake.set_random_faults(rate=RATE, seed=SEEDS[0], kinds=KINDS, methods=("GET",))
    assert fake.faults.take("GET", "/x") is not None
    assert fake.faults.take("POST", "/x") is None


@pytest.mark.parametrize(("seed", "mode"), FAST, ids=[f"seed{s}-{m}" for s, m in FAST])
def test_random_faults_quick(
    dags: ModuleType,
    airflow_db: str,
    lakesail_conn: str,
    fake: FakeLakeSail,
    record_property: Callable[[str, object], None],
    suite_log: SuiteLog,
    seed: int,
    mode: str,
) -> None:
    """Two seeded fault runs for ``make test``: the DAG succeeds with the triggered savepoint."""
    _random_run(dags, fake, airflow_db, seed, mode, record_property, suite_log)


@pytest.mark.faults
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_faults_full(
    dags: ModuleType,
    airflow_db: str,
    lakesail_conn: str,
    fake: FakeLakeSail,
    record_property: Callable[[str, object], None],
    suite_log: SuiteLog,
    seed: int,
    mode: str,
) -> None:
    """20 seeds, poke and deferrable: every run succeeds with the triggered savepoint, one trigger."""
    _random_run(dags, fake, airflow_db, seed, mode, record_property, suite_log)


@pytest.fixture
def gave_up(monkeypatch: pytest.MonkeyPatch) -> list[int | str]:
    """The status (or "no answer") of every hook call that gave up, sync or async, in this process
    (dag.test() runs tasks and triggers in-process)."""
    from airflow_provider_flinksp.exceptions import LakeSailApiError, LakeSailError
    from airflow_provider_flinksp.hooks import LakeSailHook

    calls: list[int | str] = []
    sync, asynchronous = LakeSailHook._request, LakeSailHook._arequest

    def note(exc: LakeSailError) -> None:
        calls.append(exc.status_code if isinstance(exc, LakeSailApiError) else "no answer")

    def request(self: LakeSailHook, *args: Any) -> Any:
        try:
            return sync(self, *args)
        except LakeSailError as exc:
            note(exc)
            raise

    async def arequest(self: LakeSailHook, *args: Any) -> Any:
        try:
            return await asynchronous(self, *args)
        except LakeSailError as exc:
            note(exc)
            raise

    monkeypatch.setattr(LakeSailHook, "_request", request)
    monkeypatch.setattr(LakeSailHook, "_arequest", arequest)
    return calls


#: Consecutive reads that get 503 in the outage: 6 whole calls of the outage DAG's 2 attempts each.
OUTAGE_READS = 12


@pytest.mark.parametrize("mode", MODES)
def test_outage_longer_than_hook_retries(
    dags: ModuleType,
    gave_up: list[int | str],
    airflow_db: str,
    lakesail_conn: str,
    fake: FakeLakeSail,
    record_property: Callable[[str, object], None],
    suite_log: SuiteLog,
    mode: str,
) -> None:
    """Every read answers 503 until 12 have been served: the hook (2 attempts per call) gives up six
    times over, yet the gate (timeout 60 s) keeps waiting and the DAG succeeds afterwards."""
    tally = FaultTally.attach(fake)
    fake.add_fault("status", status=503, times=OUTAGE_READS, method="GET")
    numbers = _run_and_check(dags, f"faults_outage_{mode}", fake, airflow_db, tally)
    _report(numbers, record_property, suite_log, seed=None, mode=f"outage-{mode}")
    retry_limit = dags.PROFILES["outage"]["api_retry_limit"]
    assert tally.faults == Counter({"503": OUTAGE_READS})
    # The first 12 reads all got 503; each failed call made retry_limit attempts, so the hook gave
    # up 6 times over and the gate kept waiting each time.
    gets = [str(r.status) for r in fake.requests if r.method == "GET"]
    assert gets[: OUTAGE_READS + 1] == ["503"] * OUTAGE_READS + ["200"]
    assert gave_up == [503] * (OUTAGE_READS // retry_limit)


def test_outage_window_cleared_by_timer(
    dags: ModuleType,
    gave_up: list[int | str],
    airflow_db: str,
    lakesail_conn: str,
    fake: FakeLakeSail,
    record_property: Callable[[str, object], None],
    suite_log: SuiteLog,
) -> None:
    """A 1.5 s window in which every read answers 503 (cleared by a timer thread from the first
    read on, however long Airflow takes to start the run) does not fail a poke-mode gate whose
    timeout is longer; the hook gave up more than once meanwhile."""
    tally = FaultTally.attach(fake)
    fake.add_fault("status", status=503, times=None, method="GET")
    window, done = 1.5, threading.Event()

    def clear_after_window() -> None:
        while not tally.faults and not done.wait(0.01):
            pass
        if not done.wait(window):
            fake.clear_faults()

    timer = threading.Thread(target=clear_after_window, daemon=True)
    timer.start()
    try:
        numbers = _run_and_check(dags, "faults_outage_poke", fake, airflow_db, tally)
    finally:
        done.set()
        timer.join()
    _report(numbers, record_property, suite_log, seed=None, mode="outage-window-poke")
    retry_limit = dags.PROFILES["outage"]["api_retry_limit"]
    # Several whole calls failed (the hook gave up) before the window closed.
    assert len(gave_up) >= 2
    assert set(gave_up) == {503}
    # Each give-up took retry_limit 503s; the window may have closed in the middle of one more call.
    assert len(gave_up) * retry_limit <= tally.faults["503"] < (len(gave_up) + 1) * retry_limit
    assert set(tally.faults) == {"503"}
