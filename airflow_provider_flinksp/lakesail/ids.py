"""LakeSail's ``ResourceId`` rule, checked before anything is sent.

Cheap to import: building a task at DAG parse time imports nothing but these few functions.
"""

from __future__ import annotations

import re

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
