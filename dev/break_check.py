"""The break-the-code check (issue 13): break the product code on purpose, one line at a time, and
see whether a test tree notices.

``python -m dev.break_check --tests DIR --label NAME`` copies this worktree (its product code,
examples, dev tools, pyproject) into ``build/break_check/work-NAME/repo`` with ``tests/`` taken from
``DIR`` (a test tree, or a folder holding one as ``tests/``, e.g. ``git archive REV tests | tar -x
-C DIR``), then:

1. runs the test tree once under coverage with a context per test (pytest-cov
   ``--cov-context=test``), which maps each product line to the tests that ran it and passed;
2. for each mutant of :data:`dev.break_check_mutants.MUTANTS` (cheapest first: by the unmutated
   duration of its tests, so that a run cut short has done the most; its snippet must occur exactly
   once in its file, else it is "not applicable"), writes the broken file into the copy, runs only
   the tests that cover the broken line (fastest first, ``-x``), and puts the file back, also on
   Ctrl-C: the worktree's own files are never touched.

A mutant is *caught* when one of those tests fails (or the suite no longer imports), *survived*
when they all pass or no test covers the line, *timeout* when the run outlives its budget
(``--timeout`` seconds plus three times the tests' unmutated duration; counted as caught, reported
apart). A line that only runs at import time (a constant, a default, a class attribute) is
covered by every test that ran any line of its file.

Results: ``build/break_check/NAME.json`` (one record per mutant: id, path, line, status, the first
failing test) and ``NAME.md`` (the summary, also printed). ``--compare BEFORE.json AFTER.json``
lists the mutants caught before and not after (exit status 1 if there is any).

Needs pytest-cov in the running interpreter (``make break-check`` installs it).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dev.break_check_mutants import MUTANTS, Mutant

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_flinksp"
OUT = REPO / "build" / "break_check"
DEFAULT_MARKERS = "not faults and not flink and not e2e"
#: Top-level entries of the worktree not copied into the sandbox.
_NOT_COPIED = {".git", "build", "tests", ".mypy_cache", ".ruff_cache", ".hypothesis", ".pytest_cache"}
CAUGHT = ("caught", "timeout")


# -- the sandbox -----------------------------------------------------------------------------------


def _ignore(top: Path) -> Any:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        if Path(folder) == top:
            skipped |= {n for n in names if n in _NOT_COPIED or n.startswith(".venv")}
        return skipped

    return ignore


def find_tests(path: Path) -> Path:
    """The test tree in ``path``: the folder itself, or its ``tests/``."""
    for candidate in (path, path / "tests"):
        if (candidate / "conftest.py").is_file() and (candidate / "__init__.py").is_file():
            return candidate
    raise SystemExit(f"{path} holds no test tree (a folder with conftest.py and __init__.py)")


def make_sandbox(work: Path, tests: Path) -> Path:
    """A fresh copy of the worktree with ``tests`` as its test tree."""
    repo = work / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(REPO, repo, ignore=_ignore(REPO))
    shutil.copytree(tests, repo / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    return repo


def package_digest(root: Path) -> str:
    """A digest of the product code under ``root`` (to tell whether a kept baseline still fits)."""
    digest = hashlib.sha256()
    for path in sorted((root / PACKAGE).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def restore_package(repo: Path) -> None:
    """Put the worktree's product code back into the sandbox (after a run cut short)."""
    shutil.rmtree(repo / PACKAGE)
    shutil.copytree(REPO / PACKAGE, repo / PACKAGE, ignore=_ignore(REPO / PACKAGE))


def _env(repo: Path, outcomes: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a restored file must never meet its mutant's .pyc
    env["BREAK_CHECK_OUTCOMES"] = str(outcomes)
    env.update(extra)
    return env


def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "dev.break_check_plugin", *args]


