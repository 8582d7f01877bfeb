"""LakeSail's session jobs: the checks on what the API answers about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_flinksp.core.models import json_type
from airflow_provider_flinksp.exceptions import LakeSailResponseError

#: Job states in which no savepoint will ever complete.
TERMINAL_JOB_STATES = frozenset({"FAILED", "DELETING"})


@dataclass(frozen=True)
class JobRef:
    """One session job, by its three IDs: what every LakeSail wait is about.

    :param workspace_id: the workspace ID
    :param session_id: the Flink session ID
    :param job_id: the session job ID
    """

    workspace_id: str
    session_id: str
    job_id: str

    @property
    def ids(self) -> tuple[str, str, str]:
        """The three IDs, in the order the hook takes them."""
        return (self.workspace_id, self.session_id, self.job_id)


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
