"""Render the benchmark results as Markdown: one table per target, floors and peers as ratios."""

from __future__ import annotations

import math
from typing import Any

from benchmarks import parse, per_call, scale

#: The issue's figure for a minimal keep-alive trigger, used as the per-poll CPU target.
CPU_PER_POLL_TARGET_MS = 0.40
#: CPU per poll at N=1,000 / 1 s: at most this times the aiohttp floor measured in the same run.
FLOOR_RATIO_TARGET = 1.15
#: Each shipped trigger and the floor that makes its requests with nothing else.
FLOORS = {"lakesail": "aiohttp_floor", "flink": "flink_aiohttp_floor"}
#: CPU per poll is flat as N grows when no run's is above this times the lowest of any smaller N.
FLAT_TOLERANCE = 1.5
IMPL_NAMES = {
    "lakesail": "LakeSailSavepointTrigger (shipped)",
    "http_sensor": "peer: http provider HttpSensorTrigger",
    "aiohttp_floor": "floor: minimal trigger, one keep-alive aiohttp session",
    "flink": "FlinkSavepointTrigger (shipped)",
    "flink_aiohttp_floor": "floor: minimal Flink trigger, one keep-alive aiohttp session",
    "httpx_floor": "floor: minimal trigger, one shared httpx.AsyncClient",
}