def read_outcomes(path: Path) -> tuple[dict[str, str], dict[str, float], str | None, str | None]:
    """Per test: its outcome (``passed`` only if every phase passed) and duration; the product file
    the run imported; the last test started."""
    outcome: dict[str, str] = {}
    duration: dict[str, float] = defaultdict(float)
    product = last = None
    if not path.exists():
        return outcome, duration, product, last
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if "product" in record:
            product = record["product"]
        elif "start" in record:
            last = record["start"]
        else:
            node = record["nodeid"]
            duration[node] += record["duration"]
            if record["outcome"] == "failed":
                outcome[node] = "failed"
            elif record["when"] == "call" or (record["outcome"] == "skipped" and node not in outcome):
                outcome.setdefault(node, record["outcome"])
    return outcome, duration, product, last


def _check_product(repo: Path, product: str | None) -> None:
    if product is None or not Path(product).resolve().is_relative_to(repo.resolve()):
        raise SystemExit(f"the tests imported {product}, not the sandbox's copy under {repo}")


# -- the baseline: which passing test runs which line ----------------------------------------------


def baseline(repo: Path, work: Path, markers: str) -> dict[str, Any]:
    """Run the whole tree once under coverage; the per-line map of passing tests, and durations."""
    outcomes = work / "baseline.jsonl"
    outcomes.unlink(missing_ok=True)
    data_file = work / ".coverage"
    data_file.unlink(missing_ok=True)
    cmd = _pytest(
        "-q",
        "-m",
        markers,
        f"--cov={repo / PACKAGE}",
        "--cov-context=test",
        "--cov-report=",
        "tests",
    )
    started = time.monotonic()
    with (work / "baseline.log").open("w", encoding="utf-8") as log:
        rc = subprocess.run(
            cmd, cwd=repo, env=_env(repo, outcomes, COVERAGE_FILE=str(data_file)), stdout=log, stderr=log
        ).returncode
    seconds = time.monotonic() - started
    outcome, duration, product, _ = read_outcomes(outcomes)
    _check_product(repo, product)
    if not outcome:
        raise SystemExit(f"the baseline run collected no tests (exit {rc}); see {work / 'baseline.log'}")
    passed = sorted(n for n, o in outcome.items() if o == "passed")
    index = {node: i for i, node in enumerate(passed)}

    from coverage import CoverageData

    data = CoverageData(basename=str(data_file))
    data.read()
    lines: dict[str, dict[int, list[int]]] = {}
    for measured in data.measured_files():
        rel = Path(measured).resolve().relative_to(repo.resolve() / PACKAGE).as_posix()
        per_line: dict[int, list[int]] = {}
        for lineno, contexts in (data.contexts_by_lineno(measured) or {}).items():
            nodes = {index[c.rsplit("|", 1)[0]] for c in contexts if c.rsplit("|", 1)[0] in index}
            if nodes:
                per_line[lineno] = sorted(nodes)
        lines[rel] = per_line
    failed = sorted(n for n, o in outcome.items() if o == "failed")
    return {
        "exit_status": rc,
        "seconds": round(seconds, 1),
        "passed": passed,
        "failed": failed,
        "skipped": sum(1 for o in outcome.values() if o == "skipped"),
        "durations": {n: round(duration[n], 4) for n in passed},
        "lines": {path: {str(k): v for k, v in per.items()} for path, per in lines.items()},
    }


# -- mutants -----------------------------------------------------------------------------------------


def _statement(tree: ast.Module, line: int) -> tuple[int, bool]:
    """The first line of the innermost statement holding ``line``, and whether that statement runs
    only at import time (not inside a function's body)."""
    best: tuple[int, bool] = (line, True)

    def visit(node: ast.AST, in_body: bool) -> None:
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt):
                visit(child, in_body)
                continue
            end = child.end_lineno or child.lineno
            if not child.lineno <= line <= end:
                continue
            best = (child.lineno, not in_body)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, in_body or line >= child.body[0].lineno)
            else:
                visit(child, in_body)

    visit(tree, False)
    return best


