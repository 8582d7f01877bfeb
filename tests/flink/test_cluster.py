"""The real-Flink infrastructure itself, proven with plain ``requests``: the counter job runs, takes
savepoints with a client-chosen trigger ID, restores from them, fails a savepoint it cannot write,
and stops with a savepoint. Each answer is checked against (or recorded to) ``responses/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flink.cluster import FlinkCluster, FlinkClusterError
from tests.flink.support import FlinkRest, new_trigger_id, record_timing, wait_until

pytestmark = pytest.mark.flink

SAVEPOINTS = "/jobs/{job}/savepoints"


def _trigger(rest: FlinkRest, job_id: str, target: Path, trigger_id: str, record: str | None = None) -> str:
    body = {"target-directory": target.as_uri(), "cancel-job": False, "formatType": "CANONICAL"}
    answer = rest.call(
        "POST",
        f"/jobs/{job_id}/savepoints",
        template=SAVEPOINTS,
        record=record,
        expect=202,
        json={**body, "triggerId": trigger_id},
    )
    return str(answer["request-id"])


def _savepoint_dirs(target: Path) -> list[Path]:
    return sorted(target.glob("savepoint-*")) if target.is_dir() else []


def _latest_savepoint(rest: FlinkRest, job_id: str, location: str) -> dict[str, object]:
    """Poll /checkpoints until latest.savepoint is the given one (the JobManager caches these
    statistics for web.refresh-interval, 3 s by default)."""
    seen: dict[str, object] = {}

    def shown() -> bool:
        seen.clear()
        seen.update(rest.checkpoints(job_id))
        latest = seen["latest"]
        assert isinstance(latest, dict)
        return bool(latest["savepoint"] and latest["savepoint"]["external_path"] == location)

    record_timing("savepoint COMPLETED to latest.savepoint", wait_until(shown, 15, "latest.savepoint", 0.1))
    return seen


def test_job_runs_with_program_args(rest: FlinkRest, counter_jar_id: str, started_jobs: list[str]) -> None:
    job_id = rest.run_jar(
        counter_jar_id,
        record="jar_run",
        entryClass="Counter",
        programArgsList=["--sleep-ms", "5", "--keys", "3", "--name", "counter-args"],
    )
    started_jobs.append(job_id)
    assert len(job_id) == 32
    int(job_id, 16)
    rest.wait_running(job_id)
    detail = rest.job(job_id, record="job_running")
    assert detail["name"] == "counter-args"
    assert detail["state"] == "RUNNING"
    overview = rest.call("GET", "/jobs/overview", record="jobs_overview")
    assert job_id in [job["jid"] for job in overview["jobs"]]


def test_bad_program_args_fail_the_run(rest: FlinkRest, counter_jar_id: str) -> None:
    answer = rest.call(
        "POST",
        f"/jars/{counter_jar_id}/run",
        template="/jars/{jar}/run",
        record="error_jar_run_bad_args",
        expect=400,
        json={"entryClass": "Counter", "programArgsList": ["--bogus", "1"]},
    )
    assert "unknown argument --bogus" in "\n".join(answer["errors"])


def test_savepoint_with_client_trigger_id(rest: FlinkRest, counter_job: str, tmp_path: Path) -> None:
    rest.checkpoints(counter_job, record="checkpoints_none")
    target = tmp_path / "savepoints"
    trigger_id = new_trigger_id()

    assert _trigger(rest, counter_job, target, trigger_id, record="savepoint_trigger") == trigger_id
    first = rest.savepoint_status(counter_job, trigger_id)
    if first["status"]["id"] == "IN_PROGRESS":
        rest.savepoint_status(counter_job, trigger_id, record="savepoint_status_in_progress")
    # The same trigger ID again, while in progress (or just completed): the same request, no new savepoint.
    assert _trigger(rest, counter_job, target, trigger_id, record="savepoint_trigger_duplicate") == trigger_id

    done = rest.wait_savepoint(counter_job, trigger_id)
    assert done["status"]["id"] == "COMPLETED"
    location = done["operation"]["location"]
    rest.savepoint_status(counter_job, trigger_id, record="savepoint_status_completed")
    assert location.startswith(f"file:{target}/savepoint-")
    assert Path(location.removeprefix("file:"), "_metadata").is_file()
    assert _savepoint_dirs(target) == [Path(location.removeprefix("file:"))]

    # And once more after completion: still the same operation and location, still one savepoint.
    assert _trigger(rest, counter_job, target, trigger_id) == trigger_id
    assert rest.savepoint_status(counter_job, trigger_id)["operation"]["location"] == location
    assert len(_savepoint_dirs(target)) == 1

    latest = _latest_savepoint(rest, counter_job, location)
    rest.checkpoints(counter_job, record="checkpoints_savepoint")
    savepoint = latest["latest"]["savepoint"]  # type: ignore[index]
    assert savepoint["is_savepoint"] is True
    assert savepoint["checkpoint_type"] == "SAVEPOINT"
    assert savepoint["status"] == "COMPLETED"
    assert savepoint["external_path"] == location
    assert [entry["external_path"] for entry in latest["history"]] == [location]  # type: ignore[union-attr]


def test_trigger_id_is_the_operation_key(rest: FlinkRest, counter_job: str, tmp_path: Path) -> None:
    """Flink keys the operation by (job, triggerId) alone: the body of a repeat is ignored, even
    a stop's. So a retried POST is safe, and a trigger ID must never be reused for another purpose."""
    first, other = tmp_path / "first", tmp_path / "other"
    trigger_id = new_trigger_id()
    assert _trigger(rest, counter_job, first, trigger_id) == trigger_id
    assert _trigger(rest, counter_job, other, trigger_id) == trigger_id
    location = rest.wait_savepoint(counter_job, trigger_id)["operation"]["location"]
    assert location.startswith(f"file:{first}/")
    assert not other.exists()

    # A stop with the same trigger ID: answered 202 with that ID, and nothing happens.
    answer = rest.call(
        "POST",
        f"/jobs/{counter_job}/stop",
        json={"targetDirectory": other.as_uri(), "drain": False, "triggerId": trigger_id},
        expect=202,
    )
    assert answer["request-id"] == trigger_id
    assert rest.savepoint_status(counter_job, trigger_id)["operation"] == {"location": location}
    # The job still runs: a fresh savepoint succeeds (one of a stopped job fails).
    fresh = new_trigger_id()
    _trigger(rest, counter_job, first, fresh)
    assert "location" in rest.wait_savepoint(counter_job, fresh)["operation"]
    assert not other.exists()

    # A trigger ID that is not 32 hex digits is refused.
    body = rest.call(
        "POST",
        f"/jobs/{counter_job}/savepoints",
        template=SAVEPOINTS,
        record="error_malformed_trigger_id",
        expect=400,
        json={"target-directory": first.as_uri(), "triggerId": "not-hex"},
    )
    assert "Request did not match expected format SavepointTriggerRequestBody" in body["errors"][0]


