"""Flink's job and jar ID rules, checked before anything is sent.

Cheap to import: building a task at DAG parse time imports nothing but these few functions.
"""

from __future__ import annotations

import re

#: Flink's ``JobID`` (and trigger ID) text form.
JOB_ID_RULE = "32 hexadecimal digits"
#: What Flink's ``POST /jars/upload`` names a jar: ``<uuid>_<file name>.jar``, no path separators.
JAR_ID_RULE = "a file name ending in .jar (letters, digits, '.', '_', '-'), as POST /jars/upload returned it"
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_JAR_ID = re.compile(r"[A-Za-z0-9._-]{1,251}\.jar")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_job_id(name: str, value: object) -> str:
    """Check a Flink job ID (32 hex digits) before anything is sent.

    :param name: the parameter's name, for the message
    :param value: the value to check
    :return: the value, unchanged
    :raises ValueError: naming the parameter and the rule
    """
    if isinstance(value, str) and _HEX32.fullmatch(value):
        return value
    raise ValueError(f"{name} must be a Flink job ID ({JOB_ID_RULE}); got {_shown(value)}")


def validate_trigger_id(name: str, value: object) -> str:
    """Check a savepoint trigger ID (Flink's ``TriggerId``: 32 hex digits).

    :param name: the parameter's name, for the message
    :param value: the value to check
    :raises ValueError: naming the parameter and the rule
    """
    if isinstance(value, str) and _HEX32.fullmatch(value):
        return value
    raise ValueError(f"{name} must be a Flink trigger ID ({JOB_ID_RULE}); got {_shown(value)}")


def validate_jar_id(name: str, value: object) -> str:
    """Check a jar ID (what ``POST /jars/upload`` named the jar) before anything is sent.

    :param name: the parameter's name, for the message
    :param value: the value to check
    :raises ValueError: naming the parameter and the rule
    """
    if isinstance(value, str) and _JAR_ID.fullmatch(value) and value not in (".jar", "..jar"):
        return value
    raise ValueError(f"{name} must be a Flink jar ID ({JAR_ID_RULE}); got {_shown(value)}")


def _literal(value: object) -> bool:
    return isinstance(value, str) and "{{" not in value and "{%" not in value


def check_static_ids(*, job_id: object = None, trigger_id: object = None, jar_id: object = None) -> None:
    """Check IDs given as plain text when a task is built; templated or XCom values are checked
    after rendering, by the hook, before any request.

    :param job_id: a job ID, or None
    :param trigger_id: a trigger ID, or None
    :param jar_id: a jar ID, or None
    :raises ValueError: naming the parameter and the rule
    """
    if _literal(job_id):
        validate_job_id("job_id", job_id)
    if _literal(trigger_id):
        validate_trigger_id("trigger_id", trigger_id)
    if _literal(jar_id):
        validate_jar_id("jar_id", jar_id)