def prepare(mutant: Mutant, source: str) -> dict[str, Any]:
    """Where the mutant applies, and its text; ``status`` n/a with a reason when it cannot."""
    record: dict[str, Any] = {"id": mutant.id, "path": mutant.path, "note": mutant.note, "line": None}
    count = source.count(mutant.original)
    if count != 1:
        return record | {"status": "n/a", "reason": f"snippet found {count} times"}
    start = source.index(mutant.original)
    mutated = source.replace(mutant.original, mutant.replacement, 1)
    try:
        compile(mutated, mutant.path, "exec")
    except SyntaxError as exc:
        return record | {"status": "n/a", "reason": f"the mutant does not compile: {exc.msg}"}
    record["line"] = source.count("\n", 0, start) + 1
    record["last_line"] = record["line"] + mutant.original.count("\n")
    return record | {"mutated": mutated}


def covering(base: dict[str, Any], path: str, first: int, last: int, tree: ast.Module) -> list[str]:
    """The passing tests that run any of lines ``first..last`` (or the file, for import-time code)."""
    per_line = base["lines"].get(path, {})
    chosen: set[int] = set()
    import_time = False
    for line in range(first, last + 1):
        stmt_line, at_import = _statement(tree, line)
        import_time = import_time or at_import
        for key in (line, stmt_line):
            chosen.update(per_line.get(str(key), ()))
    if import_time:
        for nodes in per_line.values():
            chosen.update(nodes)
    passed = base["passed"]
    durations = base["durations"]
    return sorted((passed[i] for i in chosen), key=lambda n: (durations.get(n, 0.0), n))


