"""Target 2: client CPU per API call, the hook against a reused ``requests.Session`` and peers.

Runs in a child process (``python -m benchmarks.per_call``) with the load server in another one.
Every method does the same GET of one savepoint list and decodes the JSON; they run in blocks of
``--block`` calls, one block of each per round, in a rotating order, for ``--rounds`` rounds after a
warm-up round. A block's cost is the client process's CPU time (``time.process_time``) divided by
its calls; the report gives per-method medians over the rounds and ratios to the reused
``requests.Session``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from benchmarks import PER_CALL_JOB, SESSION, TOKEN, WS, median, write_result

#: The target: the hook's median CPU per call at most this times the reused requests.Session's.
LIMIT_RATIO = 1.10
BASELINE = "requests.Session (reused)"
OURS = "LakeSailHook.list_session_job_savepoints"


def _methods(port: int, loop: asyncio.AbstractEventLoop) -> dict[str, tuple[str, Callable[[int], None]]]:
    """name -> (kind, run n calls). Kinds: baseline, target, floor, peer, info."""
    import http.client
    import json

    import requests

    from airflow_provider_flinksp.hooks import LakeSailHook

    path = f"/api/flink/v1/workspaces/{WS}/sessions/{SESSION}/jobs/{PER_CALL_JOB}/savepoints"
    url = f"http://127.0.0.1:{port}{path}"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    session = requests.Session()

    def requests_session(n: int) -> None:
        for _ in range(n):
            session.get(url, headers=auth).json()

    hook = LakeSailHook()

    def lakesail_hook(n: int) -> None:
        for _ in range(n):
            hook.list_session_job_savepoints(WS, SESSION, PER_CALL_JOB)

    conn = http.client.HTTPConnection("127.0.0.1", port)
    raw_headers = {**auth, "Accept": "application/json"}

    def http_client(n: int) -> None:
        for _ in range(n):
            conn.request("GET", path, headers=raw_headers)
            json.loads(conn.getresponse().read())

    from airflow.providers.http.hooks.http import HttpHook

    def http_hook(n: int) -> None:
        # as HttpSensor.poke does it: a hook per call, whose run() opens a new Session each time
        for _ in range(n):
            HttpHook(method="GET", http_conn_id="http_bench").run(path, headers=auth).json()

    from airflow.providers.dbt.cloud.hooks.dbt import DbtCloudHook

    class _PlainDbtCloudHook(DbtCloudHook):  # type: ignore[misc]
        """The dbt Cloud hook with its hard-coded https:// base URL pointed at the loopback server."""

        def get_conn(self, *args: Any, **kwargs: Any) -> Any:
            session = super().get_conn(*args, **kwargs)
            self.base_url: str = str(self.base_url).replace("https://", "http://", 1)
            return session

    dbt_hook = _PlainDbtCloudHook("dbt_bench")

    def dbt_cloud_hook(n: int) -> None:
        for _ in range(n):
            dbt_hook.get_job_run(run_id=4242, account_id=70).json()

    async_hook = LakeSailHook()

    async def _hook_async(n: int) -> None:
        for _ in range(n):
            await async_hook.a_list_session_job_savepoints(WS, SESSION, PER_CALL_JOB)

    import httpx

    httpx_client = httpx.AsyncClient()

    async def _httpx(n: int) -> None:
        for _ in range(n):
            (await httpx_client.get(url, headers=auth)).json()

    import aiohttp

    holder: dict[str, aiohttp.ClientSession] = {}

    async def _aiohttp(n: int) -> None:
        if "s" not in holder:
            holder["s"] = aiohttp.ClientSession()
        s = holder["s"]
        for _ in range(n):
            async with s.get(url, headers=auth) as response:
                json.loads(await response.read())

    def in_loop(coro: Callable[[int], Any]) -> Callable[[int], None]:
        return lambda n: loop.run_until_complete(coro(n))

    methods: dict[str, tuple[str, Callable[[int], None]]] = {
        BASELINE: ("baseline", requests_session),
        OURS: ("target", lakesail_hook),
        "http.client.HTTPConnection (keep-alive)": ("floor", http_client),
        "http provider: HttpHook(GET).run": ("peer", http_hook),
        "dbt Cloud provider: DbtCloudHook.get_job_run": ("peer", dbt_cloud_hook),
        "async: LakeSailHook.a_list_session_job_savepoints": ("info", in_loop(_hook_async)),
        "async: httpx.AsyncClient (shared)": ("info", in_loop(_httpx)),
        "async: aiohttp.ClientSession (shared)": ("info", in_loop(_aiohttp)),
    }
    return methods


def measure(port: int, block: int, rounds: int) -> dict[str, Any]:
    """Interleaved blocks of every method; per-method medians of CPU and wall time per call."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    methods = _methods(port, loop)
    names = list(methods)
    for name in names:  # warm-up: imports, connection look-ups, first connections
        methods[name][1](max(5, block // 5))
    cpu: dict[str, list[float]] = {name: [] for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}
    ratios: list[float] = []
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            run = methods[name][1]
            c0, w0 = time.process_time(), time.perf_counter()
            run(block)
            c1, w1 = time.process_time(), time.perf_counter()
            cpu[name].append((c1 - c0) / block * 1e6)
            wall[name].append((w1 - w0) / block * 1e6)
        ratios.append(cpu[OURS][-1] / cpu[BASELINE][-1])
    base = median(cpu[BASELINE])
    rows: dict[str, dict[str, Any]] = {
        name: {
            "kind": methods[name][0],
            "cpu_us_median": median(cpu[name]),
            "cpu_us_min": min(cpu[name]),
            "cpu_us_max": max(cpu[name]),
            "wall_us_median": median(wall[name]),
            "ratio_to_baseline": median(cpu[name]) / base,
        }
        for name in names
    }
    loop.close()
    ratio = rows[OURS]["ratio_to_baseline"]
    return {
        "block": block,
        "rounds": rounds,
        "rows": rows,
        "paired_ratio_median": median(ratios),
        "limit_ratio": LIMIT_RATIO,
        "pass": ratio <= LIMIT_RATIO,
    }


def main() -> None:
    """``python -m benchmarks.per_call --port N --block 100 --rounds 15 --out FILE``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.per_call")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    write_result(args.out, measure(args.port, args.block, args.rounds))


if __name__ == "__main__":
    main()