def _f(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def render(report: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    out = ["# airflow-provider-flinksp benchmarks", ""]
    out += _machine(report["machine"], report.get("quick", False))
    summary = _summary(report)
    if summary:
        out += ["## Targets", ""]
        if report.get("quick"):
            out += [
                "(--quick: each scale run has a tenth of the plan's N; these lines check the harness.)",
                "",
            ]
        out += [*summary, ""]
    if "ceiling" in report:
        out += _ceiling(report["ceiling"])
    if "parse" in report:
        out += _parse(report["parse"])
    if "per_call" in report:
        out += _per_call(report["per_call"])
    if "scale" in report:
        out += _scale(report["scale"])
    return "\n".join(out) + "\n"


def _machine(m: dict[str, Any], quick: bool) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    load = f"{m['loadavg_start'][0]:.2f}"
    if "loadavg_end" in m:
        load += f" at the start, {m['loadavg_end'][0]:.2f} at the end"
    lines = [
        f"Run {m['started']}{' (--quick: harness check only, not numbers)' if quick else ''}; "
        f"took {_f(m.get('took_s'), 0)} s.",
        "",
        f"- machine: {m['nproc']} cores, {m['cpu_model']}, {m['platform']}",
        f"- Python {m['python']}; {versions}",
        f"- load average (1 min): {load} (above ~0.5 means other work shared the cores: expect noise)",
        "",
    ]
    return lines


def _summary(report: dict[str, Any]) -> list[str]:
    """One line per target of the issue, PASS or MISS, for the shipped package only."""
    lines = []
    if "parse" in report:
        p = report["parse"]
        ours = p["rows"][parse.OURS]
        lines.append(
            f"- {_mark(p['pass_time'] and p['pass_modules'])} parse: sensors + operators add "
            f"{_f(ours['added_ms_median'])} ms (target ≤ {_f(p['limit_ms'], 1)} ms) and "
            f"{len(ours['third_party_modules'])} new third-party modules (target 0)"
        )
    if "per_call" in report:
        pc = report["per_call"]
        ratio = pc["rows"][per_call.OURS]["ratio_to_baseline"]
        lines.append(
            f"- {_mark(pc['pass'])} per call: the hook costs {_f(ratio)} x a reused requests.Session "
            f"(target ≤ {_f(pc['limit_ratio'])})"
        )
    if "scale" in report:
        lines += _scale_summary(report["scale"])
    return lines


def _planned(run: dict[str, Any]) -> int:
    """The run's N in the plan (``--quick`` runs a tenth of it)."""
    return int(run.get("n_planned", run["n"]))


def _mid_summary(runs: list[dict[str, Any]], impl: str) -> list[str]:
    """The N=1,000 / 1 s targets of one shipped trigger, against its floor in the same run."""
    mid = next((r for r in runs if r["impl"] == impl and (_planned(r), r["interval"]) == (1000, 1.0)), None)
    who = IMPL_NAMES[impl].split(" ")[0]
    if mid is None:
        return [f"- MISS {who} at N=1,000 / 1 s: not run"]
    if "error" in mid:
        return [f"- MISS {who} at N={mid['n']:,} / 1 s: the run failed (see below)"]
    label = f"N={mid['n']:,} / 1 s"
    checks, cpu, floor = mid["checks"], mid["cpu_per_poll_ms"], _floor_cpu(runs, FLOORS[impl])
    ratio = cpu / floor if cpu and floor else None
    met = (
        cpu is not None
        and cpu <= CPU_PER_POLL_TARGET_MS
        and ratio is not None
        and ratio <= FLOOR_RATIO_TARGET
    )
    return [
        f"- {_mark(met)} {who} CPU per poll at {label}: {_f(cpu, 3)} ms, {_f(ratio)} x the aiohttp floor "
        f"measured in this run ({_f(floor, 3)} ms) (target ≤ {CPU_PER_POLL_TARGET_MS:.2f} ms and "
        f"≤ {FLOOR_RATIO_TARGET:g} x the floor)",
        f"- {_mark(checks['all_fired'] and checks['fire_in_time'])} {who} firing at {label}: "
        f"{mid['fired']:,}/{mid['n']:,} fired, the slowest {_f(mid['fire_latency_max_s'])} s after its "
        f"savepoint completed (target: all, ≤ {mid['interval'] + scale.FIRE_SLACK:g} s)",
        f"- {_mark(checks['lag'])} {who} loop lag at {label}: p99 {_f(mid['lag_p99_ms'], 0)} ms "
        f"(target < {scale.LAG_P99_LIMIT * 1e3:g} ms)",
        f"- {_mark(checks['rss'])} {who} memory at {label}: peak RSS grows "
        f"{_f(mid['rss_per_trigger_kib'], 1)} KiB per trigger "
        f"(target < {scale.RSS_PER_TRIGGER_LIMIT_KIB:g} KiB)",
    ]


def _scale_summary(runs: list[dict[str, Any]]) -> list[str]:
    ours = {(_planned(r), r["interval"]): r for r in runs if r["impl"] == "lakesail"}
    lines = _mid_summary(runs, "lakesail") + _mid_summary(runs, "flink")
    big = ours.get((5000, 5.0))
    if big is None:
        lines.append("- MISS interval at N=5,000 / 5 s: not run")
    elif "error" in big:
        lines.append(f"- MISS interval at N={big['n']:,} / 5 s: the run failed (see below)")
    else:
        lines.append(
            f"- {_mark(big['checks']['holds_interval'])} interval at N={big['n']:,} / 5 s: "
            f"{_f(big['polls_per_s'], 0)} polls/s (due {_f(big['expected_polls_per_s'], 0)}), a trigger's "
            f"polls {_f(big['period_p50_s'], 3)} s apart (median; target ≥ {scale.RATE_TOLERANCE:g} x due, "
            f"≤ {scale.INTERVAL_TOLERANCE:g} x interval)"
        )
    measured = sorted(
        (r["n"], r["cpu_per_poll_ms"]) for r in ours.values() if "error" not in r and r["cpu_per_poll_ms"]
    )
    if len(measured) < 2 or len(measured) < len(ours):
        lines.append("- MISS CPU per poll flat as N grows: not measured at every N")
    else:
        flat = all(
            cpu <= FLAT_TOLERANCE * min(c for _, c in measured[:i])
            for i, (_, cpu) in enumerate(measured)
            if i
        )
        lines.append(
            f"- {_mark(flat)} CPU per poll flat as N grows: "
            + " / ".join(f"{_f(cpu, 3)}" for _, cpu in measured)
            + " ms at N="
            + " / ".join(f"{n:,}" for n, _ in measured)
            + f" (target: none above {FLAT_TOLERANCE:g} x the lowest at a smaller N)"
        )
    return lines


def _floor_cpu(runs: list[dict[str, Any]], floor: str = "aiohttp_floor") -> float | None:
    """CPU per poll of a floor (``aiohttp_floor``, ``flink_aiohttp_floor``) in this run, if it ran."""
    for r in runs:
        if r["impl"] == floor and "error" not in r and r["cpu_per_poll_ms"]:
            return float(r["cpu_per_poll_ms"])
    return None


def _ceiling(c: dict[str, Any]) -> list[str]:
    return [
        "## Load server ceiling",
        "",
        "| clients (keep-alive, no pipelining) | requests/s | server CPU | server CPU/request "
        "| server capacity (1 core) |",
        "|---|---|---|---|---|",
        f"| {c['connections']} | {_f(c['requests_per_s'], 0)} | {_f(c['server_cpu_util'] * 100, 0)} % "
        f"| {_f(c['server_cpu_us_per_request'], 0)} µs | {_f(c['server_capacity_per_core'], 0)} req/s |",
        "",
        "The swarm shares the two cores with the server, so requests/s is a lower bound; the server's "
        "own CPU per request gives its capacity. The scale runs below need at most ~2,000 requests/s "
        "(their server CPU column shows the share used).",
        "",
    ]


def _parse(p: dict[str, Any]) -> list[str]:
    base = p["baseline"]
    ours_ms = p["rows"][parse.OURS]["added_ms_median"]
    lines = [
        "## Target 1: DAG parse time",
        "",
        f"Baseline: {base['what']}: {_f(base['ms_median'], 0)} ms wall, {_f(base['cpu_ms_median'], 0)} ms "
        f"CPU, {_f(base['modules'], 0)} modules (median). Each row: medians of "
        f"{p['rows'][parse.OURS]['samples']} fresh processes importing, after the baseline, what the row "
        "names (`module:Name,...`: those names from the module, as a DAG file does; `:*`: every public "
        "name); bytecode cached. Our first row is what `dags_examples/lakesail_savepoint_upgrade.py` "
        "imports, and is the one the target applies to; the second loads every class of both backends.",
        "",
        "| provider | imported | added (ms, median [min-max]) | added CPU (ms) | x ours "
        "| new modules | new third-party modules |",
        "|---|---|---|---|---|---|---|",
    ]
    order = sorted(p["rows"], key=lambda name: (name != parse.OURS, name))
    for name in order:
        row = p["rows"][name]
        third = row["third_party_top_level"]
        third_text = f"{len(row['third_party_modules'])}: {', '.join(third)}" if third else "0"
        lines.append(
            f"| {name} | {', '.join(f'`{m}`' for m in row['modules'])} | {_f(row['added_ms_median'])} "
            f"[{_f(row['added_ms_min'])}-{_f(row['added_ms_max'])}] | {_f(row['added_cpu_ms_median'])} "
            f"| {_f(row['added_ms_median'] / ours_ms, 1)} | {_f(row['new_modules_median'], 0)} "
            f"| {third_text} |"
        )
    lines += [
        "",
        f"Target: ≤ {_f(p['limit_ms'], 1)} ms and no new third-party module: time "
        f"{_mark(p['pass_time'])}, modules {_mark(p['pass_modules'])}.",
        "",
        "Where our import time goes (`-X importtime`, one run, self time):",
        "",
        "| module | self (µs) | cumulative (µs) |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{r['module']}` | {_f(r['self_us'])} | {_f(r['cumulative_us'])} |"
        for r in p["ours_importtime_top"][:10]
    ]
    return [*lines, ""]


def _per_call(pc: dict[str, Any]) -> list[str]:
    lines = [
        "## Target 2: client CPU per call",
        "",
        f"One GET of a savepoint list (JSON decoded) per call against the loopback load server; "
        f"{pc['rounds']} rounds x one block of {pc['block']} calls per method, methods interleaved "
        "in a rotating order; client process CPU time (`time.process_time`), medians over rounds.",
        "",
        "| method | role | CPU µs/call (median [min-max]) | wall µs/call | x requests.Session |",
        "|---|---|---|---|---|",
    ]
    kinds = ["baseline", "target", "floor", "peer", "info"]
    order = sorted(pc["rows"], key=lambda name: (kinds.index(pc["rows"][name]["kind"]), name))
    for name in order:
        row = pc["rows"][name]
        lines.append(
            f"| {name} | {row['kind']} | {_f(row['cpu_us_median'], 0)} [{_f(row['cpu_us_min'], 0)}-"
            f"{_f(row['cpu_us_max'], 0)}] | {_f(row['wall_us_median'], 0)} | {_f(row['ratio_to_baseline'])} |"
        )
    lines += [
        "",
        f"Target: the hook ≤ {_f(pc['limit_ratio'])} x requests.Session: "
        f"{_mark(pc['pass'])} (ratio of medians {_f(pc['rows'][per_call.OURS]['ratio_to_baseline'])}, "
        f"median of per-round ratios {_f(pc['paired_ratio_median'])}).",
        "The http provider's HttpHook is used as HttpSensor.poke uses it (a new hook, so a new Session "
        "and connection, per call); the dbt Cloud hook's hard-coded `https://` is rewritten to "
        "`http://` to reach the loopback server (its only change). The `async:` rows are for the "
        "async-path analysis below target 3.",
        "",
    ]
    return lines


def _scale(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Target 3: deferred waits at scale",
        "",
        "N triggers in one event loop, each `run()` consumed as a task the way the triggerer does, "
        "starts spread over the first interval, polling the loopback load server; savepoints complete "
        "at server-chosen times. CPU per poll = client process CPU in the steady window (from three "
        "intervals after the start, when every trigger has made its first poll, to the first "
        "completion) / savepoint-list requests the server saw "
        "in it (a poll of ours is that GET plus the job GET while waiting: see req/poll; for Flink, the "
        "savepoint status GET plus the job GET), less the "
        "10 ms ticker's own CPU (measured alone before the run). "
        "Connection from `AIRFLOW_CONN_LAKESAIL_DEFAULT`, resolved by Airflow's own "
        "`BaseHook.aget_connection` (env-var backend of the fallback chain; nothing patched).",
        "",
        "| trigger | N | interval | CPU/poll ms | x its aiohttp floor | CPU/poll ms (whole run) "
        "| req/poll | polls/s (due) | client CPU use | server CPU use |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        name = IMPL_NAMES.get(r["impl"], r["impl"])
        if "error" in r:
            lines.append(f"| {name} | {r['n']:,} | {r['interval']:g} s | run failed | | | | | | |")
            continue
        floor_cpu = _floor_cpu(
            runs, "flink_aiohttp_floor" if r["impl"].startswith("flink") else "aiohttp_floor"
        )
        ratio = r["cpu_per_poll_ms"] / floor_cpu if floor_cpu and r["cpu_per_poll_ms"] else None
        lines.append(
            f"| {name} | {r['n']:,} | {r['interval']:g} s | {_f(r['cpu_per_poll_ms'], 3)} | {_f(ratio)} "
            f"| {_f(r['cpu_per_poll_run_ms'], 3)} | {_f(r['requests_per_poll'])} "
            f"| {_f(r['polls_per_s'], 0)} ({_f(r['expected_polls_per_s'], 0)}) "
            f"| {_f(_pct(r['cpu_util_window']), 0)} % | {_f(_pct(r['server_cpu_util']), 0)} % |"
        )
    lines += [
        "",
        "| trigger | N | interval | fired | fire latency p50 / max (s) | loop lag p50 / p99 / max (ms) "
        "| poll period p50 / p99 (s) | full GC passes, longest GC pause | peak RSS KiB/trigger | checks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        name = IMPL_NAMES.get(r["impl"], r["impl"])
        if "error" in r:
            lines.append(f"| {name} | {r['n']:,} | {r['interval']:g} s | - | | | | | | run failed |")
            continue
        checks = r["checks"]
        missed = [k for k, ok in checks.items() if not ok]
        lines.append(
            f"| {name} | {r['n']:,} | {r['interval']:g} s | {r['fired']:,}/{r['n']:,}"
            f"{' (loop stalled: stopped by the watchdog)' if r.get('aborted') else ''} "
            f"| {_f(r['fire_latency_p50_s'])} / {_f(r['fire_latency_max_s'])} "
            f"| {_f(r['lag_p50_ms'], 1)} / {_f(r['lag_p99_ms'], 0)} / {_f(r['lag_max_ms'], 0)} "
            f"| {_f(r['period_p50_s'], 3)} / {_f(r['period_p99_s'], 3)} "
            f"| {r.get('gc_full_passes', '-')}, {_f(r.get('gc_pause_max_ms'), 0)} ms "
            f"| {_f(r['rss_per_trigger_kib'], 1)} "
            f"| {'all met' if not missed else 'missed: ' + ', '.join(missed)} |"
        )
    lines += [
        "",
        f"Checks: every trigger fires, within interval + {scale.FIRE_SLACK:g} s of its savepoint "
        f"completing (fire_in_time); loop lag p99 < {scale.LAG_P99_LIMIT * 1e3:g} ms (lag); peak RSS "
        f"growth < {scale.RSS_PER_TRIGGER_LIMIT_KIB:g} KiB per trigger (rss); polls/s ≥ "
        f"{scale.RATE_TOLERANCE:g} x due and median time between a trigger's polls ≤ "
        f"{scale.INTERVAL_TOLERANCE:g} x interval (holds_interval; the p99 shows the jitter). Per-poll CPU "
        f"target: ≤ {CPU_PER_POLL_TARGET_MS:.2f} ms at N=1,000 / 1 s (the issue's figure, for a minimal "
        "keep-alive trigger on its machine); the aiohttp floor measured in the same run shows what this "
        "machine does at best. "
        "A run whose client CPU use is far below 100 % while it falls behind was starved by other "
        "processes on the machine, not limited by its own cost.",
        "",
    ]
    errors = [r for r in runs if "error" in r]
    for r in errors:
        lines += [f"Run {r['impl']} N={r['n']} failed:", "", "```", r["error"], "```", ""]
    return lines
