"""``python -m benchmarks``: run every target, print the report, write ``results/latest.{md,json}``.

Options: ``--only parse,per_call,scale,ceiling`` runs some targets; ``--quick`` runs fewer and
smaller samples (for trying the harness, not for numbers). Only the package as installed is measured,
beside floors and peers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks import RAW_RESULTS, RESULTS, LoadServer, child_env, machine, parse, run_child, temp_home
from benchmarks.report import render

#: (implementation, N, poll interval): what target 3 runs, in this order.
SCALE_PLAN: list[tuple[str, int, float]] = [
    ("lakesail", 100, 1.0),
    ("lakesail", 1000, 1.0),
    ("lakesail", 5000, 5.0),
    ("http_sensor", 1000, 1.0),
    ("aiohttp_floor", 1000, 1.0),
    ("flink", 1000, 1.0),
    ("flink_aiohttp_floor", 1000, 1.0),
    ("httpx_floor", 1000, 1.0),
]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _scale(port: int, quick: bool) -> list[dict[str, Any]]:
    results = []
    for impl, planned, interval in SCALE_PLAN:
        n = max(50, planned // 10) if quick else planned
        # long intervals: fewer polls per trigger are enough (the rate of polls is the same)
        offset, spread = (6 * interval, 3 * interval) if interval < 5 else (4 * interval, 2 * interval)
        args = ["--port", str(port), "--impl", impl, "--n", str(n), "--interval", str(interval)]
        args += ["--offset", str(offset), "--spread", str(spread)]
        _log(f"  scale: {impl} N={n} interval={interval:g}s ...")
        started = time.monotonic()
        try:
            result = run_child(
                "benchmarks.scale", args, child_env(port, temp_home()), timeout=offset + spread + 150
            )
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            result = {"impl": impl, "n": n, "interval": interval, "error": str(exc)[-1500:]}
        result["n_planned"] = planned  # the plan's N (--quick runs a tenth of it)
        result["took_s"] = time.monotonic() - started
        results.append(result)
        time.sleep(2)  # let the loopback's TIME_WAIT sockets and the server settle
    return results


def main() -> None:
    """Run the benchmarks; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", default="ceiling,parse,per_call,scale")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parse-reps", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--results", default=str(RESULTS), help="directory for latest.md (committed)")
    parser.add_argument("--raw", default=str(RAW_RESULTS), help="directory for latest.json (not committed)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    started = time.monotonic()
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    with LoadServer() as server:
        port = server.port
        if "ceiling" in only:
            _log("load server ceiling ...")
            report["ceiling"] = run_child(
                "benchmarks.ceiling",
                ["--port", str(port), "--seconds", "1" if args.quick else "3"],
                child_env(port, temp_home()),
                timeout=120,
            )
        if "parse" in only:
            _log("target 1: parse time ...")
            reps = 3 if args.quick else max(11, args.parse_reps)
            report["parse"] = parse.run(port, reps=reps, log=_log)
        if "per_call" in only:
            _log("target 2: per call ...")
            rounds, block = (3, 20) if args.quick else (args.rounds, args.block)
            report["per_call"] = run_child(
                "benchmarks.per_call",
                ["--port", str(port), "--rounds", str(rounds), "--block", str(block)],
                child_env(port, temp_home()),
                timeout=900,
            )
        if "scale" in only:
            _log("target 3: deferred waits at scale ...")
            report["scale"] = _scale(port, args.quick)
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    report["machine"]["took_s"] = time.monotonic() - started
    os.makedirs(args.raw, exist_ok=True)
    with open(os.path.join(args.raw, "latest.json"), "w") as f:  # first: a report bug loses nothing
        json.dump(report, f, indent=1, default=str)
    text = render(report)
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "latest.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
