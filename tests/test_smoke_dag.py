from __future__ import annotations

import importlib.util
import time

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("defer", ["0", "1"])
def test_dag(airflow_db, lakesail_conn, fake, monkeypatch, defer):
    monkeypatch.setenv("SMOKE_DEFER", defer)
    spec = importlib.util.spec_from_file_location("smoke_dag", REPO / "tests/dags/smoke_dag.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    t = time.time()
    dr = mod.dag.test()
    print("took", time.time() - t)
    print(dr.state)
    for ti in dr.get_task_instances():
        print(ti.task_id, ti.state)
    assert dr.state == "success"
