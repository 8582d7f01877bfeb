"""Flink's job and jar ID rules, checked before anything is sent.

Cheap to import: building a task at DAG parse time imports nothing but these few functions.
"""

from __future__ import annotations

import re

from airflow_provider_flinksp.core.checks import IdRule, check_literals

#: Flink's ``JobID`` (and trigger ID) text form.
JOB_ID_RULE = "32 hexadecimal digits"
#: What Flink's ``POST /jars/upload`` names a jar: ``<uuid>_<file name>.jar``, no path separators.
JAR_ID_RULE = "a file name ending in .jar (letters, digits, '.', '_', '-'), as POST /jars/upload returned it"
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_JAR_ID = re.compile(r"(?!\.\.jar$)[A-Za-z0-9._-]{1,251}\.jar")


#: Check a Flink job ID before anything is sent: ``validate_job_id(name, value)``.
validate_job_id = IdRule(_HEX32, f"a Flink job ID ({JOB_ID_RULE})")
#: Check a savepoint trigger ID (Flink's ``TriggerId``: 32 hex digits).
validate_trigger_id = IdRule(_HEX32, f"a Flink trigger ID ({JOB_ID_RULE})")
#: Check a jar ID (what ``POST /jars/upload`` named the jar).
validate_jar_id = IdRule(_JAR_ID, f"a Flink jar ID ({JAR_ID_RULE})")


def check_static_ids(*, job_id: object = None, trigger_id: object = None, jar_id: object = None) -> None:
    """Check IDs given as plain text when a task is built; templated or XCom values are checked
    after rendering, by the hook, before any request.

    :param job_id: a job ID, or None
    :param trigger_id: a trigger ID, or None
    :param jar_id: a jar ID, or None
    :raises ValueError: naming the parameter and the rule
    """
    check_literals(validate_job_id, job_id=job_id)
    check_literals(validate_trigger_id, trigger_id=trigger_id)
    check_literals(validate_jar_id, jar_id=jar_id)
