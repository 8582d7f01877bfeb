"""The helpers of ``python -m dev.demo`` (what ``make demo`` runs), in-process. The DAG runs it shows
are the examples' runs, tested in tests/test_examples.py."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest

from dev import demo
from tests.conftest import REPO


def test_find_dags_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(demo.DAGS_FOLDER_ENV, raising=False)
    assert demo.find_dags_folder(None) == REPO / "dags_examples"
    (tmp_path / demo.EXAMPLE_FILE).write_text("", encoding="utf-8")
    assert demo.find_dags_folder(str(tmp_path)) == tmp_path.resolve()
    monkeypatch.setenv(demo.DAGS_FOLDER_ENV, str(tmp_path))
    assert demo.find_dags_folder(None) == tmp_path.resolve()
    # nowhere to be found: the error says how to fix it
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "__file__", str(tmp_path / "pkg" / "demo.py"))
    monkeypatch.delenv(demo.DAGS_FOLDER_ENV, raising=False)
    with pytest.raises(SystemExit, match=f"--dags-folder or set {demo.DAGS_FOLDER_ENV}"):
        demo.find_dags_folder(str(tmp_path / "nowhere"))


def test_configure_refuses_once_airflow_is_imported(tmp_path: Path) -> None:
    import airflow  # noqa: F401  (conftest has set Airflow up already)

    with mock.patch.dict(os.environ), pytest.raises(RuntimeError, match="before it is imported"):
        demo.configure_airflow(tmp_path, tmp_path)


@pytest.mark.parametrize(
    ("task_id", "state", "xcoms", "waited", "expected"),
    [
        ("trigger_savepoint", "success", {("trigger_savepoint", "return_value"): {"triggerNonce": "n1"}},
         None, "triggered savepoint nonce n1"),
        ("wait_for_savepoint", "success", {("wait_for_savepoint", "return_value"): {"location": "s3://x"}},
         1.64, "waited 1.6 s; completed at s3://x"),
        ("push_latest", "success", {("push_latest", "savepoint_location"): "s3://x"}, None, "latest s3://x"),
        ("restore_from_savepoint", "success",
         {("restore_from_savepoint", "return_value"): {"id": "SJ1", "state": "PENDING"}},
         None, "created job SJ1 (PENDING) from s3://x"),
        ("wait_until_running", "success",
         {("wait_until_running", "return_value"): {"id": "SJ1", "state": "RUNNING"}},
         None, "job SJ1 RUNNING"),
        ("savepoint_from_event", "success",
         {("savepoint_from_event", "return_value"): "s3://x"}, None, "the event carried s3://x"),
        ("push_latest", "failed", {}, None, "see Airflow's output below"),
        ("restore_from_savepoint", "skipped", {}, None, "-"),
    ],
)  # fmt: skip
def test_describe(
    task_id: str, state: str, xcoms: dict[tuple[str, str], object], waited: float | None, expected: str
) -> None:
    assert demo.describe(task_id, state, xcoms, waited, "s3://x") == expected
