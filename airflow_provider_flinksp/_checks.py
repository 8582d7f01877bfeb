"""Checks on what goes in: resource IDs and durations.

Kept apart from :mod:`airflow_provider_flinksp.models` so that building a task at DAG parse time
imports nothing but these few functions.
"""

from __future__ import annotations

import re
from datetime import timedelta

#: The API's ``ResourceId`` rule for workspace, session and job IDs.
RESOURCE_ID_RULE = "1 to 20 characters, each A-Z or 0-9"
_RESOURCE_ID = re.compile(r"[A-Z0-9]{1,20}")


def validate_resource_id(name: str, value: object) -> str:
    """Check one ID against the API's ``ResourceId`` rule before anything is sent.

    :param name: the parameter's name, for the message
    :param value: the value to check
    :return: the value, unchanged
    :raises ValueError: naming the parameter and the rule
    """
    if isinstance(value, str) and _RESOURCE_ID.fullmatch(value):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ValueError(f"{name} must be a LakeSail ResourceId ({RESOURCE_ID_RULE}); got {shown}")


def check_static_ids(**ids: object) -> None:
    """Check IDs given as plain text when a task is built; templated or XCom values are checked
    after rendering, by the hook, before any request.

    :param ids: parameter name to value
    :raises ValueError: naming the parameter and the rule
    """
    for name, value in ids.items():
        if isinstance(value, str) and "{{" not in value and "{%" not in value:
            validate_resource_id(name, value)


def as_seconds(value: timedelta | float, name: str) -> float:
    """A duration given as a timedelta or a number of seconds, checked.

    :param value: the duration
    :param name: the parameter's name, for the message
    :raises ValueError: when it is negative or not a duration
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{name} must be a timedelta or a number of seconds >= 0, got {value!r}")
    return seconds
