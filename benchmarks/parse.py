"""Target 1: what importing a provider's sensors and operators adds to a DAG file's parse.

Each sample is a fresh ``python -c`` process that first does what any Airflow 3 DAG file does,
``from airflow.sdk import DAG, BaseOperator, BaseSensorOperator`` (the baseline, timed too), then
imports the targets (modules, or names from them as a DAG file does) with ``time.perf_counter`` and
``time.process_time`` around the import,
and diffs ``sys.modules``: every new module that is neither the standard library
(``sys.stdlib_module_names``) nor ``airflow*`` counts as a third-party module the provider pulled in.
Bytecode is cached (one warm-up run per target), as it would be for an installed wheel. Targets
run interleaved (one sample of each per round) so that machine noise hits them alike.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from benchmarks import ROOT, child_env, median, temp_home

#: What each row imports: ``module`` (the module itself), or ``module:Name,Name`` (those names from
#: it, as a DAG file's ``from module import Name`` does), or ``module:*`` (every name in its ``__all__``).
TARGETS: dict[str, list[str]] = {
    # what dags_examples/lakesail_savepoint_upgrade.py imports (the provider's public modules load a
    # backend only when one of its names is used)
    "airflow-provider-flinksp": [
        "airflow_provider_flinksp.sensors:LakeSailSavepointSensor,LakeSailSessionJobSensor",
        "airflow_provider_flinksp.operators:LakeSailCreateSessionJobOperator,LakeSailLatestSavepointOperator,"
        "LakeSailTriggerSavepointOperator",
    ],
    "airflow-provider-flinksp (every class of both backends)": [
        "airflow_provider_flinksp.sensors:*",
        "airflow_provider_flinksp.operators:*",
    ],
    "apache-airflow-providers-http": [
        "airflow.providers.http.sensors.http",
        "airflow.providers.http.operators.http",
    ],
    "apache-airflow-providers-dbt-cloud": [
        "airflow.providers.dbt.cloud.sensors.dbt",
        "airflow.providers.dbt.cloud.operators.dbt",
    ],
}
OURS = "airflow-provider-flinksp"
#: The target: at most this many milliseconds added (median), and no new third-party module.
LIMIT_MS = 5.0

# Runs in a fresh interpreter: nothing but the baseline import may come before the timed import.
_CHILD = """
import sys, time
t0 = time.perf_counter(); c0 = time.process_time()
from airflow.sdk import DAG, BaseOperator, BaseSensorOperator
t1 = time.perf_counter(); c1 = time.process_time()
before = set(sys.modules)
for spec in {targets!r}:
    name, _, names = spec.partition(":")
    module = __import__(name, fromlist=["__name__"])  # the import statement's own path
    for attribute in (module.__all__ if names == "*" else names.split(",") if names else ()):
        getattr(module, attribute)  # what "from name import a, b" (or "import *") then does
t2 = time.perf_counter(); c2 = time.process_time()
import json
new = sorted(set(sys.modules) - before)
def third_party(name):
    top = name.split(".")[0]
    return not (top in sys.stdlib_module_names or top.startswith("airflow"))
print(json.dumps({{
    "baseline_ms": (t1 - t0) * 1e3, "baseline_cpu_ms": (c1 - c0) * 1e3,
    "added_ms": (t2 - t1) * 1e3, "added_cpu_ms": (c2 - c1) * 1e3,
    "modules_before": len(before), "new_modules": len(new),
    "third_party": [n for n in new if third_party(n)],
}}))
"""


def _sample(modules: list[str], env: dict[str, str], importtime: bool = False) -> dict[str, Any]:
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c"]
    proc = subprocess.run(
        [*args, _CHILD.format(targets=modules)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"importing {modules} failed:\n{proc.stderr[-3000:]}")
    import json

    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if importtime:
        result["importtime"] = _importtime_rows(proc.stderr, modules)
    return result


def _importtime_rows(stderr: str, modules: list[str]) -> list[dict[str, Any]]:
    """The ``-X importtime`` rows of the modules imported after the baseline, biggest self time first."""
    rows: list[dict[str, Any]] = []
    lines = stderr.splitlines()
    # the baseline ends with the "airflow.sdk" row; what follows is the targets' imports
    start = max((i for i, line in enumerate(lines) if line.rstrip().endswith("| airflow.sdk")), default=-1)
    for line in lines[start + 1 :]:
        if not line.startswith("import time:"):
            continue
        try:
            self_us, cumulative_us, name = line[len("import time:") :].split("|")
            rows.append(
                {"module": name.strip(), "self_us": int(self_us), "cumulative_us": int(cumulative_us)}
            )
        except ValueError:
            continue
    rows.sort(key=lambda row: -row["self_us"])
    return rows[:15]


def run(port: int, reps: int = 11, log: Any = print) -> dict[str, Any]:
    """Measure every target ``reps`` times, interleaved; return the summary.

    :param port: the load server's port (only for the children's environment)
    :param reps: fresh processes per target (at least 11 for the report)
    :param log: progress output
    """
    env = child_env(port, temp_home())
    targets = dict(TARGETS)
    for modules in targets.values():  # warm-up: compile and cache bytecode; not counted
        _sample(modules, env)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    names = list(targets)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            samples[name].append(_sample(targets[name], env))
        log(f"  parse: round {rep + 1}/{reps}")
    breakdown = _sample(TARGETS[OURS], env, importtime=True)["importtime"]
    rows = {}
    for name, runs in samples.items():
        third = sorted({m for run_ in runs for m in run_["third_party"]})
        rows[name] = {
            "modules": targets[name],
            "samples": len(runs),
            "added_ms_median": median([r["added_ms"] for r in runs]),
            "added_ms_min": min(r["added_ms"] for r in runs),
            "added_ms_max": max(r["added_ms"] for r in runs),
            "added_cpu_ms_median": median([r["added_cpu_ms"] for r in runs]),
            "new_modules_median": median([r["new_modules"] for r in runs]),
            "third_party_modules": third,
            "third_party_top_level": sorted({m.split(".")[0] for m in third}),
        }
    all_runs = [r for runs in samples.values() for r in runs]
    ours = rows[OURS]
    return {
        "baseline": {
            "what": "fresh process: from airflow.sdk import DAG, BaseOperator, BaseSensorOperator",
            "ms_median": median([r["baseline_ms"] for r in all_runs]),
            "cpu_ms_median": median([r["baseline_cpu_ms"] for r in all_runs]),
            "modules": median([r["modules_before"] for r in all_runs]),
        },
        "rows": rows,
        "ours_importtime_top": breakdown,
        "limit_ms": LIMIT_MS,
        "pass_time": ours["added_ms_median"] <= LIMIT_MS,
        "pass_modules": not ours["third_party_modules"],
    }