def test_savepoint_timing(rest: FlinkRest, counter_job: str, tmp_path: Path) -> None:
    """Three savepoints one after another, timed from the POST to COMPLETED."""
    import time

    for _ in range(3):
        trigger_id = new_trigger_id()
        began = time.monotonic()
        _trigger(rest, counter_job, tmp_path, trigger_id)
        assert rest.wait_savepoint(counter_job, trigger_id)["status"]["id"] == "COMPLETED"
        record_timing("savepoint trigger to COMPLETED", time.monotonic() - began)
    assert len(_savepoint_dirs(tmp_path)) == 3


def test_restore_from_savepoint(
    rest: FlinkRest, counter_job: str, counter_jar_id: str, started_jobs: list[str], tmp_path: Path
) -> None:
    trigger_id = new_trigger_id()
    _trigger(rest, counter_job, tmp_path, trigger_id)
    location = rest.wait_savepoint(counter_job, trigger_id)["operation"]["location"]
    rest.call(
        "PATCH",
        f"/jobs/{counter_job}?mode=cancel",
        template="/jobs/{job}?mode=cancel",
        record="job_cancel",
        expect=202,
    )

    restored = rest.run_jar(
        counter_jar_id, record="jar_run_restore", entryClass="Counter", savepointPath=location
    )
    started_jobs.append(restored)
    rest.wait_running(restored)
    stats = rest.checkpoints(restored, record="checkpoints_restored")
    assert stats["latest"]["restored"]["external_path"] == location
    assert stats["latest"]["restored"]["is_savepoint"] is True
    assert stats["counts"]["restored"] == 1


