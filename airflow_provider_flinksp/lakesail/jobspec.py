"""LakeSail session jobs on the wire: the ``FlinkSessionJobSpec`` checked before it is sent, and the
``FlinkSessionJobSummary`` / ``FlinkSessionJobList`` checked when they come back.

The restore options are Flink's own, not LakeSail's: LakeSail documents that a session job's
``flinkConfiguration`` applies to that job, and Flink starts a job from the savepoint named by
``execution.savepoint.path`` (``execution.savepoint.ignore-unclaimed-state`` lets it drop the state
of operators that no longer exist).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_flinksp.core.models import json_type, parse_timestamp
from airflow_provider_flinksp.exceptions import LakeSailResponseError
from airflow_provider_flinksp.lakesail.ids import validate_resource_id

#: Flink's option naming the savepoint a job starts from.
SAVEPOINT_PATH_OPTION = "execution.savepoint.path"
#: Flink's option that lets a restore skip state no operator of the new job claims.
IGNORE_UNCLAIMED_STATE_OPTION = "execution.savepoint.ignore-unclaimed-state"

SPEC_KEYS = ("name", "flinkConfiguration", "job")
JOB_KEYS = ("jarUri", "entryClass", "args")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_spec(spec: object) -> dict[str, Any]:
    """Check a ``FlinkSessionJobSpec`` before it is sent, and return the body to send.

    ``flinkConfiguration`` may be left out (sent as ``{}``), and so may ``job.args`` (sent as ``[]``);
    ``jarUri`` and ``entryClass`` that are None are left out.

    :param spec: ``{"name": str, "flinkConfiguration": {str: str},
        "job": {"jarUri"?, "entryClass"?, "args"}}``
    :raises ValueError: naming the field and what is wrong with it
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"spec must be a dict with {', '.join(SPEC_KEYS)}; got {json_type(spec)}")
    unknown = sorted(str(key) for key in spec if key not in SPEC_KEYS)
    if unknown:
        known = ", ".join(SPEC_KEYS)
        raise ValueError(f"spec has unknown field(s) {', '.join(unknown)}; a FlinkSessionJobSpec has {known}")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"spec.name must be a non-empty string; got {_shown(name)}")
    configuration = validate_configuration(spec.get("flinkConfiguration"), "spec.flinkConfiguration")
    return {"name": name, "flinkConfiguration": configuration, "job": _validate_job(spec.get("job"))}


