"""LakeSail's ``ResourceId`` rule, checked before anything is sent.

Cheap to import: building a task at DAG parse time imports nothing but these few functions.
"""

from __future__ import annotations

import re

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