def run_mutant(
    repo: Path, work: Path, record: dict[str, Any], tests: list[str], base: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Write the mutant, run its tests, put the file back; the record with its status."""
    target = repo / PACKAGE / record["path"]
    original = target.read_bytes()
    outcomes = work / "mutant.jsonl"
    outcomes.unlink(missing_ok=True)
    args = work / "mutant.args"
    args.write_text("\n".join(tests) + "\n", encoding="utf-8")
    budget = timeout + 3 * sum(base["durations"].get(n, 0.0) for n in tests)
    started = time.monotonic()
    status = None
    try:
        target.write_text(record.pop("mutated"), encoding="utf-8")
        with (work / "mutant.log").open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                _pytest("-x", "-q", f"@{args}"),
                cwd=repo,
                env=_env(repo, outcomes),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            try:
                rc = proc.wait(timeout=budget)
            except subprocess.TimeoutExpired:
                status = "timeout"
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    finally:
        target.write_bytes(original)
    outcome, _, product, last = read_outcomes(outcomes)
    failed = [n for n, o in outcome.items() if o == "failed"]
    record["seconds"] = round(time.monotonic() - started, 1)
    record["tests_selected"] = len(tests)
    record["tests_run"] = len(outcome)
    if status == "timeout":
        record["first_failure"] = last
    elif rc == 0:
        _check_product(repo, product)
        status = "survived"
    elif rc in (1, 2) and (failed or rc == 2):  # 2: interrupted, e.g. the suite no longer imports
        status = "caught"
        record["first_failure"] = failed[0] if failed else "(collection error: the tests do not import)"
    else:
        status = "error"
        record["reason"] = f"pytest exit status {rc}; see a rerun with --only {record['id']}"
    record["status"] = status
    return record


# -- reports -----------------------------------------------------------------------------------------


def _module(path: str) -> str:
    return path.removesuffix(".py")


def summary(result: dict[str, Any]) -> str:
    """The markdown summary: totals, then per module."""
    records = result["mutants"]
    totals = Counter(r["status"] for r in records)
    base = result["baseline"]
    out = [
        f"## Break check: {result['label']}",
        "",
        f"Tests: {result['tests']} (markers `{result['markers']}`): {len(base['passed'])} passed "
        f"unmutated, {len(base['failed'])} failed (left out), baseline run {base['seconds']} s; "
        f"mutant runs {result['seconds']} s.",
        "",
        f"**{len(records)} mutants: {totals['caught']} caught, {totals['survived']} survived, "
        f"{totals['timeout']} timed out (counted as caught), {totals['n/a']} not applicable"
        + (f", {totals['error']} errors" if totals["error"] else "")
        + "**",
    ]
    missing = [m.id for m in MUTANTS if m.id not in {r["id"] for r in records}]
    if missing:
        out += ["", f"Not run yet ({len(missing)}; `--resume` runs them): {', '.join(missing)}"]
    out += [
        "",
        "| module | mutants | caught | survived | timeout | n/a |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        per[_module(r["path"])][r["status"]] += 1
    for module in sorted(per):
        c = per[module]
        counts = " | ".join(str(c[s]) for s in ("caught", "survived", "timeout", "n/a"))
        out.append(f"| {module} | {sum(c.values())} | {counts} |")
    survivors = [r for r in records if r["status"] == "survived"]
    if survivors:
        out += ["", "Survivors:", ""]
        out += [
            f"- `{r['id']}` {r['path']}:{r['line']}: {r['note']}"
            + ("" if r.get("tests_selected") else " (no test runs this line)")
            for r in survivors
        ]
    odd = [r for r in records if r["status"] in ("n/a", "error", "timeout")]
    if odd:
        out += ["", "Not applicable, errors, timeouts:", ""]
        out += [f"- `{r['id']}` {r['status']}: {r.get('reason') or r.get('first_failure')}" for r in odd]
    return "\n".join(out) + "\n"


def compare(before_path: Path, after_path: Path) -> int:
    """Print the mutants caught before and not after; 1 if there is any."""
    before = {r["id"]: r for r in json.loads(before_path.read_text())["mutants"]}
    after = {r["id"]: r for r in json.loads(after_path.read_text())["mutants"]}

    def caught(result: dict[str, Any], mutant: str) -> bool:
        return result.get(mutant, {}).get("status") in CAUGHT

    lost = [i for i in before if caught(before, i) and not caught(after, i)]
    gained = [i for i in after if caught(after, i) and not caught(before, i)]
    for name, result in (("before", before), ("after", after)):
        c = Counter(r["status"] for r in result.values())
        print(
            f"{name}: {len(result)} mutants, {c['caught'] + c['timeout']} caught "
            f"({c['timeout']} by timeout), {c['survived']} survived, {c['n/a']} n/a"
        )
    print(f"caught before, not after: {len(lost)}")
    for i in lost:
        r = after.get(i, {})
        print(f"  {i}: {r.get('status', 'missing')} {r.get('reason', '')} ({before[i]['note']})")
    print(f"caught after, not before: {len(gained)}" + (f" ({', '.join(gained)})" if gained else ""))
    return 1 if lost else 0


# -- main --------------------------------------------------------------------------------------------


def _select(mutants: Sequence[Mutant], only: str | None) -> list[Mutant]:
    if not only:
        return list(mutants)
    wanted = set(only.split(","))
    unknown = wanted - {m.id for m in mutants}
    if unknown:
        raise SystemExit(f"no such mutant: {', '.join(sorted(unknown))}")
    return [m for m in mutants if m.id in wanted]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that the file being broken is put back (also when run in the background)


def check(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ids = Counter(m.id for m in MUTANTS)
    if any(n > 1 for n in ids.values()):
        raise SystemExit(f"duplicate mutant ids: {[i for i, n in ids.items() if n > 1]}")
    tests = find_tests(Path(args.tests).resolve())
    work = OUT / f"work-{args.label}"
    work.mkdir(parents=True, exist_ok=True)
    base_file = work / "baseline.json"
    repo = work / "repo"
    out_json = OUT / f"{args.label}.json"
    done: dict[str, dict[str, Any]] = {}
    spent = 0.0
    if args.resume and out_json.exists():
        previous = json.loads(out_json.read_text())
        done = {r["id"]: r for r in previous["mutants"] if r["status"] != "error"}
        spent = previous.get("seconds", 0.0)
        print(f"resuming: {len(done)} mutants done in {out_json}", flush=True)
    if (args.reuse_baseline or args.resume) and base_file.exists() and repo.exists():
        base = json.loads(base_file.read_text())
        if base.get("digest") != package_digest(REPO):
            raise SystemExit("the product code changed since the kept baseline: run without --reuse-baseline")
        restore_package(repo)
        print(f"reusing the baseline in {base_file}", flush=True)
    else:
        repo = make_sandbox(work, tests)
        print(f"baseline: the tests under coverage in {repo} ...", flush=True)
        base = baseline(repo, work, args.markers)
        base["digest"] = package_digest(repo)
        base_file.write_text(json.dumps(base))
        print(f"baseline: {len(base['passed'])} passed, {len(base['failed'])} failed, {base['seconds']} s")
    result: dict[str, Any] = {
        "label": args.label,
        "tests": str(tests),
        "markers": args.markers,
        "baseline": {k: base[k] for k in ("exit_status", "seconds", "passed", "failed", "skipped")},
        "mutants": [],
        "seconds": spent,
    }
    started = time.monotonic()
    trees: dict[str, ast.Module] = {}
    position = {m.id: i for i, m in enumerate(MUTANTS)}
    plans: list[tuple[float, int, dict[str, Any], list[str]]] = []
    for mutant in _select(MUTANTS, args.only):
        if mutant.id in done:
            result["mutants"].append(done[mutant.id])
            continue
        source = (repo / PACKAGE / mutant.path).read_text(encoding="utf-8")
        record = prepare(mutant, source)
        tests_for: list[str] = []
        if record.get("status") != "n/a":
            tree = trees.setdefault(mutant.path, ast.parse(source))
            tests_for = covering(base, mutant.path, record["line"], record["last_line"], tree)
        cost = sum(base["durations"].get(n, 0.0) for n in tests_for)
        plans.append((cost, position[mutant.id], record, tests_for))
    # the cheapest first (by the unmutated duration of their tests): a run cut short did the most
    plans.sort(key=lambda plan: plan[:2])
    for number, (_, _, record, tests_for) in enumerate(plans, 1):
        if record.get("status") != "n/a":
            if tests_for:
                record = run_mutant(repo, work, record, tests_for, base, args.timeout)
            else:
                record.pop("mutated")
                record |= {"status": "survived", "tests_selected": 0, "reason": "no passing test runs it"}
        print(
            f"[{number}/{len(plans)}] {record['id']} {record['path']}:{record['line']} {record['status']}"
            f" ({record.get('tests_selected', 0)} tests, {record.get('seconds', 0)} s)"
            + (f" <- {record['first_failure']}" if record.get("first_failure") else "")
            + (f" [{record['reason']}]" if record.get("reason") else ""),
            flush=True,
        )
        result["mutants"].append(record)
        result["mutants"].sort(key=lambda r: position[r["id"]])
        result["seconds"] = round(spent + time.monotonic() - started, 1)
        out_json.write_text(json.dumps(result, indent=1))
    text = summary(result)
    (OUT / f"{args.label}.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {out_json}")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.break_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", help="a test tree, or a folder holding one as tests/")
    parser.add_argument("--label", default="current", help="names the outputs (default: current)")
    parser.add_argument(
        "--markers", default=DEFAULT_MARKERS, help="pytest -m expression (default: the unit tests)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant beyond 3x its tests")
    parser.add_argument("--only", help="comma-separated mutant ids")
    parser.add_argument("--reuse-baseline", action="store_true", help="keep the last sandbox, coverage")
    parser.add_argument(
        "--resume", action="store_true", help="keep the mutants done in LABEL.json (implies --reuse-baseline)"
    )
    parser.add_argument(
        "--report", metavar="RESULT", help="print the summary of a result file (also partial)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="two result files")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.compare:
        return compare(Path(args.compare[0]), Path(args.compare[1]))
    if args.report:
        print(summary(json.loads(Path(args.report).read_text())), end="")
        return 0
    if args.list:
        for m in MUTANTS:
            print(f"{m.id}\t{m.path}\t{m.note}")
        return 0
    if not args.tests:
        parser.error("--tests is required (or --compare, --list)")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