def validate_configuration(value: object, where: str) -> dict[str, str]:
    """Check a Flink configuration: a map of non-empty string keys to string values.

    :param value: the map (None means empty)
    :param where: the field's name, for the message
    :raises ValueError: naming the field, the key and what is wrong
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a dict of strings to strings; got {json_type(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"{where} keys must be non-empty strings; got {_shown(key)}")
        if not isinstance(item, str):
            raise ValueError(
                f"{where}[{key!r}] must be a string (Flink options are text, e.g. 'true' or '4'); "
                f"got {json_type(item)} {_shown(item)}"
            )
    return dict(value)


def _validate_job(job: object) -> dict[str, Any]:
    if not isinstance(job, Mapping):
        raise ValueError(f"spec.job must be a dict with jarUri?, entryClass?, args; got {json_type(job)}")
    unknown = sorted(str(key) for key in job if key not in JOB_KEYS)
    if unknown:
        raise ValueError(
            f"spec.job has unknown field(s) {', '.join(unknown)}; a FlinkJobSpec has {', '.join(JOB_KEYS)}"
        )
    body: dict[str, Any] = {}
    for key in ("jarUri", "entryClass"):
        value = job.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                f"spec.job.{key} must be a non-empty string; got {json_type(value)} {_shown(value)}"
            )
        body[key] = value
    args = job.get("args", [])
    if isinstance(args, (str, bytes)) or not isinstance(args, (list, tuple)):
        raise ValueError(f"spec.job.args must be a list of strings; got {json_type(args)} {_shown(args)}")
    for index, arg in enumerate(args):
        if not isinstance(arg, str):
            raise ValueError(f"spec.job.args[{index}] must be a string; got {json_type(arg)} {_shown(arg)}")
    body["args"] = list(args)
    return body


def build_spec(
    *,
    name: object,
    job: object,
    flink_configuration: object = None,
    savepoint_location: object = None,
    allow_non_restored_state: bool = False,
) -> dict[str, Any]:
    """The ``FlinkSessionJobSpec`` for a job, restored from ``savepoint_location`` when given.

    :param name: the job's name
    :param job: ``{"jarUri"?, "entryClass"?, "args"}``
    :param flink_configuration: the job's own Flink options
    :param savepoint_location: a completed savepoint's location; sets ``execution.savepoint.path``
    :param allow_non_restored_state: set ``execution.savepoint.ignore-unclaimed-state`` to ``"true"``
    :raises ValueError: naming the field and what is wrong
    """
    configuration = validate_configuration(flink_configuration, "flink_configuration")
    if savepoint_location is not None:
        if not isinstance(savepoint_location, str) or not savepoint_location.strip():
            raise ValueError(
                f"savepoint_location must be a non-empty string; got {_shown(savepoint_location)}"
            )
        if savepoint_location.strip() == "None":
            raise ValueError(
                "savepoint_location rendered to 'None': the task it was pulled from pushed no location"
            )
        given = configuration.get(SAVEPOINT_PATH_OPTION)
        if given is not None and given != savepoint_location:
            raise ValueError(
                f"flink_configuration sets {SAVEPOINT_PATH_OPTION}={given!r} and savepoint_location is "
                f"{savepoint_location!r}: give the savepoint once"
            )
        configuration[SAVEPOINT_PATH_OPTION] = savepoint_location
    if allow_non_restored_state:
        configuration[IGNORE_UNCLAIMED_STATE_OPTION] = "true"
    return validate_spec({"name": name, "flinkConfiguration": configuration, "job": job})


def parse_job_summary(data: object, where: str = "session job summary") -> dict[str, Any]:
    """Check a ``FlinkSessionJobSummary``: ``id`` (a ResourceId), ``name`` and ``state`` strings,
    ``createdAt`` and ``updatedAt`` date-times (None where absent).

    :param data: the decoded JSON value
    :param where: what it is, for the message
    :raises LakeSailResponseError: saying what is wrong
    """
    if not isinstance(data, dict):
        raise LakeSailResponseError(f"{where} should be a JSON object, got {json_type(data)}")
    summary: dict[str, Any] = {}
    for key in ("id", "name", "state"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise LakeSailResponseError(
                f"{where} has no '{key}' string (got {json_type(value, key in data)})"
            )
        summary[key] = value
    try:
        validate_resource_id("id", summary["id"])
    except ValueError as exc:
        raise LakeSailResponseError(f"{where}: {exc}") from None
    for key in ("createdAt", "updatedAt"):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise LakeSailResponseError(
                    f"{where}.{key} should be a date-time string, got {json_type(value)}"
                )
            parse_timestamp(value, f"{where}.{key}")
        summary[key] = value
    return summary


def parse_job_page(data: object) -> tuple[list[dict[str, Any]], str | None]:
    """Check one ``FlinkSessionJobList`` page: its summaries and its ``marker`` (None on the last page).

    :param data: the decoded JSON value
    :raises LakeSailResponseError: saying what is wrong
    """
    if not isinstance(data, dict):
        raise LakeSailResponseError(f"session job list should be a JSON object, got {json_type(data)}")
    items = data.get("items")
    if not isinstance(items, list):
        raise LakeSailResponseError(
            f"session job list has no 'items' array (got {json_type(items, 'items' in data)})"
        )
    marker = data.get("marker")
    if marker is not None and (not isinstance(marker, str) or not marker):
        raise LakeSailResponseError(
            f"session job list 'marker' should be a non-empty string, got {json_type(marker)}"
        )
    jobs = [parse_job_summary(item, f"session job list items[{index}]") for index, item in enumerate(items)]
    return jobs, marker
