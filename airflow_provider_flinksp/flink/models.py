"""What Flink's REST API answers, checked and turned into the provider's models.

Every parser raises :class:`~airflow_provider_flinksp.exceptions.FlinkResponseError` (never a bare
``KeyError`` or ``TypeError``) for a body that is not the shape Flink 2.x sends; the hook's policy
turns that into an error naming the method and the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_flinksp.core.models import Savepoint, SavepointList, json_type
from airflow_provider_flinksp.exceptions import FlinkResponseError

#: ``triggerType`` of a savepoint this provider triggered (it knows the trigger ID).
MANUAL = "MANUAL"
#: ``triggerType`` of a savepoint seen in ``/checkpoints``, which does not say who triggered it.
UNKNOWN = "UNKNOWN"
#: Job states after which no savepoint will complete (and a new job never reaches RUNNING).
ENDED_JOB_STATES = frozenset({"FAILED", "CANCELED", "FINISHED", "SUSPENDED"})
#: Most characters of Flink's reason kept in an error or an event.
MAX_REASON = 1000

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_WRAPPERS = ("java.util.concurrent.CompletionException: ", "java.util.concurrent.ExecutionException: ")
_QUALIFIED = re.compile(r"\b(?:[a-z_][a-z0-9_]*\.)+([A-Z][A-Za-z0-9_$]*(?:Exception|Error|Throwable))\b")


@dataclass(frozen=True)
class SavepointStatus:
    """One answer of ``GET /jobs/{job}/savepoints/{trigger}`` (also for ``POST /jobs/{job}/stop``).

    :param in_progress: Flink is still taking it
    :param location: where the completed savepoint is (None while in progress or when it failed)
    :param failure: Flink's reason, when it failed (unscrubbed: the hook scrubs it)
    """

    in_progress: bool
    location: str | None = None
    failure: str | None = None


def java_reason(trace: str) -> str:
    """The reason in a Java stack trace, without the frames: its first line and every ``Caused by``
    line, qualified class names shortened, wrappers and repeats left out.

    :param trace: the stack trace text
    """
    text = trace.strip()
    if text.startswith("<Exception on server side:"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    reasons: list[str] = []
    for number, line in enumerate(text.splitlines()):
        line = line.strip()
        if line.startswith("Caused by: "):
            line = line[len("Caused by: ") :]
        elif number > 0:
            continue
        while line.startswith(_WRAPPERS):
            line = line.split(": ", 1)[1]
        line = _QUALIFIED.sub(r"\1", line)
        if line and line not in reasons and not line.startswith("End of exception"):
            reasons.append(line)
    return "; caused by ".join(reasons)


def error_message(data: Any) -> str | None:
    """The message of a Flink error body (``{"errors": [...]}``): the reasons, without stack frames.

    :param data: the decoded error body
    """
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return None
    texts = [java_reason(e) for e in errors if isinstance(e, str) and e.strip()]
    meaningful = [t for t in texts if t and t != "Internal server error."]
    return "; ".join(meaningful or texts) or None


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise FlinkResponseError(f"{what} should be a JSON object, got {json_type(data)}")
    return data


def _string(data: dict[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise FlinkResponseError(
            f"{what} needs '{key}' as a non-empty string, got {json_type(value, key in data)}"
        )
    return value


def _hex32(data: dict[str, Any], key: str, what: str) -> str:
    value = _string(data, key, what)
    if not _HEX32.fullmatch(value):
        raise FlinkResponseError(f"{what} '{key}' should be 32 hex digits, got {value[:60]!r}")
    return value


def parse_trigger(data: object) -> str:
    """The trigger ID (``request-id``) of ``POST /jobs/{job}/savepoints`` or ``/stop``.

    :param data: the decoded JSON value
    """
    return _hex32(_object(data, "savepoint trigger response"), "request-id", "savepoint trigger response")


def parse_savepoint_status(data: object) -> SavepointStatus:
    """Check a savepoint status answer.

    :param data: the decoded JSON value
    """
    what = "savepoint status"
    body = _object(data, what)
    status = _object(body.get("status"), f"{what} 'status'")
    state = _string(status, "id", f"{what} 'status'")
    if state == "IN_PROGRESS":
        return SavepointStatus(in_progress=True)
    if state != "COMPLETED":
        raise FlinkResponseError(f"{what} 'status.id' should be IN_PROGRESS or COMPLETED, got {state[:60]!r}")
    operation = _object(body.get("operation"), f"{what} 'operation'")
    cause = operation.get("failure-cause")
    if cause is not None:
        cause = _object(cause, f"{what} 'operation.failure-cause'")
        trace = cause.get("stack-trace")
        reason = java_reason(trace) if isinstance(trace, str) else ""
        if not reason:
            reason = str(cause.get("class") or "no reason given")
        return SavepointStatus(in_progress=False, failure=reason)
    return SavepointStatus(in_progress=False, location=_string(operation, "location", f"{what} 'operation'"))


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _checkpoint(item: object, where: str) -> dict[str, Any] | None:
    if item is None:
        return None
    return _object(item, where)


def parse_checkpoints(data: object) -> SavepointList:
    """Turn ``GET /jobs/{job}/checkpoints`` into a :class:`SavepointList`.

    Savepoints in progress are ``pending``; completed ones with an ``external_path`` (not
    discarded) are ``completed``, oldest first, with ``latest.savepoint`` kept even when it has
    left ``history``. Checkpoints and failed savepoints are left out. The API does not say who
    triggered a savepoint, so its ``trigger_type`` is ``UNKNOWN``.

    :param data: the decoded JSON value
    """
    body = _object(data, "checkpoint statistics")
    history = body.get("history")
    if not isinstance(history, list):
        raise FlinkResponseError(
            f"checkpoint statistics need 'history' as an array, got {json_type(history)}"
        )
    latest = body.get("latest")
    latest = {} if latest is None else _object(latest, "checkpoint statistics 'latest'")
    entries: dict[object, dict[str, Any]] = {}
    for i, item in enumerate(history):
        entry = _object(item, f"history[{i}]")
        entries[entry.get("id", f"history[{i}]")] = entry
    newest = _checkpoint(latest.get("savepoint"), "latest.savepoint")
    if newest is not None:
        entries.setdefault(newest.get("id", "latest.savepoint"), newest)
    pending: list[tuple[float, Savepoint]] = []
    completed: list[tuple[float, Savepoint]] = []
    for entry in entries.values():
        if entry.get("is_savepoint") is not True:
            continue
        triggered = _timestamp(entry.get("trigger_timestamp"))
        order = triggered.timestamp() if triggered else 0.0
        status = entry.get("status")
        if status == "IN_PROGRESS":
            pending.append((order, Savepoint(UNKNOWN, triggered_at=triggered)))
        elif status == "COMPLETED" and entry.get("discarded") is not True:
            path = entry.get("external_path")
            if isinstance(path, str) and path and path != "<checkpoint-not-externally-addressable>":
                completed.append((order, Savepoint(UNKNOWN, location=path, triggered_at=triggered)))
    return SavepointList(
        pending=[sp for _, sp in sorted(pending, key=lambda p: p[0])],
        completed=[sp for _, sp in sorted(completed, key=lambda p: p[0])],
    )


def restored_from(data: object) -> str | None:
    """Where a job was restored from (``latest.restored.external_path`` of ``/checkpoints``).

    :param data: the decoded JSON value of ``GET /jobs/{job}/checkpoints``
    """
    latest = _object(data, "checkpoint statistics").get("latest")
    restored = latest.get("restored") if isinstance(latest, dict) else None
    path = restored.get("external_path") if isinstance(restored, dict) else None
    return path if isinstance(path, str) else None


def parse_job(data: object) -> dict[str, Any]:
    """Check ``GET /jobs/{job}`` enough to rely on its ``state``.

    :param data: the decoded JSON value
    """
    body = _object(data, "job detail")
    _string(body, "state", "job detail")
    return body


def parse_jar_upload(data: object) -> str:
    """The jar ID of ``POST /jars/upload``: the uploaded file's name.

    :param data: the decoded JSON value
    """
    body = _object(data, "jar upload response")
    status = body.get("status")
    if status != "success":
        raise FlinkResponseError(f"jar upload response status is {str(status)[:60]!r}, not 'success'")
    return _string(body, "filename", "jar upload response").replace("\\", "/").rsplit("/", 1)[-1]


def parse_job_id(data: object) -> str:
    """The new job's ID from ``POST /jars/{jar}/run``.

    :param data: the decoded JSON value
    """
    return _hex32(_object(data, "jar run response"), "jobid", "jar run response")


def parse_overview(data: object) -> dict[str, Any]:
    """Check ``GET /overview`` (the cluster's version, TaskManagers and slots).

    :param data: the decoded JSON value
    """
    body = _object(data, "cluster overview")
    if not isinstance(body.get("taskmanagers"), int):
        raise FlinkResponseError("cluster overview has no 'taskmanagers' count")
    return body
