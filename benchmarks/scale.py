"""Target 3: N deferred waits in one event loop, run the way the triggerer runs them.

A child process (``python -m benchmarks.scale --impl lakesail --n 1000 --interval 1``) builds N
trigger objects, starts each one's ``run()`` async generator as a task (starts spread evenly over
the first interval, as triggers arriving over time would be) and consumes it as Airflow's
``TriggerRunner`` does. Trigger ``i`` waits on job ``J<i>`` of the load server, whose pending
savepoint completes at a time the server derives from the scenario (:func:`benchmarks.loadserver.done_at`):
all between ``offset`` and ``offset + spread`` seconds after the start.

Measured:

* CPU per poll in the steady window (from three intervals after the start to the first completion:
  every trigger has started within the first interval and made its first poll, which may come one
  interval after its start, so the window holds only steady polling, no start-up work):
  the process's CPU time over the window / the savepoint-list requests the server saw in it; also
  over the whole run (connection look-ups and start-up included);
* fire latency: when the event came minus when the savepoint completed;
* event-loop lag: a 10 ms ticker's oversleep, p50/p99/max;
* peak RSS growth per trigger: ``ru_maxrss`` after the run minus before the triggers were built;
* whether each trigger holds its interval: the time between its consecutive polls while waiting.

The connection comes from ``AIRFLOW_CONN_LAKESAIL_DEFAULT``: outside a task, Airflow 3's
``BaseHook.aget_connection`` resolves it through the fallback secrets chain (environment
variables first), so nothing is patched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import resource
import threading
import time
from typing import Any

from benchmarks import SESSION, TOKEN, WS, control, median, percentile, write_result
from benchmarks.loadserver import done_at

#: Targets: event-loop lag p99 below this (seconds); peak RSS growth per trigger below this (KiB);
#: every trigger fires within its interval plus this (seconds).
LAG_P99_LIMIT = 0.200
RSS_PER_TRIGGER_LIMIT_KIB = 25.0
FIRE_SLACK = 0.100
#: Triggers hold their interval when the polls per second reach this share of N / interval and the
#: median time between a trigger's polls is at most INTERVAL_TOLERANCE times the interval (the p99
#: of those times is reported as jitter).
RATE_TOLERANCE = 0.97
INTERVAL_TOLERANCE = 1.05
#: The steady window starts this many intervals after the start (see the module docstring).
WINDOW_START = 3
#: The savepoint every Flink trigger of a run waits for (Flink's ``TriggerId``: 32 hex digits).
FLINK_TRIGGER_ID = "0a5bc402c65b4de593edef30d79b0dce"
#: Seconds the event loop may overrun a run's planned end before the watchdog reports and ends it.
WATCHDOG_GRACE = 20.0


def _make_triggers(impl: str, n: int, interval: float) -> list[Any]:
    deadline = time.time() + 3600
    if impl == "lakesail":
        from airflow_provider_flinksp.triggers import LakeSailSavepointTrigger

        return [
            LakeSailSavepointTrigger(
                workspace_id=WS, session_id=SESSION, job_id=f"J{i}", deadline=deadline, poll_interval=interval
            )
            for i in range(n)
        ]
    if impl == "flink":
        from airflow_provider_flinksp.triggers import FlinkSavepointTrigger

        return [
            FlinkSavepointTrigger(
                job_id=f"{i:032x}", trigger_id=FLINK_TRIGGER_ID, deadline=deadline, poll_interval=interval
            )
            for i in range(n)
        ]
    if impl == "flink_aiohttp_floor":
        from benchmarks.floors import MinimalFlinkAiohttpTrigger

        return [
            MinimalFlinkAiohttpTrigger(
                job_id=f"{i:032x}", trigger_id=FLINK_TRIGGER_ID, poll_interval=interval
            )
            for i in range(n)
        ]
    if impl == "http_sensor":
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        return [
            HttpSensorTrigger(
                endpoint=f"peer404/api/flink/v1/workspaces/{WS}/sessions/{SESSION}/jobs/J{i}/savepoints",
                http_conn_id="http_bench",
                method="GET",
                headers={"Authorization": f"Bearer {TOKEN}"},
                poke_interval=interval,
            )
            for i in range(n)
        ]
    from benchmarks.floors import MinimalAiohttpTrigger, MinimalHttpxTrigger

    cls = {"aiohttp_floor": MinimalAiohttpTrigger, "httpx_floor": MinimalHttpxTrigger}[impl]
    return [
        cls(workspace_id=WS, session_id=SESSION, job_id=f"J{i}", poll_interval=interval) for i in range(n)
    ]


async def _warm_up(impl: str) -> None:
    """One request through the implementation's client, so that lazy imports and the shared
    client exist before the baseline RSS is read (they are not per-trigger costs)."""
    if impl == "lakesail":
        from airflow_provider_flinksp.hooks import LakeSailHook

        await LakeSailHook().a_describe_session_job(WS, SESSION, "WARMUP")
    elif impl == "flink":
        from airflow_provider_flinksp.hooks import FlinkRestHook

        await FlinkRestHook().a_describe_job("f" * 32)
    elif impl == "flink_aiohttp_floor":
        from benchmarks.floors import MinimalFlinkAiohttpTrigger

        trigger = MinimalFlinkAiohttpTrigger(job_id="f" * 32, trigger_id=FLINK_TRIGGER_ID, poll_interval=1)
        await trigger.get_json(
            json.loads(os.environ["AIRFLOW_CONN_FLINK_DEFAULT"])["host"] + "/jobs/" + "f" * 32
        )
    elif impl == "http_sensor":
        import aiohttp
        from airflow.providers.http.hooks.http import HttpAsyncHook

        async with aiohttp.ClientSession() as session:
            await HttpAsyncHook(method="GET", http_conn_id="http_bench").run(
                session=session, endpoint="warmup"
            )
    else:
        from benchmarks.floors import MinimalAiohttpTrigger, MinimalHttpxTrigger

        cls = MinimalAiohttpTrigger if impl == "aiohttp_floor" else MinimalHttpxTrigger
        await cls(workspace_id=WS, session_id=SESSION, job_id="W", poll_interval=1).get_json(
            json.loads(os.environ["AIRFLOW_CONN_LAKESAIL_DEFAULT"])["host"] + "/warmup"
        )


class _Run:
    """One run's state, readable by the analysis at the end or by the watchdog if the loop stalls."""

    def __init__(self, impl: str, n: int, interval: float, port: int, offset: float, spread: float) -> None:
        self.impl, self.n, self.interval, self.port = impl, n, interval, port
        self.offset, self.spread = offset, spread
        self.lags: list[tuple[float, float]] = []
        self.tick_started: float | None = None
        self.fired: dict[int, float] = {}
        self.events: dict[int, Any] = {}
        self.snapshots: dict[str, tuple[float, float]] = {}
        self.scenario: dict[str, float] = {}
        self.server0: dict[str, Any] = {}
        self.start = 0.0
        self.rss_before = 0
        self.ticker_cpu_per_s = 0.0
        self.build_cpu = 0.0
        self.finished = threading.Lock()
        self.profiler: Any = None
        self.gc_pauses: list[tuple[int, float]] = []
        self._gc_started: float | None = None

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        await _warm_up(self.impl)
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                self.tick_started = time.time()
                before = loop.time()
                await asyncio.sleep(0.010)
                self.lags.append((time.time(), loop.time() - before - 0.010))

        # the ticker's own cost, alone, for one second
        c0 = time.process_time()
        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(1.0)
        self.ticker_cpu_per_s = time.process_time() - c0
        self.lags.clear()

        self.rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        gc.callbacks.append(self._gc_callback)
        build0 = time.process_time()
        triggers = _make_triggers(self.impl, self.n, self.interval)
        self.build_cpu = time.process_time() - build0

        self.start = start = time.time() + 0.5
        self.scenario = {"t0": start, "offset": self.offset, "spread": self.spread}
        control(self.port, "POST", "/_ctl/reset")
        control(self.port, "POST", "/_ctl/scenario", self.scenario)
        self.server0 = control(self.port, "GET", "/_ctl/stats")
        all_done = asyncio.Event()

        async def consume(i: int, trigger: Any) -> None:
            async for event in trigger.run():
                if i not in self.fired:
                    self.fired[i] = time.time()
                    self.events[i] = event.payload
            if len(self.fired) == self.n:
                all_done.set()

        tasks: list[asyncio.Task[None]] = []

        def begin(i: int) -> None:
            tasks.append(asyncio.ensure_future(consume(i, triggers[i])))

        now_wall, now_loop = time.time(), loop.time()

        def at(when: float, callback: Any, *args: Any) -> None:
            loop.call_at(now_loop + (when - now_wall), callback, *args)

        for i in range(self.n):
            at(start + i / self.n * self.interval, begin, i)
        at(start, self.snapshot, "start")
        at(start + WINDOW_START * self.interval, self.snapshot, "window_start")
        at(start + self.offset, self.snapshot, "window_end")
        hard_stop = start + self.offset + self.spread + 2 * self.interval + 10
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(all_done.wait(), hard_stop - time.time())
        self.snapshot("end")
        stop.set()
        await tick
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.analyse(aborted=False)

    def _gc_callback(self, phase: str, info: dict[str, int]) -> None:
        """Time the garbage collector's passes: a full one stalls the event loop."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            pause = time.perf_counter() - self._gc_started
            self._gc_started = None
            self.gc_pauses.append((info["generation"], pause))

    def snapshot(self, name: str) -> None:
        self.snapshots[name] = (time.time(), time.process_time())
        # FLINKSP_BENCH_PROFILE=<file>: cProfile the steady window (for diagnosis, not for numbers)
        profile_to = os.environ.get("FLINKSP_BENCH_PROFILE")
        if profile_to and name == "window_start":
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()
        elif profile_to and name == "window_end" and self.profiler is not None:
            self.profiler.disable()
            self.profiler.dump_stats(profile_to)

    def analyse(self, aborted: bool) -> dict[str, Any]:
        """The results so far (``aborted``: the event loop stopped answering; the watchdog asks)."""
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        server1 = control(self.port, "GET", "/_ctl/stats?polls=1")
        fired, events, snapshots = dict(self.fired), dict(self.events), dict(self.snapshots)
        lags = list(self.lags)
        if aborted:
            snapshots.setdefault("end", (time.time(), time.process_time()))
            if self.tick_started is not None:  # the tick still asleep has overslept this much
                lags.append((time.time(), time.time() - self.tick_started - 0.010))
        polls: dict[str, list[float]] = server1.pop("polls")
        total_polls = sum(len(times) for times in polls.values())
        window = None
        if "window_start" in snapshots and "window_end" in snapshots:
            (w0, cpu0), (w1, cpu1) = snapshots["window_start"], snapshots["window_end"]
            in_window = sum(1 for times in polls.values() for t in times if w0 <= t < w1)
            window = (w1 - w0, cpu1 - cpu0, in_window)
        s_start, s_end = snapshots.get("start", snapshots["end"]), snapshots["end"]
        latencies: list[float] = []
        periods: list[float] = []
        for i in range(self.n):
            due = done_at(f"J{i}", self.scenario)
            if i in fired:
                latencies.append(fired[i] - due)
            times = [t for t in polls.get(f"J{i}", []) if t < due]
            periods.extend(b - a for a, b in itertools.pairwise(times))
        run_lags = [lag for t, lag in lags if t >= self.start]
        pauses = list(self.gc_pauses)
        full = [pause for generation, pause in pauses if generation == 2]
        requests = server1["requests"] - self.server0["requests"]
        server_wall = server1["wall"] - self.server0["wall"]
        return {
            "impl": self.impl,
            "n": self.n,
            "interval": self.interval,
            "offset": self.offset,
            "spread": self.spread,
            "aborted": aborted,
            "fired": len(fired),
            "success_events": sum(1 for e in events.values() if _succeeded(e)),
            # the ticker's own CPU (measured alone before the run) is not the triggers' cost
            "cpu_per_poll_ms": (window[1] - self.ticker_cpu_per_s * window[0]) / window[2] * 1e3
            if window and window[2]
            else None,
            "cpu_per_poll_raw_ms": window[1] / window[2] * 1e3 if window and window[2] else None,
            "cpu_per_poll_run_ms": (s_end[1] - s_start[1]) / total_polls * 1e3 if total_polls else None,
            "polls_in_window": window[2] if window else 0,
            "window_s": window[0] if window else None,
            "polls_per_s": window[2] / window[0] if window and window[0] > 0 else None,
            "expected_polls_per_s": self.n / self.interval,
            "cpu_util_window": window[1] / window[0] if window and window[0] > 0 else None,
            "requests_per_poll": requests / total_polls if total_polls else None,
            "ticker_cpu_per_s": self.ticker_cpu_per_s,
            "build_cpu_ms": self.build_cpu * 1e3,
            "fire_latency_p50_s": median(latencies),
            "fire_latency_p99_s": percentile(latencies, 99),
            "fire_latency_max_s": max(latencies) if latencies else None,
            "lag_p50_ms": percentile(run_lags, 50) * 1e3,
            "lag_p99_ms": percentile(run_lags, 99) * 1e3,
            "lag_max_ms": max(run_lags) * 1e3 if run_lags else None,
            "gc_pause_max_ms": max((p for _, p in pauses), default=0.0) * 1e3,
            "gc_full_passes": len(full),
            "gc_total_ms": sum(p for _, p in pauses) * 1e3,
            "period_p50_s": median(periods),
            "period_p99_s": percentile(periods, 99),
            "rss_before_kib": self.rss_before,
            "rss_after_kib": rss_after,
            "rss_per_trigger_kib": (rss_after - self.rss_before) / self.n,
            "server_cpu_util": (server1["cpu"] - self.server0["cpu"]) / server_wall if server_wall else None,
            "server_connections": server1["connections"] - self.server0["connections"],
            "run_s": s_end[0] - s_start[0],
        }


def _succeeded(payload: Any) -> bool:
    """A success event: ``True`` (HttpSensorTrigger) or ``{"status": "success", ...}``."""
    return payload is True or (isinstance(payload, dict) and payload.get("status") == "success")


def judge(result: dict[str, Any]) -> dict[str, bool]:
    """Which targets a run met."""
    interval = result["interval"]
    return {
        "all_fired": result["fired"] == result["n"] == result["success_events"] and not result["aborted"],
        "fire_in_time": result["fire_latency_max_s"] is not None
        and result["fire_latency_max_s"] <= interval + FIRE_SLACK,
        "lag": result["lag_p99_ms"] < LAG_P99_LIMIT * 1e3,
        "rss": result["rss_per_trigger_kib"] < RSS_PER_TRIGGER_LIMIT_KIB,
        "holds_interval": result["polls_per_s"] is not None
        and result["polls_per_s"] >= RATE_TOLERANCE * result["expected_polls_per_s"]
        and result["period_p50_s"] <= interval * INTERVAL_TOLERANCE,
    }


def main() -> None:
    """``python -m benchmarks.scale --port P --impl lakesail --n 1000 --interval 1 --out FILE``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--impl",
        choices=["lakesail", "flink", "http_sensor", "aiohttp_floor", "flink_aiohttp_floor", "httpx_floor"],
        required=True,
    )
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--offset", type=float, help="seconds from the start to the first completion")
    parser.add_argument("--spread", type=float, help="completions spread over this many seconds")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    offset = args.offset if args.offset is not None else 6 * args.interval
    spread = args.spread if args.spread is not None else 3 * args.interval
    run = _Run(args.impl, args.n, args.interval, args.port, offset, spread)
    # If the event loop stalls (a client whose cost grows with its backlog), it may not come back
    # for minutes: the watchdog then reports what happened so far and ends the process.
    limit = 1.5 + 1.0 + offset + spread + 2 * args.interval + 10 + WATCHDOG_GRACE + 15

    def watchdog() -> None:
        if run.finished.acquire(blocking=False):
            result = run.analyse(aborted=True)
            result["checks"] = judge(result)
            write_result(args.out, result)
            os._exit(0)

    timer = threading.Timer(limit, watchdog)
    timer.daemon = True
    timer.start()
    result = asyncio.run(run.run())
    if not run.finished.acquire(blocking=False):
        time.sleep(3600)  # the watchdog is writing its report and will end the process
    timer.cancel()
    result["checks"] = judge(result)
    write_result(args.out, result)


if __name__ == "__main__":
    main()