def test_savepoint_to_unwritable_directory_fails(rest: FlinkRest, counter_job: str, tmp_path: Path) -> None:
    # We run as root, so permissions would not stop Flink: make the target's parent a regular file.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be\n")
    trigger_id = new_trigger_id()
    _trigger(rest, counter_job, blocker / "savepoints", trigger_id)

    done = rest.wait_savepoint(counter_job, trigger_id)
    rest.savepoint_status(counter_job, trigger_id, record="savepoint_status_failed")
    # A failed savepoint is COMPLETED too; the operation carries failure-cause instead of location.
    assert done["status"]["id"] == "COMPLETED"
    cause = done["operation"]["failure-cause"]
    assert "location" not in done["operation"]
    assert cause["class"] == "java.util.concurrent.CompletionException"
    assert "CheckpointException" in cause["stack-trace"]
    assert str(blocker) in cause["stack-trace"]
    # The job keeps running.
    assert rest.job(counter_job)["state"] == "RUNNING"
    # The statistics show it as the latest failed one (statistics are cached up to 3 s: poll).
    wait_until(lambda: rest.checkpoints(counter_job)["latest"]["failed"], 15, "latest.failed", 0.1)
    stats = rest.checkpoints(counter_job, record="checkpoints_after_failed_savepoint")
    failed = stats["latest"]["failed"]
    assert stats["latest"]["savepoint"] is None
    assert failed["status"] == "FAILED"
    assert failed["is_savepoint"] is True
    assert "IO-problem detected" in failed["failure_message"]
    assert "external_path" not in failed
    assert stats["history"] == [failed]


def test_stop_with_savepoint_finishes_and_restores(
    rest: FlinkRest, counter_job: str, counter_jar_id: str, started_jobs: list[str], tmp_path: Path
) -> None:
    trigger_id = new_trigger_id()
    answer = rest.call(
        "POST",
        f"/jobs/{counter_job}/stop",
        template="/jobs/{job}/stop",
        record="stop_with_savepoint",
        expect=202,
        json={"targetDirectory": tmp_path.as_uri(), "drain": False, "triggerId": trigger_id},
    )
    assert answer["request-id"] == trigger_id
    done = rest.wait_savepoint(counter_job, trigger_id)
    rest.savepoint_status(counter_job, trigger_id, record="stop_status_completed")
    assert done["status"]["id"] == "COMPLETED"
    location = done["operation"]["location"]
    assert location.startswith(f"file:{tmp_path}/savepoint-")
    record_timing("stopped job to FINISHED", rest.wait_state(counter_job, "FINISHED"))
    rest.job(counter_job, record="job_finished")

    # A savepoint of a finished job is accepted (202) and then fails.
    late = new_trigger_id()
    _trigger(rest, counter_job, tmp_path, late, record="savepoint_trigger_finished_job")
    failed = rest.wait_savepoint(counter_job, late)
    rest.savepoint_status(counter_job, late, record="savepoint_status_finished_job")
    assert "failure-cause" in failed["operation"]

    restored = rest.run_jar(counter_jar_id, entryClass="Counter", savepointPath=location)
    started_jobs.append(restored)
    rest.wait_running(restored)
    assert rest.checkpoints(restored)["latest"]["restored"]["external_path"] == location


def test_unknown_ids(rest: FlinkRest, counter_job: str, tmp_path: Path) -> None:
    unknown = new_trigger_id()
    body = rest.call(
        "GET", f"/jobs/{unknown}", template="/jobs/{job}", record="error_unknown_job", expect=404
    )
    assert f"Job {unknown} not found" in body["errors"][0]
    rest.call(
        "GET",
        f"/jobs/{unknown}/checkpoints",
        template="/jobs/{job}/checkpoints",
        record="error_unknown_job_checkpoints",
        expect=404,
    )
    body = rest.call(
        "GET",
        f"/jobs/{counter_job}/savepoints/{unknown}",
        template="/jobs/{job}/savepoints/{trigger}",
        record="error_unknown_trigger",
        expect=404,
    )
    assert f"There is no savepoint operation with triggerId={unknown}" in body["errors"][0]
    rest.call("GET", "/jobs/not-hex", template="/jobs/{job}", record="error_malformed_job_id", expect=400)
    rest.call(
        "POST", "/jars/no-such.jar/run", template="/jars/{jar}/run", record="error_unknown_jar", expect=500
    )

    # A savepoint of an unknown job: accepted (202), then the status says it failed.
    trigger_id = new_trigger_id()
    _trigger(rest, unknown, tmp_path, trigger_id, record="savepoint_trigger_unknown_job")
    status = rest.wait_savepoint(unknown, trigger_id)
    rest.savepoint_status(unknown, trigger_id, record="savepoint_status_unknown_job")
    assert "failure-cause" in status["operation"]


def test_cluster_without_jars_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FlinkClusterError, match="make flink-setup"):
        FlinkCluster(build_dir=tmp_path).start()
