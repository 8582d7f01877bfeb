"""Fault injection: whole DAG runs of ``trigger >> gate >> latest`` (tests/dags/faults_pipeline.py: trigger
a savepoint, wait for its nonce in poke mode or deferrable, take exactly that savepoint) against a
FakeLakeSail that fails a third of all reads at random: 503 or 429 (``Retry-After: 1``), a TCP reset,
or a 2 s stall that the tasks' 1 s request timeout turns into a retried timeout. Every run must
succeed with the location of the triggered savepoint, having triggered exactly one.

``make test`` runs two seeds (one per mode), ``make test-faults`` all 20 in both modes. Seeds run and
faults served are printed (``pytest -s``) and recorded in the test report (``record_property``).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail
from tests.dag_runs import load_module, run_once

JOB = ("WS1", "SESS1", "JOB1")
RATE = 0.35
KINDS = ("503", "429", "reset", "stall")
MODES = ("poke", "deferrable")


def _first_read_faulted(seed: int) -> bool:
    return random.Random(seed).random() < RATE  # the fake's first draw for a matching request


#: The first 20 seeds whose very first read is faulted, so that every run meets at least one fault.
SEEDS = [seed for seed in range(200) if _first_read_faulted(seed)][:20]
FAST = [(SEEDS[0], "poke"), (SEEDS[1], "deferrable")]
#: Consecutive reads that get 503 in the outage: 6 whole calls of the outage DAG's 2 attempts each.
OUTAGE_READS = 12

Report = Callable[..., Counter[str]]


@pytest.fixture(scope="module")
def dags() -> ModuleType:
    return load_module("faults_pipeline.py")


@pytest.fixture(scope="module")
def suite_log(record_testsuite_property: Callable[[str, object], None]) -> Iterator[list[dict[str, Any]]]:
    """Per-run numbers; the totals are printed and recorded when the module is done."""
    runs: list[dict[str, Any]] = []
    yield runs
    if runs:
        seeds = sorted({run["seed"] for run in runs if run["seed"] is not None})
        kinds = sum((Counter(run["faults_by_kind"]) for run in runs), Counter())
        print(
            f"\nfault suite: {len(runs)} DAG runs, {len(seeds)} seeds {seeds}, "
            f"{sum(kinds.values())} faults served {dict(sorted(kinds.items()))}"
        )
        record_testsuite_property("fault_runs", len(runs))
        record_testsuite_property("fault_seeds_run", len(seeds))
        record_testsuite_property("faults_served_total", sum(kinds.values()))


@pytest.fixture
def run_and_check(
    dags: ModuleType,
    airflow_db: str,
    lakesail_conn: str,
    fake: FakeLakeSail,
    record_property: Callable[[str, object], None],
    suite_log: list[dict[str, Any]],
) -> Report:
    """``run_and_check(dag_id, seed, mode)``: run one DAG; check it succeeded with the triggered
    savepoint; record the run's numbers; return the faults served, by kind (from the fake's arrival
    records, which show stalls too)."""

    def run_and_check(dag_id: str, seed: int | None, mode: str) -> Counter[str]:
        start = len(fake.arrivals)
        run = run_once(dags.DAGS[dag_id])
        arrivals = fake.arrivals[start:]
        faults = Counter(a.fault for a in arrivals if a.fault is not None)
        assert run.state == "success", f"{dag_id}: {run.states}; faults {dict(faults)}"
        nonce = run.xcoms[("trigger", "trigger_nonce")]
        assert nonce, "the trigger task pushed no nonce"
        locations = [
            sp["location"] for sp in fake.savepoints(*JOB)["completed"] if sp.get("triggerNonce") == nonce
        ]
        assert len(locations) == 1, f"the fake completed {locations} for nonce {nonce}"
        assert run.xcoms[("latest", "savepoint_location")] == locations[0]
        assert run.xcoms[("latest", "return_value")]["triggerNonce"] == nonce
        assert run.xcoms[("gate", "return_value")] == run.xcoms[("latest", "return_value")]
        assert fake.triggered_count(*JOB) == 1
        statuses = Counter(str(record.status) for record in fake.requests)
        for kind in ("503", "429", "reset"):  # the request records agree for every fault they show
            assert statuses[kind] == faults[kind], (kind, statuses, faults)
        numbers = {
            "seed": seed,
            "mode": mode,
            "elapsed_s": round(run.seconds, 2),
            "requests": len(arrivals),
            "faults_served": sum(faults.values()),
            "faults_by_kind": dict(faults),
            "non_200_records": sum(n for status, n in statuses.items() if status not in ("200", "202")),
        }
        suite_log.append(numbers)
        for key, value in numbers.items():
            record_property(key, value)
        print(f"\n[faults] {seed=} {mode=} requests={len(arrivals)} {dict(faults)} in {run.seconds:.1f}s")
        return faults

    return run_and_check


def _random_run(fake: FakeLakeSail, run_and_check: Report, seed: int, mode: str) -> None:
    fake.set_random_faults(
        rate=RATE, seed=seed, kinds=KINDS, stall_seconds=2.0, retry_after=1, methods=("GET",)
    )
    faults = run_and_check(f"faults_pipeline_{mode}", seed, mode)
    assert sum(faults.values()) >= 1, "this seed faults the first read, so every run meets a fault"


def test_seed_selection() -> None:
    """20 distinct seeds, each faulting the first read (so no run goes through without a fault)."""
    assert len(set(SEEDS)) == 20
    assert all(_first_read_faulted(seed) for seed in SEEDS)
    fake = FakeLakeSail(token=None)
    fake.set_random_faults(rate=RATE, seed=SEEDS[0], kinds=KINDS, methods=("GET",))
    assert fake.faults.take("GET", "/x") is not None
    assert fake.faults.take("POST", "/x") is None


@pytest.mark.parametrize(("seed", "mode"), FAST, ids=[f"seed{s}-{m}" for s, m in FAST])
def test_random_faults_quick(fake: FakeLakeSail, run_and_check: Report, seed: int, mode: str) -> None:
    """Two seeded fault runs for ``make test``."""
    _random_run(fake, run_and_check, seed, mode)


@pytest.mark.faults
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_faults_full(fake: FakeLakeSail, run_and_check: Report, seed: int, mode: str) -> None:
    """20 seeds, poke and deferrable."""
    _random_run(fake, run_and_check, seed, mode)


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


@pytest.mark.parametrize("mode", MODES)
def test_outage_longer_than_hook_retries(
    dags: ModuleType, gave_up: list[int | str], fake: FakeLakeSail, run_and_check: Report, mode: str
) -> None:
    """Every read answers 503 until 12 have been served: the hook (2 attempts per call) gives up six
    times over, yet the gate (timeout 60 s) keeps waiting and the DAG succeeds afterwards."""
    fake.add_fault("status", status=503, times=OUTAGE_READS, method="GET")
    faults = run_and_check(f"faults_outage_{mode}", None, f"outage-{mode}")
    assert faults == Counter({"503": OUTAGE_READS})
    gets = [str(r.status) for r in fake.requests if r.method == "GET"]
    assert gets[: OUTAGE_READS + 1] == ["503"] * OUTAGE_READS + ["200"]
    assert gave_up == [503] * (OUTAGE_READS // dags.PROFILES["outage"]["api_retry_limit"])


def test_outage_window_cleared_by_timer(
    dags: ModuleType, gave_up: list[int | str], fake: FakeLakeSail, run_and_check: Report
) -> None:
    """A 1.5 s window in which every read answers 503 (cleared by a timer thread from the first
    read on, however long Airflow takes to start the run) does not fail a poke-mode gate whose
    timeout is longer; the hook gave up more than once meanwhile."""
    start = len(fake.arrivals)
    fake.add_fault("status", status=503, times=None, method="GET")
    done = threading.Event()

    def clear_after_window() -> None:
        while not any(a.fault for a in fake.arrivals[start:]) and not done.wait(0.01):
            pass
        if not done.wait(1.5):
            fake.clear_faults()

    timer = threading.Thread(target=clear_after_window, daemon=True)
    timer.start()
    try:
        faults = run_and_check("faults_outage_poke", None, "outage-window-poke")
    finally:
        done.set()
        timer.join()
    retry_limit = dags.PROFILES["outage"]["api_retry_limit"]
    assert len(gave_up) >= 2
    assert set(gave_up) == {503}
    # Each give-up took retry_limit 503s; the window may have closed in the middle of one more call.
    assert len(gave_up) * retry_limit <= faults["503"] < (len(gave_up) + 1) * retry_limit
    assert set(faults) == {"503"}
