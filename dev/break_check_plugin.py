"""A pytest plugin for ``dev/break_check.py``: writes every test's outcome, one JSON line per phase,
to the file named by ``BREAK_CHECK_OUTCOMES`` (loaded with ``-p dev.break_check_plugin``).

Lines are flushed as they come, so a run killed at its timeout still says which test was running.
The last line names the package file the run imported, so the harness can check that it tested
its own (mutated) copy and not an installed one.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

import pytest

_out: TextIO | None = None


def _write(record: dict[str, Any]) -> None:
    if _out is not None:
        _out.write(json.dumps(record) + "\n")
        _out.flush()


def pytest_configure(config: pytest.Config) -> None:
    global _out
    path = os.environ.get("BREAK_CHECK_OUTCOMES")
    if path and _out is None:
        _out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole session


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _write({"start": nodeid})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _write(
        {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "duration": round(report.duration, 4),
        }
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    global _out
    package = sys.modules.get("airflow_provider_flinksp")
    if package is not None:
        _write({"product": package.__file__})
    if _out is not None:
        _out.close()
        _out = None
