"""LakeSail's ``ResourceId`` rule and its session-job states, checked before anything is sent.

Cheap to import: building a task at DAG parse time imports nothing but these few functions.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from airflow_provider_flinksp.core.checks import IdRule, check_literals

#: The API's ``ResourceId`` rule for workspace, session and job IDs.
RESOURCE_ID_RULE = "1 to 20 characters, each A-Z or 0-9"
_RESOURCE_ID = re.compile(r"[A-Z0-9]{1,20}")


#: Check one ID against the API's ``ResourceId`` rule before anything is sent:
#: ``validate_resource_id(name, value)`` returns the value or raises ValueError.
validate_resource_id = IdRule(_RESOURCE_ID, f"a LakeSail ResourceId ({RESOURCE_ID_RULE})")


def check_static_ids(**ids: object) -> None:
    """Check IDs given as plain text when a task is built; templated or XCom values are checked
    after rendering, by the hook, before any request.

    :param ids: parameter name to value
    :raises ValueError: naming the parameter and the rule
    """
    check_literals(validate_resource_id, **ids)


#: The states the API documents for a session job.
JOB_STATES = ("PENDING", "RUNNING", "DELETING", "FAILED")
DEFAULT_TARGET_STATES = ("RUNNING",)
DEFAULT_FAILURE_STATES = ("FAILED", "DELETING")


def check_states(target_states: object, failure_states: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check the states a wait ends in: non-empty lists of strings, no state in both.

    :param target_states: the states that mean done
    :param failure_states: the states that mean failed
    :return: both, upper-cased
    :raises ValueError: naming the parameter
    """
    checked = []
    for name, states in (("target_states", target_states), ("failure_states", failure_states)):
        if (
            isinstance(states, (str, bytes))
            or not isinstance(states, Collection)
            or not all(isinstance(state, str) and state for state in states)
        ):
            raise ValueError(f"{name} must be a list of job states such as ['RUNNING']; got {states!r}")
        checked.append(tuple(state.upper() for state in states))
    target, failure = checked
    if not target:
        raise ValueError("target_states must name at least one job state, e.g. ['RUNNING']")
    both = sorted(set(target) & set(failure))
    if both:
        raise ValueError(f"{', '.join(both)} cannot be in both target_states and failure_states")
    return target, failure
