"""LakeSail's session jobs: the checks on what the API answers about them."""

from __future__ import annotations

from typing import Any

from airflow_provider_flinksp.core.models import json_type
from airflow_provider_flinksp.exceptions import LakeSailResponseError

#: Job states in which no savepoint will ever complete.
TERMINAL_JOB_STATES = frozenset({"FAILED", "DELETING"})


def parse_session_job(data: object) -> dict[str, Any]:
    """Check a ``FlinkSessionJob`` enough to rely on its ``state``.

    :param data: the decoded JSON value
    :raises LakeSailResponseError: when it is not an object or ``state`` is missing or not a string
    """
    if not isinstance(data, dict):
        raise LakeSailResponseError(f"session job should be a JSON object, got {json_type(data)}")
    if not isinstance(data.get("state"), str):
        raise LakeSailResponseError("session job has no 'state' string")
    return data
